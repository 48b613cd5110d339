import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CrmWebhookSignatureError, verifyWebhookSignature } from '../../../../sdk/src/webhooks.ts';
import { createTestApp, rawId, type TestApp } from '../../testing.ts';
import { backoffMs } from './webhook.dispatcher.ts';
import { signatureHeader, verifySignature } from './webhook.signing.ts';

type Received = { headers: IncomingMessage['headers']; body: string };

/** A local HTTP receiver whose answers are scripted per request. */
function receiver() {
  const received: Received[] = [];
  let script: (number | 'slow')[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      const next = script.shift() ?? 200;
      if (next === 'slow') setTimeout(() => res.writeHead(200).end('late'), 1500);
      else res.writeHead(next).end('ok');
    });
  });
  return {
    received,
    answer: (...codes: (number | 'slow')[]) => {
      script = codes;
    },
    start: () =>
      new Promise<string>((r) => server.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`))),
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

let t: TestApp;
let rx: ReturnType<typeof receiver>;
let url: string;
let sk: string;
const gql = <T = Record<string, unknown>>(q: string, v?: Record<string, unknown>) => t.gql(sk)<T>(q, v);

const CREATE = `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { __typename
  ... on WebhookEndpointWithSecret { secret endpoint { id url eventTypes active } } ... on Error { code message path } } }`;
const DELIVERIES = `query($f: WebhookDeliveryFilter) { webhookDeliveries(first: 50, filter: $f) { totalCount
  edges { node { id eventId eventType status attempts lastStatusCode lastError deliveredAt } } } }`;
type Delivery = {
  id: string;
  eventId: string;
  eventType: string;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
};

async function createEndpoint(eventTypes?: string[]) {
  const r = await gql<{ createWebhookEndpoint: { secret: string; endpoint: { id: string } } }>(CREATE, { input: { url, eventTypes } });
  expect(r.errors).toBeUndefined();
  return r.data!.createWebhookEndpoint;
}
async function deliveries(endpointId: string): Promise<Delivery[]> {
  const r = await gql<{ webhookDeliveries: { edges: { node: Delivery }[] } }>(DELIVERIES, { f: { endpointId } });
  return r.data!.webhookDeliveries.edges.map((e) => e.node);
}
/** A buyer (not a lead): one CUSTOMER_CREATED event each. */
async function createCustomer(email: string) {
  const r = await gql('mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { __typename } }', {
    i: { email, stage: 'FIRST_PURCHASE' },
  });
  expect(r.data?.createCustomer).toEqual({ __typename: 'CreateCustomerSuccess' });
}
async function disableAll() {
  await t.db.prisma.webhookEndpoint.updateMany({ data: { active: false } });
}

beforeAll(async () => {
  t = await createTestApp({
    webhooks: { enabled: false, intervalMs: 1000, maxAttempts: 3, baseBackoffMs: 1, timeoutMs: 300 },
    // The local receiver is http on 127.0.0.1: the development setting (webhook.ssrf.test.ts covers the default).
    webhookTargets: { allowHttp: true, allowPrivate: true },
  });
  sk = (await t.newShop('Hooks')).secretKey;
  rx = receiver();
  url = await rx.start();
});
afterAll(async () => {
  await rx.stop();
  await t.close();
});
beforeEach(async () => {
  await disableAll();
  rx.received.length = 0;
  rx.answer();
});

describe('signatures', () => {
  it('the SDK helper and the server agree; tampering, wrong secrets and old timestamps fail', async () => {
    const body = '{"id":"1","type":"CUSTOMER_CREATED"}';
    const header = signatureHeader('whsec_test', body);
    expect(verifySignature('whsec_test', body, header)).toBe(true);
    const ts = Math.floor(Date.now() / 1000);
    await expect(verifyWebhookSignature({ body, header, secret: 'whsec_test' })).resolves.toEqual({ timestamp: ts });
    // A Buffer / Uint8Array body (the raw bytes) verifies the same.
    await expect(verifyWebhookSignature({ body: Buffer.from(body), header, secret: 'whsec_test' })).resolves.toEqual({ timestamp: ts });
    const reason = (o: Parameters<typeof verifyWebhookSignature>[0]) =>
      verifyWebhookSignature(o).then(
        () => 'ok',
        (e: CrmWebhookSignatureError) => e.reason,
      );
    expect(await reason({ body: `${body} `, header, secret: 'whsec_test' })).toBe('BAD_SIGNATURE');
    expect(await reason({ body, header, secret: 'whsec_other' })).toBe('BAD_SIGNATURE');
    const old = signatureHeader('whsec_test', body, ts - 3600);
    expect(await reason({ body, header: old, secret: 'whsec_test' })).toBe('STALE_TIMESTAMP');
    expect(await reason({ body, header: 'garbage', secret: 'whsec_test' })).toBe('MALFORMED_HEADER');
    expect(await reason({ body, header: [header, header], secret: 'whsec_test' })).toBe('MALFORMED_HEADER');
    expect(await reason({ body, header: undefined, secret: 'whsec_test' })).toBe('MISSING_HEADER');
    const e = await verifyWebhookSignature({ body, header: 'garbage', secret: 'whsec_test' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CrmWebhookSignatureError);
    expect(e).toMatchObject({ code: 'MALFORMED_HEADER', reason: 'MALFORMED_HEADER' });
  });

  it('backoff grows exponentially with jitter and is capped', () => {
    expect(backoffMs(1, 1000, () => 0)).toBe(500);
    expect(backoffMs(1, 1000, () => 1)).toBe(1000);
    expect(backoffMs(4, 1000, () => 1)).toBe(8000);
    expect(backoffMs(40, 1000, () => 1)).toBe(6 * 60 * 60 * 1000);
  });
});

describe('deliveries', () => {
  it('delivers new events, signed, once each, and logs them', async () => {
    const { secret, endpoint } = await createEndpoint();
    expect(secret).toMatch(/^whsec_/);
    await createCustomer('hook1@example.com');
    await t.app.webhooks.tick();
    expect(rx.received).toHaveLength(1);
    const [got] = rx.received;
    const sig = got!.headers['x-crm-signature'] as string;
    await expect(verifyWebhookSignature({ body: got!.body, header: sig, secret })).resolves.toMatchObject({
      timestamp: expect.any(Number),
    });
    const payload = JSON.parse(got!.body) as { id: string; type: string; data: unknown };
    expect(payload.type).toBe('CUSTOMER_CREATED');
    expect(got!.headers['x-crm-event-id']).toBe(payload.id);
    expect(got!.headers['x-crm-event-type']).toBe('CUSTOMER_CREATED');
    // At least once, not twice: another tick sends nothing new.
    await t.app.webhooks.tick();
    expect(rx.received).toHaveLength(1);
    const log = await deliveries(endpoint.id);
    expect(log).toMatchObject([{ eventType: 'CUSTOMER_CREATED', status: 'SUCCEEDED', attempts: 1, lastStatusCode: 200 }]);
  });

  it('filters by event type', async () => {
    const { endpoint } = await createEndpoint(['ORDER_RECORDED']);
    await createCustomer('hook2@example.com');
    await t.app.webhooks.tick();
    expect(rx.received).toHaveLength(0);
    expect(await deliveries(endpoint.id)).toEqual([]);
  });

  it('retries failures with backoff until success, recording each attempt', async () => {
    const { endpoint } = await createEndpoint();
    rx.answer(500, 503, 200);
    await createCustomer('hook3@example.com');
    for (let i = 0; i < 3; i++) {
      await t.app.webhooks.tick();
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(rx.received).toHaveLength(3);
    expect(new Set(rx.received.map((r) => r.headers['x-crm-delivery-id'])).size).toBe(1);
    expect(await deliveries(endpoint.id)).toMatchObject([{ status: 'SUCCEEDED', attempts: 3, lastStatusCode: 200, lastError: null }]);
  });

  it('gives up after the last attempt (FAILED), and redeliverWebhook sends it again', async () => {
    const { endpoint } = await createEndpoint();
    rx.answer(500, 500, 500, 200);
    await createCustomer('hook4@example.com');
    for (let i = 0; i < 4; i++) {
      await t.app.webhooks.tick();
      await new Promise((r) => setTimeout(r, 20));
    }
    const [failed] = await deliveries(endpoint.id);
    expect(failed).toMatchObject({ status: 'FAILED', attempts: 3, lastStatusCode: 500, lastError: 'HTTP 500' });
    expect(rx.received).toHaveLength(3);
    const r = await gql(
      `mutation($input: RedeliverWebhookInput!) { redeliverWebhook(input: $input) { __typename
        ... on RedeliverWebhookSuccess { delivery { status } } ... on Error { code } } }`,
      { input: { id: failed!.id } },
    );
    expect(r.data?.redeliverWebhook).toEqual({ __typename: 'RedeliverWebhookSuccess', delivery: { status: 'PENDING' } });
    await t.app.webhooks.tick();
    expect(await deliveries(endpoint.id)).toMatchObject([{ status: 'SUCCEEDED', attempts: 4 }]);
  });

  it('a slow endpoint times out without holding up the API', async () => {
    const { endpoint } = await createEndpoint();
    rx.answer('slow');
    await createCustomer('hook5@example.com');
    let ticking = true;
    const tick = t.app.webhooks.tick().finally(() => {
      ticking = false;
    });
    await new Promise((r) => setTimeout(r, 50));
    const res = await gql<{ customers: { totalCount: number } }>('{ customers(first: 1) { totalCount } }');
    expect(res.data?.customers.totalCount).toBeGreaterThan(0);
    expect(ticking).toBe(true);
    await tick;
    const [d] = await deliveries(endpoint.id);
    expect(d).toMatchObject({ status: 'PENDING', attempts: 1 });
    expect(d!.lastError).toMatch(/Timed out/);
  });

  it('validates endpoints with typed errors and writes nothing', async () => {
    const before = await t.db.prisma.webhookEndpoint.count();
    for (const input of [{ url: 'not a url' }, { url: 'ftp://x.example/hook' }]) {
      const r = await gql<{ createWebhookEndpoint: { __typename: string; code: string } }>(CREATE, { input });
      expect(r.data?.createWebhookEndpoint).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION_FAILED' });
    }
    const unknownType = await gql(CREATE, { input: { url: 'https://x.example/h', eventTypes: ['NOPE'] } });
    expect(unknownType.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(await t.db.prisma.webhookEndpoint.count()).toBe(before);
  });

  it('update, rotate and delete endpoints; the secret is never listed', async () => {
    const { endpoint, secret } = await createEndpoint();
    const list = await gql('{ webhookEndpoints { id url active } }');
    expect(JSON.stringify(list)).not.toContain(secret);
    const rot = await gql<{ rotateWebhookSecret: { secret: string } }>(
      'mutation($input: WebhookEndpointIdInput!) { rotateWebhookSecret(input: $input) { ... on WebhookEndpointWithSecret { secret } } }',
      { input: { id: endpoint.id } },
    );
    expect(rot.data?.rotateWebhookSecret.secret).toMatch(/^whsec_/);
    expect(rot.data?.rotateWebhookSecret.secret).not.toBe(secret);
    const upd = await gql(
      `mutation($input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $input) { __typename
        ... on UpdateWebhookEndpointSuccess { endpoint { active eventTypes } } } }`,
      { input: { id: endpoint.id, active: false, eventTypes: ['STAGE_CHANGED'] } },
    );
    expect(upd.data?.updateWebhookEndpoint).toMatchObject({ endpoint: { active: false, eventTypes: ['STAGE_CHANGED'] } });
    const del = await gql(
      'mutation($input: WebhookEndpointIdInput!) { deleteWebhookEndpoint(input: $input) { __typename ... on DeletedWebhookEndpoint { deletedId } } }',
      { input: { id: endpoint.id } },
    );
    expect(del.data?.deleteWebhookEndpoint).toEqual({ __typename: 'DeletedWebhookEndpoint', deletedId: endpoint.id });
    expect(await t.db.prisma.webhookEndpoint.findUnique({ where: { id: rawId(endpoint.id) } })).toBeNull();
  });
});
