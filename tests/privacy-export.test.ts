import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportSections } from '../packages/server/src/modules/customers/customer.export.ts';
import { type Caller, createTestApp, rawId, type TestApp } from '../packages/server/src/testing.ts';

/**
 * Data access export: one document with everything held about a person. The coverage test
 * enumerates every table with a customer reference (a foreign key to Customer, or a customerId
 * column) from information_schema: each must be covered by an export section, and each row the
 * fixture put there for the customer must come out. A new table without an export section fails.
 */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t?.close());

type Res = Record<string, unknown> & { __typename: string; code?: string };
async function run(g: Caller, field: string, input: unknown, sel: string, headers?: Record<string, string>): Promise<Res> {
  const type = `${field[0]?.toUpperCase()}${field.slice(1)}Input`;
  const r = await g<Record<string, Res>>(
    `mutation($input: ${type}!) { ${field}(input: $input) { __typename ... on Error { code message } ${sel} } }`,
    { input },
    headers,
  );
  const res = r.data?.[field];
  if (r.errors?.length || !res || res.code) throw new Error(`${field}: ${JSON.stringify(r.errors ?? res)}`);
  return res;
}

/** Tables referencing Customer (foreign key) or carrying a customerId column, with that column. */
async function customerReferences(): Promise<{ table: string; column: string }[]> {
  const fks = await t.db.prisma.$queryRawUnsafe<{ table: string; column: string }[]>(`
    SELECT kcu.table_name AS "table", kcu.column_name AS "column"
    FROM information_schema.table_constraints tc
    JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema
    JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = tc.constraint_name AND ccu.table_schema = tc.table_schema
    WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = 'public' AND ccu.table_name = 'Customer'`);
  const cols = await t.db.prisma.$queryRawUnsafe<{ table: string; column: string }[]>(`
    SELECT table_name AS "table", column_name AS "column" FROM information_schema.columns
    WHERE table_schema = 'public' AND column_name = 'customerId'`);
  const seen = new Set<string>();
  return [...fks, ...cols].filter((r) => !seen.has(`${r.table}.${r.column}`) && seen.add(`${r.table}.${r.column}`));
}

const VISITOR = '5e0c3a52-6a5e-4f0e-9d43-6d8f3f0b7a11';

describe('customer data export', () => {
  let g: Caller;
  let pk: Caller;
  let aId = '';
  let bId = '';
  let token = '';

  beforeAll(async () => {
    const shop = await t.newShop('Export');
    g = t.gql(shop.secretKey);
    pk = t.gql(shop.publishableKey);
    await run(g, 'createSegment', { name: 'Buyers', rule: 'orders.count >= 1' }, '... on CreateSegmentSuccess { segment { id } }');
    await run(g, 'updateLoyaltySettings', { tiers: [{ name: 'Silver', minPoints: 10 }] }, '__typename').catch(() => undefined);
    const staff = (
      await run(g, 'createStaffUser', { name: 'Ed Rep', email: 'ed@shop.example' }, '... on CreateStaffUserSuccess { staffUser { id } }')
    ).staffUser as { id: string };
    const a = await run(
      g,
      'createCustomer',
      {
        firstName: 'Olga',
        email: 'olga@export.example',
        tags: ['vip'],
        consents: [{ channel: 'EMAIL', granted: true }],
        source: { channel: 'SOCIAL' },
      },
      '... on CreateCustomerSuccess { customer { id } }',
    );
    aId = (a.customer as { id: string }).id;
    const b = await run(
      g,
      'createCustomer',
      { firstName: 'Olga', lastName: 'Old', email: 'olga.old@export.example' },
      '... on CreateCustomerSuccess { customer { id } }',
    );
    bId = (b.customer as { id: string }).id;
    await run(g, 'assignLead', { customerId: bId, staffId: staff.id }, '... on AssignLeadSuccess { customer { id } }');
    await run(g, 'setCustomerStage', { id: aId, stage: 'PROSPECT', reason: 'x' }, '__typename');
    await run(
      g,
      'recordInteraction',
      { customerId: bId, channel: 'EVENT', direction: 'INBOUND', type: 'EVENT_ATTENDANCE', subject: 'Fair' },
      '__typename',
    );
    await run(
      g,
      'upsertOrder',
      { customerId: bId, externalId: 'ex-1', currency: 'EUR', items: [{ name: 'Vase', quantity: 2, unitPrice: '15.00', addOn: true }] },
      '__typename',
    );
    const fu = await run(g, 'createFollowUp', { customerId: aId, goal: 'Check in' }, '... on CreateFollowUpSuccess { followUp { id } }');
    await run(g, 'completeFollowUp', { id: (fu.followUp as { id: string }).id, outcome: 'ok', doubts: ['Too pricey?'] }, '__typename');
    await run(g, 'earnPoints', { customerId: bId, points: 20, reason: 'Welcome', idempotencyKey: 'p1' }, '__typename');
    // The duplicate browsed the storefront signed in (behaviour events, docs/behaviour.md).
    const bToken = (await run(g, 'createCustomerToken', { customerId: bId }, '... on CustomerToken { token }')).token as string;
    const tracked = await pk<{ trackEvents: { accepted: number } }>(
      'mutation($e: [BehaviourEventInput!]!) { trackEvents(events: $e) { __typename ... on TrackEventsPayload { accepted } } }',
      { e: [{ type: 'PRODUCT_VIEWED', visitorId: VISITOR, sku: 'VASE-1', url: 'https://shop.example/vase' }] },
      { 'x-customer-token': bToken },
    );
    expect(tracked.data?.trackEvents.accepted).toBe(1);
    await run(g, 'mergeCustomers', { survivorId: aId, duplicateId: bId }, '__typename');
    await t.app.segments.tick();
    await t.app.loyalty.tick();
    token = (await run(g, 'createCustomerToken', { customerId: aId }, '... on CustomerToken { token }')).token as string;
  });

  it('covers every table with a customer reference, and every row of the customer (and its merged duplicate) in them', async () => {
    const covered = new Set(exportSections().flatMap((s) => s.tables));
    const refs = await customerReferences();
    expect(refs.length).toBeGreaterThan(10);
    const uncovered = [...new Set(refs.map((r) => r.table))].filter((table) => !covered.has(table));
    expect(uncovered).toEqual([]);

    const r = await g<{ customerDataExport: Record<string, unknown> }>('query($id: ID!) { customerDataExport(id: $id) }', { id: aId });
    expect(r.errors).toBeUndefined();
    const doc = r.data?.customerDataExport as Record<string, unknown>;
    const ids = [rawId(aId), rawId(bId)];
    const text = JSON.stringify(doc);
    const sectionOf = (table: string) => exportSections().find((s) => s.tables.includes(table))?.key as string;
    const missing: string[] = [];
    for (const { table, column } of refs) {
      // Every row of theirs must appear in the document: matched by its primary key (or the customer's id).
      const rows = await t.db.prisma.$queryRawUnsafe<{ id: string | null }[]>(
        `SELECT to_jsonb(r)->>'id' AS id FROM "${table}" r WHERE "${column}" = ANY($1::uuid[])`,
        ids,
      );
      if (table !== 'Customer' && rows.length && doc[sectionOf(table)] == null) missing.push(`${table}: no section ${sectionOf(table)}`);
      for (const row of rows) if (row.id && !text.includes(row.id)) missing.push(`${table}.${row.id}`);
    }
    expect(missing).toEqual([]);
    // The merged duplicate's browser and its behaviour are the survivor's now.
    expect(doc.visitors).toEqual([expect.objectContaining({ visitorId: VISITOR, customerId: rawId(aId), via: 'TOKEN' })]);
    expect(doc.behaviour).toEqual([
      expect.objectContaining({ type: 'PRODUCT_VIEWED', sku: 'VASE-1', visitorId: VISITOR, customerId: rawId(aId) }),
    ]);
    // Contents that matter to the person.
    expect(doc).toMatchObject({
      customerId: aId,
      profile: {
        email: 'olga@export.example',
        sourceChannel: 'SOCIAL',
        mergedProfiles: [{ email: 'olga.old@export.example', status: 'MERGED' }],
      },
      tags: [{ name: 'vip' }],
      consents: [{ channel: 'EMAIL', granted: true }],
      segmentMemberships: [{ name: 'Buyers' }],
      points: { balance: expect.any(Number) },
    });
    expect((doc.merges as { snapshot: { email: string } }[])[0]?.snapshot.email).toBe('olga.old@export.example');
    expect((doc.loyalty as { explanation: { indicators: unknown[] } }).explanation.indicators.length).toBeGreaterThan(0);
    expect((doc.followUpDoubts as { text: string }[]).map((d) => d.text)).toEqual(['Too pricey?']);
    expect((doc.orders as { items: unknown[] }[])[0]?.items).toHaveLength(1);
    expect(JSON.stringify(doc.consents)).not.toContain('confirmationTokenHash');
  });

  it('myDataExport (customer token), the streamed HTTP variants and the GraphQL field give the same document; each records CUSTOMER_DATA_REQUESTED', async () => {
    const strip = (d: Record<string, unknown>) => ({ ...d, exportedAt: null, events: null });
    const staff = (await g<{ customerDataExport: Record<string, unknown> }>('query($id: ID!) { customerDataExport(id: $id) }', { id: aId }))
      .data?.customerDataExport as Record<string, unknown>;
    const mine = await pk<{ myDataExport: Record<string, unknown> }>('{ myDataExport }', undefined, { 'x-customer-token': token });
    expect(mine.errors).toBeUndefined();
    expect(strip(mine.data?.myDataExport as Record<string, unknown>)).toEqual(strip(staff));
    // The duplicate's id leads to the survivor's export.
    const viaDup = await g<{ customerDataExport: { customerId: string } }>('query($id: ID!) { customerDataExport(id: $id) }', { id: bId });
    expect(viaDup.data?.customerDataExport.customerId).toBe(aId);

    const sk = (await run(g, 'createApiKey', { kind: 'SECRET', name: 'export' }, '... on CreatedApiKey { key }')).key as string;
    const pkKey = (await run(g, 'createApiKey', { kind: 'PUBLISHABLE', name: 'pk-export' }, '... on CreatedApiKey { key }')).key as string;
    const res = await t.app.yoga.fetch(`http://test/customers/${encodeURIComponent(aId)}/export`, {
      headers: { authorization: `Bearer ${sk}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(strip(JSON.parse(await res.text()))).toEqual(strip(staff));
    const me = await t.app.yoga.fetch('http://test/me/export', {
      headers: { authorization: `Bearer ${pkKey}`, 'x-customer-token': token },
    });
    expect(me.status).toBe(200);
    expect(strip(JSON.parse(await me.text()))).toEqual(strip(staff));
    // Refused: no key, a publishable key on the staff route, a customer of another shop.
    expect((await t.app.yoga.fetch(`http://test/customers/${encodeURIComponent(aId)}/export`)).status).toBe(401);
    expect(
      (await t.app.yoga.fetch(`http://test/customers/${encodeURIComponent(aId)}/export`, { headers: { authorization: `Bearer ${pkKey}` } }))
        .status,
    ).toBe(403);
    const other = await t.newShop('Other export');
    expect(
      (
        await t.app.yoga.fetch(`http://test/customers/${encodeURIComponent(aId)}/export`, {
          headers: { authorization: `Bearer ${other.secretKey}` },
        })
      ).status,
    ).toBe(404);
    const notMine = await t.gql(other.secretKey)('query($id: ID!) { customerDataExport(id: $id) }', { id: aId });
    expect(notMine.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    const events = await t.db.prisma.event.findMany({
      where: { type: 'CUSTOMER_DATA_REQUESTED', customerId: rawId(aId) },
      orderBy: { id: 'asc' },
    });
    expect(events.map((e) => (e.payload as { requestedBy: string; via: string }).via)).toEqual([
      'graphql',
      'graphql',
      'graphql',
      'graphql',
      'http',
      'http',
    ]);
    expect(events.map((e) => (e.payload as { requestedBy: string }).requestedBy)).toContain('CUSTOMER');
  });
});
