import { randomBytes } from 'node:crypto';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app.ts';
import { loadConfig } from '../config.ts';
import { createLogger } from '../logger.ts';
import { createShop } from '../modules/shops/shop.service.ts';
import { createTestDatabase, type TestDatabase } from '../testing.ts';

/** OpenTelemetry: one trace per request, the GraphQL operation and Prisma's SQL spans under it (in-memory exporter). */
const exporter = new InMemorySpanExporter();
let db: TestDatabase;
let app: ReturnType<typeof buildApp>;
let key: string;

beforeAll(async () => {
  db = await createTestDatabase();
  key = (await createShop(db.prisma, { name: 'Traced' })).secretKey;
  // Every request reads the database here (no cached count): each trace must show its SQL spans.
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', WEBHOOKS: '0', COUNT_CACHE_MS: '0' });
  app = buildApp({
    config,
    database: db,
    logger: createLogger('silent'),
    tokenSecret: randomBytes(32).toString('hex'),
    spanExporter: exporter,
  });
});
afterAll(async () => {
  await app.stop();
  await db.close();
});

describe('traces', () => {
  it('one trace per request: HTTP server span > GraphQL operation span > the SQL spans from Prisma', async () => {
    exporter.reset();
    for (const name of ['First', 'Second']) {
      const res = await app.yoga.fetch('http://test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query: `query ${name} { customers(first: 1) { totalCount } }` }),
      });
      expect(res.status).toBe(200);
    }
    const spans = exporter.getFinishedSpans();
    const roots = spans.filter((s) => s.name === 'POST /graphql');
    expect(roots).toHaveLength(2);
    const traceIds = new Set(roots.map((r) => r.spanContext().traceId));
    expect(traceIds.size).toBe(2);
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    const parentOf = (s: ReadableSpan) => byId.get(s.parentSpanContext?.spanId ?? '');
    const ancestors = (s: ReadableSpan) => {
      const out: ReadableSpan[] = [];
      for (let p = parentOf(s); p; p = parentOf(p)) out.push(p);
      return out;
    };
    for (const root of roots) {
      const inTrace = spans.filter((s) => s.spanContext().traceId === root.spanContext().traceId);
      const op = inTrace.find((s) => /^query\.(First|Second)$/.test(s.name));
      expect(op, inTrace.map((s) => s.name).join(', ')).toBeDefined();
      expect(ancestors(op!)).toContain(root);
      const sql = inTrace.filter((s) => s.name === 'prisma:engine:db_query' || s.name.includes('db_query'));
      expect(sql.length, inTrace.map((s) => s.name).join(', ')).toBeGreaterThan(0);
      // Every SQL statement of the request is in its trace; the resolvers' ones under the operation
      // (the API-key lookup runs before the operation, in the HTTP span).
      for (const s of sql) expect(ancestors(s)).toContain(root);
      expect(sql.filter((s) => ancestors(s).includes(op!)).length).toBeGreaterThan(0);
    }
  });
});
