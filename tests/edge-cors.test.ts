import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../packages/server/src/testing.ts';

/** CORS per publishable key, secret keys refused from browsers, no credentials echo, security headers. */
let app: TestApp;
let shop: Awaited<ReturnType<TestApp['newShop']>>;
let restricted: string;

const send = (headers: Record<string, string>, method = 'POST') =>
  app.app.yoga.fetch('http://test/graphql', {
    method,
    headers: method === 'POST' ? { 'content-type': 'application/json', ...headers } : headers,
    body: method === 'POST' ? JSON.stringify({ query: '{ __typename }' }) : undefined,
  });

beforeAll(async () => {
  app = await createTestApp();
  shop = await app.newShop('CORS');
  const r = await app.gql(shop.secretKey)<{ createApiKey: { key: string; apiKey: { allowedOrigins: string[] } } }>(
    `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { ... on CreatedApiKey { key apiKey { allowedOrigins } } } }`,
    { i: { kind: 'PUBLISHABLE', name: 'storefront', allowedOrigins: ['https://shop.example', 'https://www.shop.example/'] } },
  );
  expect(r.data?.createApiKey.apiKey.allowedOrigins).toEqual(['https://shop.example', 'https://www.shop.example']);
  restricted = r.data!.createApiKey.key;
});
afterAll(() => app.close());

describe('CORS', () => {
  it('a publishable key with allowed origins: its origins get Access-Control-Allow-Origin, others are refused (403), never credentials', async () => {
    const ok = await send({ origin: 'https://shop.example', authorization: `Bearer ${restricted}` });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(ok.headers.get('access-control-allow-credentials')).toBeNull();
    const evil = await send({ origin: 'http://evil.example', authorization: `Bearer ${restricted}` });
    expect(evil.status).toBe(403);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    expect(((await evil.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('FORBIDDEN');
  });

  it('a publishable key without a list may be used from any origin, without credentials', async () => {
    const r = await send({ origin: 'https://any.example', authorization: `Bearer ${shop.publishableKey}` });
    expect(r.status).toBe(200);
    expect(r.headers.get('access-control-allow-origin')).toBe('https://any.example');
    expect(r.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('secret keys are refused from browsers (Origin header); servers (no Origin) are unaffected', async () => {
    const r = await send({ origin: 'https://shop.example', authorization: `Bearer ${shop.secretKey}` });
    expect(r.status).toBe(403);
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
    expect((await send({ authorization: `Bearer ${shop.secretKey}` })).status).toBe(200);
  });

  it('preflight answers without credentials', async () => {
    const r = await send({ origin: 'https://shop.example', 'access-control-request-method': 'POST' }, 'OPTIONS');
    expect(r.status).toBeLessThan(300);
    expect(r.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(r.headers.get('access-control-allow-credentials')).toBeNull();
    expect(r.headers.get('access-control-allow-headers')).toContain('x-customer-token');
  });

  it('origins are validated when the key is created', async () => {
    const r = await app.gql(shop.secretKey)<{ createApiKey: { __typename: string; path: string[] } }>(
      `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { __typename ... on Error { path } } }`,
      { i: { kind: 'PUBLISHABLE', name: 'bad', allowedOrigins: ['https://shop.example/path'] } },
    );
    expect(r.data?.createApiKey).toEqual({ __typename: 'ValidationError', path: ['input', 'allowedOrigins', '0'] });
  });
});

describe('security headers', () => {
  it('are on every response (GraphQL, errors, health)', async () => {
    for (const res of [
      await send({}),
      await send({ authorization: 'Bearer sk_live_unknownunknownunknown' }),
      await app.app.yoga.fetch('http://test/livez'),
    ]) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    }
  });
});
