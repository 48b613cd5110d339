import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shopBound } from '../../db/shop-bound.ts';
import { forShop, type ScopedDb } from '../../db/tenant.ts';
import { tenantSql } from '../../db/tenant-sql.ts';
import type { BehaviourEventType } from '../../generated/prisma/enums.ts';
import { createTestApp, type TestApp } from '../../testing.ts';
import { pruneBehaviour, recordEvents, stitchVisitor } from '../behaviour/track.service.ts';
import * as customers from '../customers/customer.service.ts';
import { countMatching, pageMatching } from './segment.compile.ts';
import { parseRule } from './segment.rule.ts';

/**
 * events.count / events.lastSeen over the daily rollup "BehaviourDay" against the same rules over
 * the events themselves (`events: 'raw'`), on a hand-computed fixture built around the edges a
 * rollup by day could get wrong, and after every path that changes which customer an event belongs
 * to or deletes events: stitching, merge, erasure, retention. After each step the rollup must equal
 * a recomputation from the events (`expectRollupExact`).
 *
 * "now" = 2026-06-01 10:30Z: the 30-day window starts 2026-05-02 10:30Z, the 7-day one 2026-05-25 10:30Z.
 * - ann (visitor VA): PRODUCT_VIEWED SOFA-1 May 2 09:00 (before the 30-day window) and 11:00 (in
 *   it: one rollup row across the window's start), SOFA-1 May 20, LAMP-1 May 31 23:59:59.999,
 *   SOFA-1 Jun 1 10:00 and 10:33 (after now: a row of today across now; written through
 *   recordEvents). count(PRODUCT_VIEWED, 30d) = 4, (SOFA-1, 30d) = 3, lastSeen Jun 1 10:00.
 * - ben (visitor VB): PAGE_VIEWED May 2 10:30:00.000 (exactly the window's start: in), May 25
 *   10:29:59.999 (1 ms before the 7-day window), May 29 08:00; on eve's browser (visitor VE, a shared
 *   computer) PAGE_VIEWED May 29 12:00; ADDED_TO_CART SOFA-1 Jun 1 10:31 (only after now). count(30d) = 4,
 *   lastSeen May 29 12:00.
 * - cat (visitor VC): PRODUCT_VIEWED SOFA-1 May 28 three times while anonymous, May 30 as cat.
 * - dup (visitor VD): PRODUCT_VIEWED SOFA-1 May 15 twice and Jun 1 09:00; merged into ann later.
 * - eve (visitor VE): PRODUCT_VIEWED SOFA-1 May 29 twice; erased later.
 * - dan: no events. An anonymous visitor VX: five SOFA-1 views May 31, never anyone's.
 */
let t: TestApp;
let shopId: string;
let db: ScopedDb;
const NOW = new Date('2026-06-01T10:30:00Z');
const at = (s: string) => new Date(`${s}Z`);
const ids: Record<string, string> = {};
const V: Record<string, string> = {};
const actor: customers.Actor = { staffId: null, source: 'api' };

type Ev = { v: string; c?: string | null; type: BehaviourEventType; at: string; sku?: string; s?: string };
async function insert(evs: Ev[]) {
  for (const e of evs)
    await t.db.prisma.$executeRaw`INSERT INTO "BehaviourEvent" ("shopId", "visitorId", "sessionId", "customerId", type, "occurredAt", sku)
      VALUES (${shopId}::uuid, ${V[e.v] as string}::uuid, ${e.s ? V[e.s] : null}::uuid, ${e.c ? (ids[e.c] as string) : null}::uuid,
        ${e.type}::"BehaviourEventType", ${at(e.at)}::timestamptz, ${e.sku ?? null})`;
}

/** The rollup equals the events' (stitched ones) grouped by customer, UTC day, type and SKU: rows that differ. */
async function rollupDiff(shop: string) {
  return t.db.prisma.$queryRaw<unknown[]>`
    WITH truth AS (
      SELECT "shopId", type, ("occurredAt" AT TIME ZONE 'UTC')::date AS day, COALESCE(sku, '') AS sku, "customerId",
        count(*)::int AS events, min("occurredAt") AS "firstAt", max("occurredAt") AS "lastAt"
      FROM "BehaviourEvent" WHERE "shopId" = ${shop}::uuid AND "customerId" IS NOT NULL GROUP BY 1, 2, 3, 4, 5),
    roll AS (SELECT "shopId", type, day, sku, "customerId", events, "firstAt", "lastAt" FROM "BehaviourDay" WHERE "shopId" = ${shop}::uuid)
    SELECT to_jsonb(truth) AS truth, to_jsonb(roll) AS roll FROM truth
      FULL JOIN roll USING ("shopId", type, day, sku, "customerId")
    WHERE truth.events IS DISTINCT FROM roll.events OR truth."firstAt" IS DISTINCT FROM roll."firstAt"
      OR truth."lastAt" IS DISTINCT FROM roll."lastAt"`;
}
const expectRollupExact = async (shop = shopId) => expect(await rollupDiff(shop)).toEqual([]);

const nameOf = (id: string) => Object.keys(ids).find((n) => ids[n] === id) ?? id;
/** Members of a rule through the rollup, checked equal to the raw events' members (count and page). */
async function members(rule: string, now = NOW): Promise<string[]> {
  const r = parseRule(rule);
  const sql = tenantSql(t.db.prisma, shopId);
  const viaRollup = (await pageMatching(sql, r, now, { first: 100 })).keys.map((k) => nameOf(k.id)).sort();
  const viaEvents = (await pageMatching(sql, r, now, { first: 100, events: 'raw' })).keys.map((k) => nameOf(k.id)).sort();
  expect(viaRollup, `${rule} (rollup vs events)`).toEqual(viaEvents);
  expect(await countMatching(sql, r, now)).toBe(viaRollup.length);
  expect(await countMatching(sql, r, now, 'raw')).toBe(viaRollup.length);
  return viaRollup;
}

/** Rules around every edge: windows starting inside a day, now inside today, bounds to the millisecond. */
const BATTERY = [
  'events.count(type = PRODUCT_VIEWED, within = 30d) >= 3 AND events.lastSeen > -7d',
  'events.count(type = PRODUCT_VIEWED, within = 30d) = 4',
  "events.count(type = PRODUCT_VIEWED, sku = 'SOFA-1', within = 30d) >= 3",
  "events.count(type = PRODUCT_VIEWED, sku = 'SOFA-1', within = 30d) = 1",
  'events.count(within = 30d) = 4',
  'events.count(within = 30d) >= 1',
  'events.count >= 5',
  'events.count = 0',
  'events.count(within = 7d) >= 2',
  'events.count(within = 1h) >= 1',
  'events.count(type = ADDED_TO_CART) >= 1',
  'events.count(type = PRODUCT_VIEWED, within = 36h) >= 1 OR events.sessions(within = 30d) >= 2',
  'events.lastSeen > -7d',
  'events.lastSeen > -1h',
  "events.lastSeen >= '2026-05-25T10:29:59.999Z'",
  "events.lastSeen > '2026-05-25T10:29:59.999Z'",
  'events.lastSeen < -7d',
  'events.lastSeen IS NULL',
  'events.lastSeen IS NOT NULL',
  "events.lastSeen(type = PRODUCT_VIEWED, sku = 'LAMP-1') BETWEEN '2026-05-31T00:00:00Z' AND '2026-06-01T00:00:00Z'",
  'events.lastSeen(type = PRODUCT_VIEWED) > -2d',
  'NOT events.lastSeen > -3d',
  'NOT (events.count(within = 30d) >= 2 OR events.lastSeen >= -1d)',
  // A lastSeen lower bound the whole rule requires limits the grouping to customers seen since
  // (compileRule seenSince); under OR or NOT it must not.
  'events.lastSeen > -2d AND NOT events.count(within = 30d) >= 3',
  "events.count(within = 30d) >= 1 AND events.lastSeen(type = PRODUCT_VIEWED, sku = 'LAMP-1') BETWEEN '2026-05-31T00:00:00Z' AND '2026-06-01T00:00:00Z'",
  "events.lastSeen > '2026-05-25T10:29:59.999Z' AND events.count(type = PRODUCT_VIEWED, within = 30d) = 4",
  'events.lastSeen >= -1h AND (events.count = 0 OR events.count(within = 7d) >= 2)',
  '(events.lastSeen >= -1d OR events.count(within = 30d) >= 2) AND events.count >= 1',
  'NOT events.lastSeen > -3d AND events.count >= 1',
];
async function battery(now = NOW) {
  for (const rule of BATTERY) await members(rule, now);
}

beforeAll(async () => {
  t = await createTestApp();
  shopId = (await t.newShop()).shop.id;
  db = forShop(t.db.prisma, shopId);
  for (const n of ['ann', 'ben', 'cat', 'dan', 'dup', 'eve'])
    ids[n] = (await customers.createCustomer(db, actor, { email: `${n}@ev.test` })).id;
  for (const v of ['VA', 'VB', 'VC', 'VD', 'VE', 'VX', 'S1', 'S2']) V[v] = crypto.randomUUID();
  for (const [v, c] of [
    ['VA', 'ann'],
    ['VB', 'ben'],
    ['VD', 'dup'],
    ['VE', 'eve'],
  ] as const)
    await t.db.prisma.visitorIdentity.create({ data: { shopId, visitorId: V[v] as string, customerId: ids[c] as string, via: 'LEAD' } });
  await insert([
    { v: 'VA', c: 'ann', type: 'PRODUCT_VIEWED', at: '2026-05-02T09:00:00', sku: 'SOFA-1', s: 'S1' },
    { v: 'VA', c: 'ann', type: 'PRODUCT_VIEWED', at: '2026-05-02T11:00:00', sku: 'SOFA-1', s: 'S1' },
    { v: 'VA', c: 'ann', type: 'PRODUCT_VIEWED', at: '2026-05-20T12:00:00', sku: 'SOFA-1', s: 'S2' },
    { v: 'VA', c: 'ann', type: 'PRODUCT_VIEWED', at: '2026-05-31T23:59:59.999', sku: 'LAMP-1', s: 'S2' },
    { v: 'VB', c: 'ben', type: 'PAGE_VIEWED', at: '2026-05-02T10:30:00' },
    { v: 'VB', c: 'ben', type: 'PAGE_VIEWED', at: '2026-05-25T10:29:59.999' },
    { v: 'VB', c: 'ben', type: 'PAGE_VIEWED', at: '2026-05-29T08:00:00' },
    { v: 'VE', c: 'ben', type: 'PAGE_VIEWED', at: '2026-05-29T12:00:00' },
    { v: 'VB', c: 'ben', type: 'ADDED_TO_CART', at: '2026-06-01T10:31:00', sku: 'SOFA-1' },
    { v: 'VC', type: 'PRODUCT_VIEWED', at: '2026-05-28T10:00:00', sku: 'SOFA-1' },
    { v: 'VC', type: 'PRODUCT_VIEWED', at: '2026-05-28T10:01:00', sku: 'SOFA-1' },
    { v: 'VC', type: 'PRODUCT_VIEWED', at: '2026-05-28T10:02:00', sku: 'SOFA-1' },
    { v: 'VC', c: 'cat', type: 'PRODUCT_VIEWED', at: '2026-05-30T10:00:00', sku: 'SOFA-1' },
    { v: 'VD', c: 'dup', type: 'PRODUCT_VIEWED', at: '2026-05-15T10:00:00', sku: 'SOFA-1' },
    { v: 'VD', c: 'dup', type: 'PRODUCT_VIEWED', at: '2026-05-15T11:00:00', sku: 'SOFA-1' },
    { v: 'VD', c: 'dup', type: 'PRODUCT_VIEWED', at: '2026-06-01T09:00:00', sku: 'SOFA-1' },
    { v: 'VE', c: 'eve', type: 'PRODUCT_VIEWED', at: '2026-05-29T09:00:00', sku: 'SOFA-1' },
    { v: 'VE', c: 'eve', type: 'PRODUCT_VIEWED', at: '2026-05-29T10:00:00', sku: 'SOFA-1' },
    ...Array.from({ length: 5 }, (_, i): Ev => ({ v: 'VX', type: 'PRODUCT_VIEWED', at: `2026-05-31T0${i}:00:00`, sku: 'SOFA-1' })),
  ]);
  // The insert path of trackEvents: one batch, the visitor's customer from VisitorIdentity.
  const batch = [
    { type: 'PRODUCT_VIEWED' as const, visitorId: V.VA as string, sku: 'SOFA-1', occurredAt: at('2026-06-01T10:00:00') },
    { type: 'PRODUCT_VIEWED' as const, visitorId: V.VA as string, sku: 'SOFA-1', occurredAt: at('2026-06-01T10:33:00') },
  ];
  expect(await recordEvents(shopBound(t.db.prisma, shopId), batch as never)).toBe(2);
});
afterAll(() => t?.close());

describe('segment behaviour fields over the daily rollup', () => {
  it('the rollup holds exactly the stitched events, grouped by customer, UTC day, type and SKU', async () => {
    await expectRollupExact();
    const rows = await t.db.prisma.behaviourDay.findMany({ where: { shopId, customerId: ids.ann as string, day: new Date('2026-06-01') } });
    expect(rows).toEqual([
      expect.objectContaining({
        type: 'PRODUCT_VIEWED',
        sku: 'SOFA-1',
        events: 2,
        firstAt: at('2026-06-01T10:00:00'),
        lastAt: at('2026-06-01T10:33:00'),
      }),
    ]);
    expect(await t.db.prisma.behaviourDay.count({ where: { shopId, sku: '' } })).toBe(3); // ben's page views: 3 days
  });

  it('gives the events’ results (hand-computed), across the window’s first day, today and now', async () => {
    expect(await members('events.count(type = PRODUCT_VIEWED, within = 30d) >= 3 AND events.lastSeen > -7d')).toEqual(['ann', 'dup']);
    expect(await members('events.count(type = PRODUCT_VIEWED, within = 30d) = 4')).toEqual(['ann']);
    expect(await members("events.count(type = PRODUCT_VIEWED, sku = 'SOFA-1', within = 30d) >= 3")).toEqual(['ann', 'dup']);
    expect(await members('events.count(within = 30d) = 4')).toEqual(['ann', 'ben']);
    expect(await members('events.count >= 5')).toEqual(['ann']);
    expect(await members('events.count = 0')).toEqual(['dan']);
    expect(await members('events.count(type = ADDED_TO_CART) >= 1')).toEqual([]);
    expect(await members('events.count(within = 1h) >= 1')).toEqual(['ann']);
    expect(await members('events.lastSeen > -1h')).toEqual(['ann']);
    expect(await members("events.lastSeen >= '2026-05-25T10:29:59.999Z'")).toEqual(['ann', 'ben', 'cat', 'dup', 'eve']);
    expect(
      await members("events.lastSeen(type = PRODUCT_VIEWED, sku = 'LAMP-1') BETWEEN '2026-05-31T00:00:00Z' AND '2026-06-01T00:00:00Z'"),
    ).toEqual(['ann']);
    expect(await members('events.lastSeen IS NULL')).toEqual(['dan']);
    await battery();
  });

  it('a later "now" and an earlier one agree too (other edge days)', async () => {
    await battery(new Date('2026-06-01T10:32:00Z'));
    await battery(new Date('2026-05-29T11:00:00Z'));
    await battery(new Date('2026-06-02T00:00:00Z'));
  });

  it('after stitching a visitor: its anonymous events are the customer’s in the rollup', async () => {
    expect(await stitchVisitor(db, V.VC as string, ids.cat as string, 'LEAD')).toBe(3);
    await expectRollupExact();
    expect(await members("events.count(type = PRODUCT_VIEWED, sku = 'SOFA-1', within = 30d) = 4")).toEqual(['cat']);
    await battery();
  });

  it('after a merge: the duplicate’s rows are the survivor’s', async () => {
    await customers.mergeCustomers(db, actor, ids.ann as string, ids.dup as string);
    await expectRollupExact();
    expect(await t.db.prisma.behaviourDay.count({ where: { shopId, customerId: ids.dup as string } })).toBe(0);
    expect(await members("events.count(type = PRODUCT_VIEWED, sku = 'SOFA-1', within = 30d) = 6")).toEqual(['ann']);
    await battery();
  });

  it('after an erasure: the person’s rows are gone, and a row that lost its last event has its new last time', async () => {
    expect(await members("events.lastSeen > '2026-05-29T11:00:00Z'")).toEqual(['ann', 'ben', 'cat']);
    await customers.deleteCustomer(db, ids.eve as string);
    await expectRollupExact();
    expect(await t.db.prisma.behaviourDay.count({ where: { shopId, customerId: ids.eve as string } })).toBe(0);
    // ben's May 29 page views lost the one on eve's browser (12:00): the row's last time is 08:00 again.
    const row = await t.db.prisma.behaviourDay.findFirst({ where: { shopId, customerId: ids.ben as string, day: new Date('2026-05-29') } });
    expect(row).toMatchObject({ events: 1, firstAt: at('2026-05-29T08:00:00'), lastAt: at('2026-05-29T08:00:00') });
    expect(await members("events.lastSeen > '2026-05-29T11:00:00Z'")).toEqual(['ann', 'cat']);
    await battery();
  });

  it('after retention cuts a day in two: the row keeps the day’s later events and their first time', async () => {
    // Cutoff May 2 10:00: ann's 09:00 view goes, her 11:00 one stays.
    const pruned = await pruneBehaviour(db, 30, new Date('2026-06-01T10:00:00Z'));
    expect(pruned).toBe(1);
    await expectRollupExact();
    const row = await t.db.prisma.behaviourDay.findFirst({ where: { shopId, customerId: ids.ann as string, day: new Date('2026-05-02') } });
    expect(row).toMatchObject({ events: 1, firstAt: at('2026-05-02T11:00:00') });
    await battery();
  });

  it('random events around the edges, moved and deleted at random: rollup and events always agree', async () => {
    let seed = 19;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const people = ['ann', 'ben', 'cat', 'dan'];
    const types: BehaviourEventType[] = ['PAGE_VIEWED', 'PRODUCT_VIEWED', 'ADDED_TO_CART'];
    // Times near the edges: the window starts (30d, 7d, 36h, 1h before now), midnight and now itself.
    const edges = [30 * 86_400_000, 7 * 86_400_000, 36 * 3_600_000, 3_600_000, 0].map((ms) => NOW.getTime() - ms);
    edges.push(Date.UTC(2026, 4, 31), Date.UTC(2026, 5, 1));
    const evs: Ev[] = Array.from({ length: 150 }, () => {
      const base = edges[Math.floor(rnd() * edges.length)] as number;
      const when = new Date(base + Math.round((rnd() - 0.5) * 4 * 3_600_000) * (rnd() < 0.3 ? 0.001 : 1));
      const who = rnd() < 0.2 ? null : (people[Math.floor(rnd() * people.length)] as string);
      return {
        v: who ? (({ ann: 'VA', ben: 'VB', cat: 'VC', dan: 'VX' } as Record<string, string>)[who] as string) : 'VX',
        c: who,
        type: types[Math.floor(rnd() * types.length)] as BehaviourEventType,
        at: when.toISOString().slice(0, -1),
        sku: rnd() < 0.5 ? 'SOFA-1' : 'LAMP-1',
      };
    });
    await insert(evs);
    await expectRollupExact();
    await battery();
    // Move some events between customers and delete others, set-based like the real paths.
    await t.db.prisma.$executeRaw`UPDATE "BehaviourEvent" SET "customerId" = ${ids.dan as string}::uuid
      WHERE "shopId" = ${shopId}::uuid AND "customerId" = ${ids.cat as string}::uuid AND type = 'PAGE_VIEWED'`;
    await t.db.prisma.$executeRaw`UPDATE "BehaviourEvent" SET "customerId" = NULL
      WHERE "shopId" = ${shopId}::uuid AND "customerId" = ${ids.ben as string}::uuid AND sku = 'LAMP-1'`;
    await t.db.prisma.$executeRaw`DELETE FROM "BehaviourEvent" WHERE "shopId" = ${shopId}::uuid AND id % 3 = 0`;
    await expectRollupExact();
    await battery();
  });

  it('another shop’s rollup is its own', async () => {
    const other = (await t.newShop()).shop.id;
    const dbO = forShop(t.db.prisma, other);
    const c = await customers.createCustomer(dbO, actor, { email: 'o@ev.test' });
    await t.db.prisma.$executeRaw`INSERT INTO "BehaviourEvent" ("shopId", "visitorId", "customerId", type, "occurredAt", sku)
      SELECT ${other}::uuid, gen_random_uuid(), ${c.id}::uuid, 'PRODUCT_VIEWED', ${at('2026-05-31T10:00:00')}::timestamptz, 'SOFA-1'
      FROM generate_series(1, 9)`;
    await expectRollupExact(other);
    expect(await t.db.prisma.behaviourDay.count({ where: { customerId: c.id } })).toBe(1);
    expect(await t.db.prisma.behaviourDay.count({ where: { shopId, customerId: c.id } })).toBe(0);
    expect(await countMatching(tenantSql(t.db.prisma, other), parseRule('events.count(within = 30d) = 9'), NOW)).toBe(1);
    expect(await countMatching(tenantSql(t.db.prisma, shopId), parseRule('events.count(within = 30d) = 9'), NOW)).toBe(
      await countMatching(tenantSql(t.db.prisma, shopId), parseRule('events.count(within = 30d) = 9'), NOW, 'raw'),
    );
  });
});
