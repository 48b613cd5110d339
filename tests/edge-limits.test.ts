import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../packages/server/src/config.ts';
import { createTestApp, type TestApp } from '../packages/server/src/testing.ts';

/** Abuse limits: introspection and suggestions, anonymous requests, per-key cost budgets (shared through Redis). */
const base = loadConfig({ NODE_ENV: 'test' });
const post = (app: TestApp, body: unknown, headers: Record<string, string> = {}) =>
  app.app.yoga.fetch('http://test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
const codesOf = async (res: Response) =>
  ((await res.clone().json()) as { errors?: { extensions?: { code?: string } }[] }).errors?.map((e) => e.extensions?.code) ?? [];

describe('production: introspection and suggestions for secret keys only', () => {
  let app: TestApp;
  let shop: Awaited<ReturnType<TestApp['newShop']>>;
  beforeAll(async () => {
    app = await createTestApp({ env: 'production', limits: { ...base.limits, introspection: 'secret' } });
    shop = await app.newShop('Prod');
  });
  afterAll(() => app.close());

  it('199 aliased __schema selections without a key: refused by the alias limit and by introspection rules', async () => {
    const q = `{ ${Array.from({ length: 199 }, (_, i) => `a${i}: __schema { types { name } }`).join(' ')} }`;
    const res = await post(app, { query: q });
    const body = (await res.json()) as { data?: unknown; errors: { message: string }[] };
    expect(body.data).toBeUndefined();
    expect(body.errors.some((e) => /Aliases limit of 30 exceeded/.test(e.message))).toBe(true);
  });

  it('introspection: refused without a key and with a publishable key, allowed with a secret key', async () => {
    const q = { query: '{ __schema { queryType { name } } }' };
    for (const headers of [{}, { authorization: `Bearer ${shop.publishableKey}` }] as Record<string, string>[]) {
      const res = await post(app, q, headers);
      const body = (await res.json()) as { data?: unknown; errors: { message: string; extensions: { code: string } }[] };
      expect(body.data).toBeUndefined();
      expect(body.errors[0]).toMatchObject({ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
      expect(body.errors[0]!.message).toMatch(/introspection/i);
    }
    const ok = (await (await post(app, q, { authorization: `Bearer ${shop.secretKey}` })).json()) as { data: unknown };
    expect(ok.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  });

  it('"Did you mean" suggestions only for secret keys', async () => {
    const q = { query: '{ customerz(first: 1) { totalCount } }' };
    const anon = (await (await post(app, q, { authorization: `Bearer ${shop.publishableKey}` })).json()) as {
      errors: { message: string }[];
    };
    expect(anon.errors[0]!.message).not.toMatch(/Did you mean/);
    const secret = (await (await post(app, q, { authorization: `Bearer ${shop.secretKey}` })).json()) as { errors: { message: string }[] };
    expect(secret.errors[0]!.message).toMatch(/Did you mean "customers?"/);
  });
});

describe('requests without a key', () => {
  it('are limited per client address before parsing (429, Retry-After)', async () => {
    const app = await createTestApp({ limits: { ...base.limits, anonymousPerIp: 3 } });
    try {
      for (let i = 0; i < 3; i++) expect((await post(app, { query: '{ __typename }' })).status).toBe(200);
      const res = await post(app, { query: '{ __typename }' });
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await codesOf(res)).toEqual(['RATE_LIMITED']);
    } finally {
      await app.close();
    }
  });
});

const LIST = '{ customers(first: 50) { totalCount edges { node { id email } } } }';

describe('per-key query-cost budget', () => {
  it('every keyed response reports extensions.cost and RateLimit-* headers; an exhausted budget is 429 with Retry-After', async () => {
    const app = await createTestApp({ limits: { ...base.limits, costBucketSize: 100, costRestoreRate: 1 } });
    try {
      const shop = await app.newShop('Budget');
      const auth = { authorization: `Bearer ${shop.secretKey}` };
      const first = await post(app, { query: LIST }, auth);
      expect(first.status).toBe(200);
      const body = (await first.json()) as { extensions: { cost: Record<string, unknown> } };
      const cost = body.extensions.cost as { requestedQueryCost: number; actualQueryCost: number; throttleStatus: Record<string, number> };
      expect(cost.requestedQueryCost).toBeGreaterThan(20);
      expect(cost.actualQueryCost).toBe(cost.requestedQueryCost);
      expect(cost.throttleStatus).toMatchObject({ maximumAvailable: 101, restoreRate: 1 });
      expect(cost.throttleStatus.currentlyAvailable).toBeLessThan(101);
      expect(first.headers.get('ratelimit-limit')).toBe('101');
      expect(Number(first.headers.get('ratelimit-remaining'))).toBe(cost.throttleStatus.currentlyAvailable);
      let limited: Response | null = null;
      for (let i = 0; i < 10 && !limited; i++) {
        const r = await post(app, { query: LIST }, auth);
        if (r.status === 429) limited = r;
      }
      expect(limited).not.toBeNull();
      expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(limited!.headers.get('ratelimit-remaining')).toBe('0');
      expect(await codesOf(limited!)).toEqual(['RATE_LIMITED']);
      // Another key of another shop has its own budget.
      const other = await app.newShop('Other');
      expect((await post(app, { query: LIST }, { authorization: `Bearer ${other.secretKey}` })).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  it('is shared by two instances on the same Redis (N instances do not allow N times the budget)', async () => {
    const limits = { ...base.limits, costBucketSize: 100, costRestoreRate: 1, keyPrefix: `crm-test:${randomBytes(6).toString('hex')}` };
    const a = await createTestApp({ redisUrl, limits });
    // Instance B: a second app on the same database and Redis (same key, shared budget).
    const { buildApp } = await import('../packages/server/src/app.ts');
    const { createLogger } = await import('../packages/server/src/logger.ts');
    const b = buildApp({
      config: { ...a.config },
      database: a.db,
      logger: createLogger('silent'),
      tokenSecret: randomBytes(32).toString('hex'),
    });
    try {
      const shop = await a.newShop('Shared');
      const auth = { 'content-type': 'application/json', authorization: `Bearer ${shop.secretKey}` };
      const send = (app: typeof b) =>
        app.yoga.fetch('http://test/graphql', { method: 'POST', headers: auth, body: JSON.stringify({ query: LIST }) });
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) statuses.push((await send(i % 2 ? b : a.app)).status);
      // One budget of 101 points holds 3 of these lists (33 points); two separate budgets would allow 6.
      const ok = statuses.filter((s) => s === 200).length;
      expect(ok).toBeGreaterThanOrEqual(2);
      expect(ok).toBeLessThanOrEqual(4);
      expect(statuses).toContain(429);
    } finally {
      await b.stop();
      await a.close();
    }
  });

  it('storefront per-IP limits count across shops', async () => {
    const app = await createTestApp({ rateLimitPerKey: 1000, rateLimitPerIp: 2, trustProxy: true });
    try {
      const CAPTURE = 'mutation($input: CaptureLeadInput!) { captureLead(input: $input) { __typename } }';
      const from = async (key: string) =>
        post(
          app,
          { query: CAPTURE, variables: { input: { email: 'ip@edge.test' } } },
          { authorization: `Bearer ${key}`, 'x-forwarded-for': '203.0.113.9' },
        );
      const s1 = await app.newShop('IP 1');
      const s2 = await app.newShop('IP 2');
      expect((await from(s1.publishableKey)).status).toBe(200);
      expect((await from(s2.publishableKey)).status).toBe(200);
      const third = await from((await app.newShop('IP 3')).publishableKey);
      expect(third.status).toBe(429);
    } finally {
      await app.close();
    }
  });
});

describe('request body size (MAX_REQUEST_BYTES), over real HTTP', () => {
  let app: TestApp;
  let server: Server;
  let port = 0;
  let key = '';
  const limit = 10_000;
  beforeAll(async () => {
    app = await createTestApp({ limits: { ...base.limits, maxRequestBytes: limit } });
    key = (await app.newShop('Body')).secretKey;
    server = createServer(app.app.yoga);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((r) => server?.close(r));
    await app?.close();
  });

  /** Sends `head` (request line and headers) and `body` as written, and reads the whole answer. */
  const raw = (head: string[], body: string[] = []) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const s = connect(port, '127.0.0.1');
      let text = '';
      s.on('data', (d) => {
        text += d.toString();
      });
      s.on('error', reject);
      s.on('close', () => resolve({ status: Number(text.split(' ')[1]), body: text.slice(text.indexOf('\r\n\r\n') + 4) }));
      s.write(`${[...head, `authorization: Bearer ${key}`, 'content-type: application/json', 'connection: close'].join('\r\n')}\r\n\r\n`);
      for (const b of body) s.write(b);
      // Not ended: `connection: close` has the server close the socket after its answer.
    });
  const query = JSON.stringify({ query: '{ customers(first: 1) { totalCount } }' });
  const chunk = (s: string) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;

  it('answers a body within the limit, with Content-Length and chunked', async () => {
    const sized = await raw(['POST /graphql HTTP/1.1', 'host: x', `content-length: ${Buffer.byteLength(query)}`], [query]);
    expect(sized.status, JSON.stringify(sized)).toBe(200);
    const chunked = await raw(['POST /graphql HTTP/1.1', 'host: x', 'transfer-encoding: chunked'], [chunk(query), '0\r\n\r\n']);
    expect(chunked.status, chunked.body).toBe(200);
    expect(chunked.body).toContain('"totalCount":0');
  });

  it('refuses a larger Content-Length with 413 PAYLOAD_TOO_LARGE before reading the body', async () => {
    const res = await raw(['POST /graphql HTTP/1.1', 'host: x', `content-length: ${limit + 1}`]);
    expect(res.status).toBe(413);
    expect(res.body).toContain('"code":"PAYLOAD_TOO_LARGE"');
    expect(res.body).toContain(`"maxBytes":${limit}`);
  });

  it('refuses a chunked body that grows past the limit with 413 PAYLOAD_TOO_LARGE', async () => {
    const big = JSON.stringify({ query: '{ customers(first: 1) { totalCount } }', variables: { pad: 'x'.repeat(limit) } });
    const res = await raw(
      ['POST /graphql HTTP/1.1', 'host: x', 'transfer-encoding: chunked'],
      [chunk(big.slice(0, 6000)), chunk(big.slice(6000)), '0\r\n\r\n'],
    );
    expect(res.status).toBe(413);
    expect(res.body).toContain('"code":"PAYLOAD_TOO_LARGE"');
  });

  it('refuses a Content-Length that is not one byte count (400), never INTERNAL', async () => {
    // Node's parser refuses these on the wire (400) before Yoga sees them ...
    for (const lengths of [['abc'], [`${query.length}`, `${query.length}`], ['-1']]) {
      const res = await raw(['POST /graphql HTTP/1.1', 'host: x', ...lengths.map((l) => `content-length: ${l}`)], [query]);
      expect(res.status, lengths.join()).toBe(400);
    }
    // The body check trusts Content-Length because Node's parser refuses it beside Transfer-Encoding (a smuggling shape) ...
    const both = await raw(
      ['POST /graphql HTTP/1.1', 'host: x', `content-length: ${query.length}`, 'transfer-encoding: chunked'],
      [`${Buffer.byteLength(query).toString(16)}\r\n${query}\r\n`, '0\r\n\r\n'],
    );
    expect(both.status).toBe(400);
    // ... and the plugin refuses them from any other caller of the handler (here Yoga's fetch, in process).
    const res = await app.app.yoga.fetch('http://test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'content-length': '12, 12' },
      body: query,
    });
    expect(res.status).toBe(400);
    expect(await codesOf(res)).toEqual(['VALIDATION_FAILED']);
  });
});
