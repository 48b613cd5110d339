import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Caller, createTestApp, globalId, rawId, type TestApp } from '../packages/server/src/testing.ts';
import { errorCodes, ok } from './helpers/crm.ts';

/** Interactions, orders, the customer timeline and storefront ingestion through the GraphQL API. */

let t: TestApp;
let sk: Caller;
let pk: Caller;
let pkPlain: string;
let shopId: string;
let staffId: string;

const CUSTOMER_CREATE = `mutation($input: CreateCustomerInput!) { createCustomer(input: $input) {
  ... on CreateCustomerSuccess { customer { id stage } } ... on Error { code message } } }`;

async function newCustomer(g: Caller = sk, input: Record<string, unknown> = {}): Promise<string> {
  const d = await ok<{ createCustomer: { customer: { id: string } } }>(g, CUSTOMER_CREATE, {
    input: { email: `c${Math.random().toString(36).slice(2)}@io.test`, ...input },
  });
  return d.createCustomer.customer.id;
}

const ERR = '... on Error { __typename code message path } ... on ValidationError { issues { path message } }';
const RECORD = `mutation($input: RecordInteractionInput!) { recordInteraction(input: $input) { __typename
  ... on RecordInteractionSuccess { interaction { id channel direction type subject body sentiment occurredAt metadata source
    staff { id } order { id } customer { id } } } ${ERR} } }`;
const UPSERT_ORDER = `mutation($input: UpsertOrderInput!) { upsertOrder(input: $input) { __typename
  ... on UpsertOrderPayload { created order { id externalId status currency subtotal discount tax shipping total placedAt
    customer { id stage } items { sku name quantity unitPrice lineTotal addOn } } } ${ERR} } }`;
const CAPTURE = `mutation($input: CaptureLeadInput!) { captureLead(input: $input) { __typename
  ... on CaptureLeadPayload { accepted created customer { id stage email } interaction { id type } } ${ERR} } }`;
const TRACK = `mutation($input: TrackInteractionInput!) { trackInteraction(input: $input) { __typename
  ... on TrackInteractionPayload { accepted interaction { id type customer { id } } } ${ERR} } }`;

type Res = Record<string, unknown> & { __typename: string; code?: string; path?: string[]; issues?: { path: string[] }[] };
async function run(g: Caller, q: string, input: unknown, headers?: Record<string, string>): Promise<Res> {
  const r = await g<Record<string, Res>>(q, { input }, headers);
  if (r.errors?.length || !r.data) throw new Error(`GraphQL errors (HTTP ${r.status}): ${JSON.stringify(r.errors)}`);
  return Object.values(r.data)[0] as Res;
}

const items = [
  { sku: 'SOFA', name: 'Sofa', quantity: 1, unitPrice: '499.90' },
  { sku: 'CARE', name: 'Care kit', quantity: 2, unitPrice: '9.95', addOn: true },
];

async function counts() {
  const where = { shopId };
  const p = t.db.prisma;
  return {
    orders: await p.order.count({ where }),
    items: await p.orderItem.count({ where }),
    interactions: await p.interaction.count({ where }),
    customers: await p.customer.count({ where }),
    transitions: await p.stageTransition.count({ where }),
    keys: await p.idempotencyKey.count({ where }),
  };
}

beforeAll(async () => {
  t = await createTestApp();
  const shop = await t.newShop('IO Shop', 'owner@io.test');
  shopId = shop.shop.id;
  staffId = globalId('StaffUser', shop.ownerId as string);
  sk = t.gql(shop.secretKey);
  pk = t.gql(shop.publishableKey);
  pkPlain = shop.publishableKey;
});
afterAll(() => t.close());

describe('orders', () => {
  it('upsertOrder computes totals as Decimal strings and moves the stage; Customer.orders, order(id), orders(filter)', async () => {
    const cid = await newCustomer();
    const first = await run(sk, UPSERT_ORDER, {
      externalId: 'io-1',
      customerId: cid,
      currency: 'eur',
      items,
      discount: '10',
      tax: '5.50',
      shipping: '4.95',
      total: '520.25',
    });
    expect(first).toMatchObject({
      __typename: 'UpsertOrderPayload',
      created: true,
      order: {
        externalId: 'io-1',
        status: 'PLACED',
        currency: 'EUR',
        subtotal: '519.80',
        discount: '10.00',
        tax: '5.50',
        shipping: '4.95',
        total: '520.25',
        customer: { id: cid, stage: 'FIRST_PURCHASE' },
        items: [
          { sku: 'SOFA', name: 'Sofa', quantity: 1, unitPrice: '499.90', lineTotal: '499.90', addOn: false },
          { sku: 'CARE', name: 'Care kit', quantity: 2, unitPrice: '9.95', lineTotal: '19.90', addOn: true },
        ],
      },
    });
    const updated = await run(sk, UPSERT_ORDER, { externalId: 'io-1', customerId: cid, currency: 'EUR', items, status: 'PAID' });
    expect(updated).toMatchObject({ created: false, order: { status: 'PAID', total: '519.80' } });
    const second = await run(sk, UPSERT_ORDER, { externalId: 'io-2', customerId: cid, currency: 'EUR', items, channel: 'MARKETPLACE' });
    expect((second.order as { customer: { stage: string } }).customer.stage).toBe('REPEAT');

    const d = await ok<{
      customer: {
        orders: { totalCount: number; edges: { node: { externalId: string } }[] };
        stageHistory: { edges: { node: Record<string, string> }[] };
      };
      order: { externalId: string };
      orders: { totalCount: number };
      marketplace: { totalCount: number };
    }>(
      sk,
      `query($c: ID!, $o: ID!) {
        customer(id: $c) { orders(first: 10) { totalCount edges { node { externalId } } }
          stageHistory(first: 10) { edges { node { fromStage toStage source reason } } } }
        order(id: $o) { externalId }
        orders(first: 10, filter: { customerId: $c }) { totalCount }
        marketplace: orders(first: 10, filter: { customerId: $c, channels: [MARKETPLACE] }) { totalCount }
      }`,
      { c: cid, o: (first.order as { id: string }).id },
    );
    expect(d.customer.orders.totalCount).toBe(2);
    expect(d.customer.orders.edges.map((e) => e.node.externalId).sort()).toEqual(['io-1', 'io-2']);
    expect(d.customer.stageHistory.edges.map((e) => e.node.toStage)).toEqual(['REPEAT', 'FIRST_PURCHASE', 'PROSPECT']);
    expect(d.customer.stageHistory.edges[0]?.node.source).toBe('AUTOMATIC');
    expect(d.order.externalId).toBe('io-1');
    expect(d.orders.totalCount).toBe(2);
    expect(d.marketplace.totalCount).toBe(1);
  });

  it('bad input is a typed ValidationError at its path and writes nothing', async () => {
    const cid = await newCustomer();
    const cases: [Record<string, unknown>, string[]][] = [
      [{ items: [{ name: 'X', quantity: -2, unitPrice: '1.00' }] }, ['input', 'items', '0', 'quantity']],
      [{ items: [{ name: 'X', quantity: 1, unitPrice: '1.999' }] }, ['input', 'items', '0', 'unitPrice']],
      [{ items: [{ name: 'X', quantity: 1, unitPrice: 'NaN' }] }, ['input', 'items', '0', 'unitPrice']],
      [{ currency: 'ABC' }, ['input', 'currency']],
      [{ total: '1.00' }, ['input', 'total']],
      [{ shipping: '-1' }, ['input', 'shipping']],
      [{ placedAt: new Date(Date.now() + 3 * 86_400_000).toISOString() }, ['input', 'placedAt']],
    ];
    const before = await counts();
    for (const [over, path] of cases) {
      const r = await run(sk, UPSERT_ORDER, { externalId: 'bad', customerId: cid, currency: 'EUR', items, ...over });
      expect(r.__typename, JSON.stringify(over)).toBe('ValidationError');
      expect(r.issues?.[0]?.path).toEqual(path);
    }
    expect(await counts()).toEqual(before);
  });

  it('idempotency: replay returns the first result, a different input is an IdempotencyConflictError', async () => {
    const cid = await newCustomer();
    const input = { externalId: 'idem-1', customerId: cid, currency: 'EUR', items, idempotencyKey: 'sync-42' };
    const a = await run(sk, UPSERT_ORDER, input);
    const before = await counts();
    const b = await run(sk, UPSERT_ORDER, input);
    expect((b.order as { id: string }).id).toBe((a.order as { id: string }).id);
    const c = await run(sk, UPSERT_ORDER, { ...input, status: 'CANCELLED' });
    expect(c).toMatchObject({ __typename: 'IdempotencyConflictError', code: 'IDEMPOTENCY_CONFLICT', path: ['input', 'idempotencyKey'] });
    expect(await counts()).toEqual(before);
  });
});

describe('interactions', () => {
  it('record, list per customer and per shop with filters, update, soft delete', async () => {
    const cid = await newCustomer();
    const rec = await run(
      sk,
      RECORD,
      {
        customerId: cid,
        channel: 'PHONE',
        direction: 'OUTBOUND',
        type: 'FOLLOW_UP_CALL',
        subject: 'Checking in',
        sentiment: 'POSITIVE',
        occurredAt: '2026-01-10T09:00:00Z',
        metadata: { duration: 120 },
      },
      { 'x-crm-staff-id': staffId },
    );
    expect(rec).toMatchObject({
      __typename: 'RecordInteractionSuccess',
      interaction: {
        channel: 'PHONE',
        type: 'FOLLOW_UP_CALL',
        sentiment: 'POSITIVE',
        staff: { id: staffId },
        customer: { id: cid },
        source: 'api',
      },
    });
    const id = (rec.interaction as { id: string }).id;
    await run(sk, RECORD, {
      customerId: cid,
      channel: 'EMAIL',
      direction: 'INBOUND',
      type: 'COMPLAINT',
      occurredAt: '2026-01-11T09:00:00Z',
    });
    const Q = `query($c: ID!, $s: [ID!]) {
      customer(id: $c) { interactions(first: 10) { totalCount edges { node { type } } } }
      complaints: interactions(first: 10, filter: { customerId: $c, types: [COMPLAINT] }) { totalCount }
      byStaff: interactions(first: 10, filter: { customerId: $c, staffIds: $s }) { totalCount }
      january: interactions(first: 10, filter: { customerId: $c, occurredAfter: "2026-01-10T12:00:00Z", channels: [EMAIL] }) { totalCount }
    }`;
    type L = {
      customer: { interactions: { totalCount: number; edges: { node: { type: string } }[] } };
      complaints: { totalCount: number };
      byStaff: { totalCount: number };
      january: { totalCount: number };
    };
    const l = await ok<L>(sk, Q, { c: cid, s: [staffId] });
    expect(l.customer.interactions.edges.map((e) => e.node.type)).toEqual(['COMPLAINT', 'FOLLOW_UP_CALL']);
    expect([l.complaints.totalCount, l.byStaff.totalCount, l.january.totalCount]).toEqual([1, 1, 1]);

    const upd = await run(
      sk,
      `mutation($input: UpdateInteractionInput!) { updateInteraction(input: $input) { __typename ... on UpdateInteractionSuccess { interaction { subject sentiment } } ${ERR} } }`,
      { id, subject: 'Changed', sentiment: null },
    );
    expect(upd).toMatchObject({ interaction: { subject: 'Changed', sentiment: null } });
    const del = await run(
      sk,
      `mutation($input: InteractionIdInput!) { deleteInteraction(input: $input) { __typename ... on DeletedInteraction { deletedId } ${ERR} } }`,
      { id },
    );
    expect(del).toEqual({ __typename: 'DeletedInteraction', deletedId: id });
    const after = await ok<L>(sk, Q, { c: cid, s: [staffId] });
    expect(after.customer.interactions.totalCount).toBe(1);
    expect(after.byStaff.totalCount).toBe(0);
    expect(await t.db.prisma.interaction.findUnique({ where: { id: rawId(id) } })).toMatchObject({ deletedAt: expect.any(Date) });
    // A deleted interaction is gone for node(id) too; a live one resolves.
    const live = after.customer.interactions.edges.length;
    expect(live).toBe(1);
    expect(await ok(sk, 'query($id: ID!) { node(id: $id) { id } }', { id })).toEqual({ node: null });
  });

  it("another shop's customer, staff and order are NotFoundError; nothing written", async () => {
    const other = await t.newShop('IO Other', 'owner@other.test');
    const og = t.gql(other.secretKey);
    const foreignCustomer = await newCustomer(og);
    const foreignOrder = await run(og, UPSERT_ORDER, { externalId: 'f-1', customerId: foreignCustomer, currency: 'EUR', items });
    const cid = await newCustomer();
    const before = await counts();
    const base = { customerId: cid, channel: 'PHONE', direction: 'INBOUND', type: 'INQUIRY' };
    const cases: [Record<string, unknown>, string][] = [
      [{ customerId: foreignCustomer }, 'customerId'],
      [{ staffId: globalId('StaffUser', other.ownerId as string) }, 'staffId'],
      [{ orderId: (foreignOrder.order as { id: string }).id }, 'orderId'],
    ];
    for (const [over, field] of cases) {
      const r = await run(sk, RECORD, { ...base, ...over });
      expect(r).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND', path: ['input', field] });
    }
    const r = await run(sk, UPSERT_ORDER, { externalId: 'x', customerId: foreignCustomer, currency: 'EUR', items });
    expect(r).toMatchObject({ __typename: 'NotFoundError', path: ['input', 'customerId'] });
    expect(await counts()).toEqual(before);
  });

  it('publishable keys cannot record, list or sync orders', async () => {
    const cid = await newCustomer();
    expect(await run(pk, RECORD, { customerId: cid, channel: 'WEB', direction: 'INBOUND', type: 'VISIT' })).toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(await run(pk, UPSERT_ORDER, { externalId: 'p', customerId: cid, currency: 'EUR', items })).toMatchObject({ code: 'FORBIDDEN' });
    expect(errorCodes(await pk('{ interactions(first: 1) { totalCount } }'))).toEqual(['FORBIDDEN']);
    expect(errorCodes(await pk('{ orders(first: 1) { totalCount } }'))).toEqual(['FORBIDDEN']);
  });
});

describe('storefront ingestion (publishable key)', () => {
  it('captureLead creates a PROSPECT and reveals nothing to the browser; a secret key sees the result', async () => {
    const before = await counts();
    const r = await run(pk, CAPTURE, {
      email: 'visitor@io.test',
      firstName: 'Vera',
      source: { channel: 'SOCIAL', campaign: 'launch', medium: 'instagram' },
      consents: [{ channel: 'EMAIL', granted: true }],
      type: 'REGISTRATION',
      message: 'Newsletter please',
      idempotencyKey: 'form-1',
    });
    expect(r).toEqual({ __typename: 'CaptureLeadPayload', accepted: true, created: null, customer: null, interaction: null });
    const again = await run(pk, CAPTURE, {
      email: 'visitor@io.test',
      firstName: 'Vera',
      source: { channel: 'SOCIAL', campaign: 'launch', medium: 'instagram' },
      consents: [{ channel: 'EMAIL', granted: true }],
      type: 'REGISTRATION',
      message: 'Newsletter please',
      idempotencyKey: 'form-1',
    });
    expect(again.accepted).toBe(true);
    const after = await counts();
    expect(after.customers).toBe(before.customers + 1);
    expect(after.interactions).toBe(before.interactions + 1);
    const c = await ok<{ customerBy: { stage: string; source: { channel: string; campaign: string }; consents: { channel: string }[] } }>(
      sk,
      '{ customerBy(email: "visitor@io.test") { stage source { channel campaign } consents { channel } } }',
    );
    expect(c.customerBy).toEqual({
      stage: 'PROSPECT',
      source: { channel: 'SOCIAL', campaign: 'launch' },
      consents: [{ channel: 'EMAIL' }],
    });
    const viaSecret = await run(sk, CAPTURE, { email: 'visitor@io.test', message: 'again' });
    expect(viaSecret).toMatchObject({
      accepted: true,
      created: false,
      customer: { stage: 'PROSPECT', email: 'visitor@io.test' },
      interaction: { type: 'INQUIRY' },
    });
  });

  it('captureLead refuses private fields and bad input', async () => {
    const r = await pk(`mutation { captureLead(input: { email: "a@io.test", stage: LOYAL }) { __typename } }`);
    expect(errorCodes(r)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(await run(pk, CAPTURE, { firstName: 'No contact' })).toMatchObject({ __typename: 'ValidationError', path: ['input', 'email'] });
  });

  it('trackInteraction identifies the customer by token or email', async () => {
    const cid = await newCustomer();
    const tok = await ok<{ createCustomerToken: { token: string } }>(
      sk,
      'mutation($id: ID!) { createCustomerToken(input: { customerId: $id }) { ... on CustomerToken { token } } }',
      { id: cid },
    );
    const r = await run(
      pk,
      TRACK,
      { type: 'REVIEW', sentiment: 'POSITIVE', body: 'Great sofa' },
      { 'x-customer-token': tok.createCustomerToken.token },
    );
    expect(r).toEqual({ __typename: 'TrackInteractionPayload', accepted: true, interaction: null });
    const l = await ok<{ customer: { interactions: { edges: { node: { type: string; source: string; direction: string } }[] } } }>(
      sk,
      'query($c: ID!) { customer(id: $c) { interactions(first: 5) { edges { node { type source direction } } } } }',
      { c: cid },
    );
    expect(l.customer.interactions.edges).toEqual([{ node: { type: 'REVIEW', source: 'storefront', direction: 'INBOUND' } }]);
    const byEmail = await run(pk, TRACK, { type: 'SURVEY_RESPONSE', email: 'survey@io.test', metadata: { nps: 9 } });
    expect(byEmail.accepted).toBe(true);
    expect(await run(pk, TRACK, { type: 'REVIEW' })).toMatchObject({ __typename: 'ValidationError' });
    expect(await run(pk, TRACK, { type: 'REVIEW', customerId: cid })).toMatchObject({
      __typename: 'ValidationError',
      path: ['input', 'customerId'],
    });
    const viaSecret = await run(sk, TRACK, { type: 'GREETING', customerId: cid });
    expect(viaSecret).toMatchObject({ interaction: { type: 'GREETING', customer: { id: cid } } });
  });
});

describe('rate limits', () => {
  it('per key: the request over the limit gets RATE_LIMITED, HTTP 429 and Retry-After', async () => {
    const app = await createTestApp({ rateLimitPerKey: 3, rateLimitPerIp: 1000 });
    try {
      const shop = await app.newShop('RL');
      const send = () =>
        app.app.yoga.fetch('http://test/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${shop.publishableKey}` },
          body: JSON.stringify({ query: CAPTURE, variables: { input: { email: 'rl@io.test' } } }),
        });
      for (let i = 0; i < 3; i++) expect((await send()).status).toBe(200);
      const res = await send();
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
      expect(body.errors.map((e) => e.extensions.code)).toEqual(['RATE_LIMITED']);
    } finally {
      await app.close();
    }
  });

  it('per client IP (X-Forwarded-For trusted with TRUST_PROXY): one address is limited, another is not', async () => {
    const app = await createTestApp({ rateLimitPerKey: 1000, rateLimitPerIp: 2, trustProxy: true });
    try {
      const shop = await app.newShop('RL IP');
      const g = app.gql(shop.publishableKey);
      const from = (ip: string) => g(TRACK, { input: { type: 'VISIT', email: 'ip@io.test' } }, { 'x-forwarded-for': `${ip}, 10.0.0.1` });
      expect((await from('203.0.113.1')).status).toBe(200);
      expect((await from('203.0.113.1')).status).toBe(200);
      const limited = await from('203.0.113.1');
      expect(limited.status).toBe(429);
      expect(errorCodes(limited)).toEqual(['RATE_LIMITED']);
      expect((await from('203.0.113.2')).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('rate limit over real HTTP', () => {
  it('uses the socket address without TRUST_PROXY (X-Forwarded-For is ignored) and sends Retry-After', async () => {
    const app = await createTestApp({ rateLimitPerKey: 1000, rateLimitPerIp: 1, trustProxy: false });
    const url = await app.app.start();
    try {
      const shop = await app.newShop('RL HTTP');
      const send = (ip: string) =>
        fetch(`${url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${shop.publishableKey}`, 'x-forwarded-for': ip },
          body: JSON.stringify({ query: CAPTURE, variables: { input: { email: 'http@io.test' } } }),
        });
      expect((await send('198.51.100.1')).status).toBe(200);
      const res = await send('198.51.100.2'); // a spoofed header does not give a fresh bucket
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    } finally {
      await app.close();
    }
  });
});

describe('timeline', () => {
  const TIMELINE = `query($c: ID!, $after: String, $kinds: [TimelineKind!]) { customer(id: $c) { timeline(first: 50, after: $after, kinds: $kinds) {
    pageInfo { hasNextPage endCursor }
    edges { cursor at kind node { __typename
      ... on Interaction { id type } ... on Order { id total } ... on StageTransition { toStage } ... on ConsentChange { channel granted } } } } } }`;
  type TL = {
    customer: {
      timeline: {
        pageInfo: { hasNextPage: boolean; endCursor: string | null };
        edges: { at: string; kind: string; node: { __typename: string } }[];
      };
    };
  };

  async function seed(events: number): Promise<string> {
    const cid = await newCustomer(sk, { consents: [{ channel: 'SMS', granted: true }] });
    for (let i = 0; i < events; i++) {
      if (i % 3 === 0) {
        await run(sk, UPSERT_ORDER, {
          externalId: `tl-${cid}-${i}`,
          customerId: cid,
          currency: 'EUR',
          items,
          placedAt: '2026-01-01T00:00:00Z',
        });
      } else {
        await run(sk, RECORD, {
          customerId: cid,
          channel: 'EMAIL',
          direction: 'INBOUND',
          type: 'MESSAGE',
          occurredAt: '2026-01-01T00:00:00Z',
        });
      }
    }
    return cid;
  }

  it('merges all kinds newest first and pages with the cursor', async () => {
    const cid = await seed(6);
    const d = await ok<TL>(sk, TIMELINE, { c: cid });
    const types = new Set(d.customer.timeline.edges.map((e) => e.node.__typename));
    expect(types).toEqual(new Set(['Interaction', 'Order', 'StageTransition', 'ConsentChange']));
    const ats = d.customer.timeline.edges.map((e) => e.at);
    expect([...ats].sort().reverse()).toEqual(ats);
    const orders = await ok<TL>(sk, TIMELINE, { c: cid, kinds: ['ORDER'] });
    expect(orders.customer.timeline.edges.map((e) => e.kind)).toEqual(['ORDER', 'ORDER']);
    const bad = await sk(TIMELINE, { c: cid, after: 'nope' });
    expect(errorCodes(bad)).toEqual(['VALIDATION_FAILED']);
  });

  it('uses a constant number of SQL statements, independent of the number of events', async () => {
    const small = await seed(10);
    const large = await seed(60);
    await ok(sk, TIMELINE, { c: small }); // warm-up (key last-use update)
    const measure = async (cid: string) => {
      t.db.resetQueryCount();
      const d = await ok<TL>(sk, TIMELINE, { c: cid });
      return { queries: t.db.queryCount(), edges: d.customer.timeline.edges.length };
    };
    const a = await measure(small);
    const b = await measure(large);
    expect(a.edges).toBeGreaterThan(10);
    expect(b.edges).toBe(50);
    expect(b.queries).toBe(a.queries);
    expect(b.queries).toBeLessThanOrEqual(8);
  });

  // Every field of the four row kinds, scalar only: the rows come back with the page statement.
  const NODE_FIELDS = `... on Interaction { id channel direction type subject body sentiment occurredAt metadata surveyKind score source createdAt updatedAt }
    ... on Order { id externalId orderChannel: channel status placedAt currency subtotal discount tax shipping total refunded exchangeRate baseTotal
      countedTotal competitorTotal excluded excludedReason createdAt updatedAt }`;
  const STAGE_FIELDS = 'id fromStage toStage stageSource: source reason at';
  const CONSENT_FIELDS =
    'consentChannel: channel granted consentSource: source changedAt wording textVersion legalBasis sourceUrl ip userAgent pending confirmedAt';
  const FIELDS = `${NODE_FIELDS} ... on StageTransition { ${STAGE_FIELDS} } ... on ConsentChange { ${CONSENT_FIELDS} }`;
  const NODE_RELATIONS = `... on Interaction { id staff { id name } order { id externalId } customer { id } }
    ... on Order { id total items { sku quantity lineTotal } customer { id } }`;
  const WITH_RELATIONS = `${NODE_RELATIONS} ... on StageTransition { id toStage actor { id } }`;
  type Edge = { node: { __typename: string; id?: string } & Record<string, unknown> };
  const page = (fields: string) =>
    `query($c: ID!) { customer(id: $c) { timeline(first: 50) { edges { node { __typename ${fields} } } } } }`;
  const byNode = (fields: string) => `query($id: ID!) { node(id: $id) { __typename ${fields} } }`;
  const HISTORIES = `query($c: ID!) { customer(id: $c) { stageHistory(first: 50) { edges { node { ${STAGE_FIELDS} } } }
    consentHistory(first: 50) { edges { node { ${CONSENT_FIELDS} } } } } }`;
  type Histories = { customer: { stageHistory: { edges: Edge[] }; consentHistory: { edges: Edge[] } } };

  it('reads plain fields in the page statement, with the values node(id) gives; relations are loaded when asked', async () => {
    const cid = await newCustomer(sk, { consents: [{ channel: 'SMS', granted: true }] });
    await run(sk, RECORD, {
      customerId: cid,
      channel: 'EMAIL',
      direction: 'OUTBOUND',
      type: 'MESSAGE',
      subject: 'Hi',
      sentiment: 'POSITIVE',
      metadata: { a: [1, 'x'], b: { c: true } },
      staffId,
      occurredAt: '2026-01-02T00:00:00Z',
    });
    await run(sk, UPSERT_ORDER, { externalId: `tlr-${cid}`, customerId: cid, currency: 'EUR', items, placedAt: '2026-01-01T00:00:00Z' });

    t.db.resetQueryCount();
    const d = await ok<{ customer: { timeline: { edges: Edge[] } } }>(sk, page(FIELDS), { c: cid });
    // The key's last use may or may not be written; the customer, the page: nothing per kind.
    expect(t.db.queryCount()).toBeLessThanOrEqual(3);
    const edges = d.customer.timeline.edges;
    expect(new Set(edges.map((e) => e.node.__typename))).toEqual(new Set(['Interaction', 'Order', 'StageTransition', 'ConsentChange']));
    const h = await ok<Histories>(sk, HISTORIES, { c: cid });
    const history = (typename: string) =>
      (typename === 'StageTransition' ? h.customer.stageHistory : h.customer.consentHistory).edges.map((x) => ({
        ...x.node,
        __typename: typename,
      }));
    for (const e of edges) {
      if (e.node.__typename === 'StageTransition' || e.node.__typename === 'ConsentChange') {
        expect(history(e.node.__typename)).toContainEqual(e.node);
        continue;
      }
      const n = await ok<{ node: Edge['node'] }>(sk, byNode(NODE_FIELDS), { id: e.node.id });
      expect(e.node).toEqual(n.node);
    }
    const interaction = edges.find((e) => e.node.__typename === 'Interaction')?.node;
    expect(interaction).toMatchObject({ subject: 'Hi', sentiment: 'POSITIVE', metadata: { a: [1, 'x'], b: { c: true } } });
    expect(edges.find((e) => e.node.__typename === 'Order')?.node).toMatchObject({ total: '519.80', status: expect.any(String) });

    const r = await ok<{ customer: { timeline: { edges: Edge[] } } }>(sk, page(WITH_RELATIONS), { c: cid });
    for (const e of r.customer.timeline.edges) {
      if (e.node.__typename !== 'Interaction' && e.node.__typename !== 'Order') continue;
      const n = await ok<{ node: Edge['node'] }>(sk, byNode(NODE_RELATIONS), { id: e.node.id });
      expect(e.node).toEqual(n.node);
    }
    expect(r.customer.timeline.edges.find((e) => e.node.__typename === 'StageTransition')?.node).toHaveProperty('actor');
    const order = r.customer.timeline.edges.find((e) => e.node.__typename === 'Order')?.node as unknown as {
      items: unknown[];
      customer: { id: string };
    };
    expect(order.items).toHaveLength(2);
    expect(order.customer.id).toBe(cid);
    const withStaff = r.customer.timeline.edges.find((e) => e.node.__typename === 'Interaction')?.node as unknown as {
      staff: { id: string };
    };
    expect(withStaff.staff.id).toBe(staffId);
  });
});

it('keys: pkPlain is a publishable key', () => expect(pkPlain.startsWith('pk_')).toBe(true));
