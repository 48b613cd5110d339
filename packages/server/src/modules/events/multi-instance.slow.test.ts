import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase, testBackend } from '../../testing.ts';
import { findRedis, type Instance, type Sub, sleep, startInstance, subscribe as subscribeTo, waitFor } from '../../testing-processes.ts';
import { type CreatedShop, createShop } from '../shops/shop.service.ts';

/**
 * Two server PROCESSES (src/main.ts, as `pnpm serve` runs it) on one PostgreSQL database and one
 * Redis. PostgreSQL LISTEN is switched off (EVENT_PG_LISTEN=0) and the safety poll set to 10
 * minutes, so an event committed by one process can reach a subscriber of the other within the
 * test's waits only through the Redis doorbell. Needs PostgreSQL (skipped under PGlite) and Redis:
 * REDIS_URL or 127.0.0.1:6379, else a redis-server started here on a free port when the binary
 * exists, else skipped with a notice (a failure when REQUIRE_REDIS=1, as in CI).
 */
type Lead = { id: string; customerId: string };

const subscribe = (url: string, key: string, after?: string): Sub<Lead> =>
  subscribeTo(url, key, 'subscription($after: ID) { leadCreated(after: $after) { id payload } }', { after }, (data) => {
    const e = (data as { leadCreated?: { id: string; payload: { customerId: string } } } | undefined)?.leadCreated;
    return e ? { id: e.id, customerId: e.payload.customerId } : null;
  });

async function captureLead(url: string, key: string): Promise<string> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({
      query: 'mutation($i: CaptureLeadInput!) { captureLead(input: $i) { __typename ... on CaptureLeadPayload { customer { id } } } }',
      variables: { i: { email: `m${randomBytes(5).toString('hex')}@example.com`, message: 'hi' } },
    }),
  });
  const body = (await res.json()) as { data?: { captureLead?: { customer?: { id: string } } } };
  const id = body.data?.captureLead?.customer?.id;
  if (!id) throw new Error(`captureLead failed: ${JSON.stringify(body)}`);
  return id;
}

const postgres = testBackend() === 'postgres';

// Skipped on PGlite: it is embedded in one process.
describe.skipIf(!postgres)('two server processes, one PostgreSQL, one Redis', () => {
  let db: TestDatabase;
  let shop: CreatedShop;
  let redis: Awaited<ReturnType<typeof findRedis>> = null;
  const instances: Instance[] = [];
  const subs: Sub<Lead>[] = [];

  beforeAll(async () => {
    redis = await findRedis();
    if (!redis) {
      if (process.env.REQUIRE_REDIS === '1') throw new Error('Redis is required (REQUIRE_REDIS=1) but neither reachable nor startable');
      console.warn('[tests] multi-instance test skipped: no Redis reachable and no redis-server binary to start one');
      return;
    }
    db = await createTestDatabase();
    shop = await createShop(db.prisma, { name: `Multi ${randomBytes(3).toString('hex')}` });
  });
  afterAll(async () => {
    for (const s of subs) await s.client.dispose();
    for (const i of instances) await i.stop();
    await db?.close();
    await redis?.stop();
  });

  it('leads captured through either instance reach a subscriber of the other via Redis, in order, once; resume after a restart misses nothing', async (ctx) => {
    if (!redis) return ctx.skip();
    const url = db.url as string;
    const [one, two] = await Promise.all([startInstance(url, redis.url), startInstance(url, redis.url)]);
    instances.push(one, two);
    const key = shop.secretKey;
    /** LEAD_CAPTURED ids in the table, in order. */
    const tableIds = async () =>
      (
        await db.prisma.event.findMany({
          where: { shopId: shop.shop.id, type: 'LEAD_CAPTURED' },
          orderBy: { id: 'asc' },
          select: { id: true },
        })
      ).map((e) => e.id.toString());

    // A subscriber on instance 1; leads through instance 2 (only Redis tells instance 1).
    // From the shop's first event (a fresh shop): the first lead may be read from the table when the
    // subscription starts; once the subscriber has it, it is live and only a bell brings the next.
    const sub = subscribe(one.url, key, '0');
    subs.push(sub);
    const warm = await captureLead(two.url, key);
    await waitFor(() => sub.events.some((e) => e.customerId === warm), 'the first lead through Redis');
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) sent.push(await captureLead(two.url, key));
    await waitFor(() => sub.events.length >= 6, 'leads captured through instance 2');

    // Instance 2 stops mid-stream; the stream goes on through instance 1.
    await two.stop();
    for (let i = 0; i < 4; i++) sent.push(await captureLead(one.url, key));
    await waitFor(() => sub.events.length >= 10, 'leads captured through instance 1');
    expect(sub.errors).toEqual([]);
    expect(sub.events.map((e) => e.customerId)).toEqual([warm, ...sent]);
    expect(sub.events.map((e) => e.id)).toEqual(await tableIds());

    // The subscriber drops; leads keep coming; it reconnects to a restarted instance 2 with `after`.
    await sub.client.dispose();
    const last = sub.events.at(-1)?.id as string;
    const missed: string[] = [];
    for (let i = 0; i < 3; i++) missed.push(await captureLead(one.url, key));
    const three = await startInstance(url, redis.url);
    instances.push(three);
    const resumed = subscribe(three.url, key, last);
    subs.push(resumed);
    await waitFor(() => resumed.events.length >= 3, 'the missed leads');
    // And live ones from instance 1 again reach instance 2 through Redis.
    for (let i = 0; i < 2; i++) missed.push(await captureLead(one.url, key));
    await waitFor(() => resumed.events.length >= 5, 'live leads after the resume');
    await sleep(300);
    expect(resumed.errors).toEqual([]);
    expect(resumed.events.map((e) => e.customerId)).toEqual(missed);
    const all = await tableIds();
    expect([...sub.events, ...resumed.events].map((e) => e.id)).toEqual(all);
  });
});
