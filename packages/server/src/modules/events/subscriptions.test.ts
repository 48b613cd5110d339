import { randomBytes } from 'node:crypto';
import { type Client, createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type App, buildApp } from '../../app.ts';
import { loadConfig } from '../../config.ts';
import { type Database, openDatabase } from '../../db/database.ts';
import { forShop } from '../../db/tenant.ts';
import { createLogger } from '../../logger.ts';
import { schema } from '../../schema.ts';
import { createTestDatabase, globalId, type TestDatabase, testBackend } from '../../testing.ts';
import { createApiKey } from '../auth/api-key.service.ts';
import * as customers from '../customers/customer.service.ts';
import { SYSTEM } from '../follow-ups/follow-up.policy.ts';
import { createFollowUp } from '../follow-ups/follow-up.service.ts';
import { captureLead } from '../interactions/storefront.service.ts';
import { type CreatedShop, createShop } from '../shops/shop.service.ts';
import { EventBus } from './event-bus.ts';
import { redisDoorbell } from './redis-doorbell.ts';

/**
 * Real-time subscriptions over graphql-ws and SSE, read from the Event outbox: ordering, resume
 * (killed connection, server restart), tenant isolation, auth, and two instances on one database.
 */
let db: TestDatabase;
let A: CreatedShop;
let B: CreatedShop;
const apps: App[] = [];
const tokenSecret = randomBytes(32).toString('hex');

function makeApp(database: Database = db, env: Record<string, string> = {}) {
  const config = loadConfig({ NODE_ENV: 'test', PORT: '0', LOG_LEVEL: 'silent', ...env });
  const app = buildApp({ config, database, logger: createLogger('silent'), tokenSecret });
  apps.push(app);
  return app;
}

beforeAll(async () => {
  db = await createTestDatabase();
  A = await createShop(db.prisma, { name: `Sub A ${randomBytes(3).toString('hex')}` });
  B = await createShop(db.prisma, { name: `Sub B ${randomBytes(3).toString('hex')}` });
});
afterAll(async () => {
  for (const a of apps) await a.stop();
  await db.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor(cond: () => boolean, what: string, ms = 20_000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await sleep(20);
  }
}

const actor = { staffId: null };
const dbA = () => forShop(db.prisma, A.shop.id);
/** A buyer (not a lead: one CUSTOMER_CREATED, no LEAD_CAPTURED). */
const newCustomer = (shop = dbA(), n = randomBytes(4).toString('hex')) =>
  customers.createCustomer(shop, actor, { email: `c${n}@example.com`, firstName: `C${n}`, stage: 'FIRST_PURCHASE' });
/** All event ids of a shop after `after`, from the table. */
const tableIds = async (shopId: string, after = 0n) =>
  (await db.prisma.event.findMany({ where: { shopId, id: { gt: after } }, orderBy: { id: 'asc' }, select: { id: true } })).map((e) =>
    e.id.toString(),
  );

type Ev = { id: string; type: string; occurredAt: string; payload: Record<string, unknown>; customer: { id: string } | null };
const EVENT_FIELDS = 'id type occurredAt payload customer { id }';

type Sub = { events: Ev[]; errors: unknown[]; done: boolean; client: Client; closeCode: number | null; dispose(): Promise<void> };

/** A graphql-ws subscription collecting what it receives. */
function wsSubscribe(url: string, key: string, query: string, variables: Record<string, unknown> = {}): Sub {
  const sub: Sub = {
    events: [],
    errors: [],
    done: false,
    closeCode: null,
    client: createClient({
      url: `${url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: key ? { authorization: `Bearer ${key}` } : {},
      retryAttempts: 0,
      lazy: true,
      on: {
        closed: (e) => {
          sub.closeCode = (e as { code: number }).code;
        },
      },
    }),
    dispose: async () => {
      await sub.client.dispose();
    },
  };
  sub.client.subscribe(
    { query, variables },
    {
      next: (v) => {
        if (v.errors) sub.errors.push(...v.errors);
        const d = v.data as Record<string, Ev> | undefined;
        const e = d && Object.values(d)[0];
        if (e) sub.events.push(e);
      },
      error: (e) => {
        sub.errors.push(e);
        sub.done = true;
      },
      complete: () => {
        sub.done = true;
      },
    },
  );
  return sub;
}

/** Waits until the subscription is live on the server (its stream registered with the bus). */
async function live(app: App, shopId: string, n = 1) {
  await waitFor(
    () => ((app.services.events as unknown as { tails: Map<string, { subs: Set<unknown> }> }).tails.get(shopId)?.subs.size ?? 0) >= n,
    'subscriber to go live',
  );
}

const EVENTS = `subscription($after: ID, $types: [EventType!]) { events(after: $after, types: $types) { ${EVENT_FIELDS} } }`;

describe('outbox', () => {
  it('every change writes its event in the same transaction', async () => {
    const s = dbA();
    const before = (await tableIds(A.shop.id)).at(-1) ?? '0';
    const types = async () =>
      (await db.prisma.event.findMany({ where: { shopId: A.shop.id, id: { gt: BigInt(before) } }, orderBy: { id: 'asc' } })).map(
        (e) => e.type,
      );
    // A lead created through the API is a LEAD_CAPTURED too (origin "api").
    const c = await customers.createCustomer(s, actor, { email: `lead-${randomBytes(4).toString('hex')}@example.com` });
    await customers.updateCustomer(s, actor, c.id, null, { lastName: 'Smith' });
    await customers.tagCustomer(s, c.id, ['vip']);
    await customers.tagCustomer(s, c.id, ['vip']); // nothing changes: no event
    await customers.untagCustomer(s, c.id, ['vip']);
    await customers.archiveCustomer(s, c.id, true);
    await customers.archiveCustomer(s, c.id, false);
    await customers.setStage(s, actor, c.id, 'LOYAL', 'test', 'MANUAL', { force: true });
    const dup = await newCustomer(s);
    await customers.mergeCustomers(s, actor, c.id, dup.id);
    await customers.deleteCustomer(s, c.id);
    expect(await types()).toEqual([
      'CUSTOMER_CREATED',
      'LEAD_CAPTURED',
      'CUSTOMER_UPDATED',
      'CUSTOMER_UPDATED',
      'CUSTOMER_UPDATED',
      'CUSTOMER_UPDATED',
      'CUSTOMER_UPDATED',
      'STAGE_CHANGED',
      'CUSTOMER_CREATED',
      'CUSTOMER_MERGED',
      'CUSTOMER_DELETED',
      'CUSTOMER_REDACTED',
    ]);
    const stage = await db.prisma.event.findFirst({ where: { shopId: A.shop.id, type: 'STAGE_CHANGED' }, orderBy: { id: 'desc' } });
    expect(stage?.payload).toEqual({ customerId: globalId('Customer', c.id), from: 'PROSPECT', to: 'LOYAL', source: 'MANUAL' });
    expect(stage?.customerId).toBe(c.id);
    const lead = await db.prisma.event.findFirst({ where: { shopId: A.shop.id, type: 'LEAD_CAPTURED', customerId: c.id } });
    expect(lead?.payload).toEqual({ customerId: globalId('Customer', c.id), stage: 'PROSPECT', sourceChannel: null, origin: 'api' });
  });

  it('storefront leads, interactions and orders (with the automatic stage move) emit theirs', async () => {
    const s = dbA();
    const before = (await tableIds(A.shop.id)).at(-1) ?? '0';
    const lead = await captureLead(s, { via: 'storefront', tokenCustomerId: null }, { email: 'lead-outbox@example.com', message: 'hi' });
    const { upsertOrder } = await import('../orders/order.service.ts');
    await upsertOrder(s, actor, {
      customerId: lead.result.customerId,
      externalId: 'o-outbox-1',
      currency: 'EUR',
      items: [{ name: 'Thing', quantity: 1, unitPrice: '10.00' }],
    } as never);
    const rows = await db.prisma.event.findMany({ where: { shopId: A.shop.id, id: { gt: BigInt(before) } }, orderBy: { id: 'asc' } });
    expect(rows.map((r) => r.type)).toEqual([
      'CUSTOMER_CREATED',
      'LEAD_CAPTURED',
      'INTERACTION_RECORDED',
      'ORDER_RECORDED',
      'STAGE_CHANGED',
    ]);
    expect(rows[2]?.payload).toMatchObject({ type: 'INQUIRY', channel: 'WEB', direction: 'INBOUND', source: 'storefront' });
    expect(rows[4]?.payload).toMatchObject({ from: 'PROSPECT', to: 'FIRST_PURCHASE', source: 'AUTOMATIC' });
    // No personal data in payloads.
    expect(JSON.stringify(rows.map((r) => r.payload))).not.toContain('lead-outbox@example.com');
  });

  it('no event without its change, no change without its event: a failure after the event insert stores neither', async () => {
    // An AFTER INSERT trigger on Event fails the transaction once the event row is in (after the
    // customer, its stage history and the event were written).
    await db.sql.exec(`CREATE FUNCTION test_fail_event() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.payload->>'stage' = 'PARTNER' THEN RAISE EXCEPTION 'boom after the event insert'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER test_fail_event AFTER INSERT ON "Event" FOR EACH ROW EXECUTE FUNCTION test_fail_event();`);
    try {
      const before = await tableIds(A.shop.id);
      const count = await db.prisma.customer.count({ where: { shopId: A.shop.id } });
      await expect(customers.createCustomer(dbA(), actor, { email: 'never@example.com', stage: 'PARTNER' } as never)).rejects.toThrow(
        /boom/,
      );
      expect(await db.prisma.customer.count({ where: { shopId: A.shop.id } })).toBe(count);
      expect(await tableIds(A.shop.id)).toEqual(before);
      expect(await db.prisma.customer.findFirst({ where: { email: 'never@example.com' } })).toBeNull();
    } finally {
      await db.sql.exec('DROP TRIGGER test_fail_event ON "Event"; DROP FUNCTION test_fail_event();');
    }
  });
});

describe('event ids follow commit order per shop', () => {
  it.skipIf(testBackend() !== 'postgres')(
    'a second writer of the same shop waits for the first to commit and gets the larger id; another shop does not wait',
    async () => {
      const pg = (await import('pg')).default;
      const [c1, c2, c3] = [0, 1, 2].map(() => new pg.Client({ connectionString: db.url }));
      for (const c of [c1, c2, c3]) await c?.connect();
      const insert = (c: InstanceType<typeof pg.Client>, shopId: string) =>
        c.query<{ id: string }>(`INSERT INTO "Event" ("shopId", type, payload) VALUES ($1, 'CUSTOMER_UPDATED', '{}') RETURNING id`, [
          shopId,
        ]);
      try {
        await c1?.query('BEGIN');
        const first = (await insert(c1 as never, A.shop.id)).rows[0]?.id as string;
        await c2?.query('BEGIN');
        let secondDone = false;
        const second = insert(c2 as never, A.shop.id).then((r) => {
          secondDone = true;
          return r.rows[0]?.id as string;
        });
        // Another shop is not held up by A's open transaction.
        await c3?.query('BEGIN');
        await insert(c3 as never, B.shop.id);
        await c3?.query('ROLLBACK');
        await sleep(300);
        expect(secondDone).toBe(false);
        await c1?.query('COMMIT');
        const secondId = await second;
        await c2?.query('COMMIT');
        expect(BigInt(secondId)).toBeGreaterThan(BigInt(first));
      } finally {
        for (const c of [c1, c2, c3]) await c?.end();
      }
    },
  );
});

describe('subscriptions over graphql-ws', () => {
  it('delivers every event in order, concurrent writers included, with the customer loaded', async () => {
    const app = makeApp();
    const url = await app.start();
    const sub = wsSubscribe(url, A.secretKey, EVENTS);
    await live(app, A.shop.id);
    const start = (await tableIds(A.shop.id)).at(-1) ?? '0';
    const made = await Promise.all(Array.from({ length: 15 }, () => newCustomer()));
    const expected = await tableIds(A.shop.id, BigInt(start));
    expect(expected.length).toBe(15);
    await waitFor(() => sub.events.length >= 15, '15 events');
    expect(sub.events.map((e) => e.id)).toEqual(expected);
    expect(sub.events.every((e) => e.type === 'CUSTOMER_CREATED')).toBe(true);
    expect(new Set(sub.events.map((e) => e.customer?.id))).toEqual(new Set(made.map((c) => globalId('Customer', c.id))));
    expect(sub.errors).toEqual([]);
    await sub.dispose();
    await app.stop();
  });

  it('leadCreated, customerUpdated(id) and interactionRecorded(customerId) filter the stream', async () => {
    const app = makeApp();
    const url = await app.start();
    const c = await newCustomer();
    const cid = globalId('Customer', c.id);
    const leads = wsSubscribe(url, A.secretKey, `subscription { leadCreated { ${EVENT_FIELDS} } }`);
    const upd = wsSubscribe(url, A.secretKey, `subscription($id: ID!) { customerUpdated(id: $id) { ${EVENT_FIELDS} } }`, { id: cid });
    const ints = wsSubscribe(url, A.secretKey, `subscription($c: ID) { interactionRecorded(customerId: $c) { ${EVENT_FIELDS} } }`, {
      c: cid,
    });
    await live(app, A.shop.id, 3);
    const other = await newCustomer();
    await customers.updateCustomer(dbA(), actor, other.id, null, { lastName: 'Other' });
    await customers.updateCustomer(dbA(), actor, c.id, null, { lastName: 'Mine' });
    await customers.setStage(dbA(), actor, c.id, 'REPEAT');
    const lead = await captureLead(dbA(), { via: 'storefront', tokenCustomerId: null }, { email: 'sub-lead@example.com' });
    // A lead a rep or a partner creates through the API is a new lead too.
    const repLead = await customers.createCustomer(dbA(), actor, { email: 'rep-lead@example.com', stage: 'SUSPECT' });
    const { recordInteraction } = await import('../interactions/interaction.service.ts');
    await recordInteraction(dbA(), actor, { customerId: c.id, channel: 'PHONE', direction: 'OUTBOUND', type: 'FOLLOW_UP_CALL' } as never);
    await waitFor(() => leads.events.length >= 2 && upd.events.length >= 2 && ints.events.length >= 1, 'filtered events');
    await sleep(300);
    expect(leads.events.map((e) => [e.type, e.customer?.id, e.payload.origin])).toEqual([
      ['LEAD_CAPTURED', globalId('Customer', lead.result.customerId), 'lead-form'],
      ['LEAD_CAPTURED', globalId('Customer', repLead.id), 'api'],
    ]);
    expect(upd.events.map((e) => e.type)).toEqual(['CUSTOMER_UPDATED', 'STAGE_CHANGED']);
    expect(upd.events[0]?.payload).toMatchObject({ customerId: cid, fields: ['lastName'] });
    expect(ints.events.map((e) => [e.type, e.payload.type])).toEqual([['INTERACTION_RECORDED', 'FOLLOW_UP_CALL']]);
    for (const s of [leads, upd, ints]) await s.dispose();
    await app.stop();
  });

  it('resumes with `after` across a killed connection and a server restart: all ids, in order, no duplicates', async () => {
    let app = makeApp();
    let url = await app.start();
    const start = BigInt((await tableIds(A.shop.id)).at(-1) ?? '0');
    const got: string[] = [];
    let sub = wsSubscribe(url, A.secretKey, EVENTS, { after: start.toString() });
    await live(app, A.shop.id);
    for (let i = 0; i < 3; i++) await newCustomer();
    await waitFor(() => sub.events.length >= 3, 'first batch');
    // Kill the connection (the socket dies without a clean complete), change while disconnected.
    (sub.client as unknown as { terminate(): void }).terminate();
    got.push(...sub.events.map((e) => e.id));
    for (let i = 0; i < 3; i++) await newCustomer();
    sub = wsSubscribe(url, A.secretKey, EVENTS, { after: got.at(-1) });
    await live(app, A.shop.id);
    await newCustomer();
    await waitFor(() => sub.events.length >= 4, 'missed + live after reconnect');
    got.push(...sub.events.map((e) => e.id));
    // Server restart mid-stream: stop the app, write while it is down, a new app on the same database.
    await app.stop();
    await waitFor(() => sub.done || sub.closeCode !== null, 'the stream to end with the server');
    for (let i = 0; i < 2; i++) await newCustomer();
    app = makeApp();
    url = await app.start();
    sub = wsSubscribe(url, A.secretKey, EVENTS, { after: got.at(-1) });
    await live(app, A.shop.id);
    await newCustomer();
    await waitFor(() => sub.events.length >= 3, 'missed + live after restart');
    got.push(...sub.events.map((e) => e.id));
    await sleep(200);
    expect(got).toEqual(await tableIds(A.shop.id, start));
    expect(got.length).toBe(10);
    await sub.dispose();
    await app.stop();
  });

  it('isolation: shop B receives nothing of shop A (events, customerUpdated on A’s id, interactionRecorded)', async () => {
    const app = makeApp();
    const url = await app.start();
    const c = await newCustomer();
    const cid = globalId('Customer', c.id);
    const subs = [
      wsSubscribe(url, B.secretKey, EVENTS, { after: '0' }),
      wsSubscribe(url, B.secretKey, `subscription($id: ID!) { customerUpdated(id: $id, after: "0") { ${EVENT_FIELDS} } }`, { id: cid }),
      wsSubscribe(url, B.secretKey, `subscription($c: ID) { interactionRecorded(customerId: $c, after: "0") { ${EVENT_FIELDS} } }`, {
        c: cid,
      }),
      wsSubscribe(url, B.secretKey, `subscription { leadCreated(after: "0") { ${EVENT_FIELDS} } }`),
      wsSubscribe(url, B.secretKey, `subscription { followUpDue(after: "0") { ${EVENT_FIELDS} } }`),
    ];
    await live(app, B.shop.id, 5);
    await customers.updateCustomer(dbA(), actor, c.id, null, { lastName: 'A-only' });
    await customers.setStage(dbA(), actor, c.id, 'LOYAL', 'test', 'MANUAL', { force: true });
    await captureLead(dbA(), { via: 'storefront', tokenCustomerId: null }, { email: 'a-only-lead@example.com' });
    await createFollowUp(dbA(), SYSTEM, { customerId: c.id, dueAt: new Date(Date.now() - 1000) });
    expect((await app.followUpDue.tick()).notified).toBeGreaterThan(0);
    // Then one B change: the B stream is live, and it is the only thing B sees.
    const mine = await newCustomer(forShop(db.prisma, B.shop.id));
    await waitFor(() => (subs[0]?.events ?? []).some((e) => e.customer?.id === globalId('Customer', mine.id)), 'B’s own event');
    await sleep(500);
    const bIds = new Set(await tableIds(B.shop.id));
    for (const s of subs) {
      for (const e of s.events) expect(bIds.has(e.id)).toBe(true);
      expect(s.errors).toEqual([]);
    }
    expect(subs[1]?.events).toEqual([]);
    expect(subs[2]?.events).toEqual([]);
    expect(subs[3]?.events).toEqual([]);
    expect(subs[4]?.events).toEqual([]);
    for (const s of subs) await s.dispose();
    // importProgress polls the job through the shop's scoped client: shop A's job, asked for by B,
    // ends the stream at once with nothing; A itself gets it.
    const job = await db.prisma.importJob.create({ data: { shopId: A.shop.id, kind: 'CUSTOMERS', format: 'CSV', status: 'COMPLETED' } });
    const jobId = globalId('ImportJob', job.id);
    const IMPORT = 'subscription($id: ID!) { importProgress(id: $id) { id status } }';
    const bImport = wsSubscribe(url, B.secretKey, IMPORT, { id: jobId });
    const aImport = wsSubscribe(url, A.secretKey, IMPORT, { id: jobId });
    await waitFor(() => bImport.done && aImport.done, 'both import streams to end');
    expect(bImport.events).toEqual([]);
    expect(bImport.errors).toEqual([]);
    expect(aImport.events).toEqual([{ id: jobId, status: 'COMPLETED' }]);
    for (const s of [aImport, bImport]) await s.dispose();
    await app.stop();
    // Every Subscription field has a case above: adding one without an isolation case fails here.
    expect(Object.keys(schema.getSubscriptionType()?.getFields() ?? {}).sort()).toEqual([
      'churnRiskRaised',
      'customerUpdated',
      'events',
      'followUpDue',
      'importProgress',
      'interactionRecorded',
      'leadCreated',
      'segmentMembershipChanged',
      'tierChanged',
    ]);
  });

  it('auth: bad key closes the socket (4403); publishable key, missing scope and anonymous are refused', async () => {
    const app = makeApp();
    const url = await app.start();
    const bad = wsSubscribe(url, 'sk_live_notarealkeynotarealkeynotareal', EVENTS);
    await waitFor(() => bad.closeCode !== null, 'close');
    expect(bad.closeCode).toBe(4403);
    const { plainKey: noRead } = await createApiKey(dbA(), { kind: 'SECRET', name: 'writer', scopes: ['customers:write'] });
    const codes = async (key: string | null, query: string) => {
      const s = wsSubscribe(url, key ?? '', query);
      await waitFor(() => s.done, 'refusal');
      await s.dispose();
      return s.errors.map((e) => (e as { extensions?: { code?: string } }).extensions?.code);
    };
    expect(await codes(A.publishableKey, EVENTS)).toEqual(['FORBIDDEN']);
    expect(await codes(A.publishableKey, `subscription { leadCreated { id } }`)).toEqual(['FORBIDDEN']);
    expect(await codes(noRead, EVENTS)).toEqual(['FORBIDDEN']);
    expect(await codes(null, EVENTS)).toEqual(['UNAUTHENTICATED']);
    expect(await codes(A.secretKey, 'subscription { events(after: "x1") { id } }')).toEqual(['VALIDATION_FAILED']);
    await app.stop();
  });
});

/** Reads an SSE response until `n` events arrived (or the stream ends). */
async function readSse(res: Response, n: number, ms = 20_000): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const dec = new TextDecoder();
  let buf = '';
  const end = Date.now() + ms;
  while (out.length < n && Date.now() < end) {
    const { value, done } = await Promise.race([
      reader.read(),
      sleep(Math.max(0, end - Date.now())).then(() => ({ value: undefined, done: true })),
    ]);
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i = buf.indexOf('\n\n');
    while (i >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trim())
        .join('\n');
      if (data) out.push(JSON.parse(data));
      i = buf.indexOf('\n\n');
    }
  }
  await reader.cancel().catch(() => undefined);
  return out;
}

describe('subscriptions over SSE', () => {
  it('streams events with accept: text/event-stream; publishable keys get FORBIDDEN', async () => {
    const app = makeApp();
    const start = (await tableIds(A.shop.id)).at(-1) ?? '0';
    const sse = (key: string, query: string, variables?: unknown) =>
      app.yoga.fetch('http://test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query, variables }),
      });
    const res = await sse(A.secretKey, EVENTS, { after: start });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reading = readSse(res, 2);
    await newCustomer();
    await newCustomer();
    const got = await reading;
    expect(got.map((m) => (m.data as { events: Ev }).events.id)).toEqual(await tableIds(A.shop.id, BigInt(start)));
    const refused = await readSse(await sse(A.publishableKey, EVENTS), 1);
    const refusedErrors = (refused[0]?.errors ?? []) as { extensions: { code: string } }[];
    expect(refusedErrors.map((e) => e.extensions.code)).toEqual(['FORBIDDEN']);
    await app.stop();
  });
});

describe('multiple instances', () => {
  it.skipIf(testBackend() !== 'postgres')(
    'a change through instance 1 reaches a subscriber on instance 2 (shared PostgreSQL)',
    async () => {
      const db2 = await openDatabase({ url: db.url as string, migrate: false, poolSize: 3 });
      try {
        const app1 = makeApp(db);
        const app2 = makeApp(db2);
        const url1 = await app1.start();
        const url2 = await app2.start();
        const sub = wsSubscribe(url2, A.secretKey, EVENTS);
        await live(app2, A.shop.id);
        const res = await fetch(`${url1}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${A.secretKey}` },
          body: JSON.stringify({
            query:
              'mutation { createCustomer(input: { email: "multi@example.com" }) { __typename ... on CreateCustomerSuccess { customer { id } } } }',
          }),
        });
        const body = (await res.json()) as { data: { createCustomer: { customer: { id: string } } } };
        await waitFor(() => sub.events.length >= 1, 'the event on instance 2', 30_000);
        expect(sub.events[0]?.customer?.id).toBe(body.data.createCustomer.customer.id);
        await sub.dispose();
        await app1.stop();
        await app2.stop();
      } finally {
        await db2.close();
      }
    },
  );

  it('Redis doorbell: a publish on one instance rings the others (skipped when Redis is not reachable)', async (ctx) => {
    const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    const net = await import('node:net');
    const reachable = await new Promise<boolean>((resolve) => {
      const u = new URL(redisUrl);
      const s = net.connect(Number(u.port || 6379), u.hostname);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (!reachable) return ctx.skip();
    const logger = createLogger('silent');
    const bell1 = redisDoorbell(redisUrl, logger);
    const bell2 = redisDoorbell(redisUrl, logger);
    const rung: string[] = [];
    const stop2 = await bell2.start((shopId) => rung.push(shopId));
    const shopId = A.shop.id;
    await waitFor(
      () => {
        bell1.publish?.(shopId);
        return rung.includes(shopId);
      },
      'the Redis bell',
      10_000,
    );
    await stop2();
    await bell1.close?.();
    // And end to end: with LISTEN silenced (a bus whose database cannot listen) and a long poll,
    // only Redis can wake the subscriber.
    const quiet: Database = { ...db, listen: async () => async () => {} };
    const bus = new EventBus({ database: quiet, logger, pollMs: 60_000, doorbells: [redisDoorbell(redisUrl, logger)] });
    const publisher = new EventBus({ database: quiet, logger, doorbells: [redisDoorbell(redisUrl, logger)] });
    const it = bus.stream(shopId, null);
    const first = it.next();
    await waitFor(() => (bus as unknown as { tails: Map<string, unknown> }).tails.has(shopId), 'live');
    const c = await newCustomer();
    publisher.published(shopId);
    const got = await first;
    expect(got.value?.customerId).toBe(c.id);
    await it.return?.();
    await bus.close();
    await publisher.close();
  });
});
