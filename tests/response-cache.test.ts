import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../packages/server/src/testing.ts';
import { createCustomer, createStaff, ok, succeed } from './helpers/crm.ts';

/** The optional response cache (RESPONSE_CACHE_MS > 0): per shop and caller, dropped by the shop's events. */
describe('response cache', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ caches: { apiKeyMs: 30_000, countMs: 0, responseMs: 60_000 } });
  });
  afterAll(() => t.close());
  const LIST = '{ customers(first: 10) { totalCount edges { node { email } } } }';
  type List = { customers: { totalCount: number; edges: { node: { email: string } }[] } };

  it('is off by default', async () => {
    const plain = await createTestApp();
    try {
      expect(plain.config.caches.responseMs).toBe(0);
      expect(plain.app.services.caches?.responses).toBeUndefined();
    } finally {
      await plain.close();
    }
  });

  it('answers a repeated read from the cache (no SQL), until an event of the shop', async () => {
    const s = await t.newShop();
    const g = t.gql(s.secretKey);
    await createCustomer(g, { email: 'a@rc.test' });
    const first = await ok<List>(g, LIST);
    expect(first.customers.totalCount).toBe(1);
    t.db.resetQueryCount();
    expect(await ok<List>(g, LIST)).toEqual(first);
    expect(t.db.queryCount()).toBe(0);
    // Behind the API's back (no event): the cached answer stands.
    await t.db.sql.query(`INSERT INTO "Customer" ("shopId", "email") VALUES ($1, 'b@rc.test')`, [s.shop.id]);
    expect((await ok<List>(g, LIST)).customers.totalCount).toBe(1);
    // A mutation of the shop drops its answers.
    await createCustomer(g, { email: 'c@rc.test' });
    expect((await ok<List>(g, LIST)).customers.totalCount).toBe(3);
  });

  it('never serves one shop, key or staff user the answer of another', async () => {
    const s1 = await t.newShop();
    const s2 = await t.newShop();
    await createCustomer(t.gql(s1.secretKey), { email: 'one@rc.test' });
    for (let i = 0; i < 2; i++) {
      expect((await ok<List>(t.gql(s1.secretKey), LIST)).customers.totalCount).toBe(1);
      expect((await ok<List>(t.gql(s2.secretKey), LIST)).customers.totalCount).toBe(0);
    }
    // A key of the same shop with fewer scopes is refused, not served the cached answer.
    const limited = await succeed(t.gql(s1.secretKey), 'createApiKey', { kind: 'SECRET', name: 'staff only', scopes: ['staff:read'] });
    const r = await t.gql(limited.key as string)(LIST);
    expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // Staff users get their own entries (what an agent sees depends on who they are).
    const agent = await createStaff(t.gql(s1.secretKey), { name: 'Agent', email: 'agent@rc.test', role: 'AGENT' });
    const VIEWER = '{ viewer { staffUserId } }';
    const asKey = await t.gql(s1.secretKey)(VIEWER);
    expect(asKey.data).toEqual({ viewer: { staffUserId: null } });
    const asAgent = await t.gql(s1.secretKey)(VIEWER, {}, { 'x-crm-staff-id': agent.id });
    expect(asAgent.data).toEqual({ viewer: { staffUserId: agent.id } });
  });
});
