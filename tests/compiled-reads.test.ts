import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../packages/server/src/app.ts';
import { compiledReadStats } from '../packages/server/src/compiled/plugin.ts';
import { createLogger } from '../packages/server/src/logger.ts';
import { schema } from '../packages/server/src/schema.ts';
import { createTestApp, globalId, onPrismaQuery, planOf, rawId, type TestApp } from '../packages/server/src/testing.ts';
import {
  type GraphQLObjectType,
  getNamedType,
  isEnumType,
  isLeafType,
  isObjectType,
  isUnionType,
} from '../packages/server/src/testing-graphql.ts';
import { createCustomer, createStaff, succeed } from './helpers/crm.ts';

/**
 * The compiled read path (packages/server/src/compiled/) against the executor: one database, two
 * apps (COMPILED_READS on and off), every query sent to both must get the same bytes back, and the
 * compiled app must really have answered from its one statement (not fallen back). The Customer
 * fields are enumerated from the schema, so a new field is compared the day it is added (and, when
 * the compiler does not know it, proven to fall back to the executor, not to answer wrongly).
 */

let t: TestApp;
let executorApp: App;
let shopA: { secretKey: string; shop: { id: string } };
let shopB: { secretKey: string; shop: { id: string } };
const ids: Record<string, string> = {};

const post = async (app: App, key: string, query: string, variables?: Record<string, unknown>) => {
  const res = await app.yoga.fetch('http://test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  // The answer without `extensions` (each app keeps its own cost budget, reported there).
  const body = JSON.parse(await res.text()) as Record<string, unknown>;
  delete body.extensions;
  return { status: res.status, text: JSON.stringify(body) };
};

/** Sends the query to both apps; returns both answers and whether the compiled app compiled it. */
async function both(key: string, query: string, variables?: Record<string, unknown>) {
  const before = compiledReadStats.compiled;
  const compiled = await post(t.app, key, query, variables);
  const took = compiledReadStats.compiled > before;
  const bail = compiledReadStats.lastBail;
  const executor = await post(executorApp, key, query, variables);
  return { compiled, executor, took, bail };
}

async function same(key: string, query: string, variables?: Record<string, unknown>, expectCompiled = true) {
  const r = await both(key, query, variables);
  expect(r.compiled.text, query).toBe(r.executor.text);
  expect(r.compiled.status).toBe(r.executor.status);
  if (expectCompiled) expect(r.took, `not compiled (${r.bail}): ${query}`).toBe(true);
  return JSON.parse(r.compiled.text) as { data?: Record<string, unknown>; errors?: { extensions?: { code?: string } }[] };
}

/** Every leaf field (and one level of object fields' leaves) of a type, without arguments. */
function leaves(type: GraphQLObjectType, depth = 0): string {
  return Object.values(type.getFields())
    .filter((f) => f.args.length === 0)
    .map((f) => {
      const named = getNamedType(f.type);
      if (isLeafType(named)) return f.name;
      if (isObjectType(named) && depth < 1 && !named.name.endsWith('Connection')) return `${f.name} { ${leaves(named, depth + 1)} }`;
      return '';
    })
    .filter(Boolean)
    .join(' ');
}

beforeAll(async () => {
  t = await createTestApp();
  executorApp = buildApp({
    config: { ...t.config, compiledReads: false },
    database: t.db,
    logger: createLogger('silent'),
    tokenSecret: randomBytes(32).toString('hex'),
  });
  shopA = await t.newShop('Compiled A');
  shopB = await t.newShop('Compiled B');
  const g = t.gql(shopA.secretKey);
  const owner = await createStaff(g, { name: 'Olga Owner', email: 'olga@example.com' });
  ids.owner = owner.id;
  const full = await createCustomer(g, {
    firstName: 'Ada',
    lastName: 'Lovelace',
    company: 'Engines Ltd',
    email: 'ada@example.com',
    phone: '+49 30 1234567',
    externalId: 'ext-ada',
    otherEmails: ['ada2@example.com'],
    otherPhones: ['+49 30 7654321'],
    imHandles: [{ network: 'wechat', handle: 'ada' }],
    jobTitle: 'Analyst',
    occupation: 'Mathematician',
    industry: 'Computing',
    incomeBand: 'HIGH',
    gender: 'FEMALE',
    birthDate: '1985-12-10',
    maritalStatus: 'MARRIED',
    location: { country: 'GB', region: 'London', city: 'London', postalCode: 'W1', addressLine: '12 St James' },
    householdNotes: 'Husband decides on carriages',
    productInterests: ['engines', 'looms'],
    stylePreferences: 'plain',
    purchasePurpose: 'research',
    focusFactors: ['QUALITY', 'BRAND'],
    priceSensitivity: 'LOW',
    personality: 'curious',
    hobbies: ['poetry', 'horses'],
    preferredChannel: 'EMAIL',
    preferredContactTime: 'MORNING',
    timeZone: 'Europe/London',
    contactTolerance: 'WEEKLY',
    dealLikelihood: 80,
    expectedPurchaseAt: '2027-03-01T10:00:00.000Z',
    attributes: { vip: true, score: 1.5, nested: { b: 1, a: [1, 'x'] } },
    stage: 'PROSPECT',
    source: {
      channel: 'REFERRAL',
      campaign: 'spring',
      medium: 'word',
      content: 'flyer',
      referrerName: 'Charles',
      referrerContact: 'c@b.uk',
    },
    tags: ['vip', 'analyst', 'Älter', 'zeta'],
    consents: [
      { channel: 'EMAIL', granted: true },
      { channel: 'SMS', granted: false },
    ],
    ownerId: owner.id,
  });
  ids.full = full.id;
  // Names falling back one by one: company, email, phone, nothing.
  ids.company = (await createCustomer(g, { company: 'Only Company GmbH', tags: ['zeta'] })).id;
  ids.email = (await createCustomer(g, { email: 'only@example.com', firstName: '' })).id;
  ids.phone = (await createCustomer(g, { phone: '+49 30 5555555' })).id;
  ids.nothing = (await createCustomer(g, { attributes: {} })).id;
  for (let i = 0; i < 9; i++) {
    await createCustomer(g, {
      firstName: `Bulk${i}`,
      lastName: i % 3 === 0 ? null : `Zed${9 - i}`,
      stage: i % 2 ? 'FIRST_PURCHASE' : 'SUSPECT',
      dealLikelihood: i % 4 === 0 ? null : i * 10,
      ownerId: i % 2 ? owner.id : null,
      tags: i % 2 ? ['bulk'] : [],
      consents: [{ channel: 'PHONE', granted: i % 2 === 0 }],
    });
  }
  const dup = await createCustomer(g, { firstName: 'Dup', email: 'dup@example.com' });
  const survivor = await createCustomer(g, { firstName: 'Survivor', email: 'survivor@example.com' });
  await succeed(g, 'mergeCustomers', { survivorId: survivor.id, duplicateId: dup.id });
  ids.dup = dup.id;
  ids.survivor = survivor.id;
  const archived = await createCustomer(g, { firstName: 'Archie', tags: ['old'] });
  await succeed(g, 'archiveCustomer', { id: archived.id });
  ids.archived = archived.id;
  // Orders for Ada: more than one page of 20, mixed currencies and statuses, one shared placedAt (the id breaks the tie).
  for (let i = 0; i < 23; i++) {
    const r = await g<{ upsertOrder: { __typename: string } }>(
      'mutation($input: UpsertOrderInput!) { upsertOrder(input: $input) { __typename } }',
      {
        input: {
          customerId: full.id,
          externalId: `o-${i}`,
          currency: i % 3 ? 'EUR' : 'USD',
          exchangeRate: i % 3 ? undefined : '0.9',
          placedAt: new Date(Date.UTC(2026, 0, 1 + (i % 20), 10)).toISOString(),
          status: i === 5 ? 'CANCELLED' : undefined,
          discount: i % 4 ? '1.5' : undefined,
          items: [
            { sku: `S${i}`, name: `Item ${i}`, quantity: 1 + (i % 3), unitPrice: `${10 + i}.99` },
            { sku: 'X', name: 'Extra', quantity: 1, unitPrice: '0.10', addOn: true },
          ],
        },
      },
    );
    expect(r.data?.upsertOrder.__typename).toBe('UpsertOrderPayload');
  }
  // Interactions (one deleted later would be hidden: the executor and the compiled path must agree), and
  // storefront visits (behaviour events stitched to Ada, seeded behind the API) for the timeline.
  for (let i = 0; i < 6; i++) {
    const r = await g<{ recordInteraction: { __typename: string } }>(
      'mutation($input: RecordInteractionInput!) { recordInteraction(input: $input) { __typename } }',
      {
        input: {
          customerId: full.id,
          channel: i % 2 ? 'EMAIL' : 'PHONE',
          direction: i % 2 ? 'INBOUND' : 'OUTBOUND',
          type: i % 2 ? 'INQUIRY' : 'MESSAGE',
          subject: `Note ${i}`,
          occurredAt: new Date(Date.UTC(2026, 0, 1 + i * 3, 10)).toISOString(),
          metadata: { i },
        },
      },
    );
    expect(r.data?.recordInteraction.__typename).toBe('RecordInteractionSuccess');
  }
  const visitor = '11111111-1111-4111-8111-111111111111';
  await t.db.prisma.behaviourEvent.createMany({
    data: [0, 1, 2].map((i) => ({
      shopId: shopA.shop.id,
      visitorId: visitor,
      sessionId: i < 2 ? '22222222-2222-4222-8222-222222222222' : null,
      customerId: rawId(full.id),
      type: i === 1 ? 'PRODUCT_VIEWED' : 'PAGE_VIEWED',
      occurredAt: new Date(Date.UTC(2026, 0, 2 + i, 9)),
      url: 'https://shop.example/p',
      sku: i === 1 ? 'SKU-1' : null,
    })),
  });
  // Follow-ups over the three agenda sections (yesterday, later today, next week), for the owner and unassigned.
  const hour = 3_600_000;
  for (let i = 0; i < 12; i++) {
    const due = new Date(Date.now() + (i % 3 === 0 ? 2 * hour : i % 3 === 1 ? 60_000 * (i + 1) : 7 * 24 * hour) + i * 1000);
    const r = await g<{ createFollowUp: { __typename: string } }>(
      'mutation($input: CreateFollowUpInput!) { createFollowUp(input: $input) { __typename ... on Error { message path } } }',
      {
        input: {
          customerId: i % 2 ? full.id : ids.company,
          dueAt: due.toISOString(),
          goal: `Goal ${i}`,
          ...(i % 2 ? { channel: 'EMAIL' } : {}),
          ...(i % 4 === 0 ? { assigneeId: owner.id } : {}),
        },
      },
    );
    expect(r.data?.createFollowUp.__typename, JSON.stringify(r.data)).toMatch(/Success|Payload/);
  }
  // Overdue ones cannot be planned through the API: moved into the past behind it.
  await t.db.prisma.$executeRawUnsafe(
    `UPDATE "FollowUp" SET "dueAt" = "dueAt" - interval '2 days' WHERE "shopId" = $1::uuid AND goal = ANY($2::text[])`,
    shopA.shop.id,
    ['Goal 0', 'Goal 3', 'Goal 6', 'Goal 9'],
  );
  ids.other = (await createCustomer(t.gql(shopB.secretKey), { firstName: 'Other shop', email: 'b@example.com', tags: ['vip'] })).id;
}, 120_000);

afterAll(async () => {
  await executorApp?.stop();
  await t?.close();
});

const LIST = (selection: string, args = 'first: 50') =>
  `query List { customers(${args}) { totalCount edges { cursor node { ${selection} } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;

describe('compiled reads answer exactly as the executor', () => {
  it('every Customer field, one at a time, in the customers list', async () => {
    const customer = schema.getType('Customer') as GraphQLObjectType;
    const compiled: string[] = [];
    const fellBack: string[] = [];
    for (const f of Object.values(customer.getFields())) {
      if (f.args.length > 0) continue;
      const named = getNamedType(f.type);
      let sel = f.name;
      if (isObjectType(named)) sel = `${f.name} { ${leaves(named)} }`;
      else if (isUnionType(named)) sel = `${f.name} { __typename }`;
      else if (!isLeafType(named) && !isEnumType(named)) continue;
      const r = await both(shopA.secretKey, LIST(`id ${sel}`), undefined);
      expect(r.compiled.text, f.name).toBe(r.executor.text);
      (r.took ? compiled : fellBack).push(f.name);
    }
    // The fields the list pages and the bench use must be on the compiled path.
    for (const name of [
      'id',
      'displayName',
      'email',
      'phone',
      'stage',
      'status',
      'owner',
      'tags',
      'consents',
      'location',
      'createdAt',
      'attributes',
      'focusFactors',
      'birthDate',
      'otherEmails',
    ]) {
      expect(compiled, `${name} fell back`).toContain(name);
    }
    expect(compiled.length).toBeGreaterThan(30);
    expect(fellBack.length).toBeGreaterThan(0);
  });

  it('the peer bench list, with and without totalCount, aliases, fragments and __typename', async () => {
    const k = shopA.secretKey;
    await same(
      k,
      '{ customers(first: 50) { edges { node { id displayName email stage owner { name } tags { name } consents { channel granted } } } pageInfo { hasNextPage endCursor } } }',
    );
    await same(
      k,
      '{ customers(first: 50) { totalCount edges { node { id displayName email stage owner { name } tags { name } consents { channel granted } } } pageInfo { hasNextPage endCursor } } }',
    );
    await same(
      k,
      'query Q($n: Int) { __typename list: customers(first: $n) { __typename e: edges { __typename node { ...C who: displayName } } edges { cursor } } } fragment C on Customer { __typename key: id owner { ... on StaffUser { name role } } tags { name createdAt } location { city } }',
      { n: 7 },
    );
    await same(
      k,
      '{ a: customers(first: 2) { edges { node { id } } } b: customers(first: 3, orderBy: { field: LAST_NAME, direction: ASC }) { edges { node { lastName } } } }',
    );
  });

  it('filters and every sort order, both directions', async () => {
    const k = shopA.secretKey;
    const sel = 'id displayName lastName dealLikelihood expectedPurchaseAt createdAt updatedAt';
    for (const field of ['CREATED_AT', 'UPDATED_AT', 'LAST_NAME', 'DEAL_LIKELIHOOD', 'EXPECTED_PURCHASE_AT']) {
      for (const direction of ['ASC', 'DESC']) await same(k, LIST(sel, `first: 50, orderBy: { field: ${field}, direction: ${direction} }`));
    }
    const filters = [
      '{ statuses: [ARCHIVED] }',
      '{ statuses: [ACTIVE, ARCHIVED, MERGED] }',
      '{ statuses: [MERGED] }',
      '{ stages: [SUSPECT, PROSPECT] }',
      '{ sourceChannels: [REFERRAL] }',
      '{ sourceCampaign: "spring" }',
      '{ unowned: true }',
      `{ ownerIds: ["${ids.owner}"] }`,
      '{ createdAfter: "2000-01-01T00:00:00Z", createdBefore: "2100-01-01T00:00:00Z" }',
    ];
    for (const f of filters) await same(k, LIST(sel, `first: 50, filter: ${f}`));
    // Not compiled (yet): still the same answer, from the executor.
    await same(k, LIST(sel, 'first: 50, filter: { tagsAny: ["vip"] }'), undefined, false);
    await same(k, LIST(sel, 'first: 50, filter: { search: "ada" }'), undefined, false);
    await same(k, LIST(sel, 'last: 3'), undefined, false);
  });

  it('pages through the list with after cursors exactly as the executor', async () => {
    const k = shopA.secretKey;
    for (const order of ['{ field: CREATED_AT, direction: DESC }', '{ field: UPDATED_AT, direction: ASC }']) {
      let after: string | null = null;
      let pages = 0;
      do {
        const body = await same(
          k,
          'query P($after: String, $o: CustomerOrder) { customers(first: 4, after: $after, orderBy: $o) { edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage endCursor } } }',
          { after, o: JSON.parse(order.replace(/(\w+):/g, '"$1":').replace(/: (\w+)/g, ': "$1"')) },
        );
        const conn = (body.data?.customers ?? {}) as { pageInfo: { hasNextPage: boolean; endCursor: string | null } };
        after = conn.pageInfo.hasNextPage ? conn.pageInfo.endCursor : null;
        pages++;
      } while (after && pages < 20);
      expect(pages).toBeGreaterThan(2);
    }
    // A cursor of a customer that is no longer in the list (archived) and one of another shop.
    await same(
      k,
      `{ customers(first: 3, after: "${Buffer.from(`GPC:S:${rawId(ids.archived as string)}`).toString('base64')}") { edges { node { id } } } }`,
    );
    await same(k, '{ customers(first: 3, after: "not a cursor") { edges { node { id } } } }', undefined, false);
  });

  it('customer(id): a customer, a merged duplicate (its survivor), unknown, another shop, malformed', async () => {
    const k = shopA.secretKey;
    const q = `query C($id: ID!) { customer(id: $id) { ${leaves(schema.getType('Customer') as GraphQLObjectType).replace(/\bsource \{[^}]*\}/, 'source { channel campaign medium content referrerName referrerContact }')} } }`;
    for (const id of [ids.full, ids.company, ids.survivor, ids.archived]) await same(k, q, { id }, false);
    const small =
      'query C($id: ID!) { customer(id: $id) { id displayName status owner { name } tags { name } consents { channel granted } } }';
    for (const id of [ids.full, ids.dup, ids.survivor, ids.archived, ids.other]) await same(k, small, { id });
    const dup = await same(k, small, { id: ids.dup });
    expect((dup.data?.customer as { id: string } | undefined)?.id).toBe(ids.survivor);
    expect((await same(k, small, { id: ids.other })).data?.customer).toBeNull();
    await same(k, small, { id: globalId('Customer', '00000000-0000-0000-0000-000000000000') });
    await same(k, small, { id: globalId('Customer', 'not-a-uuid') }, false);
    await same(k, small, { id: globalId('Order', rawId(ids.full as string)) }, false);
    await same(k, small, { id: 'garbage' }, false);
  });

  it('Customer.orders: every Order field, the page, pageInfo and totalCount', async () => {
    const k = shopA.secretKey;
    const order = schema.getType('Order') as GraphQLObjectType;
    const q = (sel: string, args = 'first: 20') =>
      `query O($id: ID!) { customer(id: $id) { id orders(${args}) { totalCount edges { cursor node { id ${sel} } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }`;
    const compiled: string[] = [];
    for (const f of Object.values(order.getFields())) {
      if (f.args.length > 0) continue;
      const named = getNamedType(f.type);
      const sel = isObjectType(named) ? `${f.name} { ${leaves(named)} }` : f.name;
      const r = await both(k, q(sel), { id: ids.full });
      expect(r.compiled.text, f.name).toBe(r.executor.text);
      if (r.took) compiled.push(f.name);
    }
    for (const name of ['externalId', 'status', 'placedAt', 'currency', 'total', 'discount', 'baseTotal', 'countedTotal', 'excluded']) {
      expect(compiled, `${name} fell back`).toContain(name);
    }
    // The peer bench's query, page sizes around the edges, and a customer without orders.
    await same(
      k,
      'query CustomerOrders($id: ID!) { customer(id: $id) { id orders(first: 20) { edges { node { id externalId status placedAt currency } } pageInfo { hasNextPage } } } }',
      { id: ids.full },
    );
    for (const args of ['first: 0', 'first: 1', 'first: 23', 'first: 24', 'first: 500', ''])
      await same(k, q('externalId', args || 'first: 20').replace('orders()', 'orders'), { id: ids.full });
    await same(k, q('externalId'), { id: ids.company });
    const cursor = Buffer.from('GPC:S:00000000-0000-0000-0000-000000000000').toString('base64');
    await same(k, q('externalId', `first: 2, after: "${cursor}"`), { id: ids.full }, false);
  });

  it("Customer.timeline: the bench page, every member type's fields, kinds, cursors, visits", async () => {
    const k = shopA.secretKey;
    const bench = `query Timeline($id: ID!) { customer(id: $id) { id timeline(first: 50) {
      edges { cursor at kind node { __typename
        ... on Interaction { id type channel direction subject occurredAt }
        ... on Order { id externalId status total currency placedAt }
        ... on StageTransition { id fromStage toStage source at }
        ... on ConsentChange { consentChannel: channel granted changedAt } } }
      pageInfo { hasNextPage endCursor } } } }`;
    await same(k, bench, { id: ids.full });
    await same(k, bench, { id: ids.company });
    for (const type of ['Interaction', 'Order', 'StageTransition', 'ConsentChange']) {
      const member = schema.getType(type) as GraphQLObjectType;
      const sel = leaves(member);
      const page = (s: string) =>
        `query T($id: ID!) { customer(id: $id) { timeline(first: 40, kinds: [INTERACTION, ORDER, STAGE_CHANGE, CONSENT_CHANGE]) { edges { kind node { ... on ${type} { ${s} } } } } } }`;
      // Every field with its related objects: the same answer (compiled or not); the plain fields: compiled.
      await same(k, page(sel), { id: ids.full }, false);
      const plain = Object.values(member.getFields())
        // Order.exchangeRate prints a Decimal the way decimal.js does (exponents below 1e-7): the executor's.
        .filter((f) => f.args.length === 0 && isLeafType(getNamedType(f.type)) && `${type}.${f.name}` !== 'Order.exchangeRate')
        .map((f) => f.name);
      const r = await both(k, page(plain.join(' ')), { id: ids.full });
      expect(r.compiled.text).toBe(r.executor.text);
      if (!r.took) expect.soft(r.bail, `${type}: plain fields not compiled`).toBe('');
    }
    // Paging with cursors through everything (visits included, asked for only by __typename).
    let after: string | null = null;
    let pages = 0;
    do {
      const body = await same(
        k,
        'query T($id: ID!, $after: String) { customer(id: $id) { timeline(first: 7, after: $after) { edges { cursor at kind node { __typename ... on Order { externalId } } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }',
        { id: ids.full, after },
      );
      const info = (body.data?.customer as { timeline: { pageInfo: { hasNextPage: boolean; endCursor: string } } } | undefined)?.timeline
        .pageInfo;
      after = info?.hasNextPage ? info.endCursor : null;
      pages++;
    } while (after && pages < 20);
    expect(pages).toBeGreaterThan(3);
    for (const args of ['first: 0', 'kinds: [ORDER], first: 3', 'kinds: [VISIT]', 'kinds: []']) {
      await same(
        k,
        `query T($id: ID!) { customer(id: $id) { timeline(${args}) { edges { kind node { __typename } } pageInfo { hasNextPage startCursor endCursor } } } }`,
        { id: ids.full },
      );
    }
    // Visit fields are the executor's; so are a bad cursor and a page too large.
    await same(
      k,
      'query T($id: ID!) { customer(id: $id) { timeline { edges { node { ... on StorefrontVisit { sessionId pageViews skus } } } } } }',
      { id: ids.full },
      false,
    );
    await same(k, 'query T($id: ID!) { customer(id: $id) { timeline(after: "bad") { edges { kind } } } }', { id: ids.full }, false);
    await same(k, 'query T($id: ID!) { customer(id: $id) { timeline(first: 101) { edges { kind } } } }', { id: ids.full }, false);
  });

  it("agenda: the bench page, sections, filters, cursors, an agent's own agenda", async () => {
    const k = shopA.secretKey;
    const bench = `{ agenda(first: 50) { totalCount overdueCount dueTodayCount upcomingCount
      edges { cursor section node { id dueAt goal channel customer { id displayName } } } pageInfo { hasNextPage endCursor } } }`;
    await same(k, bench);
    // The shop's time zone for "today" (cadence settings), then one asked for.
    await same(k, '{ agenda(timeZone: "Pacific/Kiritimati") { dueTodayCount upcomingCount edges { section node { dueAt } } } }');
    for (const args of [
      'section: OVERDUE',
      'section: DUE_TODAY',
      'section: UPCOMING',
      'filter: { stages: [PROSPECT] }',
      'filter: { minLikelihood: 50 }',
      `assigneeId: "${ids.owner}"`,
      'first: 0',
      'first: 5',
    ]) {
      await same(
        k,
        `{ agenda(${args}) { totalCount overdueCount edges { cursor section node { id goal status kind assignee { name } } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`,
      );
    }
    const fu = schema.getType('FollowUp') as GraphQLObjectType;
    await same(k, `{ agenda(first: 50) { edges { node { ${leaves(fu)} } } } }`, undefined, false);
    let after: string | null = null;
    let pages = 0;
    do {
      const body = await same(
        k,
        'query A($after: String) { agenda(first: 5, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }',
        { after },
      );
      const info = (body.data?.agenda as { pageInfo: { hasNextPage: boolean; endCursor: string } } | undefined)?.pageInfo;
      after = info?.hasNextPage ? info.endCursor : null;
      pages++;
    } while (after && pages < 10);
    expect(pages).toBe(3);
    // As the owner (an AGENT): their own agenda; asking for another's is the executor's FORBIDDEN.
    const asOwner = async (q: string, expectCompiled = true) => {
      const before = compiledReadStats.compiled;
      const headers = { 'x-crm-staff-id': ids.owner as string };
      const send = async (app: App) => {
        const r = await app.yoga.fetch('http://test/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${k}`, ...headers },
          body: JSON.stringify({ query: q }),
        });
        const b = JSON.parse(await r.text()) as Record<string, unknown>;
        delete b.extensions;
        return JSON.stringify(b);
      };
      const a = await send(t.app);
      expect(compiledReadStats.compiled > before).toBe(expectCompiled);
      expect(a).toBe(await send(executorApp));
      return a;
    };
    await asOwner('{ agenda { totalCount edges { node { id goal } } } }');
    const other = (await createStaff(t.gql(k), { name: 'Other Agent', email: `other-${Date.now()}@example.com` })).id;
    expect(await asOwner(`{ agenda(assigneeId: "${other}") { totalCount } }`, false)).toContain('FORBIDDEN');
  });

  it('a root field that gives up while another one is planned leaves nothing unhandled', async () => {
    // customer(id) gives up inside its plan (Customer.interactions takes arguments); viewer has no compiler.
    await same(
      shopA.secretKey,
      'query C($id: ID!) { customer(id: $id) { id interactions { totalCount } } viewer { keyKind } }',
      { id: ids.full },
      false,
    );
    await same(
      shopA.secretKey,
      'query C($id: ID!) { a: customer(id: $id) { stageHistory { totalCount } } b: customers(first: 1) { totalCount } }',
      { id: ids.full },
      false,
    );
  });

  it('authorization: a caller lacking a scope gets the executor and its error, never compiled data', async () => {
    const g = t.gql(shopA.secretKey);
    const noContacts = (await succeed(g, 'createApiKey', { kind: 'SECRET', name: 'orders only', scopes: ['orders:read'] })).key as string;
    const contactsOnly = (await succeed(g, 'createApiKey', { kind: 'SECRET', name: 'contacts', scopes: ['contacts:read'] })).key as string;
    const denied = await same(noContacts, LIST('id displayName'), undefined, false);
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // staff:read guards StaffUser.email: the list with owner { email } is the executor's.
    const partial = await same(contactsOnly, LIST('id owner { name email }'), undefined, false);
    expect(partial.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    await same(contactsOnly, LIST('id owner { name }'));
    const pk = await post(t.app, shopA.secretKey, '{ viewer { keyKind } }');
    expect(pk.status).toBe(200);
  });

  it("never answers with another shop's rows", async () => {
    const body = await same(shopA.secretKey, LIST('id email tags { name }', 'first: 100, filter: { statuses: [ACTIVE, ARCHIVED] }'));
    const text = JSON.stringify(body);
    expect(text).not.toContain(ids.other);
    expect(text).not.toContain('b@example.com');
    const other = await same(shopB.secretKey, LIST('id email', 'first: 100'));
    expect(JSON.stringify(other)).toContain('b@example.com');
    expect(JSON.stringify(other)).not.toContain('ada@example.com');
  });

  it('query limits hold on the compiled path (the executor reports them)', async () => {
    const tight = (compiledReads: boolean) =>
      buildApp({
        config: { ...t.config, compiledReads, maxQueryComplexity: 50 },
        database: t.db,
        logger: createLogger('silent'),
        tokenSecret: randomBytes(32).toString('hex'),
      });
    const [on, off] = [tight(true), tight(false)];
    try {
      const q = LIST('id displayName tags { name } consents { channel }');
      const before = compiledReadStats.compiled;
      const a = await post(on, shopA.secretKey, q);
      expect(compiledReadStats.compiled).toBe(before);
      expect(a.text).toBe((await post(off, shopA.secretKey, q)).text);
      expect((JSON.parse(a.text) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe('QUERY_TOO_COMPLEX');
    } finally {
      await on.stop();
      await off.stop();
    }
  });
});

describe('query plans of the lists', () => {
  /** The statements on `table` the compiled path sends while `run` runs, observed (each call goes through unchanged). */
  async function sentDuring(table: string, run: () => Promise<void>) {
    const sent: { text: string; params: unknown[] }[] = [];
    const driverQuery = t.db.driverQuery;
    t.db.driverQuery = <T>(text: string, params: unknown[]) => {
      if (text.includes(`FROM "${table}"`)) sent.push({ text, params });
      return driverQuery.call(t.db, text, params) as Promise<T[]>;
    };
    try {
      await run();
    } finally {
      t.db.driverQuery = driverQuery;
    }
    return sent;
  }
  type Page = { data: Record<string, { edges: { cursor: string }[] }> };
  /** A first page of `list` (20 rows expected) and the page after it; `query(after)` builds the query. */
  async function firstAndNext(key: string, list: string, query: (after: string | null) => string) {
    const page = async (after: string | null) => JSON.parse((await post(t.app, key, query(after))).text) as Page;
    const first = await page(null);
    expect(first.data[list]?.edges, list).toHaveLength(20);
    await page(first.data[list]?.edges.at(-1)?.cursor ?? null);
  }
  const afterArg = (after: string | null) => (after ? `, after: "${after}"` : '');
  const PAGE = 'edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage }';

  it('customers: CREATED_AT and UPDATED_AT pages (both directions, after a cursor) come off an index and stop at the page, when many customers share one timestamp', async () => {
    // 300 customers with one createdAt and one updatedAt, as an import batch's transaction or a
    // set-based recompute leaves them. With (shopId, status, createdAt) alone PostgreSQL read the
    // whole tie group and sorted it by id (an Incremental Sort) for every page
    // (migration 20261128080000_customer_list_order_indexes).
    const shop = await t.newShop('Plans');
    await t.db.prisma.$executeRaw`INSERT INTO "Customer" ("shopId", "firstName", "createdAt", "updatedAt")
      SELECT ${shop.shop.id}::uuid, 'Tied ' || g, '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z' FROM generate_series(1, 300) g`;
    await t.db.prisma.$executeRawUnsafe('ANALYZE "Customer"');
    const sent = await sentDuring('Customer', async () => {
      for (const field of ['CREATED_AT', 'UPDATED_AT']) {
        for (const direction of ['ASC', 'DESC']) {
          await firstAndNext(shop.secretKey, 'customers', (after) =>
            LIST('id', `first: 20, orderBy: { field: ${field}, direction: ${direction} }${afterArg(after)}`),
          );
        }
      }
    });
    expect(sent).toHaveLength(8);
    for (const { text, params } of sent) {
      const plan = await planOf(t.db, text, params);
      expect(plan, text).toMatch(/Index (Only )?Scan (Backward )?using "Customer_shopId_status_(createdAt|updatedAt)_id_idx"/);
      expect(plan, text).not.toMatch(/Sort/);
    }
  });

  it("agenda: the shop's and an assignee's pages (and after a cursor) come off an index and stop at the page, when many follow-ups share one dueAt", async () => {
    // 300 retention follow-ups due at one time, as one loyalty run raises them
    // (migration 20261128081000_follow_up_agenda_order_indexes).
    const shop = await t.newShop('Agenda plans');
    const g = t.gql(shop.secretKey);
    const staff = await createStaff(g, { name: 'Tess Tied', email: 'tess@example.com' });
    const customer = await createCustomer(g, { firstName: 'Tom' });
    await t.db.prisma.$executeRaw`INSERT INTO "FollowUp" ("shopId", "customerId", "assigneeId", "dueAt", goal, "updatedAt")
      SELECT ${shop.shop.id}::uuid, ${rawId(customer.id)}::uuid, ${rawId(staff.id)}::uuid, '2026-01-01T00:00:00Z', 'Tied ' || g, now()
      FROM generate_series(1, 300) g`;
    await t.db.prisma.$executeRawUnsafe('ANALYZE "FollowUp"');
    const sent = await sentDuring('FollowUp', async () => {
      for (const assignee of ['', `assigneeId: "${staff.id}", `]) {
        await firstAndNext(
          shop.secretKey,
          'agenda',
          (after) => `{ agenda(${assignee}first: 20${afterArg(after)}) { edges { cursor node { id } } } }`,
        );
      }
    });
    expect(sent).toHaveLength(4);
    for (const { text, params } of sent) {
      const plan = await planOf(t.db, text, params);
      expect(plan, text).toMatch(/Index (Only )?Scan using "FollowUp_shopId_(assigneeId_)?status_dueAt_id_idx"/);
      expect(plan, text).not.toMatch(/Sort/);
    }
  });
  it('orders, interactions and webhookDeliveries: a first page comes off the (shopId, time, id) index and stops at the page, when many rows share one time', async () => {
    // 300 rows each at one time: a day of date-only imported orders and interactions, a dispatcher
    // statement's deliveries (migration 20261128084000_shop_list_order_indexes). These lists are
    // answered by the executor (Prisma): its statements are observed through Prisma's query events
    // (the client is opened with them on, db/database.ts; its exported type does not say so).
    const shop = await t.newShop('Shop list plans');
    const customer = await createCustomer(t.gql(shop.secretKey), { firstName: 'Una' });
    const [s, c] = [shop.shop.id, rawId(customer.id)];
    const sql = t.db.prisma;
    await sql.$executeRaw`INSERT INTO "Order" ("shopId", "customerId", "externalId", "placedAt", currency, subtotal, total)
      SELECT ${s}::uuid, ${c}::uuid, 'o' || g, '2026-01-01T00:00:00Z', (SELECT "baseCurrency" FROM "Shop" WHERE id = ${s}::uuid), 10, 10
      FROM generate_series(1, 300) g`;
    await sql.$executeRaw`INSERT INTO "Interaction" ("shopId", "customerId", channel, direction, type, "occurredAt")
      SELECT ${s}::uuid, ${c}::uuid, 'EMAIL', 'INBOUND', 'INQUIRY', '2026-01-01T00:00:00Z' FROM generate_series(1, 300) g`;
    await sql.$executeRaw`WITH e AS (INSERT INTO "WebhookEndpoint" ("shopId", url, secret) VALUES (${s}::uuid, 'https://hooks.example.com/x', 'x') RETURNING id),
        ev AS (INSERT INTO "Event" ("shopId", type, payload) SELECT ${s}::uuid, 'CUSTOMER_CREATED', '{}' FROM generate_series(1, 300) RETURNING id)
      INSERT INTO "WebhookDelivery" ("shopId", "endpointId", "eventId", "eventType", payload, "createdAt")
      SELECT ${s}::uuid, e.id, ev.id, 'CUSTOMER_CREATED', '{}', '2026-01-01T00:00:00Z' FROM e, ev`;
    await sql.$executeRawUnsafe('ANALYZE "Order", "Interaction", "WebhookDelivery"');
    const seen: { query: string; params: unknown[] }[] = [];
    const stop = onPrismaQuery(t.db, (query, params) => {
      if (/ FROM "public"\."(Order|Interaction|WebhookDelivery)" .*ORDER BY/.test(query)) seen.push({ query, params });
    });
    try {
      for (const list of ['orders', 'interactions', 'webhookDeliveries']) {
        const body = JSON.parse((await post(t.app, shop.secretKey, `{ ${list}(first: 20) { edges { node { id } } } }`)).text) as Page;
        expect(body.data[list]?.edges, list).toHaveLength(20);
      }
    } finally {
      stop();
    }
    expect(seen.map((e) => /FROM "public"\."(\w+)"/.exec(e.query)?.[1])).toEqual(['Order', 'Interaction', 'WebhookDelivery']);
    for (const { query, params } of seen) {
      const plan = await planOf(t.db, query, params);
      expect(plan, query).toMatch(
        /Index (Only )?Scan Backward using "(Order_shopId_placedAt|Interaction_shopId_occurredAt|WebhookDelivery_shopId_createdAt)_id_idx"/,
      );
      expect(plan, query).not.toMatch(/Sort/);
    }
  });

  it("orders, interactions, webhookDeliveries, leadPool, segment members, and the executor's customers and agenda: a page after (or before) a cursor is the same rows, and reads from the cursor on, not every row before it", async () => {
    // 60 rows of each list in 6 times of 10 ties each. Prisma's cursor condition is an OR that
    // PostgreSQL applies as a filter (page N read every row before the cursor); the lists repeat
    // its leading column as a bound (common/graphql-helpers.ts cursorBound), an index condition.
    const shop = await t.newShop('Deep pages');
    const g = t.gql(shop.secretKey);
    const customer = await createCustomer(g, { firstName: 'Olga' });
    const [s, c] = [shop.shop.id, rawId(customer.id)];
    const sql = t.db.prisma;
    const at = `'2026-01-01T00:00:00Z'::timestamptz + (g % 6) * interval '1 hour'`;
    await sql.$executeRawUnsafe(
      `INSERT INTO "Order" ("shopId", "customerId", "externalId", "placedAt", currency, subtotal, total)
       SELECT $1::uuid, $2::uuid, 'd' || g, ${at}, (SELECT "baseCurrency" FROM "Shop" WHERE id = $1::uuid), 10, 10 FROM generate_series(1, 60) g`,
      s,
      c,
    );
    await sql.$executeRawUnsafe(
      `INSERT INTO "Interaction" ("shopId", "customerId", channel, direction, type, "occurredAt")
       SELECT $1::uuid, $2::uuid, 'EMAIL', 'INBOUND', 'INQUIRY', ${at} FROM generate_series(1, 60) g`,
      s,
      c,
    );
    await sql.$executeRawUnsafe(
      `WITH e AS (INSERT INTO "WebhookEndpoint" ("shopId", url, secret) VALUES ($1::uuid, 'https://hooks.example.com/d', 'x') RETURNING id),
         ev AS (INSERT INTO "Event" ("shopId", type, payload) SELECT $1::uuid, 'CUSTOMER_CREATED', '{}' FROM generate_series(1, 60) RETURNING id)
       INSERT INTO "WebhookDelivery" ("shopId", "endpointId", "eventId", "eventType", payload, "createdAt")
       SELECT $1::uuid, e.id, ev.id, 'CUSTOMER_CREATED', '{}', '2026-01-01T00:00:00Z'::timestamptz + (ev.id % 6) * interval '1 hour' FROM e, ev`,
      s,
    );
    await sql.$executeRawUnsafe(
      `INSERT INTO "Customer" ("shopId", "firstName", stage, "createdAt") SELECT $1::uuid, 'Lead ' || g, 'PROSPECT', ${at} FROM generate_series(1, 60) g`,
      s,
    );
    const seg = await g<{ createSegment: { __typename: string } }>(
      'mutation($i: CreateSegmentInput!) { createSegment(input: $i) { __typename } }',
      { i: { name: 'No orders', rule: 'orders.count = 0' } },
    );
    expect(seg.data?.createSegment.__typename, JSON.stringify(seg)).toBe('CreateSegmentSuccess');
    await sql.$executeRawUnsafe(
      `INSERT INTO "FollowUp" ("shopId", "customerId", "dueAt", goal, "updatedAt") SELECT $1::uuid, $2::uuid, ${at}, 'Call ' || g, now() FROM generate_series(1, 60) g`,
      s,
      c,
    );
    await sql.$executeRawUnsafe('ANALYZE "Order", "Interaction", "WebhookDelivery", "Customer", "FollowUp"');

    // The executor answers these five; `customers` and `agenda` have a compiled path, and the
    // executor's (compiledReads off) is their fallback.
    const lists: [string, App, (args: string) => string, (d: Record<string, unknown>) => unknown][] = [
      ['orders', t.app, (a) => `{ orders(${a}) { ${PAGE} } }`, (d) => d.orders],
      ['interactions', t.app, (a) => `{ interactions(${a}) { ${PAGE} } }`, (d) => d.interactions],
      ['webhookDeliveries', t.app, (a) => `{ webhookDeliveries(${a}) { ${PAGE} } }`, (d) => d.webhookDeliveries],
      ['leadPool', t.app, (a) => `{ leadPool(${a}) { ${PAGE} } }`, (d) => d.leadPool],
      [
        'members',
        t.app,
        (a) => `{ segments(first: 1) { edges { node { members(${a}) { ${PAGE} } } } } }`,
        (d) => (d.segments as Conn<{ members: unknown }>).edges[0]?.node.members,
      ],
      [
        'customers',
        executorApp,
        (a) => `{ customers(${a}, orderBy: { field: CREATED_AT, direction: DESC }) { ${PAGE} } }`,
        (d) => d.customers,
      ],
      [
        'customers',
        executorApp,
        (a) => `{ customers(${a}, orderBy: { field: UPDATED_AT, direction: ASC }) { ${PAGE} } }`,
        (d) => d.customers,
      ],
      ['agenda', executorApp, (a) => `{ agenda(${a}) { ${PAGE} } }`, (d) => d.agenda],
    ];
    type Conn<N> = { edges: { cursor: string; node: N }[]; pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean } };
    const seen: { query: string; params: unknown[] }[] = [];
    const stop = onPrismaQuery(t.db, (query, params) => {
      // The page statements after a cursor: Prisma's cursor reads the cursor row in a subselect.
      if (/ORDER BY/.test(query) && /WHERE \("public"\."(Order|Interaction|WebhookDelivery|Customer|FollowUp)"\."id"\) = /.test(query))
        seen.push({ query, params });
    });
    try {
      for (const [name, app, query, pick] of lists) {
        const conn = async (args: string) => {
          const body = JSON.parse((await post(app, shop.secretKey, query(args))).text) as {
            data: Record<string, unknown>;
            errors?: unknown;
          };
          expect(body.errors, name).toBeUndefined();
          return pick(body.data) as Conn<{ id: string }>;
        };
        const all = (await conn('first: 100')).edges.map((e) => e.node.id);
        expect(all.length, name).toBeGreaterThanOrEqual(60);
        const forward: string[] = [];
        for (let after: string | null = null; ; ) {
          const page: Conn<{ id: string }> = await conn(`first: 7${after ? `, after: "${after}"` : ''}`);
          forward.push(...page.edges.map((e) => e.node.id));
          if (!page.pageInfo.hasNextPage) break;
          after = page.edges.at(-1)?.cursor ?? null;
        }
        expect(forward, name).toEqual(all);
        const backward: string[][] = [];
        for (let before: string | null = null; ; ) {
          const page: Conn<{ id: string }> = await conn(`last: 7${before ? `, before: "${before}"` : ''}`);
          backward.unshift(page.edges.map((e) => e.node.id));
          if (!page.pageInfo.hasPreviousPage) break;
          before = page.edges[0]?.cursor ?? null;
        }
        expect(backward.flat(), name).toEqual(all);
      }
    } finally {
      stop();
    }
    const tables = new Set(seen.map((e) => /FROM "public"\."(\w+)"/.exec(e.query)?.[1]));
    expect([...tables].sort()).toEqual(['Customer', 'FollowUp', 'Interaction', 'Order', 'WebhookDelivery']);
    for (const { query, params } of seen) {
      // The bound is sent (after the cursor or before it)...
      expect(query).toMatch(/"(placedAt|occurredAt|createdAt|updatedAt|dueAt)" [<>]= \$\d+ AND/);
      // ...and, for the shop-wide lists, is the index condition. A segment's members are read from
      // its membership rows first when the planner expects few; the bound is then a filter on them.
      if (query.includes('"SegmentMember"')) continue;
      const plan = await planOf(t.db, query, params);
      expect(plan, query).toMatch(/Index Cond: .*"(placedAt|occurredAt|createdAt|updatedAt|dueAt)" [<>]= /);
    }
    expect(seen.filter((e) => e.query.includes('"SegmentMember"')).length).toBeGreaterThan(0);
  });
});
