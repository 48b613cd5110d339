import { randomBytes } from 'node:crypto';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { createShop } from './modules/shops/shop.service.ts';
import { createTestDatabase, type TestDatabase } from './testing.ts';

let db: TestDatabase;
let keys: { secretKey: string; publishableKey: string };
const logLines: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  keys = await createShop(db.prisma, { name: 'App Shop' });
});
afterAll(() => db.close());

function makeApp(env: Record<string, string> = {}) {
  const config = loadConfig({ NODE_ENV: 'development', PORT: '0', LOG_LEVEL: 'info', ...env });
  return buildApp({
    config,
    database: db,
    logger: createLogger('info', (l) => logLines.push(l)),
    tokenSecret: randomBytes(32).toString('hex'),
  });
}

const post = (url: string, query: string, key?: string, variables?: unknown) =>
  fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });

describe('buildApp', () => {
  it('serves GraphQL over HTTP and WebSocket on one port, health and GraphiQL, then stops', async () => {
    const app = makeApp();
    const url = await app.start();
    try {
      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok', database: 'up' });

      const graphiql = await fetch(`${url}/graphql`, { headers: { accept: 'text/html' } });
      expect(await graphiql.text()).toContain('GraphiQL');

      const res = await post(url, '{ viewer { keyKind scopes } }', keys.secretKey);
      expect(await res.json()).toMatchObject({ data: { viewer: { keyKind: 'SECRET' } } });

      const client = createClient({
        url: `${url.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${keys.secretKey}` },
        retryAttempts: 0,
      });
      const viaWs = await new Promise<unknown>((resolve, reject) => {
        let result: unknown;
        client.subscribe(
          { query: '{ viewer { keyKind } shop { name } }' },
          { next: (v) => (result = v), error: reject, complete: () => resolve(result) },
        );
      });
      // Queries over WebSocket are charged to the key's cost budget too (extensions.cost).
      expect(viaWs).toMatchObject({
        data: { viewer: { keyKind: 'SECRET' }, shop: { name: 'App Shop' } },
        extensions: { cost: { requestedQueryCost: 4 } },
      });
      await client.dispose();
    } finally {
      await app.stop();
    }
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });

  it('closes WebSocket connections with bad credentials (4403)', async () => {
    const app = makeApp();
    const url = await app.start();
    try {
      const closed = await new Promise<number>((resolve) => {
        const client = createClient({
          url: `${url.replace('http', 'ws')}/graphql`,
          webSocketImpl: WebSocket,
          connectionParams: { authorization: 'Bearer sk_live_notarealkeynotarealkeynotareal' },
          retryAttempts: 0,
          on: { closed: (e) => resolve((e as { code: number }).code) },
        });
        client.subscribe({ query: '{ viewer { keyKind } }' }, { next: () => {}, error: () => {}, complete: () => {} });
      });
      expect(closed).toBe(4403);
    } finally {
      await app.stop();
    }
  });

  it('lets in-flight requests finish on stop', async () => {
    const app = makeApp();
    const url = await app.start();
    // Stop only once the server has the request (a fixed delay raced the connection on busy machines).
    const received = new Promise((r) => app.httpServer()?.once('request', r));
    const inFlight = post(url, '{ customers(first: 5) { totalCount } }', keys.secretKey);
    await received;
    await app.stop();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ data: { customers: { totalCount: 0 } } });
  });

  it('hides GraphiQL outside development', async () => {
    const app = makeApp({ NODE_ENV: 'production' });
    const url = await app.start();
    try {
      const page = await fetch(`${url}/graphql`, { headers: { accept: 'text/html' } });
      expect(await page.text()).not.toContain('GraphiQL');
    } finally {
      await app.stop();
    }
  });

  it('logs structured lines with ids and codes, never customer data', async () => {
    const app = makeApp();
    const url = await app.start();
    logLines.length = 0;
    try {
      await post(url, 'mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { __typename } }', keys.secretKey, {
        i: { email: 'private.person@example.com', firstName: 'Privatus', phone: '+4915111122233' },
      });
    } finally {
      await app.stop();
    }
    const lines = logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.some((l) => l.msg === 'graphql' && typeof l.requestId === 'string' && typeof l.shopId === 'string')).toBe(true);
    const all = logLines.join('\n');
    expect(all).not.toContain('private.person');
    expect(all).not.toContain('Privatus');
    expect(all).not.toContain('4915111122233');
    expect(all).not.toContain(keys.secretKey);
  });
});

describe('unexpected errors', () => {
  it('are masked with a code and an error id, and logged with that id', async () => {
    const broken = await createTestDatabase();
    const shop = await createShop(broken.prisma, { name: 'Doomed' });
    const config = loadConfig({ NODE_ENV: 'production', PORT: '0', LOG_LEVEL: 'silent' });
    const errors: string[] = [];
    const app = buildApp({ config, database: broken, logger: createLogger('error', (l) => errors.push(l)), tokenSecret: 'x'.repeat(32) });
    const url = await app.start();
    try {
      // Sabotage the database underneath the app.
      await broken.sql.exec('DROP TABLE "Customer" CASCADE');
      const res = await post(url, '{ customers(first: 5) { totalCount edges { node { id } } } }', shop.secretKey);
      const body = (await res.json()) as { errors: { message: string; extensions: { code: string; errorId: string } }[] };
      expect(body.errors[0]?.extensions.code).toBe('INTERNAL');
      expect(body.errors[0]?.extensions.errorId).toMatch(/^[0-9a-f-]{36}$/);
      expect(body.errors[0]?.message).not.toMatch(/Customer|relation|table|prisma/i);
      expect(errors.join('\n')).toContain(body.errors[0]?.extensions.errorId);
    } finally {
      await app.stop();
      await broken.close();
    }
  });
});
