import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Caller, createTestApp, globalId, rawId, type TestApp } from '../packages/server/src/testing.ts';
import { createCustomer, errorCodes, ok, succeed } from './helpers/crm.ts';

/** Batch mutations for syncs: upsertCustomers and upsertOrders (docs/customers.md, docs/interactions-and-orders.md). */

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

type Shop = { shopId: string; g: Caller; p: Caller };
async function shop(): Promise<Shop> {
  const s = await t.newShop(undefined, `owner-${Math.random().toString(36).slice(2)}@shop.test`);
  return { shopId: s.shop.id, g: t.gql(s.secretKey), p: t.gql(s.publishableKey) };
}

type Item = { __typename: string; created?: boolean; code?: string; path?: string[]; message?: string } & Record<string, unknown>;
type Batch = {
  __typename: string;
  code?: string;
  path?: string[];
  results: Item[];
  createdCount: number;
  updatedCount: number;
  failedCount: number;
  replayed: boolean;
};

const ERR = '... on Error { code message path } ... on ValidationError { issues { path message } }';
const CUSTOMERS = `mutation($input: UpsertCustomersInput!) { upsertCustomers(input: $input) { __typename ${ERR}
  ... on UpsertCustomersPayload { createdCount updatedCount failedCount replayed
    results { __typename ${ERR} ... on UpsertCustomerPayload { created customer { id email firstName lastName phone tags { name } } } } } } }`;
const ORDERS = `mutation($input: UpsertOrdersInput!) { upsertOrders(input: $input) { __typename ${ERR}
  ... on UpsertOrdersPayload { createdCount updatedCount failedCount replayed
    results { __typename ${ERR} ... on ExchangeRateMissingError { currency baseCurrency }
      ... on UpsertOrderPayload { created order { id externalId total customer { id stage } } } } } } }`;

async function upsertCustomers(g: Caller, items: unknown[], idempotencyKey?: string): Promise<Batch> {
  return (await ok<{ upsertCustomers: Batch }>(g, CUSTOMERS, { input: { items, idempotencyKey } })).upsertCustomers;
}
async function upsertOrders(g: Caller, items: unknown[], idempotencyKey?: string): Promise<Batch> {
  return (await ok<{ upsertOrders: Batch }>(g, ORDERS, { input: { items, idempotencyKey } })).upsertOrders;
}
const customerOf = (i: Item | undefined) => i?.customer as { id: string; email: string; firstName: string; lastName: string | null };
const events = (shopId: string, type: string) => t.db.prisma.event.count({ where: { shopId, type } });
const ITEMS = [{ name: 'Lamp', quantity: 1, unitPrice: '10.00' }];

describe('upsertCustomers', () => {
  it('takes 500 customers: all created in input order, with their events', async () => {
    const s = await shop();
    const items = Array.from({ length: 500 }, (_, i) => ({ email: `c${i}@batch.test`, firstName: `C${i}`, tags: ['sync'] }));
    const r = await upsertCustomers(s.g, items);
    expect(r.__typename).toBe('UpsertCustomersPayload');
    expect([r.createdCount, r.updatedCount, r.failedCount, r.replayed]).toEqual([500, 0, 0, false]);
    expect(r.results.map((x) => customerOf(x).email)).toEqual(items.map((i) => i.email));
    expect(await t.db.prisma.customer.count({ where: { shopId: s.shopId } })).toBe(500);
    expect(await events(s.shopId, 'CUSTOMER_CREATED')).toBe(500);
    expect(await events(s.shopId, 'LEAD_CAPTURED')).toBe(500);
  }, 120_000);

  it('refuses 501 items with a ValidationError before writing anything', async () => {
    const s = await shop();
    const items = Array.from({ length: 501 }, (_, i) => ({ email: `x${i}@batch.test` }));
    const r = await upsertCustomers(s.g, items);
    expect(r).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION_FAILED', path: ['input', 'items'] });
    expect(await t.db.prisma.customer.count({ where: { shopId: s.shopId } })).toBe(0);
  });

  it('reports per-item typed errors in input order; valid items are written, failed ones leave nothing behind', async () => {
    const s = await shop();
    const a = await createCustomer(s.g, { email: 'a@batch.test' });
    await createCustomer(s.g, { email: 'b@batch.test', phone: '+4930555001' });
    const before = await t.db.prisma.tag.count({ where: { shopId: s.shopId } });
    const r = await upsertCustomers(s.g, [
      { email: 'new1@batch.test', firstName: 'One' },
      { email: 'not-an-email', firstName: 'Bad' },
      { email: 'a@batch.test', phone: '+4930555001' }, // a's update would take b's phone
      { email: 'ghost@batch.test', ownerId: globalId('StaffUser', '00000000-0000-4000-8000-000000000000') },
      // Fails after the customer and its tag were inserted (a channel given twice): rolled back to its savepoint.
      {
        email: 'half@batch.test',
        tags: ['half-written'],
        consents: [
          { channel: 'EMAIL', granted: true },
          { channel: 'EMAIL', granted: false },
        ],
      },
      { email: 'a@batch.test', firstName: 'Ada' },
      { email: 'new2@batch.test', dealLikelihood: 150 },
    ]);
    expect(r.results.map((x) => x.__typename)).toEqual([
      'UpsertCustomerPayload',
      'ValidationError',
      'ConflictError',
      'NotFoundError',
      'ValidationError',
      'UpsertCustomerPayload',
      'ValidationError',
    ]);
    expect(r.results[1]?.path).toEqual(['input', 'items', '1', 'email']);
    expect(r.results[2]?.path).toEqual(['input', 'items', '2', 'phone']);
    expect(r.results[3]?.path).toEqual(['input', 'items', '3', 'ownerId']);
    expect(r.results[4]?.path).toEqual(['input', 'items', '4', 'consents', '1', 'channel']);
    expect(r.results[6]?.path).toEqual(['input', 'items', '6', 'dealLikelihood']);
    expect([r.createdCount, r.updatedCount, r.failedCount]).toEqual([1, 1, 5]);
    expect(customerOf(r.results[5])).toMatchObject({ id: a.id, firstName: 'Ada' });
    const emails = (await t.db.prisma.customer.findMany({ where: { shopId: s.shopId }, select: { email: true } })).map((c) => c.email);
    expect(emails.sort()).toEqual(['a@batch.test', 'b@batch.test', 'new1@batch.test']);
    expect(await t.db.prisma.tag.count({ where: { shopId: s.shopId } })).toBe(before);
    expect(await t.db.prisma.consentChange.count({ where: { shopId: s.shopId } })).toBe(0);
    // Events only for what was written: one created (+ its lead), one update.
    expect(await events(s.shopId, 'CUSTOMER_CREATED')).toBe(3);
    expect(await events(s.shopId, 'CUSTOMER_UPDATED')).toBe(1);
  });

  it('the same email twice in a batch is one customer: created by the first item, updated by the second', async () => {
    const s = await shop();
    const r = await upsertCustomers(s.g, [
      { email: 'twin@batch.test', firstName: 'First', lastName: 'Kept', tags: ['one'] },
      { email: 'TWIN@batch.test', firstName: 'Second', tags: ['two'] },
    ]);
    const [first, second] = r.results;
    expect([first?.created, second?.created]).toEqual([true, false]);
    expect(customerOf(second).id).toBe(customerOf(first).id);
    expect(customerOf(second)).toMatchObject({ firstName: 'Second', lastName: 'Kept' });
    const row = await t.db.prisma.customer.findUniqueOrThrow({ where: { id: rawId(customerOf(first).id) }, include: { tags: true } });
    expect(row.tags).toHaveLength(2);
    expect(await t.db.prisma.customer.count({ where: { shopId: s.shopId } })).toBe(1);
  });

  it('a tag created by a failed item is not reused by later items (its savepoint took it back)', async () => {
    const s = await shop();
    const twice = [
      { channel: 'EMAIL', granted: true },
      { channel: 'EMAIL', granted: false },
    ];
    const r = await upsertCustomers(s.g, [
      { email: 'fail@batch.test', tags: ['fresh'], consents: twice },
      { email: 'ok1@batch.test', tags: ['fresh'] },
      { email: 'ok2@batch.test', tags: ['fresh', 'other'] },
    ]);
    expect(r.results.map((x) => x.__typename)).toEqual(['ValidationError', 'UpsertCustomerPayload', 'UpsertCustomerPayload']);
    expect(
      r.results.slice(1).map((x) => (customerOf(x) as unknown as { tags: { name: string }[] }).tags.map((g) => g.name).sort()),
    ).toEqual([['fresh'], ['fresh', 'other']]);
    expect(await t.db.prisma.tag.count({ where: { shopId: s.shopId } })).toBe(2);
  });

  it('an idempotency key replays the stored results without writing; another body is an IdempotencyConflictError', async () => {
    const s = await shop();
    const items = [{ email: 'idem@batch.test', firstName: 'Idem' }, { email: 'broken' }, { externalId: 'idem-2', firstName: 'Two' }];
    const first = await upsertCustomers(s.g, items, 'sync-42');
    const counts = async () => ({
      customers: await t.db.prisma.customer.count({ where: { shopId: s.shopId } }),
      events: await t.db.prisma.event.count({ where: { shopId: s.shopId } }),
      transitions: await t.db.prisma.stageTransition.count({ where: { shopId: s.shopId } }),
    });
    const after = await counts();
    const again = await upsertCustomers(s.g, items, 'sync-42');
    expect(again.replayed).toBe(true);
    expect(first.replayed).toBe(false);
    expect(again.results).toEqual(first.results);
    expect([again.createdCount, again.failedCount]).toEqual([2, 1]);
    expect(await counts()).toEqual(after);
    const other = await upsertCustomers(s.g, [{ email: 'other@batch.test' }], 'sync-42');
    expect(other).toMatchObject({ __typename: 'IdempotencyConflictError', code: 'IDEMPOTENCY_CONFLICT' });
    expect(await counts()).toEqual(after);
  });

  it('costs far fewer statements than the same upserts one request each', async () => {
    const s = await shop();
    const N = 20;
    const items = (p: string) => Array.from({ length: N }, (_, i) => ({ email: `${p}${i}@batch.test`, firstName: `F${i}`, tags: ['t'] }));
    await upsertCustomers(s.g, [{ email: 'warm@batch.test' }]); // the key's last use is recorded at most once a minute
    t.db.resetQueryCount();
    for (const input of items('single')) await succeed(s.g, 'upsertCustomer', input);
    const singles = t.db.queryCount();
    t.db.resetQueryCount();
    const r = await upsertCustomers(s.g, items('batch'));
    const batch = t.db.queryCount();
    expect(r.createdCount).toBe(N);
    // Measured (20 new customers with a tag): 240 statements one by one, 107 as one batch, plus 20 SAVEPOINTs (the
    // per-request transaction, audit and key statements and the per-item event inserts are paid once).
    expect(batch).toBeLessThan(singles * 0.5);
  });

  it('needs contacts:write (not a publishable key, not a read-only key)', async () => {
    const s = await shop();
    const ro = await succeed(s.g, 'createApiKey', { kind: 'SECRET', name: 'ro', scopes: ['contacts:read'] });
    const orders = await succeed(s.g, 'createApiKey', { kind: 'SECRET', name: 'orders', scopes: ['orders:write'] });
    for (const g of [t.gql(ro.key as string), t.gql(orders.key as string), s.p]) {
      const r = await upsertCustomers(g, [{ email: 'nope@batch.test' }]);
      expect(r).toMatchObject({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
    }
    expect(errorCodes(await t.gql(null)(CUSTOMERS, { input: { items: [] } }))).toEqual(['UNAUTHENTICATED']);
    const w = await succeed(s.g, 'createApiKey', { kind: 'SECRET', name: 'w', scopes: ['contacts:write', 'contacts:read'] });
    expect((await upsertCustomers(t.gql(w.key as string), [{ email: 'yes@batch.test' }])).createdCount).toBe(1);
    expect(await t.db.prisma.customer.count({ where: { shopId: s.shopId } })).toBe(1);
  });
});

describe('upsertOrders', () => {
  it('takes 500 orders with the stage automation and one ORDER_RECORDED each; 501 are refused', async () => {
    const s = await shop();
    const buyers = await upsertCustomers(
      s.g,
      Array.from({ length: 50 }, (_, i) => ({ email: `buyer${i}@batch.test` })),
    );
    const ids = buyers.results.map((x) => customerOf(x).id);
    const items = Array.from({ length: 500 }, (_, i) => ({
      externalId: `o-${i}`,
      customerId: ids[i % 50],
      currency: 'EUR',
      items: ITEMS,
    }));
    const r = await upsertOrders(s.g, items);
    expect([r.createdCount, r.failedCount]).toEqual([500, 0]);
    expect(r.results.map((x) => (x.order as { externalId: string }).externalId)).toEqual(items.map((i) => i.externalId));
    expect(await t.db.prisma.order.count({ where: { shopId: s.shopId } })).toBe(500);
    expect(await events(s.shopId, 'ORDER_RECORDED')).toBe(500);
    expect(await t.db.prisma.customer.count({ where: { shopId: s.shopId, stage: 'REPEAT' } })).toBe(50);
    expect(await events(s.shopId, 'STAGE_CHANGED')).toBe(100); // PROSPECT -> FIRST_PURCHASE -> REPEAT

    const tooMany = await upsertOrders(s.g, [...items, { ...items[0], externalId: 'o-500' }]);
    expect(tooMany).toMatchObject({ __typename: 'ValidationError', path: ['input', 'items'] });
    expect(await t.db.prisma.order.count({ where: { shopId: s.shopId } })).toBe(500);
  }, 120_000);

  it('per-item errors in order (unknown customer, wrong total, no exchange rate, own idempotency key); the rest is written', async () => {
    const s = await shop();
    const c = await createCustomer(s.g, { email: 'o@batch.test' });
    const base = { customerId: c.id, currency: 'EUR', items: ITEMS };
    const r = await upsertOrders(s.g, [
      { ...base, externalId: 'ok-1' },
      { ...base, externalId: 'bad-1', customerId: globalId('Customer', '00000000-0000-4000-8000-000000000000') },
      { ...base, externalId: 'bad-2', total: '99.00' },
      { ...base, externalId: 'bad-3', currency: 'JPY' },
      { ...base, externalId: 'bad-4', idempotencyKey: 'mine' },
      { ...base, externalId: 'ok-1', status: 'CANCELLED' },
    ]);
    expect(r.results.map((x) => x.__typename)).toEqual([
      'UpsertOrderPayload',
      'NotFoundError',
      'ValidationError',
      'ExchangeRateMissingError',
      'ValidationError',
      'UpsertOrderPayload',
    ]);
    expect(r.results.map((x) => x.path ?? null)).toEqual([
      null,
      ['input', 'items', '1', 'customerId'],
      ['input', 'items', '2', 'total'],
      ['input', 'items', '3', 'exchangeRate'],
      ['input', 'items', '4', 'idempotencyKey'],
      null,
    ]);
    expect(r.results[3]).toMatchObject({ currency: 'JPY', baseCurrency: 'EUR' });
    expect([r.results[0]?.created, r.results[5]?.created]).toEqual([true, false]);
    const orders = await t.db.prisma.order.findMany({ where: { shopId: s.shopId } });
    expect(orders.map((o) => [o.externalId, o.status])).toEqual([['ok-1', 'CANCELLED']]);
    expect(await events(s.shopId, 'ORDER_RECORDED')).toBe(2);
  });

  it('replays with the same idempotency key; needs orders:write', async () => {
    const s = await shop();
    const c = await createCustomer(s.g, { email: 'r@batch.test' });
    const items = [{ externalId: 'r-1', customerId: c.id, currency: 'EUR', items: ITEMS }];
    const first = await upsertOrders(s.g, items, 'orders-1');
    const again = await upsertOrders(s.g, items, 'orders-1');
    expect(again.replayed).toBe(true);
    expect(again.results).toEqual(first.results);
    expect(await events(s.shopId, 'ORDER_RECORDED')).toBe(1);
    expect(await upsertOrders(s.g, [{ ...items[0], externalId: 'r-2' }], 'orders-1')).toMatchObject({
      __typename: 'IdempotencyConflictError',
    });
    const contacts = await succeed(s.g, 'createApiKey', { kind: 'SECRET', name: 'c', scopes: ['contacts:write', 'orders:read'] });
    for (const g of [t.gql(contacts.key as string), s.p]) {
      expect(await upsertOrders(g, items)).toMatchObject({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
    }
    expect(await t.db.prisma.order.count({ where: { shopId: s.shopId } })).toBe(1);
  });
});
