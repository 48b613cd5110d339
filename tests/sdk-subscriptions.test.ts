import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CrmAuthError, CrmGraphQLError, createCrmClient } from '../packages/sdk/src/index.ts';
import { buildApp } from '../packages/server/src/app.ts';
import { forShop } from '../packages/server/src/db/tenant.ts';
import { createLogger } from '../packages/server/src/logger.ts';
import { SYSTEM } from '../packages/server/src/modules/follow-ups/follow-up.policy.ts';
import { createFollowUp } from '../packages/server/src/modules/follow-ups/follow-up.service.ts';
import { createTestApp, globalId, type TestApp } from '../packages/server/src/testing.ts';

/** The SDK's subscriptions against a real server: order, resume, reconnect across a restart, auth. */
let t: TestApp;
let keys: { secretKey: string; publishableKey: string; shop: { id: string } };
let port: number;

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });

beforeAll(async () => {
  port = await freePort();
  t = await createTestApp({ port });
  keys = await t.newShop('Live');
  await t.app.start();
});
afterAll(() => t.close());

const capture = async (email: string) => {
  const r = await t.gql(keys.publishableKey)('mutation($i: CaptureLeadInput!) { captureLead(input: $i) { __typename } }', {
    i: { email, firstName: 'Live' },
  });
  expect(r.data?.captureLead).toEqual({ __typename: 'CaptureLeadPayload' });
};

/** Takes n items from an async iterable, then stops it. */
async function take<T>(it: AsyncIterable<T>, n: number, during?: () => Promise<void>): Promise<T[]> {
  const out: T[] = [];
  const iterator = it[Symbol.asyncIterator]();
  const pending = during?.();
  while (out.length < n) {
    const r = await iterator.next();
    if (r.done) break;
    out.push(r.value);
  }
  await iterator.return?.();
  await pending;
  return out;
}

describe('SDK subscriptions', () => {
  it('streams new leads in order and resumes from the last id', async () => {
    const crm = createCrmClient({ url: `http://127.0.0.1:${port}/graphql`, apiKey: keys.secretKey, webSocketImpl: WebSocket });
    try {
      // From the start of the (new) shop's history: the captures below cannot be missed however
      // long the subscription takes to go live on a loaded machine.
      const stream = crm.subscriptions.leadCreated({ after: '0' });
      const first = await take(stream, 2, async () => {
        await new Promise((r) => setTimeout(r, 300));
        await capture('one@live.example');
        await capture('two@live.example');
      });
      expect(first.map((e) => e.type)).toEqual(['LEAD_CAPTURED', 'LEAD_CAPTURED']);
      expect(Number(first[1]!.id)).toBeGreaterThan(Number(first[0]!.id));
      await capture('three@live.example');
      // Resuming after the first event replays the second and third.
      const resumed = await take(crm.subscriptions.leadCreated({ after: first[0]!.id }), 2);
      expect(resumed[0]!.id).toBe(first[1]!.id);
      expect(resumed[1]!.customer?.displayName).toBe('Live');
    } finally {
      await crm.close();
    }
  });

  it('reconnects after a server restart and delivers what happened meanwhile, once', async () => {
    const crm = createCrmClient({
      url: `http://127.0.0.1:${port}/graphql`,
      apiKey: keys.secretKey,
      webSocketImpl: WebSocket,
      retryDelayMs: 50,
      maxRetryDelayMs: 300,
    });
    const got: string[] = [];
    const iterator = crm.subscriptions.events({ types: ['LEAD_CAPTURED'] })[Symbol.asyncIterator]();
    try {
      const firstP = iterator.next();
      await new Promise((r) => setTimeout(r, 300));
      await capture('before@live.example');
      got.push((await firstP).value!.id);
      // Restart: a new app on the same port and database; a lead arrives while it is down.
      await t.app.stop();
      await capture('during@live.example');
      const second = buildApp({
        config: t.config,
        database: t.db,
        logger: createLogger('silent'),
        tokenSecret: randomBytes(32).toString('hex'),
      });
      await second.start();
      try {
        got.push((await iterator.next()).value!.id);
        await capture('after@live.example');
        got.push((await iterator.next()).value!.id);
      } finally {
        await iterator.return?.();
        await second.stop();
      }
      await t.app.start();
    } finally {
      await crm.close();
    }
    expect(new Set(got).size).toBe(3);
    expect(got.map(Number)).toEqual([...got.map(Number)].sort((a, b) => a - b));
  });

  it('ends with CrmAuthError for a publishable key or a bad key (no retry loop)', async () => {
    const url = `http://127.0.0.1:${port}/graphql`;
    for (const apiKey of [keys.publishableKey, `sk_live_${'x'.repeat(32)}`]) {
      const crm = createCrmClient({ url, apiKey, webSocketImpl: WebSocket });
      try {
        await expect(take(crm.subscriptions.leadCreated(), 1)).rejects.toBeInstanceOf(CrmAuthError);
      } finally {
        await crm.close();
      }
    }
  });

  it('followUpDue(assigneeId) streams due follow-ups; resuming from pruned history ends with EVENTS_EXPIRED', async () => {
    const crm = createCrmClient({ url: `http://127.0.0.1:${port}/graphql`, apiKey: keys.secretKey, webSocketImpl: WebSocket });
    const db = forShop(t.db.prisma, keys.shop.id);
    try {
      const staff = await db.staffUser.create({ data: { email: 'due@live.example', name: 'Due', role: 'AGENT' } as never });
      const c = await db.customer.findFirstOrThrow({ orderBy: { createdAt: 'asc' } });
      const due = await take(crm.subscriptions.followUpDue(globalId('StaffUser', staff.id)), 1, async () => {
        await new Promise((r) => setTimeout(r, 300));
        await createFollowUp(db, SYSTEM, { customerId: c.id, dueAt: new Date(Date.now() - 1000) }); // unassigned: not this stream
        const f = await createFollowUp(db, SYSTEM, { customerId: c.id, dueAt: new Date(Date.now() - 1000), assigneeId: staff.id });
        await t.app.followUpDue.tick();
        expect(f.id).toBeTruthy();
      });
      expect(due[0]?.type).toBe('FOLLOW_UP_DUE');
      expect(due[0]?.payload).toMatchObject({ assigneeId: globalId('StaffUser', staff.id) });
      // Prune everything but the newest event, then resume from the oldest id: told to resync.
      const oldest = await db.event.findFirstOrThrow({ orderBy: { id: 'asc' } });
      await t.db.prisma.event.updateMany({ where: { shopId: keys.shop.id }, data: { createdAt: new Date(Date.now() - 400 * 86_400_000) } });
      await t.app.retention.tick();
      const err = await take(crm.subscriptions.events({}, { after: oldest.id.toString() }), 1).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CrmGraphQLError);
      expect((err as CrmGraphQLError).code).toBe('EVENTS_EXPIRED');
    } finally {
      await crm.close();
    }
  });
});
