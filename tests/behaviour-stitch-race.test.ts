import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedShop } from '../packages/server/src/modules/shops/shop.service.ts';
import { createTestApp, rawId, type TestApp, testBackend } from '../packages/server/src/testing.ts';
import { createCustomer, sleep, succeed } from './helpers/crm.ts';

/**
 * Identity stitching beside a trackEvents batch of the same visitor (migration visitor_stitch_lock):
 * whichever starts first, the batch's events end up the customer's. Each case holds one side open
 * on a second PostgreSQL connection and proves the other side waited for it (a lock not granted).
 * PGlite has a single connection: nothing can overlap there.
 */
describe.skipIf(testBackend() !== 'postgres')('stitching beside a batch of the same visitor (two connections)', () => {
  let t: TestApp;
  let s: CreatedShop;
  let other: pg.Client;
  beforeAll(async () => {
    t = await createTestApp();
    s = await t.newShop('Stitch race', 'owner@stitch-race.test');
    other = new pg.Client({ connectionString: t.db.url ?? undefined });
    await other.connect();
  });
  afterAll(async () => {
    await other?.end();
    await t?.close();
  });

  const TRACK = `mutation($e: [BehaviourEventInput!]!) { trackEvents(events: $e) { __typename ... on TrackEventsPayload { accepted } } }`;
  const IDENTIFY = `mutation($i: IdentifyVisitorInput!) { identifyVisitor(input: $i) { __typename ... on IdentifyVisitorPayload { stitched } } }`;
  const views = (visitorId: string, n: number) =>
    Array.from({ length: n }, (_, i) => ({ type: 'PAGE_VIEWED', visitorId, url: `https://shop.example/p/${i}` }));
  const customersOf = async (visitorId: string) =>
    (await t.db.prisma.behaviourEvent.findMany({ where: { shopId: s.shop.id, visitorId }, orderBy: { id: 'asc' } })).map(
      (e) => e.customerId,
    );

  /** Runs `fn` inside a transaction held open on the second connection: committed when it returns, rolled back when it throws. */
  async function openOnOther<T>(fn: () => Promise<T>): Promise<T> {
    await other.query('BEGIN');
    try {
      const out = await fn();
      await other.query('COMMIT');
      return out;
    } catch (err) {
      await other.query('ROLLBACK');
      throw err;
    }
  }

  /** Waits until a statement of this app waits on a visitor's stitch lock (an advisory lock not granted). */
  async function someoneWaits() {
    const end = Date.now() + 10_000;
    for (;;) {
      const r = await other.query(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND pid <> pg_backend_pid()
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      );
      if (r.rows[0].n > 0) return;
      if (Date.now() > end) throw new Error('nothing waited for the stitch lock');
      await sleep(20);
    }
  }

  it('a batch that starts while a stitch of its visitor is uncommitted waits for it and is the customer’s', async () => {
    const customer = await createCustomer(t.gql(s.secretKey), { email: 'first@stitch-race.test' });
    const visitor = randomUUID();
    // A stitch in flight on another connection: the link is written, not yet committed.
    const { batch } = await openOnOther(async () => {
      await other.query(`INSERT INTO "VisitorIdentity" ("shopId", "visitorId", "customerId", "via") VALUES ($1, $2, $3, 'API')`, [
        s.shop.id,
        visitor,
        rawId(customer.id),
      ]);
      const batch = t.gql(s.publishableKey)(TRACK, { e: views(visitor, 3) });
      batch.catch(() => {});
      await someoneWaits();
      return { batch };
    });
    expect((await batch).errors).toBeUndefined();
    expect(await customersOf(visitor)).toEqual([rawId(customer.id), rawId(customer.id), rawId(customer.id)]);
  });

  it('a stitch that starts while a batch of its visitor is uncommitted waits for it and moves the batch’s events', async () => {
    const customer = await createCustomer(t.gql(s.secretKey), { email: 'second@stitch-race.test' });
    const visitor = randomUUID();
    // A batch in flight on another connection, as recordEvents writes one: the visitor's customer
    // read under its lock (none yet), the event written anonymous, not yet committed.
    const { stitch } = await openOnOther(async () => {
      await other.query(
        `INSERT INTO "BehaviourEvent" ("shopId", "visitorId", "customerId", "type", "occurredAt")
         VALUES ($1, $2, "crm_visitor_customer"($1, $2), 'PAGE_VIEWED', now())`,
        [s.shop.id, visitor],
      );
      const stitch = t.gql(s.secretKey)<{ identifyVisitor: { stitched?: number } }>(IDENTIFY, {
        i: { visitorId: visitor, customerId: customer.id },
      });
      stitch.catch(() => {});
      await someoneWaits();
      return { stitch };
    });
    const r = await stitch;
    expect(r.errors).toBeUndefined();
    expect(r.data?.identifyVisitor.stitched).toBe(1);
    expect(await customersOf(visitor)).toEqual([rawId(customer.id)]);
  });

  it('a merge moving a visitor beside a batch of it: the batch waits, then writes for the survivor (no deadlock)', async () => {
    const g = t.gql(s.secretKey);
    const dup = await createCustomer(g, { email: 'dup@stitch-race.test' });
    const survivor = await createCustomer(g, { email: 'survivor@stitch-race.test' });
    const visitor = randomUUID();
    expect((await g(IDENTIFY, { i: { visitorId: visitor, customerId: dup.id } })).errors).toBeUndefined();
    expect((await t.gql(s.publishableKey)(TRACK, { e: views(visitor, 1) })).errors).toBeUndefined();
    // mergeBehaviour's statements in its order, on another connection: the link first (the visitor's
    // lock), then the events (their rollup rows), with a batch of the visitor arriving in between.
    const { batch } = await openOnOther(async () => {
      await other.query(`UPDATE "VisitorIdentity" SET "customerId" = $3 WHERE "shopId" = $1 AND "visitorId" = $2`, [
        s.shop.id,
        visitor,
        rawId(survivor.id),
      ]);
      const batch = t.gql(s.publishableKey)(TRACK, { e: views(visitor, 1) });
      batch.catch(() => {});
      await someoneWaits();
      await other.query(`UPDATE "BehaviourEvent" SET "customerId" = $3 WHERE "shopId" = $1 AND "customerId" = $2`, [
        s.shop.id,
        rawId(dup.id),
        rawId(survivor.id),
      ]);
      return { batch };
    });
    expect((await batch).errors).toBeUndefined();
    expect(await customersOf(visitor)).toEqual([rawId(survivor.id), rawId(survivor.id)]);
    // And the real merge beside a stream of batches of the visitors of both.
    const a = await createCustomer(g, { email: 'a@stitch-race.test' });
    const b = await createCustomer(g, { email: 'b@stitch-race.test' });
    const visitors = [randomUUID(), randomUUID(), randomUUID()];
    for (const [i, v] of visitors.entries()) await g(IDENTIFY, { i: { visitorId: v, customerId: (i ? a : b).id } });
    const batches = Array.from({ length: 12 }, (_, i) =>
      t.gql(s.publishableKey)(TRACK, { e: [...views(visitors[i % 3] as string, 1), ...views(visitors[(i + 1) % 3] as string, 1)] }),
    );
    const merged = await succeed(g, 'mergeCustomers', { survivorId: b.id, duplicateId: a.id });
    expect(merged.code).toBeUndefined();
    for (const r of await Promise.all(batches)) expect(r.errors).toBeUndefined();
    for (const v of visitors) expect(new Set(await customersOf(v))).toEqual(new Set([rawId(b.id)]));
  });

  it('two batches with a customer token for the same visitors do not deadlock', async () => {
    const customer = await createCustomer(t.gql(s.secretKey), { email: 'third@stitch-race.test' });
    const token = (await succeed(t.gql(s.secretKey), 'createCustomerToken', { customerId: customer.id, ttlSeconds: 600 })).token as string;
    const visitors = [randomUUID(), randomUUID()];
    const g = t.gql(s.publishableKey);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        g(
          TRACK,
          { e: [...views(visitors[i % 2] as string, 2), ...views(visitors[(i + 1) % 2] as string, 2)] },
          { 'x-customer-token': token },
        ),
      ),
    );
    for (const r of results) expect(r.errors).toBeUndefined();
    for (const v of visitors) expect(new Set(await customersOf(v))).toEqual(new Set([rawId(customer.id)]));
  });
});
