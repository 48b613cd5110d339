import { randomBytes } from 'node:crypto';
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
