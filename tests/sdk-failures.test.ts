import { createServer as createHttpServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import {
  CrmAuthError,
  CrmConflictError,
  type CrmError,
  CrmGraphQLError,
  CrmInsufficientPointsError,
  CrmNetworkError,
  CrmSubscriptionError,
  CrmVersionConflictError,
  createCrmClient,
  requestIdOf,
  type SubscriptionState,
  unwrap,
} from '../packages/sdk/src/index.ts';
import { createStorefrontClient } from '../packages/sdk/src/storefront.ts';
import { createTestApp, type TestApp } from '../packages/server/src/testing.ts';

/**
 * The SDK's failure modes against a real server (and small local stand-ins for a hung, refusing or
 * unavailable one): what a developer sees, and how long it takes.
 */
let t: TestApp;
let url: string;
let keys: { secretKey: string; publishableKey: string };
beforeAll(async () => {
  t = await createTestApp();
  keys = await t.newShop('Failures Shop');
  url = `${await t.app.start()}/graphql`;
});
afterAll(() => t?.close());

const email = () => `f-${Math.random().toString(36).slice(2, 10)}@sdk.test`;

/** A port nothing listens on. */
const closedPort = () =>
  new Promise<number>((resolve) => {
    const s = createNetServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });

/** A local HTTP server answering each attempt with `handle(n)`; `hang` never answers. */
async function stub(handle: (n: number, res: ServerResponse) => 'hang' | undefined) {
  let n = 0;
  const hanging: ServerResponse[] = [];
  const server: Server = createHttpServer(async (req, res) => {
    for await (const _ of req);
    if (handle(++n, res) === 'hang') hanging.push(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    attempts: () => n,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
const unavailable = (retryAfter: string) => (_n: number, res: ServerResponse) => {
  res.writeHead(503, { 'content-type': 'application/json', 'retry-after': retryAfter, 'x-request-id': 'srv-503' });
  res.end(JSON.stringify({ errors: [{ message: 'Database unavailable', extensions: { code: 'UNAVAILABLE' } }] }));
  return undefined;
};

describe('network errors', () => {
  it('name the URL and the cause code (ECONNREFUSED), and carry the request id', async () => {
    const dead = `http://127.0.0.1:${await closedPort()}/graphql`;
    const crm = createCrmClient({ url: dead, apiKey: keys.secretKey, retries: 1, retryDelayMs: 5 });
    const e = await crm.shop.get().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CrmNetworkError);
    const n = e as CrmNetworkError;
    expect(n).toMatchObject({ code: 'NETWORK_ERROR', causeCode: 'ECONNREFUSED', url: dead });
    expect(n.message).toBe(`Network error: POST ${dead} failed (ECONNREFUSED)`);
    expect(n.requestId).toMatch(/^sdk-[0-9a-f]{24}$/);
    expect(n.cause).toBeInstanceOf(Error);
  });
});

describe('deadline across retries', () => {
  it('a hung API fails after the total deadline (not timeout x attempts): DEADLINE_EXCEEDED', async () => {
    const s = await stub(() => 'hang');
    try {
      const crm = createCrmClient({ url: s.url, apiKey: keys.secretKey, timeoutMs: 400, deadlineMs: 1000, retries: 10, retryDelayMs: 5 });
      const started = Date.now();
      const e = await crm.shop.get().catch((x: unknown) => x);
      const took = Date.now() - started;
      expect(e).toBeInstanceOf(CrmNetworkError);
      expect(e).toMatchObject({ code: 'DEADLINE_EXCEEDED', url: s.url });
      expect((e as Error).message).toMatch(/gave up after the 1000 ms deadline \(3 attempts\)/);
      expect(took).toBeGreaterThanOrEqual(950);
      expect(took).toBeLessThan(2500);
      expect(s.attempts()).toBe(3);
    } finally {
      await s.close();
    }
  });

  it('with the defaults a hung API errors after about 10 s (was 45 s)', async () => {
    const s = await stub(() => 'hang');
    try {
      const started = Date.now();
      const e = await createCrmClient({ url: s.url, apiKey: keys.secretKey })
        .shop.get()
        .catch((x: unknown) => x);
      const took = Date.now() - started;
      expect(e).toMatchObject({ name: 'CrmNetworkError', code: 'DEADLINE_EXCEEDED' });
      expect(took).toBeGreaterThanOrEqual(9_900);
      expect(took).toBeLessThan(12_000);
    } finally {
      await s.close();
    }
  }, 30_000);
});

describe('503 UNAVAILABLE with Retry-After', () => {
  it('waits Retry-After (1 s) and succeeds on the next attempt', async () => {
    const s = await stub((n, res) => {
      if (n === 1) return unavailable('1')(n, res);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: { shop: { id: 'x', name: 'Stub Shop' } } }));
      return undefined;
    });
    try {
      const started = Date.now();
      const shop = await createCrmClient({ url: s.url, apiKey: keys.secretKey }).shop.get();
      expect(shop).toMatchObject({ name: 'Stub Shop' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect(s.attempts()).toBe(2);
    } finally {
      await s.close();
    }
  });

  it('a Retry-After beyond the deadline is not waited for: SERVICE_UNAVAILABLE at once, with retryAfterMs and the server request id', async () => {
    const s = await stub(unavailable('30'));
    try {
      const started = Date.now();
      const e = await createCrmClient({ url: s.url, apiKey: keys.secretKey, maxRetryDelayMs: 60_000 })
        .shop.get()
        .catch((x: unknown) => x);
      expect(Date.now() - started).toBeLessThan(1000);
      expect(e).toBeInstanceOf(CrmNetworkError);
      expect(e).toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
        status: 503,
        retryAfterMs: 30_000,
        requestId: 'srv-503',
        message: 'Database unavailable',
      });
      expect(s.attempts()).toBe(1);
    } finally {
      await s.close();
    }
  });
});

describe('request ids', () => {
  it('the server echoes the SDK id; results and every error carry it', async () => {
    const crm = createCrmClient({ url, apiKey: keys.secretKey });
    const created = await crm.customers.create({ email: email() });
    expect(requestIdOf(created)).toMatch(/^sdk-[0-9a-f]{24}$/);
    expect(Object.keys(created)).not.toContain(String(requestIdOf(created))); // not enumerable
    const auth = await createCrmClient({ url, apiKey: 'sk_live_nope' })
      .shop.get()
      .catch((x: unknown) => x);
    expect(auth).toBeInstanceOf(CrmAuthError);
    expect((auth as CrmError).requestId).toMatch(/^sdk-/);
    const gql = await crm.request('{ noSuchField }').catch((x: unknown) => x);
    expect(gql).toBeInstanceOf(CrmGraphQLError);
    expect((gql as CrmError).requestId).toMatch(/^sdk-/);
    const dup = await crm.customers
      .create({ email: unwrap(created).customer.email! })
      .then(unwrap)
      .catch((x: unknown) => x);
    expect(dup).toBeInstanceOf(CrmConflictError);
    expect((dup as CrmError).requestId).toMatch(/^sdk-/);
    expect((dup as CrmError).requestId).not.toBe(requestIdOf(created));
  });
});

describe('result errors carry their fields (generated from the schema)', () => {
  it('InsufficientPointsError → CrmInsufficientPointsError.balance; VersionConflictError → CrmVersionConflictError.currentVersion', async () => {
    const crm = createCrmClient({ url, apiKey: keys.secretKey });
    const { customer } = unwrap(await crm.customers.create({ email: email() }));
    const redeem = await crm.loyalty.redeem({ customerId: customer.id, points: 100 });
    // The result type is exact: the InsufficientPointsError member has `balance`.
    if (redeem.__typename === 'InsufficientPointsError') expect(redeem.balance).toBe(0);
    else expect.fail(`expected InsufficientPointsError, got ${redeem.__typename}`);
    const e = await Promise.resolve(redeem)
      .then(unwrap)
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CrmInsufficientPointsError);
    expect(e).toMatchObject({ balance: 0, code: redeem.code });

    unwrap(await crm.customers.update({ id: customer.id, firstName: 'A' }));
    const stale = await crm.customers
      .update({ id: customer.id, firstName: 'B', version: 1 })
      .then(unwrap)
      .catch((x: unknown) => x);
    expect(stale).toBeInstanceOf(CrmVersionConflictError);
    expect(stale).toBeInstanceOf(CrmConflictError);
    expect((stale as CrmVersionConflictError).currentVersion).toBe(2);
  });
});

describe('storefront client', () => {
  it('captures a lead with a publishable key and refuses a secret key', async () => {
    const sf = createStorefrontClient({ url, apiKey: keys.publishableKey });
    const r = unwrap(await sf.leads.capture({ email: email(), firstName: 'Store' }));
    expect(r).toEqual({ __typename: 'CaptureLeadPayload', accepted: true });
    expect(() => createStorefrontClient({ url, apiKey: keys.secretKey })).toThrow(/publishable key/);
  });
});

describe('subscriptions give up after maxReconnects', () => {
  it('an unreachable server: reconnecting states, then CrmSubscriptionError RECONNECT_FAILED naming the URL and ECONNREFUSED', async () => {
    const port = await closedPort();
    const crm = createCrmClient({
      url: `http://127.0.0.1:${port}/graphql`,
      apiKey: keys.secretKey,
      webSocketImpl: WebSocket,
      maxReconnects: 2,
      retryDelayMs: 5,
    });
    const states: SubscriptionState[] = [];
    try {
      const it = crm.subscriptions.leadCreated({ onStateChange: (s) => states.push(s) })[Symbol.asyncIterator]();
      const e = await it.next().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(CrmSubscriptionError);
      const wsUrl = `ws://127.0.0.1:${port}/graphql`;
      expect(e).toMatchObject({ code: 'RECONNECT_FAILED', attempts: 3, causeCode: 'ECONNREFUSED', url: wsUrl });
      expect((e as Error).message).toBe(
        `Subscription gave up after 3 failed connection attempts: Cannot connect to ${wsUrl}: ECONNREFUSED`,
      );
      expect(states.map((s) => s.status)).toEqual(['connecting', 'reconnecting', 'reconnecting', 'failed']);
      expect(states[1]).toMatchObject({ attempt: 1, error: { code: 'NETWORK_ERROR', causeCode: 'ECONNREFUSED' } });
    } finally {
      await crm.close();
    }
  });

  it('a fatal close code ends at once, named with graphql-ws CloseCode (4500 InternalServerError)', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    wss.on('connection', (socket) => socket.close(4500, 'boom'));
    await new Promise((r) => wss.once('listening', r));
    const crm = createCrmClient({
      url: `http://127.0.0.1:${(wss.address() as AddressInfo).port}/graphql`,
      apiKey: keys.secretKey,
      webSocketImpl: WebSocket,
      retryDelayMs: 5,
    });
    try {
      const e = await crm.subscriptions
        .leadCreated()
        [Symbol.asyncIterator]()
        .next()
        .catch((x: unknown) => x);
      expect(e).toBeInstanceOf(CrmSubscriptionError);
      expect(e).toMatchObject({ code: 'CONNECTION_CLOSED', closeCode: 4500, closeReason: 'InternalServerError' });
      expect((e as Error).message).toBe('Connection closed (4500 InternalServerError: boom)');
    } finally {
      await crm.close();
      await new Promise((r) => wss.close(r));
    }
  });

  it('an unknown key: CrmAuthError with the close code in closeCode (4403 Forbidden), not in status', async () => {
    const crm = createCrmClient({ url, apiKey: `sk_live_${'x'.repeat(32)}`, webSocketImpl: WebSocket });
    try {
      const e = await crm.subscriptions
        .leadCreated()
        [Symbol.asyncIterator]()
        .next()
        .catch((x: unknown) => x);
      expect(e).toBeInstanceOf(CrmAuthError);
      expect(e).toMatchObject({ closeCode: 4403, closeReason: 'Forbidden' });
      expect((e as CrmError).status).toBeUndefined();
    } finally {
      await crm.close();
    }
  });
});
