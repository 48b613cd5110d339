import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forShop, type ScopedDb } from '../../db/tenant.ts';
import { tenantSql } from '../../db/tenant-sql.ts';
import { ConflictError, IdempotencyConflictError, NotFoundError, ValidationError } from '../../errors.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import { createTestDatabase, type TestDatabase } from '../../testing.ts';
import * as customers from '../customers/customer.service.ts';
import { upsertOrder } from '../orders/order.service.ts';
import * as svc from './interaction.service.ts';
import * as store from './storefront.service.ts';
import { decodeTimelineCursor, loadTimelineRows, type TimelineEntry, type TimelineKind, timelinePage } from './timeline.service.ts';

let tdb: TestDatabase;
let db: ScopedDb;
let other: ScopedDb;
let shopA: string;
let shopB: string;
const actor: customers.Actor = { staffId: null, source: 'api' };

beforeAll(async () => {
  tdb = await createTestDatabase();
  const a = await tdb.prisma.shop.create({ data: { name: 'A', slug: 'int-a' } });
  const b = await tdb.prisma.shop.create({ data: { name: 'B', slug: 'int-b' } });
  shopA = a.id;
  shopB = b.id;
  db = forShop(tdb.prisma, a.id);
  other = forShop(tdb.prisma, b.id);
});
afterAll(() => tdb.close());

let n = 0;
const newCustomer = (d: ScopedDb = db, stage: 'SUSPECT' | 'PROSPECT' = 'PROSPECT') =>
  customers.createCustomer(d, actor, { email: `i${++n}@int.test`, stage });
const base = (customerId: string): svc.RecordInteractionInput => ({ customerId, channel: 'PHONE', direction: 'INBOUND', type: 'INQUIRY' });

const counts = async () => ({
  interactions: await tdb.prisma.interaction.count({ where: { shopId: shopA } }),
  customers: await tdb.prisma.customer.count({ where: { shopId: shopA } }),
  keys: await tdb.prisma.idempotencyKey.count({ where: { shopId: shopA } }),
  consents: await tdb.prisma.consentChange.count({ where: { shopId: shopA } }),
});

describe('recordInteraction', () => {
  it('records every field; staff defaults to the acting staff user', async () => {
    const c = await newCustomer();
    const staff = await db.staffUser.create({ data: { email: `s${++n}@int.test`, name: 'Rep' } as never });
    const { order } = await upsertOrder(db, actor, {
      externalId: `o-${n}`,
      customerId: c.id,
      currency: 'EUR',
      items: [{ name: 'X', quantity: 1, unitPrice: '1' }],
    });
    const at = new Date('2026-01-02T03:04:05.678Z');
    const i = await svc.recordInteraction(
      db,
      { staffId: staff.id },
      {
        ...base(c.id),
        type: 'COMPLAINT',
        subject: ' Late delivery ',
        body: 'Sofa arrived late',
        sentiment: 'NEGATIVE',
        occurredAt: at,
        orderId: order.id,
        metadata: { ticket: 42 },
      },
    );
    expect(i).toMatchObject({
      customerId: c.id,
      type: 'COMPLAINT',
      subject: 'Late delivery',
      sentiment: 'NEGATIVE',
      occurredAt: at,
      staffId: staff.id,
      orderId: order.id,
      metadata: { ticket: 42 },
      source: 'api',
      deletedAt: null,
    });
  });

  it.each([
    ['occurredAt 2 days ahead', { occurredAt: new Date(Date.now() + 2 * 86_400_000) }, ['input', 'occurredAt']],
    ['unknown channel', { channel: 'PIGEON' }, ['input', 'channel']],
    ['oversized subject', { subject: 'x'.repeat(201) }, ['input', 'subject']],
    ['metadata not an object', { metadata: [1, 2] }, ['input', 'metadata']],
    ['oversized metadata', { metadata: { big: 'x'.repeat(9000) } }, ['input', 'metadata']],
  ])('rejects %s with a ValidationError and writes nothing', async (_l, over, path) => {
    const c = await newCustomer();
    const before = await counts();
    const err = await svc.recordInteraction(db, actor, { ...base(c.id), ...(over as object) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues[0]?.path).toEqual(path);
    expect(await counts()).toEqual(before);
  });

  it("refuses another shop's customer, staff user and order; writes nothing", async () => {
    const c = await newCustomer();
    const foreign = await newCustomer(other);
    const foreignStaff = await other.staffUser.create({ data: { email: 'x@b.test', name: 'B' } as never });
    const { order: foreignOrder } = await upsertOrder(other, actor, {
      externalId: 'b-1',
      customerId: foreign.id,
      currency: 'EUR',
      items: [{ name: 'X', quantity: 1, unitPrice: '1' }],
    });
    const before = await counts();
    const cases: [Partial<svc.RecordInteractionInput>, string][] = [
      [{ customerId: foreign.id }, 'customerId'],
      [{ staffId: foreignStaff.id }, 'staffId'],
      [{ orderId: foreignOrder.id }, 'orderId'],
      [{ staffId: 'not-a-uuid' }, 'staffId'],
    ];
    for (const [over, field] of cases) {
      const err = await svc.recordInteraction(db, actor, { ...base(c.id), ...over }).catch((e: unknown) => e);
      expect(err, field).toBeInstanceOf(NotFoundError);
      expect((err as NotFoundError).inputPath).toEqual(['input', field]);
    }
    expect(await counts()).toEqual(before);
  });

  it('refuses an order of another customer of the same shop', async () => {
    const a = await newCustomer();
    const b = await newCustomer();
    const { order } = await upsertOrder(db, actor, {
      externalId: `o-${++n}`,
      customerId: b.id,
      currency: 'EUR',
      items: [{ name: 'X', quantity: 1, unitPrice: '1' }],
    });
    await expect(svc.recordInteraction(db, actor, { ...base(a.id), orderId: order.id })).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('update and delete', () => {
  it('updates given fields, clears with null, and soft-deletes', async () => {
    const c = await newCustomer();
    const i = await svc.recordInteraction(db, actor, { ...base(c.id), subject: 'Hi', sentiment: 'POSITIVE' });
    const u = await svc.updateInteraction(db, i.id, { subject: 'Hello', sentiment: null, type: 'REVIEW' });
    expect(u).toMatchObject({ subject: 'Hello', sentiment: null, type: 'REVIEW', channel: 'PHONE' });
    await expect(svc.updateInteraction(db, i.id, { channel: null as never })).rejects.toBeInstanceOf(ValidationError);
    const d = await svc.deleteInteraction(db, i.id);
    expect(d.deletedAt).toBeInstanceOf(Date);
    expect(await db.interaction.findUnique({ where: { id: i.id } })).not.toBeNull();
    expect(await db.interaction.count({ where: svc.interactionWhere({ customerId: c.id }) })).toBe(0);
    await expect(svc.updateInteraction(db, i.id, { subject: 'x' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(svc.deleteInteraction(db, i.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(svc.deleteInteraction(other, (await svc.recordInteraction(db, actor, base(c.id))).id)).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });
});

describe('filters', () => {
  it('filters by channel, type, sentiment, direction, time, staff and customer', async () => {
    const c = await newCustomer();
    const staff = await db.staffUser.create({ data: { email: `f${++n}@int.test`, name: 'F' } as never });
    const t0 = new Date('2025-06-01T00:00:00Z');
    const mk = (over: Partial<svc.RecordInteractionInput>, days: number) =>
      svc.recordInteraction(db, actor, { ...base(c.id), ...over, occurredAt: new Date(t0.getTime() + days * 86_400_000) });
    const a = await mk({ channel: 'EMAIL', type: 'REVIEW', sentiment: 'POSITIVE' }, 0);
    const b = await mk({ channel: 'SMS', type: 'COMPLAINT', sentiment: 'NEGATIVE', staffId: staff.id }, 1);
    const d = await mk({ channel: 'EMAIL', direction: 'OUTBOUND', type: 'GREETING' }, 2);
    const ids = async (f: svc.InteractionFilter) =>
      (
        await db.interaction.findMany({
          where: svc.interactionWhere({ customerId: c.id, ...f }),
          orderBy: [{ occurredAt: 'desc' }, { id: 'desc' }],
        })
      ).map((x) => x.id);
    expect(await ids({})).toEqual([d.id, b.id, a.id]);
    expect(await ids({ channels: ['EMAIL'] })).toEqual([d.id, a.id]);
    expect(await ids({ types: ['COMPLAINT', 'REVIEW'] })).toEqual([b.id, a.id]);
    expect(await ids({ sentiments: ['NEGATIVE'] })).toEqual([b.id]);
    expect(await ids({ directions: ['OUTBOUND'] })).toEqual([d.id]);
    expect(
      await ids({ occurredAfter: new Date(t0.getTime() + 86_400_000), occurredBefore: new Date(t0.getTime() + 2 * 86_400_000) }),
    ).toEqual([b.id]);
    expect(await ids({ staffIds: [staff.id] })).toEqual([b.id]);
    expect(() => svc.interactionWhere({ staffIds: ['bad'] })).toThrow(ValidationError);
  });
});

describe('idempotency', () => {
  it('replays, conflicts, and creates exactly one row under concurrency', async () => {
    const c = await newCustomer();
    const input = { ...base(c.id), subject: 'Call' };
    const first = await svc.recordInteractionIdempotent(db, actor, input, 'k1');
    const before = await counts();
    expect((await svc.recordInteractionIdempotent(db, actor, input, 'k1')).id).toBe(first.id);
    await expect(svc.recordInteractionIdempotent(db, actor, { ...input, subject: 'Other' }, 'k1')).rejects.toBeInstanceOf(
      IdempotencyConflictError,
    );
    expect(await counts()).toEqual(before);
    const many = await Promise.all(Array.from({ length: 6 }, () => svc.recordInteractionIdempotent(db, actor, input, 'k-conc')));
    expect(new Set(many.map((x) => x.id)).size).toBe(1);
    expect((await counts()).interactions).toBe(before.interactions + 1);
  });
});

describe('tenantSql', () => {
  it('binds the shop and drops rows of other shops even when a fragment forgets its filter', async () => {
    await newCustomer(db);
    await newCustomer(other);
    const rows = await tenantSql(tdb.prisma, shopA)<{ shopId: string }>(() => Prisma.sql`SELECT "shopId" FROM "Customer"`);
    expect(rows.length).toBeGreaterThan(0);
    expect(new Set(rows.map((r) => r.shopId))).toEqual(new Set([shopA]));
    const evil = "x' OR 1=1 --";
    const none = await tenantSql(
      tdb.prisma,
      shopB,
    )<{ shopId: string }>((shop) => Prisma.sql`SELECT "shopId" FROM "Customer" WHERE "shopId" = ${shop} AND email = ${evil}`);
    expect(none).toEqual([]);
    await expect(db.$queryRaw`SELECT 1`).rejects.toThrow(/not available/);
  });
});

describe('timeline', () => {
  it('pages through mixed kinds with identical timestamps in (at desc, kind, id desc) order without gaps or repeats', async () => {
    const c = await newCustomer();
    const same = new Date('2026-03-01T10:00:00.000Z');
    const earlier = new Date('2026-02-01T10:00:00.000Z');
    for (let k = 0; k < 4; k++) await svc.recordInteraction(db, actor, { ...base(c.id), occurredAt: same });
    const deleted = await svc.recordInteraction(db, actor, { ...base(c.id), occurredAt: same });
    await svc.deleteInteraction(db, deleted.id);
    for (let k = 0; k < 3; k++) {
      await upsertOrder(db, actor, {
        externalId: `tl-${c.id}-${k}`,
        customerId: c.id,
        currency: 'EUR',
        placedAt: k === 0 ? earlier : same,
        items: [{ name: 'X', quantity: 1, unitPrice: '1' }],
      });
    }
    await db.stageTransition.updateMany({ where: { customerId: c.id }, data: { at: same } });
    await customers.updateCustomer(db, actor, c.id, null, { consents: [{ channel: 'SMS', granted: true }] });
    await db.consentChange.updateMany({ where: { customerId: c.id }, data: { changedAt: same } });

    const sql = tenantSql(tdb.prisma, shopA);
    const all: TimelineEntry[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const page = await timelinePage(sql, c.id, { first: 3, after });
      all.push(...page.entries);
      pages++;
      if (!page.hasNextPage) break;
      const last = page.entries.at(-1) as TimelineEntry;
      after = Buffer.from(JSON.stringify([last.at.toISOString(), last.kind, last.id])).toString('base64url');
    }
    // 4 interactions, 3 orders, 3 stage moves (created, first, repeat), 1 consent change.
    expect(all).toHaveLength(11);
    expect(pages).toBe(4);
    expect(new Set(all.map((e) => `${e.kind}:${e.id}`)).size).toBe(11);
    expect(all.map((e) => e.id)).not.toContain(deleted.id);
    const sorted = [...all].sort(
      (a, b) => b.at.getTime() - a.at.getTime() || a.kind.localeCompare(b.kind) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0),
    );
    expect(all).toEqual(sorted);
    expect(all.at(-1)?.at).toEqual(earlier);
    const kindsAtSame = [...new Set(all.filter((e) => e.at.getTime() === same.getTime()).map((e) => e.kind))];
    expect(kindsAtSame).toEqual(['consent', 'interaction', 'order', 'stage']);

    const onlyOrders = await timelinePage(sql, c.id, { first: 10, kinds: ['order'] as TimelineKind[] });
    expect(onlyOrders.entries.map((e) => e.kind)).toEqual(['order', 'order', 'order']);
    const rows = await loadTimelineRows(db, all);
    expect(rows).toHaveLength(11);
    // Another shop's runner sees nothing of this customer.
    expect((await timelinePage(tenantSql(tdb.prisma, shopB), c.id, { first: 10 })).entries).toEqual([]);
    expect(() => decodeTimelineCursor('garbage')).toThrow(ValidationError);
  });
});

describe('storefront ingestion', () => {
  const web: store.Caller = { via: 'storefront', tokenCustomerId: null };

  it('captureLead creates a PROSPECT with source and consents and records an INQUIRY', async () => {
    const { result } = await store.captureLead(db, web, {
      email: 'Lead@Store.test',
      firstName: 'Lea',
      source: { channel: 'PAID_SEARCH', campaign: 'spring', medium: 'cpc', content: 'ad-1', referrer: 'google.com' },
      consents: [{ channel: 'EMAIL', granted: true }],
      message: 'Do you deliver?',
    });
    expect(result.created).toBe(true);
    const c = await customers.getCustomer(db, result.customerId);
    expect(c).toMatchObject({
      email: 'lead@store.test',
      stage: 'PROSPECT',
      sourceChannel: 'PAID_SEARCH',
      sourceCampaign: 'spring',
      sourceMedium: 'cpc',
      sourceContent: 'ad-1',
      sourceReferrerName: 'google.com',
    });
    expect(await db.consent.findMany({ where: { customerId: c?.id } })).toMatchObject([
      { channel: 'EMAIL', granted: true, source: 'lead-form' },
    ]);
    expect(await db.interaction.findUnique({ where: { id: result.interactionId } })).toMatchObject({
      type: 'INQUIRY',
      direction: 'INBOUND',
      channel: 'WEB',
      body: 'Do you deliver?',
      source: 'storefront',
    });
  });

  it('captureLead on an existing customer fills gaps, never overwrites, and moves a SUSPECT to PROSPECT', async () => {
    const c = await customers.createCustomer(db, actor, { email: 'known@store.test', firstName: 'Real', stage: 'SUSPECT' });
    const { result } = await store.captureLead(db, web, {
      email: 'known@store.test',
      firstName: 'Fake',
      lastName: 'Added',
      type: 'REGISTRATION',
    });
    expect(result).toMatchObject({ customerId: c.id, created: false });
    expect(await customers.getCustomer(db, c.id)).toMatchObject({ firstName: 'Real', lastName: 'Added', stage: 'PROSPECT' });
  });

  it('captureLead rejects input without email/phone and malformed email; writes nothing', async () => {
    const before = await counts();
    await expect(store.captureLead(db, web, { firstName: 'X' })).rejects.toBeInstanceOf(ValidationError);
    await expect(store.captureLead(db, web, { email: 'nope' })).rejects.toBeInstanceOf(ValidationError);
    expect(await counts()).toEqual(before);
  });

  it('captureLead with an idempotency key: concurrent duplicates create one customer and one interaction', async () => {
    const before = await counts();
    const input = { email: 'twice@store.test', message: 'hello' };
    const rs = await Promise.all(Array.from({ length: 4 }, () => store.captureLead(db, web, input, 'lead-1')));
    expect(new Set(rs.map((r) => r.result.interactionId)).size).toBe(1);
    const after = await counts();
    expect(after.customers).toBe(before.customers + 1);
    expect(after.interactions).toBe(before.interactions + 1);
    await expect(store.captureLead(db, web, { ...input, message: 'changed' }, 'lead-1')).rejects.toBeInstanceOf(IdempotencyConflictError);
  });

  it('trackInteraction uses the token customer, else email (creating a lead); refuses staff-only types from storefronts', async () => {
    const c = await newCustomer();
    const viaToken = await store.trackInteraction(
      db,
      { via: 'storefront', tokenCustomerId: c.id },
      { type: 'REVIEW', sentiment: 'POSITIVE' },
    );
    expect(viaToken.result.customerId).toBe(c.id);
    const viaEmail = await store.trackInteraction(db, web, { type: 'SURVEY_RESPONSE', email: 'survey@store.test' });
    expect((await customers.getCustomer(db, viaEmail.result.customerId))?.stage).toBe('PROSPECT');
    await expect(store.trackInteraction(db, web, { type: 'FOLLOW_UP_CALL', email: 'x@store.test' })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(store.trackInteraction(db, web, { type: 'REVIEW' })).rejects.toBeInstanceOf(ValidationError);
    await expect(store.trackInteraction(db, web, { type: 'REVIEW', customerId: c.id })).rejects.toBeInstanceOf(ValidationError);
    // A token naming another shop's customer finds nothing.
    const foreign = await newCustomer(other);
    await expect(store.trackInteraction(db, { via: 'storefront', tokenCustomerId: foreign.id }, { type: 'REVIEW' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    expect(ConflictError).toBeDefined();
  });
});
