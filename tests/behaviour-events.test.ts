import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedShop } from '../packages/server/src/modules/shops/shop.service.ts';
import { createTestApp, globalId, rawId, type TestApp } from '../packages/server/src/testing.ts';
import { createCustomer, succeed } from './helpers/crm.ts';

/**
 * Storefront behaviour events (docs/behaviour.md): trackEvents batches, limits, the sendBeacon
 * endpoint and its origin check, identity stitching (lead capture, customer token, email),
 * retention, tenant isolation, authorization, export and erasure.
 */
let t: TestApp;
let a: CreatedShop;
let b: CreatedShop;

const TRACK = `mutation($e: [BehaviourEventInput!]!) { trackEvents(events: $e) {
  __typename ... on TrackEventsPayload { accepted } ... on ValidationError { path message } } }`;
const CAPTURE = `mutation($i: CaptureLeadInput!) { captureLead(input: $i) { __typename ... on CaptureLeadPayload { accepted } } }`;

type TrackOut = { trackEvents: { __typename: string; accepted?: number; path?: string[]; message?: string } };

beforeAll(async () => {
  t = await createTestApp({
    behaviour: { retentionDays: 30, intervalMs: 0, eventsPerKey: 1_000_000, eventsPerVisitor: 1_000 },
  });
  a = await t.newShop('Behaviour A', 'owner@behaviour-a.test');
  b = await t.newShop('Behaviour B', 'owner@behaviour-b.test');
});
afterAll(() => t?.close());

const views = (visitorId: string, n: number, extra: Record<string, unknown> = {}) =>
  Array.from({ length: n }, (_, i) => ({ type: 'PAGE_VIEWED', visitorId, url: `https://shop.example/p/${i}`, ...extra }));
const rows = (shopId: string, visitorId: string) =>
  t.db.prisma.behaviourEvent.findMany({ where: { shopId, visitorId }, orderBy: { id: 'asc' } });

async function track(key: string, events: unknown[], headers: Record<string, string> = {}) {
  const r = await t.gql(key)<TrackOut>(TRACK, { e: events }, headers);
  expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
  return r.data?.trackEvents as TrackOut['trackEvents'];
}

function beacon(body: unknown, opts: { key?: string; origin?: string; raw?: string } = {}) {
  const headers: Record<string, string> = { 'content-type': 'text/plain;charset=UTF-8' };
  if (opts.origin) headers.origin = opts.origin;
  return t.app.yoga.fetch(`http://test/events${opts.key ? `?key=${encodeURIComponent(opts.key)}` : ''}`, {
    method: 'POST',
    headers,
    body: opts.raw ?? JSON.stringify(body),
  });
}

describe('trackEvents', () => {
  it('writes a batch of every type with its properties, anonymous', async () => {
    const v = randomUUID();
    const s = randomUUID();
    const r = await track(a.publishableKey, [
      {
        type: 'PAGE_VIEWED',
        visitorId: v,
        sessionId: s,
        url: 'https://shop.example/',
        referrer: 'https://news.example/',
        utmSource: 'news',
        utmMedium: 'email',
        utmCampaign: 'spring',
        durationMs: 1200,
      },
      { type: 'PRODUCT_VIEWED', visitorId: v, sessionId: s, sku: 'SKU-1', url: 'https://shop.example/p/sku-1' },
      { type: 'SEARCHED', visitorId: v, sessionId: s, searchQuery: 'red shoes' },
      { type: 'ADDED_TO_CART', visitorId: v, sessionId: s, sku: 'SKU-1', properties: { quantity: 2, price: '19.90' } },
      { type: 'CHECKOUT_STARTED', visitorId: v, sessionId: s },
    ]);
    expect(r).toEqual({ __typename: 'TrackEventsPayload', accepted: 5 });
    const got = await rows(a.shop.id, v);
    expect(got.map((e) => e.type)).toEqual(['PAGE_VIEWED', 'PRODUCT_VIEWED', 'SEARCHED', 'ADDED_TO_CART', 'CHECKOUT_STARTED']);
    expect(got[0]).toMatchObject({
      sessionId: s,
      customerId: null,
      referrer: 'https://news.example/',
      utmSource: 'news',
      utmCampaign: 'spring',
      durationMs: 1200,
    });
    expect(got[2]?.searchQuery).toBe('red shoes');
    expect(got[3]?.properties).toEqual({ quantity: 2, price: '19.90' });
  });

  it('refuses more than 100 events, a bad visitor id, a missing sku and oversized properties: nothing written', async () => {
    const v = randomUUID();
    const over = await track(a.publishableKey, views(v, 101));
    expect(over).toMatchObject({ __typename: 'ValidationError', path: ['events'] });
    expect((await track(a.publishableKey, views(v, 100))).accepted).toBe(100);
    const bad = await track(a.publishableKey, [...views(v, 2), { type: 'PAGE_VIEWED', visitorId: 'not-a-uuid' }]);
    expect(bad).toMatchObject({ __typename: 'ValidationError', path: ['events', '2', 'visitorId'] });
    expect(await track(a.publishableKey, [{ type: 'PRODUCT_VIEWED', visitorId: v }])).toMatchObject({ path: ['events', '0', 'sku'] });
    const big = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, i]));
    expect(await track(a.publishableKey, [{ type: 'PAGE_VIEWED', visitorId: v, properties: big }])).toMatchObject({
      __typename: 'ValidationError',
      path: ['events', '0', 'properties'],
    });
    expect(await track(a.publishableKey, [{ type: 'PRODUCT_VIEWED', visitorId: v, sku: 'x'.repeat(101) }])).toMatchObject({
      path: ['events', '0', 'sku'],
    });
    expect(await rows(a.shop.id, v)).toHaveLength(100);
  });

  it('truncates long urls and search terms; clamps future times, refuses stale ones', async () => {
    const v = randomUUID();
    const future = new Date(Date.now() + 3 * 86_400_000).toISOString();
    const r = await track(a.publishableKey, [
      { type: 'PAGE_VIEWED', visitorId: v, url: `https://shop.example/${'a'.repeat(5000)}`, occurredAt: future },
      { type: 'SEARCHED', visitorId: v, searchQuery: 'q'.repeat(1000) },
    ]);
    expect(r.accepted).toBe(2);
    const [page, search] = await rows(a.shop.id, v);
    expect(page?.url).toHaveLength(2000);
    expect(page?.occurredAt.getTime()).toBeLessThanOrEqual(Date.now());
    expect(search?.searchQuery).toHaveLength(200);
    const stale = new Date(Date.now() - 8 * 86_400_000).toISOString();
    expect(await track(a.publishableKey, [{ type: 'PAGE_VIEWED', visitorId: v, occurredAt: stale }])).toMatchObject({
      path: ['events', '0', 'occurredAt'],
    });
  });

  it('is rate-limited per visitor (events a minute) with RATE_LIMITED', async () => {
    const app = await createTestApp({ behaviour: { retentionDays: 0, intervalMs: 0, eventsPerKey: 1_000_000, eventsPerVisitor: 10 } });
    try {
      const s = await app.newShop('Limited');
      const v = randomUUID();
      const ok = await app.gql(s.publishableKey)<TrackOut>(TRACK, { e: views(v, 10) });
      expect(ok.data?.trackEvents.accepted).toBe(10);
      const limited = await app.gql(s.publishableKey)<TrackOut>(TRACK, { e: views(v, 1) });
      expect(limited.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
      // Another visitor of the same key is not limited by the first one.
      expect((await app.gql(s.publishableKey)<TrackOut>(TRACK, { e: views(randomUUID(), 5) })).data?.trackEvents.accepted).toBe(5);
    } finally {
      await app.close();
    }
  });

  it('needs a key; a secret key needs contacts:write', async () => {
    const anon = await t.gql(null)(TRACK, { e: views(randomUUID(), 1) });
    expect(anon.errors?.[0]?.extensions?.code).toMatch(/FORBIDDEN|UNAUTHENTICATED/);
    const key = await t.gql(a.secretKey)<{ createApiKey: { key: string } }>(
      `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { ... on CreatedApiKey { key } } }`,
      { i: { kind: 'SECRET', name: 'reader', scopes: ['contacts:read'] } },
    );
    const reader = key.data?.createApiKey.key as string;
    const r = await t.gql(reader)<TrackOut>(`mutation($e: [BehaviourEventInput!]!) { trackEvents(events: $e) { __typename } }`, {
      e: views(randomUUID(), 1),
    });
    expect(r.data?.trackEvents.__typename).toBe('ForbiddenError');
    expect((await track(a.secretKey, views(randomUUID(), 1))).accepted).toBe(1);
  });
});

describe('POST /events (sendBeacon)', () => {
  it('takes a text/plain JSON body with the key in the query or the body', async () => {
    const v = randomUUID();
    expect((await beacon({ events: views(v, 2) }, { key: a.publishableKey })).status).toBe(204);
    expect((await beacon({ key: a.publishableKey, events: views(v, 1) })).status).toBe(204);
    expect(await rows(a.shop.id, v)).toHaveLength(3);
  });

  it('refuses a bad body, no key, a secret key and too many events', async () => {
    const v = randomUUID();
    expect((await beacon(null, { key: a.publishableKey, raw: '{not json' })).status).toBe(400);
    expect((await beacon({ events: views(v, 1) })).status).toBe(401);
    expect((await beacon({ events: views(v, 1) }, { key: 'pk_unknown' })).status).toBe(401);
    expect((await beacon({ events: views(v, 1) }, { key: a.secretKey })).status).toBe(403);
    const over = await beacon({ events: views(v, 101) }, { key: a.publishableKey });
    expect(over.status).toBe(400);
    expect(((await over.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe('VALIDATION_FAILED');
    expect(await rows(a.shop.id, v)).toHaveLength(0);
  });

  it("checks the Origin against the key's allowed origins", async () => {
    const r = await t.gql(a.secretKey)<{ createApiKey: { key: string } }>(
      `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { ... on CreatedApiKey { key } } }`,
      { i: { kind: 'PUBLISHABLE', name: 'web', allowedOrigins: ['https://shop.example'] } },
    );
    const key = r.data?.createApiKey.key as string;
    const v = randomUUID();
    expect((await beacon({ events: views(v, 1) }, { key, origin: 'https://evil.example' })).status).toBe(403);
    expect((await beacon({ events: views(v, 1) }, { key, origin: 'https://shop.example' })).status).toBe(204);
    // The GraphQL door refuses the same origin (CORS guard).
    const g = await t.gql(key)(TRACK, { e: views(v, 1) }, { origin: 'https://evil.example' });
    expect(g.status).toBe(403);
    expect(await rows(a.shop.id, v)).toHaveLength(1);
  });
});

describe('identity stitching', () => {
  it('captureLead with the visitor id gives the earlier anonymous events to the lead, and later ones at insert', async () => {
    const v = randomUUID();
    await track(a.publishableKey, views(v, 3));
    const r = await t.gql(a.publishableKey)<{ captureLead: { __typename: string } }>(CAPTURE, {
      i: { email: 'stitch-lead@behaviour.test', firstName: 'Lia', visitorId: v },
    });
    expect(r.data?.captureLead.__typename).toBe('CaptureLeadPayload');
    const customer = await t.db.prisma.customer.findFirstOrThrow({ where: { shopId: a.shop.id, email: 'stitch-lead@behaviour.test' } });
    expect((await rows(a.shop.id, v)).map((e) => e.customerId)).toEqual([customer.id, customer.id, customer.id]);
    await track(a.publishableKey, [{ type: 'PRODUCT_VIEWED', visitorId: v, sku: 'SKU-9' }]);
    expect((await rows(a.shop.id, v)).at(-1)?.customerId).toBe(customer.id);
    expect(await t.db.prisma.visitorIdentity.findFirst({ where: { shopId: a.shop.id, visitorId: v } })).toMatchObject({
      customerId: customer.id,
      via: 'LEAD',
    });
  });

  it('a customer token (login) stitches the visitor on its first trackEvents', async () => {
    const c = await createCustomer(t.gql(a.secretKey), { email: 'stitch-login@behaviour.test' });
    const tok = await t.gql(a.secretKey)<{ createCustomerToken: { token: string } }>(
      `mutation($i: CreateCustomerTokenInput!) { createCustomerToken(input: $i) { ... on CustomerToken { token } } }`,
      { i: { customerId: c.id } },
    );
    const token = tok.data?.createCustomerToken.token as string;
    const v = randomUUID();
    await track(a.publishableKey, views(v, 2));
    await track(a.publishableKey, views(v, 1), { 'x-customer-token': token });
    expect((await rows(a.shop.id, v)).map((e) => e.customerId)).toEqual([rawId(c.id), rawId(c.id), rawId(c.id)]);
    // The beacon carries the token in its body.
    const w = randomUUID();
    await track(a.publishableKey, views(w, 1));
    expect((await beacon({ customerToken: token, events: views(w, 1) }, { key: a.publishableKey })).status).toBe(204);
    expect((await rows(a.shop.id, w)).map((e) => e.customerId)).toEqual([rawId(c.id), rawId(c.id)]);
  });

  it("a merged customer's token gives the events to the survivor and stitches every visitor of the batch once", async () => {
    const g = t.gql(a.secretKey);
    const survivor = await createCustomer(g, { email: 'survivor@behaviour.test' });
    const dup = await createCustomer(g, { email: 'merged@behaviour.test' });
    const tok = await g<{ createCustomerToken: { token: string } }>(
      `mutation($i: CreateCustomerTokenInput!) { createCustomerToken(input: $i) { ... on CustomerToken { token } } }`,
      { i: { customerId: dup.id } },
    );
    const token = tok.data?.createCustomerToken.token as string;
    await succeed(g, 'mergeCustomers', { survivorId: survivor.id, duplicateId: dup.id });
    const [v, w] = [randomUUID(), randomUUID()];
    await track(a.publishableKey, [...views(v, 2), ...views(w, 1)]);
    expect(await track(a.publishableKey, [...views(v, 1), ...views(w, 1)], { 'x-customer-token': token })).toMatchObject({ accepted: 2 });
    const want = rawId(survivor.id);
    expect((await rows(a.shop.id, v)).map((e) => e.customerId)).toEqual([want, want, want]);
    expect((await rows(a.shop.id, w)).map((e) => e.customerId)).toEqual([want, want]);
    const links = await t.db.prisma.visitorIdentity.findMany({ where: { shopId: a.shop.id, visitorId: { in: [v, w] } } });
    expect(links.map((l) => [l.customerId, l.via])).toEqual([
      [want, 'TOKEN'],
      [want, 'TOKEN'],
    ]);
    // Already linked: the next call changes no link.
    await track(a.publishableKey, views(v, 1), { 'x-customer-token': token });
    const again = await t.db.prisma.visitorIdentity.findFirstOrThrow({ where: { shopId: a.shop.id, visitorId: v } });
    expect(again.identifiedAt).toEqual(links.find((l) => l.visitorId === v)?.identifiedAt);
  });

  it("an event written after a stitch committed is the customer's (the insert reads the link in its own statement)", async () => {
    const c = await createCustomer(t.gql(a.secretKey), { email: 'late-link@behaviour.test' });
    const v = randomUUID();
    await track(a.publishableKey, views(v, 1));
    await t.db.prisma.visitorIdentity.create({ data: { shopId: a.shop.id, visitorId: v, customerId: rawId(c.id), via: 'API' } });
    await track(a.publishableKey, views(v, 1));
    expect((await rows(a.shop.id, v)).map((e) => e.customerId)).toEqual([null, rawId(c.id)]);
  });

  it('trackInteraction matched by email stitches the visitor', async () => {
    const c = await createCustomer(t.gql(a.secretKey), { email: 'stitch-email@behaviour.test' });
    const v = randomUUID();
    await track(a.publishableKey, views(v, 2));
    const r = await t.gql(a.publishableKey)<{ trackInteraction: { __typename: string } }>(
      `mutation($i: TrackInteractionInput!) { trackInteraction(input: $i) { __typename } }`,
      { i: { email: 'stitch-email@behaviour.test', type: 'REVIEW', body: 'Nice', visitorId: v } },
    );
    expect(r.data?.trackInteraction.__typename, JSON.stringify(r)).toBe('TrackInteractionPayload');
    expect((await rows(a.shop.id, v)).map((e) => e.customerId)).toEqual([rawId(c.id), rawId(c.id)]);
    expect((await t.db.prisma.visitorIdentity.findFirstOrThrow({ where: { shopId: a.shop.id, visitorId: v } })).via).toBe('EMAIL');
  });

  it('identifyVisitor: a backend names the visitor by email or customer id (secret key with contacts:write only)', async () => {
    const c = await createCustomer(t.gql(a.secretKey), { email: 'backend@behaviour.test' });
    const v = randomUUID();
    await track(a.publishableKey, views(v, 2));
    const IDENTIFY = `mutation($i: IdentifyVisitorInput!) { identifyVisitor(input: $i) { __typename
      ... on IdentifyVisitorPayload { stitched customer { id } } ... on Error { code path } } }`;
    type Out = { identifyVisitor: { __typename: string; stitched?: number; customer?: { id: string }; code?: string; path?: string[] } };
    const byEmail = await t.gql(a.secretKey)<Out>(IDENTIFY, { i: { visitorId: v, email: 'BACKEND@behaviour.test' } });
    expect(byEmail.data?.identifyVisitor).toEqual({ __typename: 'IdentifyVisitorPayload', stitched: 2, customer: { id: c.id } });
    expect((await rows(a.shop.id, v)).map((e) => e.customerId)).toEqual([rawId(c.id), rawId(c.id)]);
    const w = randomUUID();
    await track(a.publishableKey, views(w, 1));
    const byId = await t.gql(a.secretKey)<Out>(IDENTIFY, { i: { visitorId: w, customerId: c.id } });
    expect(byId.data?.identifyVisitor.stitched).toBe(1);
    expect(
      (await t.gql(a.secretKey)<Out>(IDENTIFY, { i: { visitorId: w, email: 'nobody@behaviour.test' } })).data?.identifyVisitor,
    ).toMatchObject({
      __typename: 'NotFoundError',
      path: ['input', 'email'],
    });
    expect(
      (await t.gql(a.secretKey)<Out>(IDENTIFY, { i: { visitorId: 'nope', email: 'backend@behaviour.test' } })).data?.identifyVisitor,
    ).toMatchObject({
      __typename: 'ValidationError',
    });
    // A storefront (publishable key) cannot name who a visitor is.
    expect((await t.gql(a.publishableKey)<Out>(IDENTIFY, { i: { visitorId: w, customerId: c.id } })).data?.identifyVisitor.__typename).toBe(
      'ForbiddenError',
    );
  });

  it("a publishable key of shop B cannot write into or stitch shop A's visitor", async () => {
    const v = randomUUID();
    await track(a.publishableKey, views(v, 2));
    await t.gql(b.publishableKey)(CAPTURE, { i: { email: 'other-shop@behaviour.test', visitorId: v } });
    await track(b.publishableKey, views(v, 1));
    expect((await rows(a.shop.id, v)).map((e) => e.customerId)).toEqual([null, null]);
    const inB = await rows(b.shop.id, v);
    expect(inB).toHaveLength(1);
    expect(inB[0]?.customerId).not.toBeNull();
    expect(await t.db.prisma.visitorIdentity.findFirst({ where: { shopId: a.shop.id, visitorId: v } })).toBeNull();
    // A customer token of shop A is refused with shop B's key.
    const c = await createCustomer(t.gql(a.secretKey), { email: 'token-a@behaviour.test' });
    const tok = await t.gql(a.secretKey)<{ createCustomerToken: { token: string } }>(
      `mutation($i: CreateCustomerTokenInput!) { createCustomerToken(input: $i) { ... on CustomerToken { token } } }`,
      { i: { customerId: c.id } },
    );
    const r = await t.gql(b.publishableKey)(
      TRACK,
      { e: views(v, 1) },
      { 'x-customer-token': tok.data?.createCustomerToken.token as string },
    );
    expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('retention and privacy', () => {
  it('the retention pass deletes events older than BEHAVIOUR_RETENTION_DAYS', async () => {
    const v = randomUUID();
    await track(a.publishableKey, views(v, 3));
    const old = await rows(a.shop.id, v);
    await t.db.prisma.behaviourEvent.updateMany({
      where: { id: { in: old.slice(0, 2).map((e) => e.id) } },
      data: { occurredAt: new Date(Date.now() - 31 * 86_400_000) },
    });
    expect(await t.app.behaviourRetention.tick()).toBeGreaterThanOrEqual(2);
    expect(await rows(a.shop.id, v)).toHaveLength(1);
  });

  it('export lists the visitor ids and events; erasure removes them, anonymous ones of linked visitors included', async () => {
    const v = randomUUID();
    await track(a.publishableKey, views(v, 2));
    await t.gql(a.publishableKey)(CAPTURE, { i: { email: 'erase-me@behaviour.test', visitorId: v } });
    const c = await t.db.prisma.customer.findFirstOrThrow({ where: { shopId: a.shop.id, email: 'erase-me@behaviour.test' } });
    // An event that slipped in without the customer (written before the link was visible).
    await t.db.prisma.behaviourEvent.create({ data: { shopId: a.shop.id, visitorId: v, type: 'PAGE_VIEWED', occurredAt: new Date() } });
    const exp = await t.gql(a.secretKey)<{ customerDataExport: { visitors: { visitorId: string }[]; behaviour: { type: string }[] } }>(
      `query($id: ID!) { customerDataExport(id: $id) }`,
      { id: globalId('Customer', c.id) },
    );
    expect(exp.data?.customerDataExport.visitors.map((x) => x.visitorId)).toEqual([v]);
    expect(exp.data?.customerDataExport.behaviour).toHaveLength(2);
    const del = await t.gql(a.secretKey)<{ deleteCustomer: { __typename: string } }>(
      `mutation($i: CustomerIdInput!) { deleteCustomer(input: $i) { __typename } }`,
      { i: { id: globalId('Customer', c.id) } },
    );
    expect(del.data?.deleteCustomer.__typename).not.toMatch(/Error/);
    expect(await rows(a.shop.id, v)).toHaveLength(0);
    expect(await t.db.prisma.visitorIdentity.count({ where: { shopId: a.shop.id, visitorId: v } })).toBe(0);
  });

  it('trackEvents writes its one MUTATION audit entry per call (no row entries: telemetry), refused calls too', async () => {
    const entries = () =>
      t.db.prisma.auditEntry.findMany({ where: { shopId: a.shop.id, operation: 'trackEvents' }, orderBy: { id: 'asc' } });
    const before = (await entries()).length;
    await track(a.publishableKey, views(randomUUID(), 5));
    const after = await entries();
    expect(after.length - before).toBe(1);
    expect(after.every((e) => e.action === 'MUTATION')).toBe(true);
    const key = await t.db.prisma.apiKey.findFirstOrThrow({ where: { shopId: a.shop.id, kind: 'PUBLISHABLE' } });
    expect(after.at(-1)).toMatchObject({
      actorKind: 'PUBLISHABLE_KEY',
      actorKeyId: key.id,
      entityType: 'Mutation',
      fields: ['events'],
      outcome: 'OK',
      customerId: null,
    });
    // Refused (nothing written): the entry says why.
    await track(a.publishableKey, [{ type: 'PAGE_VIEWED', visitorId: 'not-a-uuid' }]);
    const refused = await entries();
    expect(refused.length - after.length).toBe(1);
    expect(refused.at(-1)?.outcome).toBe('VALIDATION_FAILED');
  });
});
