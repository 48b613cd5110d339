import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrismaClient } from '../packages/server/src/generated/prisma/client.ts';
import { importsSettled } from '../packages/server/src/modules/imports/import.service.ts';
import { type Caller, createTestApp, type TestApp } from '../packages/server/src/testing.ts';

/**
 * Erasure with proof: a customer and a duplicate merged into it get data in every table (through
 * the API), the customer is erased, then every row of every table (enumerated from
 * information_schema, so a new table is covered without touching this test) is read as text and
 * searched for any of their identifiers; so are the logs of the whole run. None may remain.
 * Non-personal facts (the shop's order count) stay where the shop keeps them.
 */
let t: TestApp;
const logLines: string[] = [];

beforeAll(async () => {
  t = await createTestApp(
    {
      webhooks: { enabled: false, intervalMs: 1000, maxAttempts: 1, baseBackoffMs: 1, timeoutMs: 200 },
      // The endpoint below is a local http URL (the development settings allow it).
      webhookTargets: { allowHttp: true, allowPrivate: true },
    },
    { logLines },
  );
});
afterAll(() => t?.close());

type Res = Record<string, unknown> & { __typename: string; code?: string; message?: string };

/** Runs one mutation with `input`, selecting `sel` on its success member; fails on any error. */
async function run(g: Caller, field: string, input: unknown, sel: string, headers?: Record<string, string>): Promise<Res> {
  const r = await g<Record<string, Res>>(
    `mutation($input: ${inputType(field)}!) { ${field}(input: $input) { __typename ... on Error { code message } ${sel} } }`,
    { input },
    headers,
  );
  const res = r.data?.[field];
  if (r.errors?.length || !res || res.code) throw new Error(`${field}: ${JSON.stringify(r.errors ?? res)}`);
  return res;
}
const INPUT_TYPES: Record<string, string> = { deleteCustomer: 'CustomerIdInput' };
const inputType = (field: string) => INPUT_TYPES[field] ?? `${field[0]?.toUpperCase()}${field.slice(1)}Input`;

/** Every base table of the public schema (migrations bookkeeping aside), with each row as text. */
async function everyRowAsText(prisma: PrismaClient): Promise<{ table: string; text: string }[]> {
  const tables = await prisma.$queryRawUnsafe<{ table_name: string }[]>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> '_prisma_migrations'`,
  );
  const out: { table: string; text: string }[] = [];
  for (const { table_name } of tables) {
    const rows = await prisma.$queryRawUnsafe<{ t: string }[]>(`SELECT r::text AS t FROM "${table_name}" r`);
    for (const r of rows) out.push({ table: table_name, text: r.t });
  }
  return out;
}

/** Text and JSON columns of every table: the scan below must read at least these. */
async function textColumns(prisma: PrismaClient) {
  return prisma.$queryRawUnsafe<{ table_name: string; column_name: string }[]>(
    `SELECT table_name, column_name FROM information_schema.columns
     WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'
       AND (data_type IN ('text', 'character varying', 'json', 'jsonb') OR (data_type = 'ARRAY' AND udt_name IN ('_text', '_varchar')))`,
  );
}

const A = {
  firstName: 'Zephyrine',
  lastName: 'Quackenbush',
  email: 'zephyrine.quackenbush@erase.example',
  phone: '+4930123987654',
  externalId: 'ext-erase-zq-7731',
  householdNotes: 'Keeps a parrot called Orinocoflow',
};
const B = {
  firstName: 'Bartholomew',
  lastName: 'Vandersloot',
  email: 'bart.vandersloot@erase.example',
  phone: '+4930555444333',
  externalId: 'ext-erase-bv-9902',
  householdNotes: 'Twin daughters Xanthippe and Philippa',
};
const identifiers = [...Object.values(A), ...Object.values(B), 'zq.second@erase.example'];

describe('erasing a customer', () => {
  it('leaves none of their identifiers (nor the merged duplicate’s) in any table or log', async () => {
    const shop = await t.newShop('Erasure');
    const g = t.gql(shop.secretKey);
    const pk = t.gql(shop.publishableKey);
    const cust = 'id';
    await run(g, 'createWebhookEndpoint', { url: 'http://127.0.0.1:9/hook' }, '... on WebhookEndpointWithSecret { secret }');
    const staff = (
      await run(
        g,
        'createStaffUser',
        { name: 'Rita Rep', email: 'rita@shop.example' },
        '... on CreateStaffUserSuccess { staffUser { id } }',
      )
    ).staffUser as { id: string };
    await run(
      g,
      'createSegment',
      { name: 'Everyone erase', rule: 'stage in (PROSPECT, REPEAT, FIRST_PURCHASE, LOYAL)' },
      '... on CreateSegmentSuccess { segment { id } }',
    );

    // The duplicate browses the storefront anonymously first (behaviour events, docs/behaviour.md).
    const visitorB = randomUUID();
    const visitorA = randomUUID();
    const TRACK = 'mutation($e: [BehaviourEventInput!]!) { trackEvents(events: $e) { __typename ... on TrackEventsPayload { accepted } } }';
    const tracked = await pk<{ trackEvents: { accepted: number } }>(TRACK, {
      e: [
        { type: 'PAGE_VIEWED', visitorId: visitorB, url: `https://shop.example/welcome?email=${B.email}`, referrer: B.externalId },
        { type: 'SEARCHED', visitorId: visitorB, searchQuery: `${B.lastName} sofa`, properties: { note: B.householdNotes } },
      ],
    });
    expect(tracked.data?.trackEvents.accepted).toBe(2);

    // The duplicate arrives through the storefront (lead form) and gets a history of its own.
    const lead = await run(
      pk,
      'captureLead',
      {
        email: B.email,
        phone: B.phone,
        firstName: B.firstName,
        lastName: B.lastName,
        message: `Hi, this is ${B.firstName} ${B.lastName}, call me on ${B.phone}`,
        consents: [{ channel: 'EMAIL', granted: true }],
        idempotencyKey: 'lead-b-1',
        visitorId: visitorB,
      },
      `... on CaptureLeadPayload { customer { ${cust} } }`,
    );
    expect(lead.__typename).toBe('CaptureLeadPayload');
    const found = await g<{ customerBy: { id: string } }>('query($e: String!) { customerBy(email: $e) { id } }', { e: B.email });
    const bId = found.data?.customerBy.id as string;
    await run(
      g,
      'updateCustomer',
      { id: bId, externalId: B.externalId, householdNotes: B.householdNotes },
      '... on UpdateCustomerSuccess { customer { id } }',
    );
    await run(g, 'tagCustomer', { id: bId, tags: ['vip'] }, '... on TagCustomerSuccess { customer { id } }');
    await run(g, 'claimLead', { customerId: bId }, '... on ClaimLeadSuccess { customer { id } }', {}).catch(() => undefined);
    await run(
      g,
      'assignLead',
      { customerId: bId, staffId: staff.id, reason: 'round robin' },
      '... on AssignLeadSuccess { customer { id } }',
    );
    await run(
      g,
      'recordInteraction',
      {
        customerId: bId,
        channel: 'PHONE',
        direction: 'INBOUND',
        type: 'INQUIRY',
        subject: `Call from ${B.lastName}`,
        body: B.householdNotes,
        idempotencyKey: 'ia-b-1',
      },
      '... on RecordInteractionSuccess { interaction { id } }',
    );
    await run(
      g,
      'upsertOrder',
      {
        customerId: bId,
        externalId: 'order-b-1',
        currency: 'EUR',
        items: [{ name: 'Lamp', quantity: 1, unitPrice: '40.00' }],
        idempotencyKey: 'order-b-1',
      },
      '... on UpsertOrderPayload { order { id } }',
    );
    const fu = await run(
      g,
      'createFollowUp',
      { customerId: bId, goal: `Call ${B.firstName}`, notes: `Ask ${B.firstName} about ${B.householdNotes}` },
      '... on CreateFollowUpSuccess { followUp { id version } }',
    );
    await run(
      g,
      'completeFollowUp',
      {
        id: (fu.followUp as { id: string }).id,
        outcome: 'Talked',
        notes: `${B.firstName} is worried`,
        doubts: [`${B.lastName} doubts the price`],
      },
      '... on CompleteFollowUpPayload { followUp { id } }',
    );

    // The survivor.
    const a = await run(
      g,
      'createCustomer',
      {
        ...A,
        otherEmails: ['zq.second@erase.example'],
        stage: 'PROSPECT',
        consents: [{ channel: 'SMS', granted: true }],
        tags: ['vip', 'b2b'],
      },
      `... on CreateCustomerSuccess { customer { ${cust} } }`,
    );
    const aId = (a.customer as { id: string }).id;
    await run(
      g,
      'upsertOrder',
      {
        customerId: aId,
        externalId: 'order-a-1',
        currency: 'EUR',
        items: [{ name: 'Sofa', quantity: 1, unitPrice: '900.00' }],
        idempotencyKey: 'order-a-1',
      },
      '... on UpsertOrderPayload { order { id } }',
    );
    await run(
      g,
      'earnPoints',
      { customerId: aId, points: 50, reason: `Welcome ${A.firstName}`, idempotencyKey: 'pts-a-1' },
      '... on PointsMovementPayload { __typename }',
    );
    const token = await run(g, 'createCustomerToken', { customerId: aId }, '... on CustomerToken { token }');
    await run(pk, 'updateMyProfile', { lastName: A.lastName }, '... on UpdateMyProfileSuccess { __typename }', {
      'x-customer-token': token.token as string,
    });
    // The survivor browses signed in (the token stitches the visitor).
    const mine = await pk<{ trackEvents: { accepted: number } }>(
      TRACK,
      {
        e: [
          { type: 'PRODUCT_VIEWED', visitorId: visitorA, sku: 'SOFA-1', url: `https://shop.example/u/${A.email}`, utmCampaign: A.lastName },
        ],
      },
      { 'x-customer-token': token.token as string },
    );
    expect(mine.data?.trackEvents.accepted).toBe(1);

    // An import whose report names her (a rejected duplicate line keeps the email as its value).
    const up = await t.app.yoga.fetch('http://test/imports?kind=customers', {
      method: 'POST',
      headers: { authorization: `Bearer ${shop.secretKey}`, 'content-type': 'text/csv' },
      body: `email,firstName\n${A.email},${A.firstName}\n${A.email},${A.firstName}\n`,
    });
    const upload = ((await up.json()) as { id: string }).id;
    await run(g, 'startImport', { uploadId: upload, mapping: 'GENERIC' }, '... on StartImportSuccess { importJob { id } }');
    await importsSettled();

    // Merge the duplicate in; let the background passes copy what they copy.
    await run(g, 'mergeCustomers', { survivorId: aId, duplicateId: bId }, '... on MergeCustomersSuccess { customer { id } }');
    await t.app.segments.tick();
    await t.app.loyalty.tick();
    await t.app.webhooks.tick();
    // An event of the duplicate's browser that got in without the customer (written while the
    // visitor was being identified): anonymous, but the erasure takes it with the visitor.
    await t.db.prisma.behaviourEvent.create({
      data: {
        shopId: shop.shop.id,
        visitorId: visitorB,
        type: 'PAGE_VIEWED',
        occurredAt: new Date(),
        url: `https://shop.example/?phone=${B.phone}`,
      },
    });

    const before = await everyRowAsText(t.db.prisma);
    const tablesWithData = new Set(
      before.filter((r) => identifiers.some((i) => r.text.toLowerCase().includes(i.toLowerCase()))).map((r) => r.table),
    );
    // The fixture really spreads them around (or the scan below proves nothing).
    for (const table of [
      'Customer',
      'CustomerMerge',
      'Interaction',
      'FollowUp',
      'FollowUpDoubt',
      'PointsMovement',
      'BehaviourEvent',
      'ImportRejection',
    ]) {
      expect(tablesWithData, table).toContain(table);
    }
    expect(await t.db.prisma.webhookDelivery.count({ where: { shopId: shop.shop.id } })).toBeGreaterThan(5);
    const ordersBefore = await t.db.prisma.order.count({ where: { shopId: shop.shop.id } });
    expect(ordersBefore).toBe(2);

    await run(g, 'deleteCustomer', { id: aId }, '... on DeletedCustomer { deletedId }');

    const cols = await textColumns(t.db.prisma);
    expect(cols.length).toBeGreaterThan(50);
    const after = await everyRowAsText(t.db.prisma);
    const leaks = after.flatMap((r) =>
      identifiers.filter((i) => r.text.toLowerCase().includes(i.toLowerCase())).map((i) => `${r.table}: ${i}`),
    );
    expect(leaks).toEqual([]);
    const logLeaks = logLines.filter((l) => identifiers.some((i) => l.toLowerCase().includes(i.toLowerCase())));
    expect(logLeaks).toEqual([]);
    expect(logLines.length).toBeGreaterThan(0);

    // The redaction is announced (ids only), and the survivor's tombstones are gone with it.
    const events = await t.db.prisma.event.findMany({
      where: { shopId: shop.shop.id, type: { in: ['CUSTOMER_REDACTED', 'CUSTOMER_DELETED'] } },
    });
    expect(events.map((e) => e.type).sort()).toEqual(['CUSTOMER_DELETED', 'CUSTOMER_REDACTED']);
    expect(await t.db.prisma.customer.count({ where: { shopId: shop.shop.id } })).toBe(0);
    // Their browsers' behaviour went with them, anonymous events of those browsers included.
    expect(await t.db.prisma.behaviourEvent.count({ where: { shopId: shop.shop.id } })).toBe(0);
    expect(await t.db.prisma.visitorIdentity.count({ where: { shopId: shop.shop.id } })).toBe(0);
  });
});

describe('erasing a shop', () => {
  it('removes everything of that shop (found by scanning every table), keeps other shops, and announces SHOP_REDACTED', async () => {
    const name = 'Gloriosa Haberdashery';
    const owner = 'owner.gloriosa@erase.example';
    const shop = await t.newShop(name, owner);
    const other = await t.newShop('Untouched Shop');
    const g = t.gql(shop.secretKey);
    const ownerHeader = { 'x-crm-staff-id': shop.ownerId as string };
    const person = { firstName: 'Hortensia', lastName: 'Mbeki-Larsson', email: 'hortensia@erase.example', phone: '+4930777666555' };
    await run(g, 'createWebhookEndpoint', { url: 'http://127.0.0.1:9/hook' }, '... on WebhookEndpointWithSecret { secret }');
    const c = await run(g, 'createCustomer', { ...person, tags: ['gloriosa-vip'] }, '... on CreateCustomerSuccess { customer { id } }');
    const cId = (c.customer as { id: string }).id;
    await run(
      g,
      'upsertOrder',
      { customerId: cId, externalId: 'glo-1', currency: 'EUR', items: [{ name: 'Gloriosa hat', quantity: 1, unitPrice: '90.00' }] },
      '... on UpsertOrderPayload { order { id } }',
    );
    await run(
      g,
      'recordInteraction',
      { customerId: cId, channel: 'EMAIL', direction: 'INBOUND', type: 'INQUIRY', body: `From ${person.lastName}` },
      '... on RecordInteractionSuccess { interaction { id } }',
    );
    const keep = await run(
      t.gql(other.secretKey),
      'createCustomer',
      { email: 'stays@erase.example' },
      '... on CreateCustomerSuccess { customer { id } }',
    );
    expect(keep.__typename).toBe('CreateCustomerSuccess');
    // An import with its rejected-row report, and an upload never started: both go with the shop.
    const importOf = async (body: string) => {
      const up = await t.app.yoga.fetch('http://test/imports?kind=customers', {
        method: 'POST',
        headers: { authorization: `Bearer ${shop.secretKey}`, 'content-type': 'text/csv' },
        body,
      });
      return ((await up.json()) as { id: string }).id;
    };
    const imported = await importOf(`email,firstName\n${person.email},${person.firstName}\n${person.email},x\n`);
    await run(g, 'startImport', { uploadId: imported, mapping: 'GENERIC' }, '... on StartImportSuccess { importJob { id } }');
    await importsSettled();
    await importOf(`email\n${person.email}\n`);
    expect(await t.db.prisma.importRejection.count({ where: { shopId: shop.shop.id } })).toBe(1);
    expect(await t.db.prisma.importChunk.count({ where: { shopId: shop.shop.id } })).toBe(1);
    await t.app.webhooks.tick();

    // Only the owner, with the slug typed again.
    const noStaff = await g<{ redactShop: Res }>('mutation($i: RedactShopInput!) { redactShop(input: $i) { __typename } }', {
      i: { confirmSlug: 'x' },
    });
    expect(noStaff.data?.redactShop.__typename).toBe('ForbiddenError');
    const wrongSlug = await g<{ redactShop: Res }>(
      'mutation($i: RedactShopInput!) { redactShop(input: $i) { __typename } }',
      { i: { confirmSlug: 'nope' } },
      ownerHeader,
    );
    expect(wrongSlug.data?.redactShop.__typename).toBe('ValidationError');

    const done = await run(g, 'redactShop', { confirmSlug: shop.shop.slug }, '... on RedactShopPayload { shopId redactedAt }', ownerHeader);
    expect(done.shopId).toBeTruthy();

    const needles = [name, shop.shop.slug, owner, ...Object.values(person), 'gloriosa-vip', 'Gloriosa hat', 'glo-1'];
    const rows = await everyRowAsText(t.db.prisma);
    const leaks = rows.flatMap((r) => needles.filter((n) => r.text.toLowerCase().includes(n.toLowerCase())).map((n) => `${r.table}: ${n}`));
    expect(leaks).toEqual([]);
    // Left of the shop: its tombstone, the endpoint, the SHOP_REDACTED event (delivered by the
    // dispatcher), and the audit entry of the erasure itself (who erased it, when; no values).
    const tables = await t.db.prisma.$queryRawUnsafe<{ table_name: string }[]>(
      `SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'shopId'`,
    );
    const left: Record<string, number> = {};
    for (const { table_name } of tables) {
      const [r] = await t.db.prisma.$queryRawUnsafe<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM "${table_name}" WHERE "shopId" = $1::uuid`,
        shop.shop.id,
      );
      if (r?.n) left[table_name] = r.n;
    }
    expect(left).toEqual({ WebhookEndpoint: 1, Event: 1, AuditEntry: 1 });
    expect(await t.db.prisma.auditEntry.findMany({ where: { shopId: shop.shop.id } })).toMatchObject([
      { operation: 'redactShop', action: 'MUTATION', changes: null },
    ]);
    const [ev] = await t.db.prisma.event.findMany({ where: { shopId: shop.shop.id } });
    expect(ev).toMatchObject({ type: 'SHOP_REDACTED', payload: { shopId: shop.shop.id } });
    await t.app.webhooks.tick();
    expect(await t.db.prisma.webhookDelivery.findMany({ where: { shopId: shop.shop.id }, select: { eventType: true } })).toEqual([
      { eventType: 'SHOP_REDACTED' },
    ]);
    // The old keys are gone; the other shop is untouched.
    const after = await g('{ shop { id } }');
    expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(await t.db.prisma.customer.count({ where: { shopId: other.shop.id } })).toBe(1);
  });
});
