import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDatamodel } from '../packages/server/src/generated/pothos-types.ts';
import { signCustomerToken } from '../packages/server/src/modules/auth/api-key.service.ts';
import { schema } from '../packages/server/src/schema.ts';
import { type Caller, createTestApp, type GqlResult, globalId, rawId, type TestApp } from '../packages/server/src/testing.ts';
import {
  type ApiKeyOut,
  type CustomerOut,
  createCustomer,
  createStaff,
  errorCodes,
  expectError,
  mutate,
  ok,
  type Result,
  type StaffOut,
  sleep,
  succeed,
} from './helpers/crm.ts';

/**
 * Tenant isolation: shop B's keys (secret and publishable) against shop A's ids and identifiers,
 * for EVERY field of Query and Mutation. Each case proves nothing of A leaks (null / NotFoundError /
 * empty / only B's rows) and, through a snapshot of A's rows read with the unscoped client, that
 * nothing of A changed. Adding a Query or Mutation field without a case here fails the suite.
 */

let t: TestApp;

/** Shop A: the victim with data. */
const A = {
  shopId: '',
  g: null as unknown as Caller,
  ownerId: '',
  rep: null as unknown as StaffOut,
  alice: null as unknown as CustomerOut,
  bob: null as unknown as CustomerOut,
  archived: null as unknown as CustomerOut,
  dup: null as unknown as CustomerOut,
  extraKey: null as unknown as ApiKeyOut,
  token: '',
  pk: '',
  extraKeyPlain: '',
  keyIds: [] as string[],
  /** Every string that would reveal A's data if it appeared in a response to B. */
  secrets: [] as string[],
};
/** Shop B: the attacker. */
const B = { shopId: '', sk: '', pk: '', g: null as unknown as Caller, p: null as unknown as Caller, mine: null as unknown as CustomerOut };

/** Every tenant-owned model (one with a shopId column), so new modules' tables are covered too. */
const TENANT_MODELS = Object.entries(getDatamodel().datamodel.models)
  .filter(([, m]) => m.fields.some((f) => f.name === 'shopId' && f.kind === 'scalar'))
  .map(([name]) => name);
type Delegate = { findMany(args: object): Promise<unknown[]> };

/** All of a shop's rows in every tenant table, read with the unscoped client. */
async function snapshot(shopId: string): Promise<Record<string, unknown[]>> {
  const p = t.db.prisma;
  const out: Record<string, unknown[]> = { Shop: [JSON.stringify(await p.shop.findUnique({ where: { id: shopId } }))] };
  for (const model of TENANT_MODELS) {
    const delegate = (p as unknown as Record<string, Delegate>)[`${model[0]?.toLowerCase()}${model.slice(1)}`];
    if (!delegate) throw new Error(`no delegate for ${model}`);
    const bigintSafe = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);
    out[model] = (await delegate.findMany({ where: { shopId } })).map((r) => JSON.stringify(r, bigintSafe)).sort();
  }
  return out;
}
let initialA: Record<string, unknown[]>;

/** Fails if any of A's identifying strings appears in the response (except those in `allow`). */
function expectNoLeak(res: unknown, allow: string[] = []) {
  const json = JSON.stringify(res);
  for (const s of A.secrets) if (!allow.includes(s)) expect(json, `leaked ${s}`).not.toContain(s);
}

const ALICE = { email: 'alice@alpha.test', phone: '+49 30 1000001', e164: '+49301000001', externalId: 'alpha-ext-1' };

beforeAll(async () => {
  t = await createTestApp();
  const a = await t.newShop('Alpha Boutique', 'owner@alpha.test');
  A.shopId = a.shop.id;
  A.ownerId = a.ownerId as string;
  A.g = t.gql(a.secretKey);
  A.rep = await createStaff(A.g, { name: 'Alpha Rep', email: 'rep@alpha.test' });
  A.alice = await createCustomer(A.g, {
    email: ALICE.email,
    phone: ALICE.phone,
    externalId: ALICE.externalId,
    firstName: 'Alicia',
    lastName: 'Alphason',
    company: 'Alpha Holdings',
    tags: ['alpha-vip'],
    consents: [{ channel: 'EMAIL', granted: true }],
    ownerId: A.rep.id,
    source: { channel: 'SOCIAL', campaign: 'alpha-campaign' },
  });
  A.bob = await createCustomer(A.g, { email: 'bob@alpha.test', firstName: 'Bobbie', source: { referrerCustomerId: A.alice.id } });
  A.archived = await createCustomer(A.g, { email: 'archived@alpha.test', firstName: 'Archibald' });
  await succeed(A.g, 'archiveCustomer', { id: A.archived.id });
  A.dup = await createCustomer(A.g, { email: 'dup@alpha.test', firstName: 'Duplicata' });
  await succeed(A.g, 'mergeCustomers', { survivorId: A.alice.id, duplicateId: A.dup.id });
  await succeed(A.g, 'setCustomerStage', { id: A.bob.id, stage: 'LOYAL', reason: 'alpha reason', force: true });
  const extra = await succeed(A.g, 'createApiKey', { kind: 'SECRET', name: 'alpha-extra-key' });
  A.extraKey = extra.apiKey as ApiKeyOut;
  A.extraKeyPlain = extra.key as string;
  A.pk = a.publishableKey;
  A.token = (await succeed(A.g, 'createCustomerToken', { customerId: A.alice.id })).token as string;
  const keys = (await ok<{ apiKeys: ApiKeyOut[] }>(A.g, '{ apiKeys { id prefix name } }')).apiKeys;
  A.keyIds = keys.map((k) => k.id);
  const customers = [A.alice, A.bob, A.archived, A.dup];
  const staffIds = [A.rep.id, globalId('StaffUser', A.ownerId)];
  A.secrets = [
    a.shop.id,
    globalId('Shop', a.shop.id),
    'Alpha Boutique',
    'alpha-boutique',
    ...customers.flatMap((c) => [c.id, rawId(c.id)]),
    ...staffIds.flatMap((id) => [id, rawId(id)]),
    ...keys.flatMap((k) => [k.id, rawId(k.id), k.prefix]),
    'alpha-extra-key',
    'alpha.test',
    ALICE.e164,
    ALICE.externalId,
    'Alicia',
    'Alphason',
    'Alpha Holdings',
    'Bobbie',
    'Archibald',
    'Duplicata',
    'Alpha Rep',
    'alpha-vip',
    'alpha-campaign',
    'alpha reason',
  ];

  const b = await t.newShop('Bravo Store', 'owner@bravo.test');
  B.shopId = b.shop.id;
  B.sk = b.secretKey;
  B.pk = b.publishableKey;
  B.g = t.gql(b.secretKey);
  B.p = t.gql(b.publishableKey);
  B.mine = await createCustomer(B.g, { email: 'mine@bravo.test', firstName: 'Bravo', tags: ['bravo-tag'] });

  await sleep(300); // lets the asynchronous last-use update of A's key land before the first snapshot
  expect(TENANT_MODELS).toEqual(
    expect.arrayContaining(['ApiKey', 'StaffUser', 'Customer', 'Tag', 'CustomerTag', 'Consent', 'StageTransition']),
  );
  initialA = await snapshot(A.shopId);
  expect(initialA.Customer).toHaveLength(4);
  expect(initialA.CustomerTag).toHaveLength(1);
  expect(initialA.StaffUser).toHaveLength(2);
});
afterAll(() => t.close());

/** A token for A's customer, signed with the server's secret but naming shop B (a confused-deputy token). */
const crossToken = () => signCustomerToken(t.app.services.tokenSecret, B.shopId, rawId(A.alice.id), 3600);

type Data = Record<string, unknown>;
async function gql(g: Caller, query: string, variables?: Data, headers?: Record<string, string>): Promise<GqlResult<Data>> {
  const r = await g<Data>(query, variables, headers);
  expectNoLeak(r);
  return r;
}
async function mut(g: Caller, field: string, input: unknown, headers?: Record<string, string>, allow: string[] = []): Promise<Result> {
  const r = await mutate(g, field, input, headers);
  expectNoLeak(r, allow);
  return r;
}
const notFound = (r: Result, path?: string[]) => expectError(r, 'NotFoundError', 'NOT_FOUND', path);

async function bCount(): Promise<number> {
  return t.db.prisma.customer.count({ where: { shopId: B.shopId, status: { not: 'MERGED' } } });
}
/** Erases a customer B created with A's identifiers, so later cases start from the same state. */
async function eraseInB(id: string) {
  await succeed(B.g, 'deleteCustomer', { id });
}

/** Interactions and orders of shop A (added with the interactions/orders module). */
const AX = { order: '', interaction: '' };
const B_ORDER = `mutation($input: UpsertOrderInput!) { upsertOrder(input: $input) { __typename
  ... on UpsertOrderPayload { created order { id externalId customer { id } } } ... on Error { code message path } } }`;
const B_RECORD = `mutation($input: RecordInteractionInput!) { recordInteraction(input: $input) { __typename
  ... on RecordInteractionSuccess { interaction { id } } ... on Error { code message path } } }`;
const B_UPDATE_I = `mutation($input: UpdateInteractionInput!) { updateInteraction(input: $input) { __typename
  ... on UpdateInteractionSuccess { interaction { id subject } } ... on Error { code message path } } }`;
const B_DELETE_I = `mutation($input: InteractionIdInput!) { deleteInteraction(input: $input) { __typename
  ... on DeletedInteraction { deletedId } ... on Error { code message path } } }`;
const B_CAPTURE = `mutation($input: CaptureLeadInput!) { captureLead(input: $input) { __typename
  ... on CaptureLeadPayload { accepted created customer { id email } interaction { id } } ... on Error { code message path } } }`;
const B_TRACK = `mutation($input: TrackInteractionInput!) { trackInteraction(input: $input) { __typename
  ... on TrackInteractionPayload { accepted interaction { id customer { id } } } ... on Error { code message path } } }`;
const ORDER_ITEMS = [{ sku: 'ALPHA-SKU', name: 'Alpha sofa', quantity: 1, unitPrice: '100.00' }];
type Member = { __typename: string; code?: string; path?: string[] } & Record<string, unknown>;
const member = (r: GqlResult<Data>, field: string) => {
  expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
  return r.data?.[field] as Member;
};
const expectNotFound = (m: Member, path: string[]) => expect(m).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND', path });
const expectForbidden = (m: Member) => expect(m).toMatchObject({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });

beforeAll(async () => {
  const o = await ok<{ upsertOrder: { order: { id: string } } }>(A.g, B_ORDER, {
    input: { externalId: 'alpha-order-1', customerId: A.alice.id, currency: 'EUR', items: ORDER_ITEMS },
  });
  AX.order = o.upsertOrder.order.id;
  await ok(A.g, 'mutation($input: SetExchangeRateInput!) { setExchangeRate(input: $input) { __typename } }', {
    input: { currency: 'JPY', rate: '0.0062' },
  });
  const i = await ok<{ recordInteraction: { interaction: { id: string } } }>(A.g, B_RECORD, {
    input: {
      customerId: A.alice.id,
      channel: 'PHONE',
      direction: 'INBOUND',
      type: 'COMPLAINT',
      subject: 'alpha-complaint',
      staffId: A.rep.id,
      orderId: AX.order,
    },
  });
  AX.interaction = i.recordInteraction.interaction.id;
  A.secrets.push(AX.order, rawId(AX.order), AX.interaction, rawId(AX.interaction), 'alpha-order-1', 'alpha-complaint', 'ALPHA-SKU');
  await sleep(100);
  initialA = await snapshot(A.shopId);
  expect(initialA.Order).toHaveLength(1);
  expect(initialA.Interaction).toHaveLength(1);
});
/** gql() allowing some of A's strings (B may reuse A's identifiers in its own shop). */
async function g_(g: Caller, query: string, variables: Data, allow: string[]): Promise<GqlResult<Data>> {
  const r = await g<Data>(query, variables);
  expectNoLeak(r, allow);
  return r;
}

/** A webhook endpoint and a delivery of shop A (added with the webhooks module). */
const AW = { endpoint: '', delivery: '', secret: '' };
const B_CREATE_HOOK = `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { __typename
  ... on WebhookEndpointWithSecret { secret endpoint { id url } } ... on Error { code message path } } }`;
const B_HOOK_ID = (field: string, input: string, success: string) => `mutation($input: ${input}!) { ${field}(input: $input) { __typename
  ... on ${success} { __typename } ... on Error { code message path } } }`;

beforeAll(async () => {
  const e = await ok<{ createWebhookEndpoint: { secret: string; endpoint: { id: string } } }>(A.g, B_CREATE_HOOK, {
    input: { url: 'https://alpha-hooks.example/in' },
  });
  AW.endpoint = e.createWebhookEndpoint.endpoint.id;
  AW.secret = e.createWebhookEndpoint.secret;
  const d = await t.db.prisma.webhookDelivery.create({
    data: {
      shopId: A.shopId,
      endpointId: rawId(AW.endpoint),
      eventId: 1n,
      eventType: 'CUSTOMER_CREATED',
      payload: { alpha: 'alpha-payload' },
    },
  });
  AW.delivery = globalId('WebhookDelivery', d.id);
  A.secrets.push(AW.endpoint, rawId(AW.endpoint), AW.secret, 'alpha-hooks.example', AW.delivery, d.id, 'alpha-payload');
  initialA = await snapshot(A.shopId);
});

/** Follow-ups, doubts, lead history and follow-up settings of shop A (added with the follow-ups module). */
const AF = { pool: '', done: '', planned: '', doubt: '', bOwner: '' };
const FU_ERR = '... on Error { code message path }';
const F_MUT = (field: string, input: string, success: string) => `mutation($input: ${input}) { ${field}(input: $input) { __typename
  ${FU_ERR} ${success} } }`;
const B_CREATE_FU = F_MUT(
  'createFollowUp',
  'CreateFollowUpInput!',
  '... on CreateFollowUpSuccess { followUp { id goal customer { id } } }',
);
const B_UPDATE_FU = F_MUT('updateFollowUp', 'UpdateFollowUpInput!', '... on UpdateFollowUpSuccess { followUp { id goal } }');
const B_LOST = F_MUT('markLeadLost', 'MarkLeadLostInput!', '... on MarkLeadLostSuccess { customer { id lostAt } }');
const B_REOPEN = F_MUT('reopenLead', 'ReopenLeadInput!', '... on ReopenLeadSuccess { customer { id lostAt } }');
const B_CANCEL_FU = F_MUT('cancelFollowUp', 'CloseFollowUpInput!', '... on CancelFollowUpSuccess { followUp { id status } }');
const B_SKIP_FU = F_MUT('skipFollowUp', 'CloseFollowUpInput!', '... on SkipFollowUpSuccess { followUp { id status } }');
const B_COMPLETE_FU = F_MUT(
  'completeFollowUp',
  'CompleteFollowUpInput!',
  '... on CompleteFollowUpPayload { followUp { id notes } next { id } proposal { reasons } }',
);
const B_RESOLVE = F_MUT('resolveFollowUpDoubt', 'ResolveDoubtInput!', '... on ResolveFollowUpDoubtSuccess { doubt { id text } }');
const B_RETENTION = F_MUT(
  'generateRetentionFollowUps',
  'GenerateRetentionFollowUpsInput!',
  '... on RetentionFollowUpsPayload { createdCount created { id customer { id } } }',
);
const F_SETTINGS =
  '... on FollowUpSettings { cadence { unknownLikelihoodDays } leadPool { mode returnAfterHours bySource { channel staffId } } }';
const B_CADENCE = F_MUT('updateCadenceSettings', 'UpdateCadenceSettingsInput!', F_SETTINGS);
const B_LEADPOOL = F_MUT('updateLeadPoolSettings', 'UpdateLeadPoolSettingsInput!', F_SETTINGS);
const B_CLAIM = F_MUT('claimLead', 'ClaimLeadInput!', '... on ClaimLeadSuccess { customer { id owner { id } } }');
const B_ASSIGN = F_MUT('assignLead', 'AssignLeadInput!', '... on AssignLeadSuccess { customer { id owner { id } } }');
const B_BULK = (field: string) =>
  F_MUT(field, 'LeadBatchInput', '... on LeadAssignmentsPayload { count assignments { customer { id } staff { id } } }');

beforeAll(async () => {
  const pool = await createCustomer(A.g, {
    email: 'pool@alpha.test',
    firstName: 'Poolina',
    stage: 'PROSPECT',
    source: { channel: 'SOCIAL' },
  });
  AF.pool = pool.id;
  // A lost lead (for the loss analytics and the lead-loss mutations).
  const lost = await createCustomer(A.g, { email: 'lost@alpha.test', firstName: 'Lostina', stage: 'PROSPECT' });
  await ok(A.g, B_LOST, { input: { customerId: lost.id, reason: 'OTHER', note: 'alpha-loss-note' } });
  const f = await ok<{ createFollowUp: { followUp: { id: string } } }>(A.g, B_CREATE_FU, {
    input: { customerId: A.alice.id, goal: 'alpha-goal', dueAt: new Date(Date.now() + 86_400_000).toISOString(), channel: 'EMAIL' },
  });
  AF.done = f.createFollowUp.followUp.id;
  const c = await ok<{ completeFollowUp: { next: { id: string } } }>(A.g, B_COMPLETE_FU, {
    input: { id: AF.done, notes: 'alpha-notes', doubts: ['alpha-doubt'], nextStep: 'alpha-next-step' },
  });
  AF.planned = c.completeFollowUp.next.id;
  AF.doubt = globalId('FollowUpDoubt', (await t.db.prisma.followUpDoubt.findFirstOrThrow({ where: { shopId: A.shopId } })).id);
  await ok(A.g, B_CADENCE, { input: { unknownLikelihoodDays: 9 } });
  await ok(A.g, B_LEADPOOL, { input: { mode: 'BY_SOURCE', bySource: [{ channel: 'SOCIAL', staffId: A.rep.id }], returnAfterHours: 1 } });
  AF.bOwner = globalId('StaffUser', (await t.db.prisma.staffUser.findFirstOrThrow({ where: { shopId: B.shopId, role: 'OWNER' } })).id);
  A.secrets.push(
    ...[AF.pool, AF.done, AF.planned, AF.doubt].flatMap((id) => [id, rawId(id)]),
    'Poolina',
    'Lostina',
    'alpha-loss-note',
    'alpha-goal',
    'alpha-notes',
    'alpha-doubt',
    'alpha-next-step',
  );
  await sleep(100);
  initialA = await snapshot(A.shopId);
  expect(initialA.FollowUp).toHaveLength(2);
  expect(initialA.FollowUpDoubt).toHaveLength(1);
});

/** Loyalty data of shop A: settings, metrics, points with a movement. */
beforeAll(async () => {
  await ok(A.g, 'mutation($input: UpdateLoyaltySettingsInput!) { updateLoyaltySettings(input: $input) { __typename } }', {
    input: { tiers: [{ name: 'Alpha tier', minPoints: 0, benefits: 'alpha-benefit' }], points: { perCurrencyUnit: 2 } },
  });
  await ok(A.g, 'mutation { recomputeLoyalty { __typename } }');
  await ok(A.g, 'mutation { updateLifecycleSettings(input: { loyalMinOrders: 7 }) { __typename } }');
  await ok(A.g, 'mutation { updateAuthorizationSettings(input: { agentsMay: [MANAGE_WEBHOOKS] }) { __typename } }');
  const adj = await ok<{ adjustPoints: { __typename: string } }>(
    A.g,
    'mutation($input: AdjustPointsInput!) { adjustPoints(input: $input) { __typename } }',
    { input: { customerId: A.alice.id, points: 50, reason: 'alpha-reason', idempotencyKey: 'alpha-adjust' } },
  );
  expect(adj.adjustPoints.__typename).toBe('PointsMovementPayload');
  await ok(A.g, 'query($id: ID!) { customer(id: $id) { loyalty { score } points { balance } } }', { id: A.alice.id });
  A.secrets.push('alpha-reason', 'alpha-benefit', 'Alpha tier');
  await sleep(100);
  initialA = await snapshot(A.shopId);
  expect(initialA.CustomerMetrics?.length).toBeGreaterThan(0);
  expect(initialA.PointsMovement?.length).toBeGreaterThan(0);
});

const queryCases: Record<string, () => Promise<void>> = {
  agenda: async () => {
    const Q = `query($a: ID, $s: AgendaSection) { agenda(first: 100, assigneeId: $a, section: $s) {
      totalCount overdueCount dueTodayCount upcomingCount edges { node { id goal customer { id } } } } }`;
    for (const v of [{}, { a: A.rep.id }, { s: 'UPCOMING' }]) {
      const r = member(await gql(B.g, Q, v), 'agenda') as unknown as Record<string, unknown>;
      expect(r, JSON.stringify(v)).toEqual({ totalCount: 0, overdueCount: 0, dueTodayCount: 0, upcomingCount: 0, edges: [] });
    }
    // A's staff cannot be named as the acting user with B's key.
    expect(errorCodes(await gql(B.g, Q, {}, { 'x-crm-staff-id': A.rep.id }))).toEqual(['UNAUTHENTICATED']);
    expect(errorCodes(await gql(B.p, Q))).toEqual(['FORBIDDEN']);
  },
  followUp: async () => {
    for (const id of [AF.done, AF.planned]) {
      const r = await gql(B.g, 'query($id: ID!) { followUp(id: $id) { id goal } }', { id });
      expect(r.errors).toBeUndefined();
      expect(r.data).toEqual({ followUp: null });
    }
    for (const id of [AF.planned, AF.doubt]) {
      expect((await gql(B.g, 'query($id: ID!) { node(id: $id) { id } }', { id })).data).toEqual({ node: null });
    }
    expect(errorCodes(await gql(B.p, 'query($id: ID!) { followUp(id: $id) { id } }', { id: AF.planned }))).toEqual(['FORBIDDEN']);
  },
  followUpSettings: async () => {
    const Q = '{ followUpSettings { cadence { unknownLikelihoodDays } leadPool { mode returnAfterHours bySource { staffId } } } }';
    const r = await gql(B.g, Q);
    expect(r.data).toEqual({
      followUpSettings: { cadence: { unknownLikelihoodDays: 7 }, leadPool: { mode: 'NONE', returnAfterHours: 72, bySource: [] } },
    });
    expect(errorCodes(await gql(B.p, Q))).toEqual(['FORBIDDEN']);
  },
  leadPool: async () => {
    const Q = 'query($f: LeadPoolFilter) { leadPool(first: 100, filter: $f) { totalCount edges { node { id firstName } } } }';
    const all = member(await gql(B.g, Q), 'leadPool') as unknown as { totalCount: number };
    expect(all.totalCount).toBe(
      await t.db.prisma.customer.count({
        where: { shopId: B.shopId, ownerId: null, status: 'ACTIVE', stage: { in: ['SUSPECT', 'PROSPECT'] } },
      }),
    );
    const social = member(await gql(B.g, Q, { f: { sourceChannels: ['SOCIAL'] } }), 'leadPool');
    expect(social).toEqual({ totalCount: 0, edges: [] });
    expect(errorCodes(await gql(B.p, Q))).toEqual(['FORBIDDEN']);
  },
  suggestNextFollowUp: async () => {
    const Q = 'query($id: ID!) { suggestNextFollowUp(customerId: $id) { dueAt channel reasons } }';
    for (const id of [A.alice.id, AF.pool, A.dup.id]) {
      const r = await gql(B.g, Q, { id });
      expect(r.errors).toBeUndefined();
      expect(r.data).toEqual({ suggestNextFollowUp: null });
    }
    expect(errorCodes(await gql(B.p, Q, { id: A.alice.id }))).toEqual(['FORBIDDEN']);
  },
  webhookEndpoints: async () => {
    const r = await gql(B.g, '{ webhookEndpoints { id url } }');
    expect(r.errors).toBeUndefined();
    expect(r.data).toEqual({ webhookEndpoints: [] });
    const node = await gql(B.g, 'query($id: ID!) { node(id: $id) { id } }', { id: AW.endpoint });
    expect(node.data).toEqual({ node: null });
    expect(errorCodes(await gql(B.p, '{ webhookEndpoints { id } }'))).toEqual(['FORBIDDEN']);
  },
  webhookDeliveries: async () => {
    const Q = 'query($f: WebhookDeliveryFilter) { webhookDeliveries(first: 50, filter: $f) { totalCount edges { node { id payload } } } }';
    for (const f of [undefined, { endpointId: AW.endpoint }]) {
      const r = member(await gql(B.g, Q, { f }), 'webhookDeliveries') as unknown as { totalCount: number; edges: unknown[] };
      expect(r).toEqual({ totalCount: 0, edges: [] });
    }
    const node = await gql(B.g, 'query($id: ID!) { node(id: $id) { id } }', { id: AW.delivery });
    expect(node.data).toEqual({ node: null });
    expect(errorCodes(await gql(B.p, Q))).toEqual(['FORBIDDEN']);
  },
  interactions: async () => {
    const Q = 'query($f: InteractionFilter) { interactions(first: 100, filter: $f) { totalCount edges { node { id subject } } } }';
    const all = member(await gql(B.g, Q), 'interactions') as unknown as { totalCount: number };
    expect(all.totalCount).toBe(await t.db.prisma.interaction.count({ where: { shopId: B.shopId, deletedAt: null } }));
    for (const f of [{ customerId: A.alice.id }, { staffIds: [A.rep.id] }, { types: ['COMPLAINT'] }]) {
      const r = member(await gql(B.g, Q, { f }), 'interactions') as unknown as { totalCount: number; edges: unknown[] };
      expect(r, JSON.stringify(f)).toEqual({ totalCount: 0, edges: [] });
    }
    expect(errorCodes(await gql(B.p, Q))).toEqual(['FORBIDDEN']);
  },
  order: async () => {
    const Q = 'query($id: ID!) { order(id: $id) { id externalId } }';
    const r = await gql(B.g, Q, { id: AX.order });
    expect(r.errors).toBeUndefined();
    expect(r.data).toEqual({ order: null });
    const node = await gql(B.g, 'query($id: ID!) { node(id: $id) { id } }', { id: AX.order });
    expect(node.data).toEqual({ node: null });
    expect(errorCodes(await gql(B.p, Q, { id: AX.order }))).toEqual(['FORBIDDEN']);
  },
  orders: async () => {
    const Q = 'query($f: OrderFilter) { orders(first: 100, filter: $f) { totalCount edges { node { id externalId } } } }';
    const all = member(await gql(B.g, Q), 'orders') as unknown as { totalCount: number };
    expect(all.totalCount).toBe(await t.db.prisma.order.count({ where: { shopId: B.shopId } }));
    for (const f of [{ customerId: A.alice.id }, { externalId: 'alpha-order-1' }]) {
      const r = member(await gql(B.g, Q, { f }), 'orders') as unknown as { totalCount: number; edges: unknown[] };
      expect(r, JSON.stringify(f)).toEqual({ totalCount: 0, edges: [] });
    }
    expect(errorCodes(await gql(B.p, Q))).toEqual(['FORBIDDEN']);
  },
  apiKeys: async () => {
    const r = await gql(B.g, '{ apiKeys { id prefix name } }');
    const keys = (r.data?.apiKeys ?? []) as ApiKeyOut[];
    expect(keys.map((k) => rawId(k.id)).sort()).toEqual(
      (await t.db.prisma.apiKey.findMany({ where: { shopId: B.shopId } })).map((k) => k.id).sort(),
    );
    expect(keys.length).toBeGreaterThan(0);
    expect(errorCodes(await gql(B.p, '{ apiKeys { id } }'))).toEqual(['FORBIDDEN']);
  },
  customer: async () => {
    for (const c of [A.alice, A.bob, A.archived, A.dup]) {
      const r = await gql(B.g, 'query($id: ID!) { customer(id: $id) { id email } }', { id: c.id });
      expect(r.errors).toBeUndefined();
      expect(r.data).toEqual({ customer: null });
    }
    const p = await gql(B.p, 'query($id: ID!) { customer(id: $id) { id email } }', { id: A.alice.id });
    expect(errorCodes(p)).toEqual(['FORBIDDEN']);
  },
  customerDataExport: async () => {
    for (const c of [A.alice, A.bob, A.archived, A.dup]) {
      const r = await gql(B.g, 'query($id: ID!) { customerDataExport(id: $id) }', { id: c.id });
      expect(errorCodes(r)).toEqual(['NOT_FOUND']);
    }
    expect(errorCodes(await gql(B.p, 'query($id: ID!) { customerDataExport(id: $id) }', { id: A.alice.id }))).toEqual(['FORBIDDEN']);
    const http = await t.app.yoga.fetch(`http://test/customers/${encodeURIComponent(A.alice.id)}/export`, {
      headers: { authorization: `Bearer ${B.sk}` },
    });
    expect(http.status).toBe(404);
  },
  customerBy: async () => {
    const lookups: [string, string][] = [
      ['email', ALICE.email],
      ['email', 'dup@alpha.test'], // a secondary email after the merge
      ['phone', ALICE.phone],
      ['externalId', ALICE.externalId],
    ];
    for (const [by, value] of lookups) {
      const r = await gql(B.g, `query($v: String!) { customerBy(${by}: $v) { id } }`, { v: value });
      expect(r.errors).toBeUndefined();
      expect(r.data).toEqual({ customerBy: null });
    }
    expect(errorCodes(await gql(B.p, '{ customerBy(email: "alice@alpha.test") { id } }'))).toEqual(['FORBIDDEN']);
  },
  customers: async () => {
    const Q = 'query($f: CustomerFilter) { customers(first: 100, filter: $f) { totalCount edges { node { id } } } }';
    type Conn = { customers: { totalCount: number; edges: { node: { id: string } }[] } };
    const all = await ok<Conn>(B.g, Q, { f: { statuses: ['ACTIVE', 'ARCHIVED', 'MERGED'] } });
    expectNoLeak(all);
    expect(all.customers.totalCount).toBe(await bCount());
    expect(all.customers.edges.map((e) => e.node.id)).toContain(B.mine.id);
    const filters = [
      { ownerIds: [A.rep.id] },
      { search: 'Alicia' },
      { search: 'alpha' },
      { search: '1000001' },
      { tagsAny: ['alpha-vip'] },
      { tagsAll: ['alpha-vip'] },
      { sourceCampaign: 'alpha-campaign' },
      { statuses: ['ARCHIVED'] },
    ];
    for (const f of filters) {
      const r = await ok<Conn>(B.g, Q, { f });
      expect(r.customers, JSON.stringify(f)).toEqual({ totalCount: 0, edges: [] });
    }
    expect(errorCodes(await gql(B.p, Q))).toEqual(['FORBIDDEN']);
  },
  me: async () => {
    const stolen = await gql(B.p, '{ me { email firstName } }', undefined, { 'x-customer-token': A.token });
    expect(stolen.status).toBe(401);
    expect(errorCodes(stolen)).toEqual(['UNAUTHENTICATED']);
    const cross = await gql(B.p, '{ me { email firstName } }', undefined, { 'x-customer-token': crossToken() });
    expect(cross.errors).toBeUndefined();
    expect(cross.data).toEqual({ me: null });
    expect(errorCodes(await gql(B.g, '{ me { email } }'))).toEqual(['FORBIDDEN']);
  },
  myDataExport: async () => {
    const stolen = await gql(B.p, '{ myDataExport }', undefined, { 'x-customer-token': A.token });
    expect(errorCodes(stolen)).toEqual(['UNAUTHENTICATED']);
    expect(errorCodes(await gql(B.p, '{ myDataExport }', undefined, { 'x-customer-token': crossToken() }))).toEqual(['NOT_FOUND']);
    expect(errorCodes(await gql(B.g, '{ myDataExport }'))).toEqual(['FORBIDDEN']);
    const http = await t.app.yoga.fetch('http://test/me/export', {
      headers: { authorization: `Bearer ${B.pk}`, 'x-customer-token': crossToken() },
    });
    expect(http.status).toBe(404);
  },
  node: async () => {
    for (const id of [A.alice.id, A.dup.id, A.rep.id, globalId('StaffUser', A.ownerId)]) {
      const r = await gql(
        B.g,
        'query($id: ID!) { node(id: $id) { id ... on Customer { email } ... on StaffUser { staffEmail: email } } }',
        { id },
      );
      expect(r.errors).toBeUndefined();
      expect(r.data).toEqual({ node: null });
    }
    expect(errorCodes(await gql(B.p, 'query($id: ID!) { node(id: $id) { id } }', { id: A.alice.id }))).toEqual(['FORBIDDEN']);
  },
  nodes: async () => {
    const ids = [A.alice.id, A.bob.id, A.rep.id, B.mine.id];
    const r = await gql(B.g, 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids });
    expect(r.errors).toBeUndefined();
    expect(r.data).toEqual({ nodes: [null, null, null, { id: B.mine.id }] });
    expect(errorCodes(await gql(B.p, 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids }))).toEqual(['FORBIDDEN']);
  },
  shop: async () => {
    const r = await gql(B.g, '{ shop { id name slug } }');
    expect(r.data).toEqual({ shop: { id: globalId('Shop', B.shopId), name: 'Bravo Store', slug: 'bravo-store' } });
    expect(errorCodes(await gql(B.p, '{ shop { id } }'))).toEqual(['FORBIDDEN']);
  },
  staffUsers: async () => {
    const r = await gql(B.g, '{ staffUsers(includeInactive: true) { id email } }');
    const staff = (r.data?.staffUsers ?? []) as StaffOut[];
    expect(staff.map((s) => rawId(s.id)).sort()).toEqual(
      (await t.db.prisma.staffUser.findMany({ where: { shopId: B.shopId } })).map((s) => s.id).sort(),
    );
    expect(errorCodes(await gql(B.p, '{ staffUsers { id } }'))).toEqual(['FORBIDDEN']);
  },
  tags: async () => {
    const r = await gql(B.g, '{ tags { name } }');
    const names = ((r.data?.tags ?? []) as { name: string }[]).map((x) => x.name);
    expect(names).toEqual((await t.db.prisma.tag.findMany({ where: { shopId: B.shopId }, orderBy: { name: 'asc' } })).map((x) => x.name));
    expect(names).toContain('bravo-tag');
    expect(errorCodes(await gql(B.p, '{ tags { name } }'))).toEqual(['FORBIDDEN']);
  },
  viewer: async () => {
    const r = await gql(B.g, '{ viewer { keyKind staffUserId customerId } }');
    expect(r.data).toEqual({ viewer: { keyKind: 'SECRET', staffUserId: null, customerId: null } });
    // A's staff cannot act through B's key; A's customer token does not work with B's publishable key.
    const asA = await gql(B.g, '{ viewer { staffUserId } }', undefined, { 'x-crm-staff-id': A.rep.id });
    expect(asA.status).toBe(401);
    expect(errorCodes(asA)).toEqual(['UNAUTHENTICATED']);
    const asARaw = await gql(B.g, '{ viewer { staffUserId } }', undefined, { 'x-crm-staff-id': A.ownerId });
    expect(asARaw.status).toBe(401);
    const p = await gql(B.p, '{ viewer { keyKind customerId } }', undefined, { 'x-customer-token': A.token });
    expect(p.status).toBe(401);
    expect(errorCodes(p)).toEqual(['UNAUTHENTICATED']);
  },
  shopKpis: async () => {
    const Q = `{ shopKpis(from: "2020-01-01T00:00:00Z", to: "2029-12-31T00:00:00Z") { orders buyers complaints churnBase
      acquisition { channel leads } funnel { stage count } loyaltyDistribution { count } churnRiskHigh
      leadLosses { total byReason { reason count } byOwner { owner { id name } count } } } }`;
    const r = member(await gql(B.g, Q), 'shopKpis') as unknown as { orders: number; complaints: number; funnel: { count: number }[] };
    expect(r.orders).toBe(await t.db.prisma.order.count({ where: { shopId: B.shopId, countedTotal: { not: null } } }));
    expect(r.complaints).toBe(await t.db.prisma.interaction.count({ where: { shopId: B.shopId, type: { in: ['COMPLAINT', 'DISPUTE'] } } }));
    expect(r.funnel.reduce((a, f) => a + f.count, 0)).toBeLessThanOrEqual(await bCount());
    // A has a lost lead; B's loss analytics count only B's.
    expect((r as unknown as { leadLosses: { total: number } }).leadLosses.total).toBe(
      await t.db.prisma.leadLoss.count({ where: { shopId: B.shopId } }),
    );
    expect(errorCodes(await gql(B.p, Q))).toEqual(['FORBIDDEN']);
  },
  satisfactionIndex: async () => {
    const Q = '{ satisfactionIndex(months: 2) { current { month indicators { indicator basis value } } months { index } } }';
    const r = member(await gql(B.g, Q), 'satisfactionIndex') as unknown as {
      current: { indicators: { indicator: string; basis: number }[] };
    };
    const now = new Date();
    const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    const basis = (k: string) => r.current.indicators.find((f) => f.indicator === k)?.basis;
    // A has an order and a complaint this month; B's figures count only B's.
    expect(basis('COMPLAINTS')).toBe(
      await t.db.prisma.order.count({ where: { shopId: B.shopId, countedTotal: { not: null }, placedAt: { gte: start } } }),
    );
    expect(basis('SATISFACTION')).toBe(
      await t.db.prisma.interaction.count({
        where: { shopId: B.shopId, deletedAt: null, surveyKind: { not: null }, occurredAt: { gte: start } },
      }),
    );
    expect(errorCodes(await gql(B.p, Q))).toEqual(['FORBIDDEN']);
  },
  loyaltyIndicatorDiagnosis: async () => {
    const Q = '{ loyaltyIndicatorDiagnosis(months: 3) { indicator customers averageScore months { facts } } }';
    const r = member(await gql(B.g, Q), 'loyaltyIndicatorDiagnosis') as unknown as { customers: number }[];
    expect(r).toHaveLength(7);
    const measured = await t.db.prisma.customerMetrics.count({ where: { shopId: B.shopId, customer: { status: 'ACTIVE' } } });
    for (const x of r) expect(x.customers).toBe(measured);
    expect(errorCodes(await gql(B.p, Q))).toEqual(['FORBIDDEN']);
  },
  weakestIndicators: async () => {
    const Q = '{ weakestIndicators(limit: 2) { indicator customers playbook { action audienceRule } } }';
    const r = member(await gql(B.g, Q), 'weakestIndicators') as unknown as { customers: number }[];
    expect(r).toHaveLength(2);
    const measured = await t.db.prisma.customerMetrics.count({ where: { shopId: B.shopId, customer: { status: 'ACTIVE' } } });
    for (const x of r) expect(x.customers).toBe(measured);
    expect(errorCodes(await gql(B.p, Q))).toEqual(['FORBIDDEN']);
  },
  authorizationSettings: async () => {
    const Q = '{ authorizationSettings { agentsMay } }';
    // A granted MANAGE_WEBHOOKS to its agents; B grants nothing.
    expect((await gql(B.g, Q)).data).toEqual({ authorizationSettings: { agentsMay: [] } });
    expect(errorCodes(await gql(B.p, Q))).toEqual(['FORBIDDEN']);
  },
  auditLog: async () => {
    const Q = `query($f: AuditLogFilter) { auditLog(first: 100, filter: $f) { totalCount edges { node { entityType entityId operation changes } } } }`;
    const all = member(await gql(B.g, Q), 'auditLog') as unknown as { totalCount: number };
    expect(all.totalCount).toBe(await t.db.prisma.auditEntry.count({ where: { shopId: B.shopId } }));
    expect(await t.db.prisma.auditEntry.count({ where: { shopId: A.shopId } })).toBeGreaterThan(0);
    for (const f of [{ entity: { type: 'Customer', id: A.alice.id } }, { actor: { id: A.rep.id } }, { operation: 'mergeCustomers' }]) {
      const r = member(await gql(B.g, Q, { f }), 'auditLog') as unknown as { totalCount: number; edges: unknown[] };
      if ('operation' in f)
        expect(r.totalCount).toBe(await t.db.prisma.auditEntry.count({ where: { shopId: B.shopId, operation: 'mergeCustomers' } }));
      else expect(r, JSON.stringify(f)).toEqual({ totalCount: 0, edges: [] });
    }
    expect(errorCodes(await gql(B.p, Q))).toEqual(['FORBIDDEN']);
  },
  exchangeRates: async () => {
    const Q = '{ exchangeRates { currency rate } }';
    const r = await gql(B.g, Q);
    expect(r.errors).toBeUndefined();
    expect(r.data?.exchangeRates).toEqual(
      (await t.db.prisma.exchangeRate.findMany({ where: { shopId: B.shopId }, orderBy: { currency: 'asc' } })).map((x) => ({
        currency: x.currency,
        rate: x.rate.toString(),
      })),
    );
    expect(((r.data?.exchangeRates ?? []) as unknown[]).length).toBeLessThanOrEqual(1); // not A's JPY rate (B may have set its own)
    expect(errorCodes(await gql(B.p, Q))).toEqual(['FORBIDDEN']);
  },
  lifecycleSettings: async () => {
    const Q = '{ lifecycleSettings { loyalMinOrders loyalMinSpanDays } }';
    // A raised its LOYAL threshold to 7 orders; B still has the default 3.
    expect(member(await gql(B.g, Q), 'lifecycleSettings')).toEqual({ loyalMinOrders: 3, loyalMinSpanDays: 180 });
    expect(errorCodes(await gql(B.p, Q))).toEqual(['FORBIDDEN']);
  },
  loyaltySettings: async () => {
    const Q = '{ loyaltySettings { tiers { name benefits } points { perCurrencyUnit } } }';
    const r = member(await gql(B.g, Q), 'loyaltySettings') as unknown as { tiers: { name: string }[]; points: { perCurrencyUnit: number } };
    // A changed its tiers and rate; B still has the defaults.
    expect(r.tiers.map((x) => x.name)).toEqual(['Bronze', 'Silver', 'Gold']);
    expect(r.points.perCurrencyUnit).toBe(1);
    expect(errorCodes(await gql(B.p, Q))).toEqual(['FORBIDDEN']);
  },
};

const mutationCases: Record<string, () => Promise<void>> = {
  markLeadLost: async () => {
    for (const customerId of [AF.pool, A.alice.id]) {
      expectNotFound(member(await gql(B.g, B_LOST, { input: { customerId, reason: 'PRICE' } }), 'markLeadLost'), ['input', 'customerId']);
    }
    expectForbidden(member(await gql(B.p, B_LOST, { input: { customerId: AF.pool, reason: 'PRICE' } }), 'markLeadLost'));
  },
  reopenLead: async () => {
    expectNotFound(member(await gql(B.g, B_REOPEN, { input: { customerId: AF.pool } }), 'reopenLead'), ['input', 'customerId']);
    expectForbidden(member(await gql(B.p, B_REOPEN, { input: { customerId: AF.pool } }), 'reopenLead'));
  },
  createFollowUp: async () => {
    const due = new Date(Date.now() + 86_400_000).toISOString();
    expectNotFound(member(await gql(B.g, B_CREATE_FU, { input: { customerId: A.alice.id, dueAt: due } }), 'createFollowUp'), [
      'input',
      'customerId',
    ]);
    expectNotFound(member(await gql(B.g, B_CREATE_FU, { input: { customerId: AF.pool, dueAt: due } }), 'createFollowUp'), [
      'input',
      'customerId',
    ]);
    expectNotFound(
      member(await gql(B.g, B_CREATE_FU, { input: { customerId: B.mine.id, dueAt: due, assigneeId: A.rep.id } }), 'createFollowUp'),
      ['input', 'assigneeId'],
    );
    expect(await t.db.prisma.followUp.count({ where: { shopId: B.shopId } })).toBe(0);
    expectForbidden(member(await gql(B.p, B_CREATE_FU, { input: { customerId: A.alice.id, dueAt: due } }), 'createFollowUp'));
  },
  updateFollowUp: async () => {
    expectNotFound(member(await gql(B.g, B_UPDATE_FU, { input: { id: AF.planned, goal: 'Evil' } }), 'updateFollowUp'), ['input', 'id']);
    expectForbidden(member(await gql(B.p, B_UPDATE_FU, { input: { id: AF.planned, goal: 'Evil' } }), 'updateFollowUp'));
  },
  cancelFollowUp: async () => {
    expectNotFound(member(await gql(B.g, B_CANCEL_FU, { input: { id: AF.planned } }), 'cancelFollowUp'), ['input', 'id']);
    expectForbidden(member(await gql(B.p, B_CANCEL_FU, { input: { id: AF.planned } }), 'cancelFollowUp'));
  },
  skipFollowUp: async () => {
    expectNotFound(member(await gql(B.g, B_SKIP_FU, { input: { id: AF.planned, reason: 'evil' } }), 'skipFollowUp'), ['input', 'id']);
    expectForbidden(member(await gql(B.p, B_SKIP_FU, { input: { id: AF.planned } }), 'skipFollowUp'));
  },
  completeFollowUp: async () => {
    expectNotFound(member(await gql(B.g, B_COMPLETE_FU, { input: { id: AF.planned, notes: 'Evil' } }), 'completeFollowUp'), [
      'input',
      'id',
    ]);
    // B's own follow-up cannot resolve A's doubt (and nothing of B's is written either).
    const own = await ok<{ createFollowUp: { followUp: { id: string } } }>(B.g, B_CREATE_FU, {
      input: { customerId: B.mine.id, dueAt: new Date(Date.now() + 86_400_000).toISOString() },
    });
    const r = member(
      await gql(B.g, B_COMPLETE_FU, {
        input: { id: own.createFollowUp.followUp.id, resolveDoubts: [{ id: AF.doubt, resolution: 'evil' }] },
      }),
      'completeFollowUp',
    );
    expectNotFound(r, ['input', 'resolveDoubts', '0', 'id']);
    expect((await t.db.prisma.followUp.findUniqueOrThrow({ where: { id: rawId(own.createFollowUp.followUp.id) } })).status).toBe('PLANNED');
    await t.db.prisma.followUp.deleteMany({ where: { shopId: B.shopId } });
    expectForbidden(member(await gql(B.p, B_COMPLETE_FU, { input: { id: AF.planned } }), 'completeFollowUp'));
  },
  resolveFollowUpDoubt: async () => {
    expectNotFound(member(await gql(B.g, B_RESOLVE, { input: { id: AF.doubt, resolution: 'evil' } }), 'resolveFollowUpDoubt'), [
      'input',
      'id',
    ]);
    expectForbidden(member(await gql(B.p, B_RESOLVE, { input: { id: AF.doubt, resolution: 'evil' } }), 'resolveFollowUpDoubt'));
  },
  generateRetentionFollowUps: async () => {
    const input = {
      kinds: ['HOLIDAY', 'BIRTHDAY', 'SERVICE_REMINDER'],
      stages: ['SUSPECT', 'PROSPECT', 'FIRST_PURCHASE', 'REPEAT', 'LOYAL', 'ADVOCATE', 'PARTNER', 'CHURNED'],
      holidayDate: new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10),
    };
    const r = member(await gql(B.g, B_RETENTION, { input }), 'generateRetentionFollowUps') as unknown as {
      created: { customer: { id: string } }[];
    };
    const bIds = (await t.db.prisma.customer.findMany({ where: { shopId: B.shopId } })).map((c) => globalId('Customer', c.id));
    for (const f of r.created) expect(bIds).toContain(f.customer.id);
    await t.db.prisma.followUp.deleteMany({ where: { shopId: B.shopId } });
    // News of offers to A's segment: its members are A's customers, never reached from B.
    const offer = member(
      await gql(B.g, B_RETENTION, { input: { kinds: ['OFFER'], segmentIds: [AS.segment] } }),
      'generateRetentionFollowUps',
    );
    expect(offer).toMatchObject({ createdCount: 0, created: [] });
    expectForbidden(member(await gql(B.p, B_RETENTION, { input }), 'generateRetentionFollowUps'));
  },
  updateCadenceSettings: async () => {
    const r = member(await gql(B.g, B_CADENCE, { input: { unknownLikelihoodDays: 11 } }), 'updateCadenceSettings');
    expect(r).toMatchObject({ __typename: 'FollowUpSettings', cadence: { unknownLikelihoodDays: 11 } });
    await ok(B.g, B_CADENCE, { input: { unknownLikelihoodDays: null } });
    expectNotFound(member(await gql(B.g, B_CADENCE, { input: { offerSegmentIds: [AS.segment] } }), 'updateCadenceSettings'), [
      'input',
      'offerSegmentIds',
      '0',
    ]);
    expectForbidden(member(await gql(B.p, B_CADENCE, { input: { unknownLikelihoodDays: 1 } }), 'updateCadenceSettings'));
  },
  updateLeadPoolSettings: async () => {
    const r = member(
      await gql(B.g, B_LEADPOOL, { input: { bySource: [{ channel: 'SOCIAL', staffId: A.rep.id }] } }),
      'updateLeadPoolSettings',
    );
    expectNotFound(r, ['input', 'bySource', '0', 'staffId']);
    expectForbidden(member(await gql(B.p, B_LEADPOOL, { input: { mode: 'ROUND_ROBIN' } }), 'updateLeadPoolSettings'));
  },
  claimLead: async () => {
    const asBOwner = { 'x-crm-staff-id': AF.bOwner };
    expectNotFound(member(await gql(B.g, B_CLAIM, { input: { customerId: AF.pool } }, asBOwner), 'claimLead'), ['input', 'customerId']);
    expect(errorCodes(await gql(B.g, B_CLAIM, { input: { customerId: AF.pool } }, { 'x-crm-staff-id': A.rep.id }))).toEqual([
      'UNAUTHENTICATED',
    ]);
    expectForbidden(member(await gql(B.p, B_CLAIM, { input: { customerId: AF.pool } }), 'claimLead'));
  },
  assignLead: async () => {
    expectNotFound(member(await gql(B.g, B_ASSIGN, { input: { customerId: AF.pool, staffId: AF.bOwner } }), 'assignLead'), [
      'input',
      'customerId',
    ]);
    expectNotFound(member(await gql(B.g, B_ASSIGN, { input: { customerId: B.mine.id, staffId: A.rep.id } }), 'assignLead'), [
      'input',
      'staffId',
    ]);
    expectForbidden(member(await gql(B.p, B_ASSIGN, { input: { customerId: AF.pool, staffId: A.rep.id } }), 'assignLead'));
  },
  autoAssignLeads: async () => {
    // B's rule (NONE, then ROUND_ROBIN among B's agents) never touches A's pool lead.
    expect(member(await gql(B.g, B_BULK('autoAssignLeads'), { input: null }), 'autoAssignLeads')).toMatchObject({ count: 0 });
    await ok(B.g, B_LEADPOOL, { input: { mode: 'ROUND_ROBIN' } });
    const r = member(await gql(B.g, B_BULK('autoAssignLeads'), { input: { limit: 500 } }), 'autoAssignLeads');
    expect(r.__typename).toBe('LeadAssignmentsPayload');
    await ok(B.g, B_LEADPOOL, { input: { mode: 'NONE' } });
    await t.db.prisma.customer.updateMany({ where: { shopId: B.shopId }, data: { ownerId: null } });
    expectForbidden(member(await gql(B.p, B_BULK('autoAssignLeads'), { input: null }), 'autoAssignLeads'));
  },
  returnStaleLeads: async () => {
    // A's rule (1 hour) is not B's: B's run returns nothing of A.
    const r = member(await gql(B.g, B_BULK('returnStaleLeads'), { input: { limit: 5000 } }), 'returnStaleLeads');
    expect(r).toMatchObject({ __typename: 'LeadAssignmentsPayload', count: 0 });
    expectForbidden(member(await gql(B.p, B_BULK('returnStaleLeads'), { input: null }), 'returnStaleLeads'));
  },
  createWebhookEndpoint: async () => {
    const r = member(await gql(B.g, B_CREATE_HOOK, { input: { url: 'https://bravo.example/in' } }), 'createWebhookEndpoint') as unknown as {
      endpoint: { id: string };
    };
    const row = await t.db.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: rawId(r.endpoint.id) } });
    expect(row.shopId).toBe(B.shopId);
    await t.db.prisma.webhookEndpoint.delete({ where: { id: row.id } });
    expectForbidden(member(await gql(B.p, B_CREATE_HOOK, { input: { url: 'https://bravo.example/in' } }), 'createWebhookEndpoint'));
  },
  updateWebhookEndpoint: async () => {
    const M = B_HOOK_ID('updateWebhookEndpoint', 'UpdateWebhookEndpointInput', 'UpdateWebhookEndpointSuccess');
    expectNotFound(member(await gql(B.g, M, { input: { id: AW.endpoint, url: 'https://evil.example' } }), 'updateWebhookEndpoint'), [
      'input',
      'id',
    ]);
    expectForbidden(member(await gql(B.p, M, { input: { id: AW.endpoint, active: false } }), 'updateWebhookEndpoint'));
  },
  rotateWebhookSecret: async () => {
    const M = B_HOOK_ID('rotateWebhookSecret', 'WebhookEndpointIdInput', 'WebhookEndpointWithSecret');
    expectNotFound(member(await gql(B.g, M, { input: { id: AW.endpoint } }), 'rotateWebhookSecret'), ['input', 'id']);
    expectForbidden(member(await gql(B.p, M, { input: { id: AW.endpoint } }), 'rotateWebhookSecret'));
  },
  deleteWebhookEndpoint: async () => {
    const M = B_HOOK_ID('deleteWebhookEndpoint', 'WebhookEndpointIdInput', 'DeletedWebhookEndpoint');
    expectNotFound(member(await gql(B.g, M, { input: { id: AW.endpoint } }), 'deleteWebhookEndpoint'), ['input', 'id']);
    expectForbidden(member(await gql(B.p, M, { input: { id: AW.endpoint } }), 'deleteWebhookEndpoint'));
  },
  redeliverWebhook: async () => {
    const M = B_HOOK_ID('redeliverWebhook', 'RedeliverWebhookInput', 'RedeliverWebhookSuccess');
    expectNotFound(member(await gql(B.g, M, { input: { id: AW.delivery } }), 'redeliverWebhook'), ['input', 'id']);
    expectForbidden(member(await gql(B.p, M, { input: { id: AW.delivery } }), 'redeliverWebhook'));
  },
  captureLead: async () => {
    // A's customer's email creates a separate lead in B; the browser learns nothing.
    const r = member(await gql(B.p, B_CAPTURE, { input: { email: ALICE.email, firstName: 'Evil', message: 'hi' } }), 'captureLead');
    expect(r).toEqual({ __typename: 'CaptureLeadPayload', accepted: true, created: null, customer: null, interaction: null });
    const inB = await t.db.prisma.customer.findFirstOrThrow({ where: { shopId: B.shopId, email: ALICE.email } });
    expect(inB.id).not.toBe(rawId(A.alice.id));
    await eraseInB(globalId('Customer', inB.id));
  },
  deleteInteraction: async () => {
    expectNotFound(member(await gql(B.g, B_DELETE_I, { input: { id: AX.interaction } }), 'deleteInteraction'), ['input', 'id']);
    expectForbidden(member(await gql(B.p, B_DELETE_I, { input: { id: AX.interaction } }), 'deleteInteraction'));
  },
  recordInteraction: async () => {
    const base = { customerId: B.mine.id, channel: 'PHONE', direction: 'INBOUND', type: 'INQUIRY' };
    const cases: [Record<string, unknown>, string][] = [
      [{ customerId: A.alice.id }, 'customerId'],
      [{ customerId: A.dup.id }, 'customerId'],
      [{ staffId: A.rep.id }, 'staffId'],
      [{ orderId: AX.order }, 'orderId'],
    ];
    const before = await t.db.prisma.interaction.count({ where: { shopId: B.shopId } });
    for (const [over, field] of cases) {
      expectNotFound(member(await gql(B.g, B_RECORD, { input: { ...base, ...over } }), 'recordInteraction'), ['input', field]);
    }
    expect(await t.db.prisma.interaction.count({ where: { shopId: B.shopId } })).toBe(before);
    expectForbidden(member(await gql(B.p, B_RECORD, { input: { ...base, customerId: A.alice.id } }), 'recordInteraction'));
  },
  trackInteraction: async () => {
    const stolen = await gql(B.p, B_TRACK, { input: { type: 'REVIEW' } }, { 'x-customer-token': A.token });
    expect(stolen.status).toBe(401);
    expect(errorCodes(stolen)).toEqual(['UNAUTHENTICATED']);
    const cross = member(
      await gql(B.p, B_TRACK, { input: { type: 'COMPLAINT' } }, { 'x-customer-token': crossToken() }),
      'trackInteraction',
    );
    expectNotFound(cross, ['input', 'customerId']);
    expectNotFound(member(await gql(B.g, B_TRACK, { input: { type: 'GREETING', customerId: A.alice.id } }), 'trackInteraction'), [
      'input',
      'customerId',
    ]);
  },
  updateInteraction: async () => {
    expectNotFound(member(await gql(B.g, B_UPDATE_I, { input: { id: AX.interaction, subject: 'Evil' } }), 'updateInteraction'), [
      'input',
      'id',
    ]);
    expectForbidden(member(await gql(B.p, B_UPDATE_I, { input: { id: AX.interaction, subject: 'Evil' } }), 'updateInteraction'));
  },
  upsertOrder: async () => {
    // A's externalId is free in B: a new order of a (throwaway) customer of B, A's order untouched.
    const buyer = await createCustomer(B.g, { email: 'buyer@bravo.test' });
    const mine = { externalId: 'alpha-order-1', customerId: buyer.id, currency: 'EUR', items: ORDER_ITEMS };
    const r = await g_(B.g, B_ORDER, { input: mine }, ['alpha-order-1']);
    const created = member(r, 'upsertOrder') as unknown as { created: boolean; order: { id: string; customer: { id: string } } };
    expect(created.created).toBe(true);
    expect(created.order.customer.id).toBe(buyer.id);
    expect(await t.db.prisma.order.findUniqueOrThrow({ where: { id: rawId(created.order.id) } })).toMatchObject({ shopId: B.shopId });
    await eraseInB(buyer.id); // erases its order too
    expectNotFound(member(await gql(B.g, B_ORDER, { input: { ...mine, externalId: 'b-1', customerId: A.alice.id } }), 'upsertOrder'), [
      'input',
      'customerId',
    ]);
    expectForbidden(member(await gql(B.p, B_ORDER, { input: mine }), 'upsertOrder'));
  },
  archiveCustomer: async () => {
    notFound(await mut(B.g, 'archiveCustomer', { id: A.alice.id }), ['input', 'id']);
    notFound(await mut(B.g, 'archiveCustomer', { id: A.dup.id }));
    expectError(await mut(B.p, 'archiveCustomer', { id: A.alice.id }), 'ForbiddenError', 'FORBIDDEN');
  },
  confirmConsent: async () => {
    // Tokens are looked up within the caller's shop only: another shop's token is unknown here
    // (A has no pending confirmation in this fixture; tests/privacy-consent.test.ts covers the flow).
    for (const g of [B.g, B.p]) notFound(await mut(g, 'confirmConsent', { token: 'a'.repeat(32) }), ['input', 'token']);
  },
  createApiKey: async () => {
    const created = await mut(B.g, 'createApiKey', { kind: 'SECRET', name: 'bravo-new' });
    const key = created.key as string;
    expect(await t.db.prisma.apiKey.findFirst({ where: { id: rawId(created.apiKey?.id as string) } })).toMatchObject({ shopId: B.shopId });
    // The new key is B's: it sees nothing of A.
    const r = await gql(t.gql(key), 'query($id: ID!) { customer(id: $id) { id } apiKeys { id } }', { id: A.alice.id });
    expect(r.data?.customer).toBeNull();
    expectError(await mut(B.p, 'createApiKey', { kind: 'SECRET', name: 'escalate' }), 'ForbiddenError', 'FORBIDDEN');
  },
  createCustomer: async () => {
    // A's identifiers are free in B: no ConflictError that would reveal they exist in A.
    const before = await bCount();
    const res = await mut(B.g, 'createCustomer', { email: ALICE.email, phone: ALICE.phone, externalId: ALICE.externalId }, undefined, [
      'alpha.test',
      ALICE.e164,
      ALICE.externalId,
    ]);
    expect(res.__typename).toBe('CreateCustomerSuccess');
    const row = await t.db.prisma.customer.findUniqueOrThrow({ where: { id: rawId(res.customer?.id as string) } });
    expect(row.shopId).toBe(B.shopId);
    expect(row.id).not.toBe(rawId(A.alice.id));
    expect(await bCount()).toBe(before + 1);
    await eraseInB(res.customer?.id as string);
    // A's staff and customers cannot be referenced.
    notFound(await mut(B.g, 'createCustomer', { firstName: 'X', ownerId: A.rep.id }), ['input', 'ownerId']);
    notFound(await mut(B.g, 'createCustomer', { firstName: 'X', source: { referrerCustomerId: A.alice.id } }), [
      'input',
      'source',
      'referrerCustomerId',
    ]);
    expectError(await mut(B.p, 'createCustomer', { email: 'lead@bravo.test' }), 'ForbiddenError', 'FORBIDDEN');
    expect(await bCount()).toBe(before);
  },
  createCustomerToken: async () => {
    notFound(await mut(B.g, 'createCustomerToken', { customerId: A.alice.id }), ['input', 'customerId']);
    notFound(await mut(B.g, 'createCustomerToken', { customerId: A.dup.id }), ['input', 'customerId']);
    expectError(await mut(B.p, 'createCustomerToken', { customerId: A.alice.id }), 'ForbiddenError', 'FORBIDDEN');
  },
  createStaffUser: async () => {
    // A's staff email is free in B.
    const res = await mut(B.g, 'createStaffUser', { name: 'Bravo Rep', email: 'rep@alpha.test' }, undefined, ['alpha.test']);
    expect(res.__typename).toBe('CreateStaffUserSuccess');
    const row = await t.db.prisma.staffUser.findUniqueOrThrow({ where: { id: rawId(res.staffUser?.id as string) } });
    expect(row.shopId).toBe(B.shopId);
    await succeed(B.g, 'updateStaffUser', { id: res.staffUser?.id, active: false });
    expectError(await mut(B.p, 'createStaffUser', { name: 'X', email: 'x@bravo.test' }), 'ForbiddenError', 'FORBIDDEN');
  },
  deleteCustomer: async () => {
    for (const c of [A.alice, A.dup, A.archived]) notFound(await mut(B.g, 'deleteCustomer', { id: c.id }), ['input', 'id']);
    expectError(await mut(B.p, 'deleteCustomer', { id: A.bob.id }), 'ForbiddenError', 'FORBIDDEN');
  },
  mergeCustomers: async () => {
    const mineBefore = await t.db.prisma.customer.findUniqueOrThrow({ where: { id: rawId(B.mine.id) } });
    notFound(await mut(B.g, 'mergeCustomers', { survivorId: B.mine.id, duplicateId: A.alice.id }), ['input', 'duplicateId']);
    notFound(await mut(B.g, 'mergeCustomers', { survivorId: A.alice.id, duplicateId: B.mine.id }), ['input', 'survivorId']);
    notFound(await mut(B.g, 'mergeCustomers', { survivorId: A.alice.id, duplicateId: A.bob.id }));
    expect(await t.db.prisma.customer.findUniqueOrThrow({ where: { id: rawId(B.mine.id) } })).toEqual(mineBefore);
    expectError(await mut(B.p, 'mergeCustomers', { survivorId: A.alice.id, duplicateId: A.bob.id }), 'ForbiddenError', 'FORBIDDEN');
  },
  redactShop: async () => {
    // Erases only the caller's own shop; A's slug typed by B's owner is refused before anything goes.
    const aSlug = (await t.db.prisma.shop.findUniqueOrThrow({ where: { id: A.shopId } })).slug;
    expectError(await mut(B.g, 'redactShop', { confirmSlug: aSlug }), 'ForbiddenError', 'FORBIDDEN');
    expectError(await mut(B.p, 'redactShop', { confirmSlug: aSlug }), 'ForbiddenError', 'FORBIDDEN');
    const bOwner = await t.db.prisma.staffUser.findFirst({ where: { shopId: B.shopId, role: 'OWNER', active: true } });
    if (bOwner) {
      const r = await mut(B.g, 'redactShop', { confirmSlug: aSlug }, { 'x-crm-staff-id': bOwner.id });
      expectError(r, 'ValidationError', 'VALIDATION_FAILED', ['input', 'confirmSlug']);
    }
  },
  revokeApiKey: async () => {
    for (const id of A.keyIds) notFound(await mut(B.g, 'revokeApiKey', { id }), ['input', 'id']);
    expectError(await mut(B.p, 'revokeApiKey', { id: A.extraKey.id }), 'ForbiddenError', 'FORBIDDEN');
  },
  setCustomerStage: async () => {
    notFound(await mut(B.g, 'setCustomerStage', { id: A.alice.id, stage: 'CHURNED', reason: 'evil' }), ['input', 'id']);
    notFound(await mut(B.g, 'setCustomerStage', { id: A.dup.id, stage: 'CHURNED' }));
    expectError(await mut(B.p, 'setCustomerStage', { id: A.alice.id, stage: 'CHURNED' }), 'ForbiddenError', 'FORBIDDEN');
  },
  issueReferralCode: async () => {
    notFound(await mut(B.g, 'issueReferralCode', { id: A.alice.id }), ['input', 'id']);
    notFound(await mut(B.g, 'issueReferralCode', { id: A.dup.id }));
    expectError(await mut(B.p, 'issueReferralCode', { id: A.alice.id }), 'ForbiddenError', 'FORBIDDEN');
  },
  issueMyReferralCode: async () => {
    const q = 'mutation { issueMyReferralCode { __typename ... on Error { code message path } } }';
    const stolen = await gql(B.p, q, undefined, { 'x-customer-token': A.token });
    expect(stolen.status).toBe(401);
    expect(errorCodes(stolen)).toEqual(['UNAUTHENTICATED']);
    expect(member(await gql(B.p, q, undefined, { 'x-customer-token': crossToken() }), 'issueMyReferralCode')).toMatchObject({
      __typename: 'NotFoundError',
    });
    expectForbidden(member(await gql(B.g, q), 'issueMyReferralCode'));
  },
  tagCustomer: async () => {
    const bTags = await t.db.prisma.tag.count({ where: { shopId: B.shopId } });
    notFound(await mut(B.g, 'tagCustomer', { id: A.alice.id, tags: ['evil-tag'] }), ['input', 'id']);
    expect(await t.db.prisma.tag.count({ where: { shopId: B.shopId } })).toBe(bTags);
    expectError(await mut(B.p, 'tagCustomer', { id: A.alice.id, tags: ['evil-tag'] }), 'ForbiddenError', 'FORBIDDEN');
  },
  unarchiveCustomer: async () => {
    notFound(await mut(B.g, 'unarchiveCustomer', { id: A.archived.id }), ['input', 'id']);
    expectError(await mut(B.p, 'unarchiveCustomer', { id: A.archived.id }), 'ForbiddenError', 'FORBIDDEN');
  },
  untagCustomer: async () => {
    notFound(await mut(B.g, 'untagCustomer', { id: A.alice.id, tags: ['alpha-vip'] }), ['input', 'id']);
    expectError(await mut(B.p, 'untagCustomer', { id: A.alice.id, tags: ['alpha-vip'] }), 'ForbiddenError', 'FORBIDDEN');
  },
  updateCustomer: async () => {
    notFound(await mut(B.g, 'updateCustomer', { id: A.alice.id, firstName: 'Evil', consents: [{ channel: 'SMS', granted: true }] }), [
      'input',
      'id',
    ]);
    notFound(await mut(B.g, 'updateCustomer', { id: A.dup.id, firstName: 'Evil' }));
    // B's own customer cannot point at A's staff or customers.
    notFound(await mut(B.g, 'updateCustomer', { id: B.mine.id, ownerId: A.rep.id }), ['input', 'ownerId']);
    notFound(await mut(B.g, 'updateCustomer', { id: B.mine.id, source: { referrerCustomerId: A.alice.id } }), [
      'input',
      'source',
      'referrerCustomerId',
    ]);
    // ... and may take A's email (no cross-shop uniqueness that would reveal it).
    const took = await mut(B.g, 'updateCustomer', { id: B.mine.id, email: ALICE.email }, undefined, ['alpha.test']);
    expect(took.customer?.email).toBe(ALICE.email);
    await succeed(B.g, 'updateCustomer', { id: B.mine.id, email: 'mine@bravo.test' });
    expectError(await mut(B.p, 'updateCustomer', { id: A.alice.id, firstName: 'Evil' }), 'ForbiddenError', 'FORBIDDEN');
  },
  updateMyProfile: async () => {
    const stolen = await gql(B.p, 'mutation { updateMyProfile(input: { firstName: "Evil" }) { __typename } }', undefined, {
      'x-customer-token': A.token,
    });
    expect(stolen.status).toBe(401);
    expect(errorCodes(stolen)).toEqual(['UNAUTHENTICATED']);
    const cross = await mut(
      B.p,
      'updateMyProfile',
      { firstName: 'Evil', consents: [{ channel: 'SMS', granted: true }] },
      {
        'x-customer-token': crossToken(),
      },
    );
    notFound(cross);
    expectError(await mut(B.g, 'updateMyProfile', { firstName: 'Evil' }), 'ForbiddenError', 'FORBIDDEN');
  },
  updateStaffUser: async () => {
    notFound(await mut(B.g, 'updateStaffUser', { id: A.rep.id, role: 'OWNER' }), ['input', 'id']);
    notFound(await mut(B.g, 'updateStaffUser', { id: globalId('StaffUser', A.ownerId), active: false }), ['input', 'id']);
    expectError(await mut(B.p, 'updateStaffUser', { id: A.rep.id, name: 'Evil' }), 'ForbiddenError', 'FORBIDDEN');
  },
  upsertCustomer: async () => {
    // Matching never reaches into A: each of A's identifiers creates a new customer in B.
    const inputs = [{ email: ALICE.email }, { phone: ALICE.phone }, { externalId: ALICE.externalId }, { email: 'dup@alpha.test' }];
    for (const input of inputs) {
      const res = await mut(B.g, 'upsertCustomer', { ...input, firstName: 'Evil' }, undefined, [
        'alpha.test',
        ALICE.e164,
        ALICE.externalId,
      ]);
      expect(res.created, JSON.stringify(input)).toBe(true);
      const row = await t.db.prisma.customer.findUniqueOrThrow({ where: { id: rawId(res.customer?.id as string) } });
      expect(row.shopId).toBe(B.shopId);
      await eraseInB(res.customer?.id as string);
    }
    notFound(await mut(B.g, 'upsertCustomer', { email: 'new@bravo.test', ownerId: A.rep.id }), ['input', 'ownerId']);
    expectError(await mut(B.p, 'upsertCustomer', { email: ALICE.email }), 'ForbiddenError', 'FORBIDDEN');
  },
  upsertCustomers: async () => {
    // A batch matches like upsertCustomer: A's identifiers create new customers in B; A's staff is not found.
    const M = `mutation($input: UpsertCustomersInput!) { upsertCustomers(input: $input) { __typename
      ... on UpsertCustomersPayload { createdCount failedCount results { __typename
        ... on UpsertCustomerPayload { created customer { id } } ... on Error { code message path } } }
      ... on Error { code message path } } }`;
    const items = [
      { email: ALICE.email, firstName: 'Evil' },
      { phone: ALICE.phone, firstName: 'Evil' },
      { externalId: ALICE.externalId, firstName: 'Evil' },
      { email: 'new@bravo.test', ownerId: A.rep.id },
    ];
    const r = member(await g_(B.g, M, { input: { items } }, ['alpha.test', ALICE.e164, ALICE.externalId]), 'upsertCustomers');
    const results = r.results as Member[];
    expect(results.slice(0, 3).map((x) => x.created)).toEqual([true, true, true]);
    expectNotFound(results[3] as Member, ['input', 'items', '3', 'ownerId']);
    for (const x of results.slice(0, 3)) {
      const id = (x.customer as { id: string }).id;
      expect(await t.db.prisma.customer.findUniqueOrThrow({ where: { id: rawId(id) } })).toMatchObject({ shopId: B.shopId });
      await eraseInB(id);
    }
    expectForbidden(member(await gql(B.p, M, { input: { items: [{ email: ALICE.email }] } }), 'upsertCustomers'));
  },
  upsertOrders: async () => {
    const M = `mutation($input: UpsertOrdersInput!) { upsertOrders(input: $input) { __typename
      ... on UpsertOrdersPayload { results { __typename ... on UpsertOrderPayload { created order { id customer { id } } }
        ... on Error { code message path } } }
      ... on Error { code message path } } }`;
    const buyer = await createCustomer(B.g, { email: 'batch-buyer@bravo.test' });
    const mine = { externalId: 'alpha-order-1', customerId: buyer.id, currency: 'EUR', items: ORDER_ITEMS };
    const r = member(
      await g_(B.g, M, { input: { items: [mine, { ...mine, externalId: 'b-2', customerId: A.alice.id }] } }, ['alpha-order-1']),
      'upsertOrders',
    );
    const [created, foreign] = r.results as Member[];
    expect(created).toMatchObject({ __typename: 'UpsertOrderPayload', created: true, order: { customer: { id: buyer.id } } });
    expectNotFound(foreign as Member, ['input', 'items', '1', 'customerId']);
    expect(await t.db.prisma.order.count({ where: { shopId: A.shopId, externalId: 'b-2' } })).toBe(0);
    await eraseInB(buyer.id);
    expectForbidden(member(await gql(B.p, M, { input: { items: [mine] } }), 'upsertOrders'));
  },
  recomputeLoyalty: async () => {
    const M =
      'mutation { recomputeLoyalty { __typename ... on RecomputeLoyaltyPayload { customers } ... on Error { code message path } } }';
    const r = member(await gql(B.g, M), 'recomputeLoyalty');
    expect(r.customers).toBe(await bCount());
    expect(
      await t.db.prisma.customerMetrics.count({ where: { shopId: B.shopId, customerId: { in: [rawId(A.alice.id), rawId(A.bob.id)] } } }),
    ).toBe(0);
    expectForbidden(member(await gql(B.p, M), 'recomputeLoyalty'));
  },
  updateAuthorizationSettings: async () => {
    const M = `mutation($input: UpdateAuthorizationSettingsInput!) { updateAuthorizationSettings(input: $input) { __typename
      ... on AuthorizationSettings { agentsMay } ... on Error { code message path } } }`;
    const r = member(await gql(B.g, M, { input: { agentsMay: ['DELETE_CUSTOMERS'] } }), 'updateAuthorizationSettings');
    expect(r).toMatchObject({ __typename: 'AuthorizationSettings', agentsMay: ['DELETE_CUSTOMERS'] });
    await ok(B.g, M, { input: { agentsMay: [] } });
    expectForbidden(member(await gql(B.p, M, { input: { agentsMay: [] } }), 'updateAuthorizationSettings'));
  },
  setOrderExcluded: async () => {
    const M = `mutation($input: SetOrderExcludedInput!) { setOrderExcluded(input: $input) { __typename
      ... on Order { id } ... on Error { code message path } } }`;
    const input = { orderId: AX.order, excluded: true, reason: 'bravo' };
    expectNotFound(member(await gql(B.g, M, { input }), 'setOrderExcluded'), ['input', 'orderId']);
    expectForbidden(member(await gql(B.p, M, { input }), 'setOrderExcluded'));
  },
  setExchangeRate: async () => {
    const M = `mutation($input: SetExchangeRateInput!) { setExchangeRate(input: $input) { __typename
      ... on SetExchangeRatePayload { convertedOrders rate { currency rate } } ... on Error { code message path } } }`;
    // B's own rate for the same currency: A's stays (the snapshot checks), no order of A converted.
    const r = member(await gql(B.g, M, { input: { currency: 'JPY', rate: '0.007' } }), 'setExchangeRate');
    expect(r).toMatchObject({ __typename: 'SetExchangeRatePayload', convertedOrders: 0, rate: { currency: 'JPY', rate: '0.007' } });
    expectForbidden(member(await gql(B.p, M, { input: { currency: 'USD', rate: '1' } }), 'setExchangeRate'));
  },
  setBaseCurrency: async () => {
    const M = `mutation($input: SetBaseCurrencyInput!) { setBaseCurrency(input: $input) { __typename
      ... on Shop { id baseCurrency } ... on Error { code message path } } }`;
    const r = member(await gql(B.g, M, { input: { currency: 'EUR' } }), 'setBaseCurrency');
    // B's own shop (A's base currency is in the snapshot).
    expect(r).toMatchObject({ __typename: 'Shop', baseCurrency: 'EUR' });
    expect(rawId(r.id as string)).toBe(B.shopId);
    expectForbidden(member(await gql(B.p, M, { input: { currency: 'USD' } }), 'setBaseCurrency'));
  },
  updateLifecycleSettings: async () => {
    const M = `mutation($input: UpdateLifecycleSettingsInput!) { updateLifecycleSettings(input: $input) { __typename
      ... on LifecycleSettings { loyalMinOrders advocateMinPositive } ... on Error { code message path } } }`;
    const r = member(await gql(B.g, M, { input: { advocateMinPositive: 4 } }), 'updateLifecycleSettings');
    // B's own settings change (A's 7-order threshold does not show up in B).
    expect(r).toMatchObject({ __typename: 'LifecycleSettings', loyalMinOrders: 3, advocateMinPositive: 4 });
    await ok(B.g, M, { input: { advocateMinPositive: null } });
    expect(
      (await t.db.prisma.shop.findUniqueOrThrow({ where: { id: A.shopId } })).settings as {
        lifecycle?: { loyalMinOrders: number; advocateMinPositive: number };
      },
    ).toMatchObject({ lifecycle: { loyalMinOrders: 7, advocateMinPositive: 2 } });
    expectForbidden(member(await gql(B.p, M, { input: { loyalMinOrders: 4 } }), 'updateLifecycleSettings'));
  },
  updateLoyaltySettings: async () => {
    const M = `mutation($input: UpdateLoyaltySettingsInput!) { updateLoyaltySettings(input: $input) { __typename
      ... on LoyaltySettings { tiers { name } } ... on Error { code message path } } }`;
    const r = member(await gql(B.g, M, { input: { tiers: [{ name: 'Bravo tier', minPoints: 0 }] } }), 'updateLoyaltySettings');
    expect(r).toMatchObject({ __typename: 'LoyaltySettings', tiers: [{ name: 'Bravo tier' }] });
    await ok(B.g, M, { input: { tiers: null } });
    expectForbidden(member(await gql(B.p, M, { input: { predictionHorizonDays: 10 } }), 'updateLoyaltySettings'));
  },
  redeemPoints: async () => {
    const M = `mutation($input: RedeemPointsInput!) { redeemPoints(input: $input) { __typename
      ... on PointsMovementPayload { balance } ... on Error { code message path } } }`;
    const input = { customerId: A.alice.id, points: 1, idempotencyKey: 'alpha-key' };
    expectNotFound(member(await gql(B.g, M, { input }), 'redeemPoints'), ['input', 'customerId']);
    expectForbidden(member(await gql(B.p, M, { input }), 'redeemPoints'));
  },
  adjustPoints: async () => {
    const M = `mutation($input: AdjustPointsInput!) { adjustPoints(input: $input) { __typename
      ... on PointsMovementPayload { balance } ... on Error { code message path } } }`;
    // Even the idempotency key A used returns nothing of A's movement.
    const input = { customerId: A.alice.id, points: -10, reason: 'bravo', idempotencyKey: 'alpha-adjust' };
    expectNotFound(member(await gql(B.g, M, { input }), 'adjustPoints'), ['input', 'customerId']);
    const own = member(await gql(B.g, M, { input: { ...input, customerId: B.mine.id, points: 5 } }), 'adjustPoints');
    expect(own).toMatchObject({ __typename: 'PointsMovementPayload', balance: 5 });
    await ok(B.g, M, { input: { ...input, customerId: B.mine.id, idempotencyKey: 'bravo-undo', points: -5 } });
    expectForbidden(member(await gql(B.p, M, { input }), 'adjustPoints'));
  },
  earnPoints: async () => {
    const M = `mutation($input: EarnPointsInput!) { earnPoints(input: $input) { __typename
      ... on PointsMovementPayload { balance } ... on Error { code message path } } }`;
    const input = { customerId: A.alice.id, points: 10, reason: 'bravo', idempotencyKey: 'bravo-earn' };
    expectNotFound(member(await gql(B.g, M, { input }), 'earnPoints'), ['input', 'customerId']);
    // B's customer with A's interaction.
    const viaA = member(await gql(B.g, M, { input: { ...input, customerId: B.mine.id, interactionId: AX.interaction } }), 'earnPoints');
    expectNotFound(viaA, ['input', 'interactionId']);
    expectForbidden(member(await gql(B.p, M, { input }), 'earnPoints'));
  },
  expirePoints: async () => {
    const M = 'mutation { expirePoints { __typename ... on ExpirePointsPayload { customers points } ... on Error { code message path } } }';
    expect(member(await gql(B.g, M), 'expirePoints')).toMatchObject({ customers: 0, points: 0 });
    expectForbidden(member(await gql(B.p, M), 'expirePoints'));
  },
};

/** A holiday in shop A's calendar (added with contact timing). */
const AH = { holiday: '' };
const H_SEL = '... on Error { code message path }';
const B_H_CREATE = `mutation($input: CreateHolidayInput!) { createHoliday(input: $input) { __typename ${H_SEL}
  ... on CreateHolidaySuccess { holiday { id name date } } } }`;
const B_H_UPDATE = `mutation($input: UpdateHolidayInput!) { updateHoliday(input: $input) { __typename ${H_SEL}
  ... on UpdateHolidaySuccess { holiday { id name } } } }`;
const B_H_DELETE = `mutation($input: DeleteHolidayInput!) { deleteHoliday(input: $input) { __typename ${H_SEL}
  ... on DeleteHolidayPayload { deletedId } } }`;

beforeAll(async () => {
  const r = await ok<{ createHoliday: { holiday: { id: string } } }>(A.g, B_H_CREATE, {
    input: { name: 'alpha-holiday', date: '2026-12-24', recurringYearly: true },
  });
  AH.holiday = r.createHoliday.holiday.id;
  A.secrets.push(AH.holiday, rawId(AH.holiday), 'alpha-holiday');
  initialA = await snapshot(A.shopId);
  expect(initialA.Holiday).toHaveLength(1);
});

Object.assign(queryCases, {
  holidays: async () => {
    expect((await gql(B.g, '{ holidays { id name } }')).data).toEqual({ holidays: [] });
    expect(errorCodes(await gql(B.p, '{ holidays { id } }'))).toEqual(['FORBIDDEN']);
  },
});

Object.assign(mutationCases, {
  createHoliday: async () => {
    const r = member(await gql(B.g, B_H_CREATE, { input: { name: 'bravo-day', date: '2026-05-01' } }), 'createHoliday');
    expect(r).toMatchObject({ __typename: 'CreateHolidaySuccess', holiday: { name: 'bravo-day', date: '2026-05-01' } });
    await t.db.prisma.holiday.deleteMany({ where: { shopId: B.shopId } });
    expectForbidden(member(await gql(B.p, B_H_CREATE, { input: { name: 'x', date: '2026-05-01' } }), 'createHoliday'));
  },
  updateHoliday: async () => {
    expectNotFound(member(await gql(B.g, B_H_UPDATE, { input: { id: AH.holiday, name: 'evil' } }), 'updateHoliday'), ['input', 'id']);
    expectForbidden(member(await gql(B.p, B_H_UPDATE, { input: { id: AH.holiday, name: 'evil' } }), 'updateHoliday'));
  },
  deleteHoliday: async () => {
    expectNotFound(member(await gql(B.g, B_H_DELETE, { input: { id: AH.holiday } }), 'deleteHoliday'), ['input', 'id']);
    expectForbidden(member(await gql(B.p, B_H_DELETE, { input: { id: AH.holiday } }), 'deleteHoliday'));
  },
});

/** A saved segment of shop A (added with the segments module). */
const AS = { segment: '' };
const S_ERR = '... on Error { code message path }';
const B_SEG_CREATE = `mutation($input: CreateSegmentInput!) { createSegment(input: $input) { __typename ${S_ERR}
  ... on CreateSegmentSuccess { segment { id name rule memberCount members(first: 10) { edges { node { id } } } } } } }`;
const B_SEG_UPDATE = `mutation($input: UpdateSegmentInput!) { updateSegment(input: $input) { __typename ${S_ERR}
  ... on UpdateSegmentSuccess { segment { id rule } } } }`;
const B_SEG_DELETE = `mutation($input: SegmentIdInput!) { deleteSegment(input: $input) { __typename ${S_ERR} ... on DeletedSegment { deletedId } } }`;
const B_SEG_REFRESH = `mutation($input: SegmentIdInput!) { refreshSegment(input: $input) { __typename ${S_ERR}
  ... on RefreshSegmentPayload { entered left segment { id memberCount } } } }`;
const B_PREVIEW = `query($rule: String) { previewSegment(rule: $rule, first: 100) { rule count members { id email } } }`;

beforeAll(async () => {
  const r = await ok<{ createSegment: { segment: { id: string; memberCount: number } } }>(A.g, B_SEG_CREATE, {
    input: { name: 'alpha-segment', rule: "tags CONTAINS 'alpha-vip'" },
  });
  AS.segment = r.createSegment.segment.id;
  expect(r.createSegment.segment.memberCount).toBe(1);
  A.secrets.push(AS.segment, rawId(AS.segment), 'alpha-segment');
  initialA = await snapshot(A.shopId);
  expect(initialA.Segment).toHaveLength(1);
  expect(initialA.SegmentMember).toHaveLength(1);
});

Object.assign(queryCases, {
  segment: async () => {
    const r = await gql(B.g, 'query($id: ID!) { segment(id: $id) { id name rule } }', { id: AS.segment });
    expect(r.data).toEqual({ segment: null });
    expect(errorCodes(await gql(B.p, 'query($id: ID!) { segment(id: $id) { id } }', { id: AS.segment }))).toEqual(['FORBIDDEN']);
  },
  segments: async () => {
    const r = await gql(B.g, '{ segments(first: 100) { totalCount edges { node { id name rule } } } }');
    expect(r.data).toEqual({ segments: { totalCount: 0, edges: [] } });
    expect(errorCodes(await gql(B.p, '{ segments { totalCount } }'))).toEqual(['FORBIDDEN']);
  },
  segmentFields: async () => {
    const r = await gql(B.g, '{ segmentFields { name values } }');
    expect((r.data as { segmentFields: unknown[] }).segmentFields.length).toBeGreaterThan(10);
    expect(errorCodes(await gql(B.p, '{ segmentFields { name } }'))).toEqual(['FORBIDDEN']);
  },
  previewSegment: async () => {
    // Rules naming A's tag or A's staff match nothing in B; a match-all rule returns only B's customers.
    const byTag = await g_(B.g, B_PREVIEW, { rule: "tags CONTAINS 'alpha-vip'" }, ['alpha-vip']);
    expect(byTag.data?.previewSegment).toMatchObject({ count: 0, members: [] });
    const byOwner = await g_(B.g, B_PREVIEW, { rule: `owner = '${A.rep.id}'` }, [A.rep.id]);
    expect(byOwner.data?.previewSegment).toMatchObject({ count: 0, members: [] });
    const all = await gql(B.g, B_PREVIEW, { rule: 'createdAt > -100y' });
    const p = (all.data as { previewSegment: { count: number; members: { id: string }[] } }).previewSegment;
    expect(p.members.map((m) => m.id)).toContain(B.mine.id);
    expect(p.count).toBe(await bCount());
    expect(errorCodes(await gql(B.p, B_PREVIEW, { rule: 'age > 1' }))).toEqual(['FORBIDDEN']);
  },
});

Object.assign(mutationCases, {
  createSegment: async () => {
    // Names are per shop: B may use A's segment name; its members are B's only.
    const r = await g_(
      B.g,
      B_SEG_CREATE,
      { input: { name: 'alpha-segment', rule: "tags CONTAINS 'alpha-vip' OR tags CONTAINS 'bravo-tag'" } },
      ['alpha-segment', 'alpha-vip'],
    );
    const seg = member(r, 'createSegment') as unknown as {
      segment: { id: string; memberCount: number; members: { edges: { node: { id: string } }[] } };
    };
    expect(seg.segment.memberCount).toBe(1);
    expect(seg.segment.members.edges.map((e) => e.node.id)).toEqual([B.mine.id]);
    const row = await t.db.prisma.segment.findUniqueOrThrow({ where: { id: rawId(seg.segment.id) } });
    expect(row.shopId).toBe(B.shopId);
    await t.db.prisma.segment.delete({ where: { id: row.id } });
    expectForbidden(member(await gql(B.p, B_SEG_CREATE, { input: { name: 'x', rule: 'age > 1' } }), 'createSegment'));
  },
  updateSegment: async () => {
    expectNotFound(member(await gql(B.g, B_SEG_UPDATE, { input: { id: AS.segment, name: 'evil', rule: 'age > 1' } }), 'updateSegment'), [
      'input',
      'id',
    ]);
    expectForbidden(member(await gql(B.p, B_SEG_UPDATE, { input: { id: AS.segment, name: 'evil' } }), 'updateSegment'));
  },
  deleteSegment: async () => {
    expectNotFound(member(await gql(B.g, B_SEG_DELETE, { input: { id: AS.segment } }), 'deleteSegment'), ['input', 'id']);
    expectForbidden(member(await gql(B.p, B_SEG_DELETE, { input: { id: AS.segment } }), 'deleteSegment'));
  },
  refreshSegment: async () => {
    expectNotFound(member(await gql(B.g, B_SEG_REFRESH, { input: { id: AS.segment } }), 'refreshSegment'), ['input', 'id']);
    expectForbidden(member(await gql(B.p, B_SEG_REFRESH, { input: { id: AS.segment } }), 'refreshSegment'));
  },
});

/** An upload of shop A waiting to be started (added with bulk imports). */
const AI = { upload: '' };
const B_START = `mutation($input: StartImportInput!) { startImport(input: $input) { __typename ... on Error { code message path }
  ... on StartImportSuccess { importJob { id status } } } }`;

beforeAll(async () => {
  const res = await t.app.yoga.fetch('http://test/imports?kind=customers', {
    method: 'POST',
    headers: { authorization: `Bearer ${A.extraKeyPlain}`, 'content-type': 'text/csv' },
    body: 'email,firstName\nalpha.import@alpha.test,Alphonse\n',
  });
  expect(res.status).toBe(201);
  AI.upload = ((await res.json()) as { id: string }).id;
  A.secrets.push(AI.upload, rawId(AI.upload), 'alpha.import@alpha.test');
  initialA = await snapshot(A.shopId);
});

Object.assign(queryCases, {
  importJob: async () => {
    const r = await gql(B.g, 'query($id: ID!) { importJob(id: $id) { id status rejections { line value } } }', { id: AI.upload });
    expect(r.data).toEqual({ importJob: null });
    expect(errorCodes(await gql(B.p, 'query($id: ID!) { importJob(id: $id) { id } }', { id: AI.upload }))).toEqual(['FORBIDDEN']);
    const report = await t.app.yoga.fetch(`http://test/imports/${encodeURIComponent(AI.upload)}/rejections`, {
      headers: { authorization: `Bearer ${B.sk}` },
    });
    expect(report.status).toBe(404);
  },
});

Object.assign(mutationCases, {
  startImport: async () => {
    expectNotFound(member(await gql(B.g, B_START, { input: { uploadId: AI.upload, mapping: 'GENERIC' } }), 'startImport'), [
      'input',
      'uploadId',
    ]);
    expectForbidden(member(await gql(B.p, B_START, { input: { uploadId: AI.upload, mapping: 'GENERIC' } }), 'startImport'));
  },
});

const fieldsOf = (type: 'query' | 'mutation') =>
  Object.keys((type === 'query' ? schema.getQueryType() : schema.getMutationType())?.getFields() ?? {}).sort();

/** Behaviour events of shop A: an anonymous visitor and one stitched to Alice (modules/behaviour). */
const AB = { visitor: '00000000-0000-4000-8000-00000000a11c', stitched: '00000000-0000-4000-8000-00000000a11d' };
const B_TRACK_EVENTS = `mutation($e: [BehaviourEventInput!]!) { trackEvents(events: $e) { __typename
  ... on TrackEventsPayload { accepted } ... on Error { code message path } } }`;

beforeAll(async () => {
  const ap = t.gql(A.pk);
  const page = (visitorId: string) => ({ type: 'PAGE_VIEWED', visitorId, url: 'https://alpha.test/secret-page' });
  for (const v of [AB.visitor, AB.stitched])
    expect(member(await gql(ap, B_TRACK_EVENTS, { e: [page(v), page(v)] }), 'trackEvents')).toEqual({
      __typename: 'TrackEventsPayload',
      accepted: 2,
    });
  await gql(ap, B_TRACK_EVENTS, { e: [page(AB.stitched)] }, { 'x-customer-token': A.token });
  initialA = await snapshot(A.shopId);
  expect(initialA.BehaviourEvent).toHaveLength(5);
  expect(initialA.VisitorIdentity).toHaveLength(1);
});

Object.assign(mutationCases, {
  identifyVisitor: async () => {
    // B's secret key cannot name A's customer (by id or email) for any visitor; nothing is linked.
    const M = `mutation($i: IdentifyVisitorInput!) { identifyVisitor(input: $i) { __typename
      ... on IdentifyVisitorPayload { stitched customer { id email } } ... on Error { code message path } } }`;
    expectNotFound(member(await gql(B.g, M, { i: { visitorId: AB.stitched, customerId: A.alice.id } }), 'identifyVisitor'), [
      'input',
      'customerId',
    ]);
    expectNotFound(member(await gql(B.g, M, { i: { visitorId: AB.visitor, email: ALICE.email } }), 'identifyVisitor'), ['input', 'email']);
    expectForbidden(member(await gql(B.p, M, { i: { visitorId: AB.visitor, customerId: A.alice.id } }), 'identifyVisitor'));
  },
  trackEvents: async () => {
    // B's key with A's visitor ids writes into B only; A's events and visitor links stay as they were.
    const e = [AB.visitor, AB.stitched].map((visitorId) => ({ type: 'PAGE_VIEWED', visitorId }));
    expect(member(await gql(B.p, B_TRACK_EVENTS, { e }), 'trackEvents')).toEqual({ __typename: 'TrackEventsPayload', accepted: 2 });
    // Stitching A's visitor to a lead of B (lead capture) touches B's rows only.
    const lead = member(await gql(B.p, B_CAPTURE, { input: { email: 'visitor@bravo.test', visitorId: AB.visitor } }), 'captureLead');
    expect(lead.__typename).toBe('CaptureLeadPayload');
    expect(await t.db.prisma.behaviourEvent.count({ where: { shopId: B.shopId, visitorId: AB.visitor, customerId: { not: null } } })).toBe(
      1,
    );
    // A's customer token with B's key is refused.
    const stolen = await gql(B.p, B_TRACK_EVENTS, { e }, { 'x-customer-token': A.token });
    expect(errorCodes(stolen)).toEqual(['UNAUTHENTICATED']);
    // The beacon too: B's key writes into B, A's token is refused.
    const beacon = (body: object) =>
      t.app.yoga.fetch(`http://test/events?key=${encodeURIComponent(B.pk)}`, { method: 'POST', body: JSON.stringify(body) });
    expect((await beacon({ events: e })).status).toBe(204);
    expect((await beacon({ events: e, customerToken: A.token })).status).toBe(401);
    const inB = await t.db.prisma.customer.findFirstOrThrow({ where: { shopId: B.shopId, email: 'visitor@bravo.test' } });
    await eraseInB(globalId('Customer', inB.id));
  },
});

describe('tenant isolation', () => {
  it('has a case for every Query field and every Mutation field', () => {
    expect(fieldsOf('query').length).toBeGreaterThan(0);
    // On failure, `withoutCase` names the fields a case must be written for.
    const diff = (cases: object, fields: string[]) => ({
      withoutCase: fields.filter((f) => !(f in cases)),
      caseWithoutField: Object.keys(cases).filter((k) => !fields.includes(k)),
    });
    const none = { withoutCase: [], caseWithoutField: [] };
    expect({ Query: diff(queryCases, fieldsOf('query')), Mutation: diff(mutationCases, fieldsOf('mutation')) }).toEqual({
      Query: none,
      Mutation: none,
    });
    expect(Object.keys(queryCases).sort()).toEqual(fieldsOf('query'));
    expect(Object.keys(mutationCases).sort()).toEqual(fieldsOf('mutation'));
    // The schema the app serves is the one enumerated here.
    expect(Object.keys(t.app.yoga.getEnveloped().schema.getMutationType()?.getFields() ?? {}).sort()).toEqual(fieldsOf('mutation'));
    expect(Object.keys(t.app.yoga.getEnveloped().schema.getQueryType()?.getFields() ?? {}).sort()).toEqual(fieldsOf('query'));
  });

  const run = async (cases: Record<string, () => Promise<void>>, field: string) => {
    const before = await snapshot(A.shopId);
    expect(before).toEqual(initialA);
    const c = cases[field];
    if (!c) throw new Error(`no case for ${field}`);
    await c();
    expect(await snapshot(A.shopId)).toEqual(before);
  };
  it.each(Object.keys(queryCases))('Query.%s with B keys and A ids: nothing leaks, nothing changes', (field) => run(queryCases, field));
  it.each(Object.keys(mutationCases))('Mutation.%s with B keys and A ids: nothing leaks, nothing changes', (field) =>
    run(mutationCases, field),
  );

  it("afterwards A's data is intact and A's keys still work", async () => {
    expect(await snapshot(A.shopId)).toEqual(initialA);
    const alice = await ok<{ customer: CustomerOut }>(A.g, 'query($id: ID!) { customer(id: $id) { id email firstName } }', {
      id: A.alice.id,
    });
    expect(alice.customer).toEqual({ id: A.alice.id, email: ALICE.email, firstName: 'Alicia' });
    // The token refused to B works with A's own publishable key; A's extra key was not revoked.
    const me = await ok<{ me: { email: string } }>(t.gql(A.pk), '{ me { email } }', undefined, { 'x-customer-token': A.token });
    expect(me.me.email).toBe(ALICE.email);
    const extra = await t.gql(A.extraKeyPlain)('{ customers { totalCount } }');
    expect(extra.status).toBe(200);
    expect(extra.data).toEqual({ customers: { totalCount: 4 } }); // alice, bob, the follow-ups' pool lead and the lost lead (one archived, one merged)
  });
});
