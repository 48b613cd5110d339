import { randomBytes } from 'node:crypto';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { forShop, type ScopedDb } from '../../db/tenant.ts';
import { createTestApp, globalId, onPrismaQuery, planOf, type TestApp } from '../../testing.ts';
import * as customers from '../customers/customer.service.ts';
import { SYSTEM } from '../follow-ups/follow-up.policy.ts';
import * as followUps from '../follow-ups/follow-up.service.ts';
import { notifyDueFollowUps } from '../follow-ups/follow-up-due.ts';
import { deleteInteraction, recordInteraction, updateInteraction } from '../interactions/interaction.service.ts';
import type { CreatedShop } from '../shops/shop.service.ts';

/**
 * Real-time additions: the outbox events of interaction edits and follow-up changes, FOLLOW_UP_DUE
 * (once per due date, re-armed by rescheduling, one instance wins, per shop) with its
 * `followUpDue` subscription, and retention (pruning + EVENTS_EXPIRED on resume).
 */
let t: TestApp;
let url: string;
let A: CreatedShop;
let B: CreatedShop;
const actor = { staffId: null, source: 'api' } as const;
const DAY = 86_400_000;

beforeAll(async () => {
  t = await createTestApp();
  A = await t.newShop();
  B = await t.newShop();
  url = await t.app.start();
});
afterAll(() => t.close());

const scoped = (s: CreatedShop): ScopedDb => forShop(t.db.prisma, s.shop.id);
const lastId = async (s: CreatedShop) =>
  (await t.db.prisma.event.findFirst({ where: { shopId: s.shop.id }, orderBy: { id: 'desc' }, select: { id: true } }))?.id ?? 0n;
const eventsAfter = (s: CreatedShop, after: bigint) =>
  t.db.prisma.event.findMany({ where: { shopId: s.shop.id, id: { gt: after } }, orderBy: { id: 'asc' } });
const newCustomer = (s: CreatedShop) =>
  // A buyer, not a lead: one event (CUSTOMER_CREATED) per customer.
  customers.createCustomer(scoped(s), actor, {
    email: `c${randomBytes(4).toString('hex')}@example.com`,
    firstName: 'X',
    stage: 'FIRST_PURCHASE',
  });
const newStaff = (s: CreatedShop) =>
  scoped(s).staffUser.create({ data: { email: `s${randomBytes(4).toString('hex')}@example.com`, name: 'S', role: 'AGENT' } as never });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor(cond: () => boolean, what: string, ms = 20_000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await sleep(20);
  }
}

type Ev = { id: string; type: string; payload: Record<string, unknown> };
function subscribe(key: string, query: string, variables: Record<string, unknown> = {}) {
  const sub = { events: [] as Ev[], errors: [] as { message?: string; extensions?: { code?: string } }[] };
  const client = createClient({
    url: `${url.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${key}` },
    retryAttempts: 0,
  });
  client.subscribe(
    { query, variables },
    {
      next: (v) => {
        if (v.errors) sub.errors.push(...(v.errors as never[]));
        const e = v.data && (Object.values(v.data)[0] as Ev | undefined);
        if (e) sub.events.push(e);
      },
      error: (e) => sub.errors.push(...(Array.isArray(e) ? e : [e as never])),
      complete: () => {},
    },
  );
  return { ...sub, sub, dispose: () => client.dispose() };
}
const live = (n = 1, shopId = A.shop.id) =>
  waitFor(
    () => ((t.app.services.events as unknown as { tails: Map<string, { subs: Set<unknown> }> }).tails.get(shopId)?.subs.size ?? 0) >= n,
    'subscriber to go live',
  );

describe('outbox events of edits', () => {
  it('updateInteraction writes INTERACTION_UPDATED (changed fields) in its transaction', async () => {
    const c = await newCustomer(A);
    const i = await recordInteraction(scoped(A), actor, {
      customerId: c.id,
      channel: 'EMAIL',
      direction: 'INBOUND',
      type: 'MESSAGE',
    } as never);
    const before = await lastId(A);
    await updateInteraction(scoped(A), i.id, { subject: 'New subject', sentiment: 'POSITIVE' } as never);
    const rows = await eventsAfter(A, before);
    expect(rows.map((r) => r.type)).toEqual(['INTERACTION_UPDATED']);
    expect(rows[0]?.customerId).toBe(c.id);
    expect(rows[0]?.payload).toEqual({
      interactionId: globalId('Interaction', i.id),
      customerId: globalId('Customer', c.id),
      fields: ['sentiment', 'subject'],
    });
    // A failed update (unknown staff) writes nothing.
    await expect(updateInteraction(scoped(A), i.id, { staffId: '00000000-0000-4000-8000-000000000000' } as never)).rejects.toThrow();
    expect((await eventsAfter(A, before)).length).toBe(1);
  });

  it('deleteInteraction writes INTERACTION_DELETED', async () => {
    const c = await newCustomer(A);
    const i = await recordInteraction(scoped(A), actor, {
      customerId: c.id,
      channel: 'PHONE',
      direction: 'OUTBOUND',
      type: 'FOLLOW_UP_CALL',
    } as never);
    const before = await lastId(A);
    await deleteInteraction(scoped(A), i.id);
    const rows = await eventsAfter(A, before);
    expect(rows.map((r) => [r.type, r.customerId])).toEqual([['INTERACTION_DELETED', c.id]]);
    expect(rows[0]?.payload).toEqual({ interactionId: globalId('Interaction', i.id), customerId: globalId('Customer', c.id) });
  });

  it('updateFollowUp writes FOLLOW_UP_UPDATED (changed fields, assignee, due date)', async () => {
    const c = await newCustomer(A);
    const f = await followUps.createFollowUp(scoped(A), SYSTEM, { customerId: c.id, dueAt: new Date(Date.now() + DAY), goal: 'Call' });
    const before = await lastId(A);
    const due = new Date(Date.now() + 2 * DAY);
    await followUps.updateFollowUp(scoped(A), SYSTEM, f.id, null, { dueAt: due, goal: 'Call again' });
    const rows = await eventsAfter(A, before);
    expect(rows.map((r) => r.type)).toEqual(['FOLLOW_UP_UPDATED']);
    expect(rows[0]?.payload).toEqual({
      followUpId: globalId('FollowUp', f.id),
      customerId: globalId('Customer', c.id),
      assigneeId: null,
      dueAt: due.toISOString(),
      fields: ['dueAt', 'goal'],
    });
  });

  it('closing a follow-up writes FOLLOW_UP_CANCELLED or FOLLOW_UP_SKIPPED', async () => {
    const c = await newCustomer(A);
    const f1 = await followUps.createFollowUp(scoped(A), SYSTEM, { customerId: c.id, dueAt: new Date(Date.now() + DAY) });
    const f2 = await followUps.createFollowUp(scoped(A), SYSTEM, { customerId: c.id, dueAt: new Date(Date.now() + DAY) });
    const before = await lastId(A);
    await followUps.closeFollowUp(scoped(A), SYSTEM, f1.id, 'CANCELLED', 'not needed');
    await followUps.closeFollowUp(scoped(A), SYSTEM, f2.id, 'SKIPPED');
    const rows = await eventsAfter(A, before);
    expect(rows.map((r) => [r.type, (r.payload as { followUpId: string }).followUpId])).toEqual([
      ['FOLLOW_UP_CANCELLED', globalId('FollowUp', f1.id)],
      ['FOLLOW_UP_SKIPPED', globalId('FollowUp', f2.id)],
    ]);
  });
});

describe('FOLLOW_UP_DUE', () => {
  const dueEvents = async (s: CreatedShop, followUpId: string) =>
    (await t.db.prisma.event.findMany({ where: { shopId: s.shop.id, type: 'FOLLOW_UP_DUE' }, orderBy: { id: 'asc' } })).filter(
      (e) => (e.payload as { followUpId: string }).followUpId === globalId('FollowUp', followUpId),
    );

  it('fires once when the due date passes, also with two instances ticking at once; never for closed follow-ups', async () => {
    const c = await newCustomer(A);
    const staff = await newStaff(A);
    const dueAt = new Date(Date.now() + 60_000);
    const f = await followUps.createFollowUp(scoped(A), SYSTEM, { customerId: c.id, dueAt, assigneeId: staff.id });
    const closed = await followUps.createFollowUp(scoped(A), SYSTEM, { customerId: c.id, dueAt });
    await followUps.closeFollowUp(scoped(A), SYSTEM, closed.id, 'CANCELLED');
    // Not due yet.
    await t.app.followUpDue.tick(new Date(dueAt.getTime() - 1000));
    expect(await dueEvents(A, f.id)).toEqual([]);
    // Due: two "instances" (ticks on separate connections) race; exactly one event.
    const later = new Date(dueAt.getTime() + 1000);
    const more = [];
    for (let i = 0; i < 15; i++) more.push(await followUps.createFollowUp(scoped(A), SYSTEM, { customerId: c.id, dueAt }));
    const counts = await Promise.all([1, 2, 3].map(() => notifyDueFollowUps(scoped(A), later)));
    expect(counts.reduce((x, y) => x + y, 0)).toBe(16);
    for (const m of more) expect((await dueEvents(A, m.id)).length).toBe(1);
    await t.app.followUpDue.tick(new Date(dueAt.getTime() + 5000));
    const fired = await dueEvents(A, f.id);
    expect(fired.length).toBe(1);
    expect(fired[0]?.customerId).toBe(c.id);
    expect(fired[0]?.payload).toEqual({
      followUpId: globalId('FollowUp', f.id),
      customerId: globalId('Customer', c.id),
      assigneeId: globalId('StaffUser', staff.id),
      dueAt: dueAt.toISOString(),
      kind: 'SALES',
    });
    expect((await t.db.prisma.followUp.findUnique({ where: { id: f.id } }))?.dueNotifiedAt).toEqual(later);
    expect(await dueEvents(A, closed.id)).toEqual([]);
  });

  it('rescheduling re-arms it: fires again when the new due date passes', async () => {
    const c = await newCustomer(A);
    const f = await followUps.createFollowUp(scoped(A), SYSTEM, { customerId: c.id, dueAt: new Date(Date.now() - 1000) });
    await t.app.followUpDue.tick();
    expect((await dueEvents(A, f.id)).length).toBe(1);
    // Only the goal changes: still notified, nothing new.
    await followUps.updateFollowUp(scoped(A), SYSTEM, f.id, null, { goal: 'later' });
    await t.app.followUpDue.tick();
    expect((await dueEvents(A, f.id)).length).toBe(1);
    const next = new Date(Date.now() + DAY);
    await followUps.updateFollowUp(scoped(A), SYSTEM, f.id, null, { dueAt: next });
    await t.app.followUpDue.tick();
    expect((await dueEvents(A, f.id)).length).toBe(1);
    await t.app.followUpDue.tick(new Date(next.getTime() + 1));
    const fired = await dueEvents(A, f.id);
    expect(fired.length).toBe(2);
    expect(fired[1]?.payload).toMatchObject({ dueAt: next.toISOString() });
  });

  it('followUpDue(assigneeId) delivers its shop’s due follow-ups of that assignee; other shops see nothing', async () => {
    const c = await newCustomer(A);
    const mine = await newStaff(A);
    const other = await newStaff(A);
    const all = subscribe(A.secretKey, 'subscription { followUpDue { id type payload } }');
    const byAssignee = subscribe(A.secretKey, 'subscription($a: ID) { followUpDue(assigneeId: $a) { id type payload } }', {
      a: globalId('StaffUser', mine.id),
    });
    const shopB = subscribe(B.secretKey, 'subscription { followUpDue { id type payload } }');
    const bad = subscribe(A.secretKey, 'subscription { followUpDue(assigneeId: "nope") { id } }');
    await live(2);
    await live(1, B.shop.id);
    const past = new Date(Date.now() - 1000);
    const f1 = await followUps.createFollowUp(scoped(A), SYSTEM, { customerId: c.id, dueAt: past, assigneeId: mine.id });
    const f2 = await followUps.createFollowUp(scoped(A), SYSTEM, { customerId: c.id, dueAt: past, assigneeId: other.id });
    const cb = await newCustomer(B);
    const fb = await followUps.createFollowUp(scoped(B), SYSTEM, { customerId: cb.id, dueAt: past });
    await t.app.followUpDue.tick();
    await waitFor(() => all.sub.events.length >= 2 && byAssignee.sub.events.length >= 1 && shopB.sub.events.length >= 1, 'due events');
    await sleep(200);
    const ids = (s: { sub: { events: Ev[] } }) => s.sub.events.map((e) => (e.payload as { followUpId: string }).followUpId);
    expect(ids(all).sort()).toEqual([globalId('FollowUp', f1.id), globalId('FollowUp', f2.id)].sort());
    expect(ids(byAssignee)).toEqual([globalId('FollowUp', f1.id)]);
    expect(ids(shopB)).toEqual([globalId('FollowUp', fb.id)]);
    expect(all.sub.events.every((e) => e.type === 'FOLLOW_UP_DUE')).toBe(true);
    expect(bad.sub.errors[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    await Promise.all([all.dispose(), byAssignee.dispose(), shopB.dispose(), bad.dispose()]);
  });
});

describe('FOLLOW_UP_DUE query plan', () => {
  it('a tick reads only the due, not yet notified follow-ups (not the backlog of notified ones) off an index', async () => {
    // 300 overdue PLANNED follow-ups already notified (the backlog nobody acted on) and 3 not yet.
    const s = await t.newShop();
    const c = await newCustomer(s);
    const now = new Date();
    await t.db.prisma.$executeRaw`INSERT INTO "FollowUp" ("shopId", "customerId", "dueAt", "dueNotifiedAt", "updatedAt")
      SELECT ${s.shop.id}::uuid, ${c.id}::uuid, ${now}::timestamptz - make_interval(mins => g), CASE WHEN g > 3 THEN ${now}::timestamptz END, now()
      FROM generate_series(1, 303) g`;
    await t.db.prisma.$executeRawUnsafe('ANALYZE "FollowUp"');
    // The statement the tick's candidate read sends, observed through Prisma's query events.
    const seen: { query: string; params: unknown[] }[] = [];
    const stop = onPrismaQuery(t.db, (query, params) => {
      if (query.includes('"dueNotifiedAt" IS NULL') && query.startsWith('SELECT')) seen.push({ query, params });
    });
    try {
      expect(await notifyDueFollowUps(scoped(s), new Date(now.getTime() + 1000))).toBe(3);
    } finally {
      stop();
    }
    const read = seen[0] ?? expect.unreachable('the candidate read was not seen');
    const plan = await planOf(t.db, read.query, read.params);
    expect(plan).toMatch(/Index (Only )?Scan using "FollowUp_shopId_status_dueNotifiedAt_dueAt_id_idx"/);
    expect(plan).toMatch(/Index Cond: .*"dueNotifiedAt" IS NULL/);
  });
});

describe('retention', () => {
  it('prunes old events as a prefix (keeping the newest), finished deliveries and idempotency keys; resuming before the oldest kept is EVENTS_EXPIRED', async () => {
    const s = await t.newShop();
    const db = scoped(s);
    const first = await newCustomer(s);
    await newCustomer(s);
    await newCustomer(s);
    const all = await eventsAfter(s, 0n);
    expect(all.length).toBe(3);
    const [e1, e2, e3] = all as [(typeof all)[0], (typeof all)[0], (typeof all)[0]];
    const old = new Date(Date.now() - 40 * DAY);
    // e1 and e2 are 40 days old; e3 too, but it is the shop's newest and stays.
    await t.db.prisma.event.updateMany({ where: { shopId: s.shop.id }, data: { createdAt: old } });
    const ep = await db.webhookEndpoint.create({ data: { url: 'https://example.com/h', eventTypes: [], secret: 'whsec_x' } as never });
    const delivery = (eventId: bigint, status: 'SUCCEEDED' | 'FAILED' | 'PENDING') =>
      db.webhookDelivery.create({ data: { endpointId: ep.id, eventId, eventType: 'X', payload: {}, status, createdAt: old } as never });
    await delivery(e1.id, 'SUCCEEDED');
    await delivery(e2.id, 'FAILED');
    const pending = await delivery(e3.id, 'PENDING');
    await db.idempotencyKey.create({ data: { operation: 'op', key: 'k-old', requestHash: 'h', createdAt: old } as never });
    await db.idempotencyKey.create({ data: { operation: 'op', key: 'k-new', requestHash: 'h' } as never });
    // Shop A's events are recent: untouched.
    const aBefore = await t.db.prisma.event.count({ where: { shopId: A.shop.id } });

    const r = await t.app.retention.tick();
    expect(r.events).toBeGreaterThanOrEqual(2);
    expect((await eventsAfter(s, 0n)).map((e) => e.id)).toEqual([e3.id]);
    expect((await db.webhookDelivery.findMany({ select: { id: true } })).map((d) => d.id)).toEqual([pending.id]);
    expect((await db.idempotencyKey.findMany({ select: { key: true } })).map((k) => k.key)).toEqual(['k-new']);
    expect(await t.db.prisma.event.count({ where: { shopId: A.shop.id } })).toBe(aBefore);

    // A subscriber resuming after e1 (pruned: e2 is gone) is told to resync.
    const expired = subscribe(s.secretKey, 'subscription($after: ID) { events(after: $after) { id type } }', { after: e1.id.toString() });
    await waitFor(() => expired.sub.errors.length > 0, 'EVENTS_EXPIRED');
    expect(expired.sub.errors[0]?.extensions?.code).toBe('EVENTS_EXPIRED');
    expect(expired.sub.errors[0]?.message).toMatch(/resync/);
    // Resuming from the oldest kept event works and gets what follows.
    const ok = subscribe(s.secretKey, 'subscription($after: ID) { events(after: $after) { id type } }', { after: e3.id.toString() });
    await live(1, s.shop.id);
    await customers.updateCustomer(db, actor, first.id, null, { lastName: 'Later' });
    await waitFor(() => ok.sub.events.length >= 1, 'the next event');
    expect(ok.sub.events.map((e) => e.type)).toEqual(['CUSTOMER_UPDATED']);
    expect(ok.sub.errors).toEqual([]);
    await Promise.all([expired.dispose(), ok.dispose()]);
  });

  it('EVENT_RETENTION_DAYS=0 keeps everything', async () => {
    const keep = await createTestApp({ events: { ...t.config.events, retentionDays: 0 } });
    try {
      const s = await keep.newShop();
      await customers.createCustomer(forShop(keep.db.prisma, s.shop.id), actor, { email: 'k@example.com', stage: 'REPEAT' });
      await customers.createCustomer(forShop(keep.db.prisma, s.shop.id), actor, { email: 'k2@example.com', stage: 'REPEAT' });
      await keep.db.prisma.event.updateMany({ where: { shopId: s.shop.id }, data: { createdAt: new Date(Date.now() - 400 * DAY) } });
      expect(await keep.app.retention.tick()).toEqual({ events: 0, webhookDeliveries: 0, idempotencyKeys: 0 });
      expect(await keep.db.prisma.event.count({ where: { shopId: s.shop.id } })).toBe(2);
    } finally {
      await keep.close();
    }
  });
});

describe('open sockets whose credentials change', () => {
  const gql = async (key: string, query: string, variables?: Record<string, unknown>) =>
    (await (
      await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query, variables }),
      })
    ).json()) as { data?: Record<string, Record<string, unknown>>; errors?: unknown[] };
  function socket(params: Record<string, string>) {
    const state = { closedWith: null as number | null, errors: [] as unknown[] };
    const client = createClient({
      url: `${url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: params,
      retryAttempts: 0,
      on: { closed: (e) => (state.closedWith = (e as { code?: number }).code ?? -1) },
    });
    client.subscribe(
      { query: 'subscription { leadCreated { id } }' },
      { next: () => {}, error: (e) => state.errors.push(e), complete: () => {} },
    );
    return { state, dispose: () => client.dispose() };
  }

  it('a socket of a revoked key, or of a staff user deactivated or demoted, is closed with 4403; the others stay open', async () => {
    const s = await t.newShop();
    const created = (
      await gql(
        s.secretKey,
        'mutation { createApiKey(input: { kind: SECRET, name: "ws" }) { ... on CreatedApiKey { key apiKey { id } } } }',
      )
    ).data?.createApiKey as { key: string; apiKey: { id: string } };
    const staff = await gql(
      s.secretKey,
      'mutation($i: CreateStaffUserInput!) { createStaffUser(input: $i) { ... on CreateStaffUserSuccess { staffUser { id } } } }',
      { i: { name: 'Mia', email: `mia-${randomBytes(3).toString('hex')}@ws.test`, role: 'MANAGER' } },
    );
    const staffId = (staff.data?.createStaffUser as { staffUser: { id: string } } | undefined)?.staffUser.id as string;
    const revoked = socket({ authorization: `Bearer ${created.key}` });
    const demoted = socket({ authorization: `Bearer ${s.secretKey}`, 'x-crm-staff-id': staffId });
    const untouched = socket({ authorization: `Bearer ${s.secretKey}` });
    await live(3, s.shop.id);
    await gql(s.secretKey, 'mutation($i: RevokeApiKeyInput!) { revokeApiKey(input: $i) { __typename } }', { i: { id: created.apiKey.id } });
    await waitFor(() => revoked.state.closedWith !== null, 'the revoked key’s socket to close');
    expect(revoked.state.closedWith).toBe(4403);
    await gql(s.secretKey, 'mutation($i: UpdateStaffUserInput!) { updateStaffUser(input: $i) { __typename } }', {
      i: { id: staffId, role: 'AGENT' },
    });
    await waitFor(() => demoted.state.closedWith !== null, 'the demoted staff user’s socket to close');
    expect(demoted.state.closedWith).toBe(4403);
    await sleep(500);
    expect(untouched.state.closedWith).toBeNull();
    for (const x of [revoked, demoted, untouched]) await x.dispose();
  });
});
