import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  CrmAuthError,
  type CrmClient,
  type CrmClientOptions,
  CrmConflictError,
  CrmError,
  CrmGraphQLError,
  CrmNetworkError,
  CrmNotFoundError,
  CrmRateLimitError,
  CrmValidationError,
  CrmVersionConflictError,
  createCrmClient,
  GetCustomerDocument,
  isResultError,
  paginate,
  type ShopDocument,
  unwrap,
} from '../packages/sdk/src/index.ts';
import { createTestApp, rawId, type TestApp } from '../packages/server/src/testing.ts';

/** The SDK (from source) against a real running server: every domain group, errors, retries, pagination. */

let t: TestApp;
let url: string;
let secretKey: string;
let publishableKey: string;
let crm: CrmClient;

const email = (p = 'c') => `${p}-${Math.random().toString(36).slice(2, 10)}@sdk.test`;
const client = (opts: Partial<CrmClientOptions> = {}) => createCrmClient({ url, apiKey: secretKey, ...opts } as CrmClientOptions);

async function newCustomer(input: Parameters<CrmClient['customers']['create']>[0] = {}) {
  return unwrap(await crm.customers.create({ email: email(), ...input })).customer;
}

beforeAll(async () => {
  t = await createTestApp();
  ({ secretKey, publishableKey } = await t.newShop('SDK Shop'));
  url = `${await t.app.start()}/graphql`;
  crm = client();
});
afterAll(() => t?.close());

describe('client', () => {
  it('is frozen, grouped by domain, and accepts getToken instead of apiKey', async () => {
    expect(Object.isFrozen(crm)).toBe(true);
    expect(Object.isFrozen(crm.customers)).toBe(true);
    expect(Object.keys(crm).sort()).toEqual(
      [
        'audit',
        'behaviour',
        'close',
        'customers',
        'followUps',
        'imports',
        'interactions',
        'keys',
        'leads',
        'loyalty',
        'me',
        'money',
        'orders',
        'request',
        'shop',
        'staff',
        'subscriptions',
        'tags',
        'tokens',
        'webhooks',
        'segments',
      ].sort(),
    );
    let calls = 0;
    const viaToken = createCrmClient({
      url,
      getToken: async () => {
        calls++;
        return secretKey;
      },
    });
    expect((await viaToken.shop.get()).name).toBe('SDK Shop');
    expect(calls).toBe(1);
    expect(() => createCrmClient({ url } as CrmClientOptions)).toThrow(CrmError);
  });

  it('request() runs generated documents and strings', async () => {
    const c = await newCustomer({ firstName: 'Raw' });
    const typed = await crm.request(GetCustomerDocument, { id: c.id });
    expect(typed.customer?.firstName).toBe('Raw');
    const raw = await crm.request<{ shop: { name: string } }>('{ shop { name } }');
    expect(raw.shop.name).toBe('SDK Shop');
    // A TypedDocumentNode parsed from source (gql/parse keep loc), and one without source with options.print.
    const parsed = { kind: 'Document', definitions: [], loc: { source: { body: 'query ShopName { shop { name } }' } } };
    expect((await crm.request(parsed as unknown as typeof ShopDocument)).shop.name).toBe('SDK Shop');
    const astOnly = { kind: 'Document', definitions: [] } as unknown as typeof ShopDocument;
    await expect(crm.request(astOnly)).rejects.toMatchObject({ code: 'CONFIGURATION' });
    expect((await client({ print: () => '{ shop { name } }' }).request(astOnly)).shop.name).toBe('SDK Shop');
  });
});

describe('customers', () => {
  it('create, get, getBy, update (with version), upsert, setStage', async () => {
    const created = await crm.customers.create({ firstName: 'Anna', lastName: 'Schmidt', email: ' Anna.S@Example.com ', tags: ['new'] });
    expect(created.__typename).toBe('CreateCustomerSuccess');
    const { customer } = unwrap(created);
    expect(customer.email).toBe('anna.s@example.com');
    expect(customer.tags.map((x) => x.name)).toEqual(['new']);
    expect((await crm.customers.get(customer.id))?.displayName).toBe('Anna Schmidt');
    expect((await crm.customers.getBy({ email: 'anna.s@example.com' }))?.id).toBe(customer.id);

    const updated = unwrap(await crm.customers.update({ id: customer.id, version: customer.version, company: 'Atelier' })).customer;
    expect(updated.company).toBe('Atelier');
    const stale = await crm.customers.update({ id: customer.id, version: customer.version, company: 'Stale' });
    expect(stale.__typename).toBe('VersionConflictError');
    if (stale.__typename === 'VersionConflictError') expect(stale.currentVersion).toBe(updated.version);
    const err = (() => {
      try {
        unwrap(stale);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(CrmConflictError);
    expect(err).toBeInstanceOf(CrmVersionConflictError); // generated from the schema, with its fields
    expect((err as CrmVersionConflictError).currentVersion).toBe(updated.version);

    const up1 = unwrap(await crm.customers.upsert({ externalId: 'erp-1', email: email('up'), firstName: 'Up' }));
    const up2 = unwrap(await crm.customers.upsert({ externalId: 'erp-1', lastName: 'Serted' }));
    expect([up1.created, up2.created]).toEqual([true, false]);
    expect(up2.customer.displayName).toBe('Up Serted');

    const staged = unwrap(await crm.customers.setStage({ id: customer.id, stage: 'LOYAL', reason: 'sdk test', force: true })).customer;
    expect(staged.stage).toBe('LOYAL');
    const timeline = await crm.customers.timeline(customer.id, { first: 10, kinds: ['STAGE_CHANGE'] });
    expect(timeline?.edges.map((e) => e.node.__typename === 'StageTransition' && e.node.toStage)).toContain('LOYAL');
  });

  it('tag, untag, tags.list, archive, unarchive, merge, delete', async () => {
    const c = await newCustomer();
    expect(unwrap(await crm.customers.tag(c.id, ['vip', 'b2b'])).customer.tags.map((x) => x.name)).toEqual(['b2b', 'vip']);
    expect(unwrap(await crm.customers.untag(c.id, ['b2b'])).customer.tags.map((x) => x.name)).toEqual(['vip']);
    expect((await crm.tags.list()).map((x) => x.name)).toEqual(expect.arrayContaining(['b2b', 'vip']));

    expect(unwrap(await crm.customers.archive(c.id)).customer.status).toBe('ARCHIVED');
    const inDefault = await crm.customers.list({ first: 100, filter: { tagsAny: ['vip'] } });
    expect(inDefault.edges.map((e) => e.node.id)).not.toContain(c.id);
    expect(unwrap(await crm.customers.unarchive(c.id)).customer.status).toBe('ACTIVE');

    const dup = await newCustomer({ company: 'DupCo' });
    const dry = unwrap(await crm.customers.merge({ survivorId: c.id, duplicateId: dup.id, dryRun: true }));
    expect(dry.dryRun).toBe(true);
    expect(dry.preview.filledFields).toContainEqual({ field: 'company', value: 'DupCo' });
    expect(dry.customer.company).toBeNull();
    const merged = unwrap(await crm.customers.merge({ survivorId: c.id, duplicateId: dup.id })).customer;
    expect(merged.company).toBe('DupCo');
    expect((await crm.customers.get(dup.id))?.id).toBe(c.id);
    const again = await crm.customers.merge({ survivorId: c.id, duplicateId: dup.id });
    expect(again.__typename === 'AlreadyMergedError' && again.mergedIntoId).toBe(c.id);

    expect(unwrap(await crm.customers.delete(c.id)).deletedId).toBe(c.id);
    expect(await crm.customers.get(c.id)).toBeNull();
    const gone = await crm.customers.archive(c.id);
    expect(gone.__typename).toBe('NotFoundError');
    expect(() => unwrap(gone)).toThrow(CrmNotFoundError);
  });

  it('a ValidationError result: a typed value, and unwrap throws CrmValidationError with issues', async () => {
    const r = await crm.customers.create({ email: 'not-an-email' });
    expect(r.__typename).toBe('ValidationError');
    expect(isResultError(r)).toBe(true);
    try {
      unwrap(r);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CrmValidationError);
      expect(e).toBeInstanceOf(CrmError);
      const v = e as CrmValidationError;
      expect(v.code).toBe('VALIDATION_FAILED');
      expect(v.issues.map((i) => i.path.join('.'))).toEqual(['input.email']);
      expect(v.issues[0]?.message).toBeTruthy();
    }
  });

  it('paginate() follows endCursor: 25 customers in pages of 10 yield 25 unique nodes', async () => {
    for (let i = 0; i < 25; i++) await newCustomer({ tags: ['page-test'], lastName: `P${i}` });
    let pages = 0;
    const ids: string[] = [];
    for await (const node of paginate((after) => {
      pages++;
      return crm.customers.list({ first: 10, after, filter: { tagsAll: ['page-test'] } });
    })) {
      ids.push(node.id);
    }
    expect(ids).toHaveLength(25);
    expect(new Set(ids).size).toBe(25);
    expect(pages).toBe(3);
    const limited: string[] = [];
    for await (const n of paginate((after) => crm.customers.list({ first: 10, after, filter: { tagsAll: ['page-test'] } }), {
      limit: 12,
    })) {
      limited.push(n.id);
    }
    expect(limited).toEqual(ids.slice(0, 12));
  });

  it('list methods are async-iterable as well as returning a page: for await over crm.customers.list({ first: 10 })', async () => {
    const filter = { tagsAll: ['iter-test'] };
    for (let i = 0; i < 23; i++) await newCustomer({ tags: ['iter-test'] });
    const page = await crm.customers.list({ first: 10, filter });
    expect(page.edges).toHaveLength(10);
    expect(page.pageInfo.hasNextPage).toBe(true);
    const requests: unknown[] = [];
    const counting = createCrmClient({ url, apiKey: secretKey, logger: { debug: (_m, f) => requests.push(f) } });
    const ids: string[] = [];
    for await (const c of counting.customers.list({ first: 10, filter })) ids.push(c.id);
    expect(ids).toHaveLength(23);
    expect(new Set(ids).size).toBe(23);
    expect(ids.slice(0, 10)).toEqual(page.edges.map((e) => e.node.id));
    expect(requests).toHaveLength(3); // 10 + 10 + 3, the first page fetched once
    // Starting after a cursor iterates the rest.
    const rest: string[] = [];
    for await (const c of crm.customers.list({ first: 10, filter, after: page.pageInfo.endCursor })) rest.push(c.id);
    expect(rest).toEqual(ids.slice(10));
  });
});

describe('shop, keys, staff, tokens, me', () => {
  it('shop.get, shop.viewer, keys.list/create/revoke', async () => {
    expect((await crm.shop.get()).name).toBe('SDK Shop');
    expect((await crm.shop.viewer())?.keyKind).toBe('SECRET');
    const created = unwrap(await crm.keys.create({ kind: 'SECRET', name: 'erp', scopes: ['customers:read'] }));
    expect(created.key).toMatch(/^sk_/);
    expect(created.apiKey.scopes).toEqual(['customers:read']);
    expect((await crm.keys.list()).map((k) => k.id)).toContain(created.apiKey.id);
    const readOnly = client({ apiKey: created.key });
    expect(isResultError(await readOnly.customers.create({ email: email() }))).toBe(true);
    expect(() => unwrap({ __typename: 'ForbiddenError', code: 'FORBIDDEN', message: 'no', path: [] })).toThrow(CrmAuthError);
    expect(unwrap(await crm.keys.revoke(created.apiKey.id)).apiKey.revokedAt).toBeTruthy();
    await expect(readOnly.shop.get()).rejects.toMatchObject({ name: 'CrmAuthError', status: 401, code: 'UNAUTHENTICATED' });
  });

  it('staff.list/create/update, and staffId acts as that user', async () => {
    const s = unwrap(await crm.staff.create({ name: 'Sam Sales', email: email('staff'), role: 'AGENT' })).staffUser;
    expect((await crm.staff.list()).map((x) => x.id)).toContain(s.id);
    expect(unwrap(await crm.staff.update({ id: s.id, role: 'MANAGER' })).staffUser.role).toBe('MANAGER');
    const asSam = client({ staffId: s.id });
    expect((await asSam.shop.viewer())?.staffUserId).toBeTruthy();
    unwrap(await crm.staff.update({ id: s.id, active: false }));
    expect((await crm.staff.list()).map((x) => x.id)).not.toContain(s.id);
    expect((await crm.staff.list({ includeInactive: true })).map((x) => x.id)).toContain(s.id);
  });

  it('shop.redact: owner only, slug repeated; afterwards the keys are gone', async () => {
    const doomed = await t.newShop('SDK doomed', 'owner@doomed.example');
    const c = client({ apiKey: doomed.secretKey });
    expect((await c.shop.redact(doomed.shop.slug)).__typename).toBe('ForbiddenError');
    const owner = client({ apiKey: doomed.secretKey, staffId: doomed.ownerId as string });
    expect((await owner.shop.redact('wrong')).__typename).toBe('ValidationError');
    const done = unwrap(await owner.shop.redact(doomed.shop.slug));
    expect(done.redactedAt).toBeTruthy();
    await expect(c.shop.get()).rejects.toBeInstanceOf(CrmAuthError);
  });

  it('behaviour.track (publishable key) records events; behaviour.identify (secret key) stitches the visitor', async () => {
    const shopper = createCrmClient({ url, apiKey: publishableKey });
    const visitorId = 'c0ffee00-0000-4000-8000-000000000001';
    const tracked = unwrap(
      await shopper.behaviour.track([
        { type: 'PAGE_VIEWED', visitorId, url: 'https://shop.example/' },
        { type: 'PRODUCT_VIEWED', visitorId, sku: 'SKU-1' },
      ]),
    );
    expect(tracked.accepted).toBe(2);
    const tooMany = await shopper.behaviour.track(Array.from({ length: 101 }, () => ({ type: 'PAGE_VIEWED' as const, visitorId })));
    expect(tooMany.__typename).toBe('ValidationError');
    const c = await newCustomer({ email: 'visitor@sdk.example' });
    const identified = unwrap(await crm.behaviour.identify({ visitorId, email: 'visitor@sdk.example' }));
    expect(identified).toMatchObject({ stitched: 2, customer: { id: c.id } });
  });

  it('tokens.createCustomerToken, then me.get/me.update with a publishable key', async () => {
    const c = await newCustomer({ firstName: 'Mia' });
    const { token } = unwrap(await crm.tokens.createCustomerToken({ customerId: c.id, ttlSeconds: 600 }));
    const shopper = createCrmClient({ url, apiKey: publishableKey, customerToken: token });
    expect((await shopper.me.get())?.firstName).toBe('Mia');
    const profile = unwrap(
      await shopper.me.update({
        preferredChannel: 'SMS',
        consents: [
          { channel: 'SMS', granted: true },
          { channel: 'EMAIL', granted: false },
        ],
      }),
    ).profile;
    expect(profile.preferredChannel).toBe('SMS');
    const optIn = unwrap(
      await crm.customers.update({ id: c.id, consents: [{ channel: 'EMAIL', granted: true, doubleOptIn: true, textVersion: 'nl-1' }] }),
    ).customer;
    expect(optIn.consents.find((x) => x.channel === 'EMAIL')).toMatchObject({
      granted: false,
      pendingConfirmation: true,
      textVersion: 'nl-1',
    });
    const requested = await t.db.prisma.event.findFirst({ where: { type: 'CONSENT_CONFIRMATION_REQUESTED' }, orderBy: { id: 'desc' } });
    const confirmed = unwrap(
      await shopper.me.confirmConsent((requested?.payload as { token: string } | undefined)?.token as string),
    ).consent;
    expect(confirmed).toMatchObject({ channel: 'EMAIL', granted: true, pendingConfirmation: false });
    const mine = await shopper.me.dataExport();
    expect(mine).toMatchObject({ customerId: c.id, profile: { firstName: 'Mia' } });
    const staffView = await crm.customers.dataExport(c.id);
    expect(staffView.consentHistory).toEqual(mine.consentHistory);
    const back = await crm.customers.get(c.id);
    expect(back?.preferredChannel).toBe('SMS');
    expect(back?.consents.find((x) => x.channel === 'SMS')).toMatchObject({ granted: true, source: 'self-service' });
    // A publishable key may not list customers: 403.
    await expect(shopper.customers.list()).rejects.toMatchObject({ name: 'CrmAuthError', status: 403, code: 'FORBIDDEN' });
  });
});

describe('interactions, orders, leads', () => {
  it('customers.upsertMany and orders.upsertMany: typed per-item results in input order, replayed by idempotency key', async () => {
    const [a, b] = [email('many'), email('many')];
    const batch = unwrap(
      await crm.customers.upsertMany([{ email: a, firstName: 'Many' }, { email: 'not-an-email' }, { email: b }], {
        idempotencyKey: `sdk-${a}`,
      }),
    );
    expect([batch.createdCount, batch.failedCount, batch.replayed]).toEqual([2, 1, false]);
    const [first, bad] = batch.results;
    expect(first?.__typename === 'UpsertCustomerPayload' && first.customer.email).toBe(a);
    expect(bad?.__typename === 'ValidationError' && bad.path).toEqual(['input', 'items', '1', 'email']);
    const again = unwrap(
      await crm.customers.upsertMany([{ email: a, firstName: 'Many' }, { email: 'not-an-email' }, { email: b }], {
        idempotencyKey: `sdk-${a}`,
      }),
    );
    expect(again.replayed).toBe(true);
    const ids = batch.results.flatMap((r) => (r.__typename === 'UpsertCustomerPayload' ? [r.customer.id] : []));
    const orders = unwrap(
      await crm.orders.upsertMany(
        ids.map((customerId, i) => ({
          customerId,
          externalId: `many-${a}-${i}`,
          currency: 'EUR',
          items: [{ name: 'Lamp', quantity: 2, unitPrice: '5.00' }],
        })),
      ),
    );
    expect(orders.results.map((r) => (r.__typename === 'UpsertOrderPayload' ? r.order.total : r.code))).toEqual(['10.00', '10.00']);
  });

  it('interactions.record/update/list/delete; orders.upsert/get/list; leads.capture; interactions.track', async () => {
    const c = await newCustomer();
    const rec = unwrap(
      await crm.interactions.record({ customerId: c.id, channel: 'PHONE', direction: 'INBOUND', type: 'INQUIRY', subject: 'Sofa?' }),
    ).interaction;
    expect(rec.customer.id).toBe(c.id);
    expect(unwrap(await crm.interactions.update({ id: rec.id, sentiment: 'POSITIVE' })).interaction.sentiment).toBe('POSITIVE');
    expect((await crm.interactions.list({ first: 10, filter: { customerId: c.id } })).edges.map((e) => e.node.id)).toEqual([rec.id]);

    const order = unwrap(
      await crm.orders.upsert({
        customerId: c.id,
        externalId: 'o-1',
        currency: 'EUR',
        items: [{ name: 'Sofa', quantity: 1, unitPrice: '499.90' }],
      }),
    );
    expect(order.created).toBe(true);
    expect(order.order.total).toBe('499.90');
    expect((await crm.orders.get(order.order.id))?.externalId).toBe('o-1');
    expect((await crm.orders.list({ first: 5, filter: { customerId: c.id } })).totalCount).toBe(1);

    // An interaction's externalId (set by a bulk import) in the interaction fragment, and in the
    // timeline beside the order's own externalId (String! there, so asked as interactionExternalId).
    expect(rec.externalId).toBeNull();
    await t.db.prisma.interaction.update({ where: { id: rawId(rec.id) }, data: { externalId: 'erp-i-1' } });
    expect((await crm.interactions.list({ first: 10, filter: { customerId: c.id } })).edges[0]?.node.externalId).toBe('erp-i-1');
    const nodes = (await crm.customers.timeline(c.id, { first: 20, kinds: ['INTERACTION', 'ORDER'] }))?.edges.map((e) => e.node) ?? [];
    expect(nodes.flatMap((n) => (n.__typename === 'Interaction' ? [n.interactionExternalId] : []))).toEqual(['erp-i-1']);
    expect(nodes.flatMap((n) => (n.__typename === 'Order' ? [n.externalId] : []))).toEqual(['o-1']);

    expect(unwrap(await crm.interactions.delete(rec.id)).deletedId).toBe(rec.id);

    const storefront = createCrmClient({ url, apiKey: publishableKey });
    const lead = unwrap(
      await storefront.leads.capture({ email: email('lead'), firstName: 'Lea', consents: [{ channel: 'EMAIL', granted: true }] }),
    );
    expect(lead.accepted).toBe(true);
    expect(lead.customer).toBeNull();
    const tracked = unwrap(await storefront.interactions.track({ type: 'VISIT', email: email('visit') }));
    expect(tracked.accepted).toBe(true);
  });
});

describe('errors', () => {
  it('a bad key: CrmAuthError with status 401 and a request id', async () => {
    const bad = client({ apiKey: 'sk_live_nope' });
    const e = await bad.customers.list().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CrmAuthError);
    expect(e).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    expect((e as CrmAuthError).requestId).toMatch(/^sdk-/);
  });

  it('an invalid query: CrmGraphQLError with the errors', async () => {
    const e = await crm.request('{ noSuchField }').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CrmGraphQLError);
    expect((e as CrmGraphQLError).errors[0]?.message).toMatch(/noSuchField/);
  });

  it('the largest page (100) of every list stays within the default query complexity', async () => {
    await crm.customers.list({ first: 100 });
    await crm.interactions.list({ first: 100 });
    await crm.orders.list({ first: 100 });
    const c = await newCustomer();
    await crm.customers.timeline(c.id, { first: 100 });
  });

  it('asking for more than 100 per page: CrmGraphQLError', async () => {
    await expect(crm.customers.list({ first: 101 })).rejects.toBeInstanceOf(CrmGraphQLError);
  });
});

/** A local HTTP server in front of the real one: each attempt gets the next action of `plan`. */
type Action = 'forward' | 'forward-then-503' | 'hang' | 'destroy' | { status: number; retryAfter?: string };
type Proxy = { url: string; bodies: Record<string, unknown>[]; close(): Promise<void> };
async function startProxy(plan: (attempt: number) => Action): Promise<Proxy> {
  const bodies: Record<string, unknown>[] = [];
  const hanging: ServerResponse[] = [];
  const forward = async (req: IncomingMessage, body: string) => {
    const headers: Record<string, string> = {};
    for (const h of ['content-type', 'accept', 'authorization', 'x-request-id', 'x-customer-token', 'x-crm-staff-id']) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    return fetch(url, { method: 'POST', headers, body });
  };
  const server: Server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    bodies.push(JSON.parse(body));
    const action = plan(bodies.length);
    if (action === 'hang') return void hanging.push(res);
    if (action === 'destroy') return void req.socket.destroy();
    if (action === 'forward' || action === 'forward-then-503') {
      const r = await forward(req, body);
      const text = await r.text();
      if (action === 'forward') {
        res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
        return void res.end(text);
      }
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '0' });
      return void res.end('upstream lost');
    }
    res.writeHead(action.status, {
      'content-type': 'application/json',
      ...(action.retryAfter !== undefined ? { 'retry-after': action.retryAfter } : {}),
    });
    res.end(
      JSON.stringify({
        errors: [{ message: `HTTP ${action.status}`, extensions: { code: action.status === 429 ? 'RATE_LIMITED' : 'UNAVAILABLE' } }],
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    bodies,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('retries', () => {
  const unavailable = { status: 503, retryAfter: '0' } as const;

  it('a query: 503 with Retry-After: 0 twice, then 200: three attempts, one result', async () => {
    const p = await startProxy((n) => (n <= 2 ? unavailable : 'forward'));
    try {
      const warnings: unknown[] = [];
      const c = createCrmClient({ url: p.url, apiKey: secretKey, logger: { warn: (_m, f) => warnings.push(f) } });
      expect((await c.shop.get()).name).toBe('SDK Shop');
      expect(p.bodies).toHaveLength(3);
      expect(warnings).toHaveLength(2);
      expect(warnings[0]).toMatchObject({ operation: 'Shop', attempt: 1, delayMs: 0, code: 'SERVICE_UNAVAILABLE' });
    } finally {
      await p.close();
    }
  });

  it('gives up after `retries` (default 2): 3 attempts, then CrmNetworkError with status 503', async () => {
    const p = await startProxy(() => unavailable);
    try {
      const c = createCrmClient({ url: p.url, apiKey: secretKey });
      const e = await c.shop.get().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(CrmNetworkError);
      expect(e).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
      expect(p.bodies).toHaveLength(3);
    } finally {
      await p.close();
    }
  });

  it('a plain mutation (no idempotency key in its input) is NOT retried on 503', async () => {
    const p = await startProxy(() => unavailable);
    try {
      const c = createCrmClient({ url: p.url, apiKey: secretKey });
      await expect(c.customers.create({ email: email() })).rejects.toMatchObject({ status: 503 });
      expect(p.bodies).toHaveLength(1);
    } finally {
      await p.close();
    }
  });

  it('an idempotent mutation gets a key before the first attempt and reuses it: a lost response is retried, recorded once', async () => {
    const c0 = await newCustomer();
    const p = await startProxy((n) => (n === 1 ? 'forward-then-503' : 'forward'));
    try {
      const c = createCrmClient({ url: p.url, apiKey: secretKey });
      const input = { customerId: c0.id, channel: 'EMAIL', direction: 'OUTBOUND', type: 'GREETING', subject: 'Hi' } as const;
      const rec = unwrap(await c.interactions.record(input)).interaction;
      expect(p.bodies).toHaveLength(2);
      const keys = p.bodies.map((b) => (b.variables as { input: { idempotencyKey?: string } }).input.idempotencyKey);
      expect(keys[0]).toMatch(/^[0-9a-f-]{32,36}$/);
      expect(keys[1]).toBe(keys[0]);
      expect(input).not.toHaveProperty('idempotencyKey'); // the caller's object is not changed
      const list = await crm.interactions.list({ first: 10, filter: { customerId: c0.id } });
      expect(list.edges.map((e) => e.node.id)).toEqual([rec.id]);
    } finally {
      await p.close();
    }
  });

  it('429 respects Retry-After (1 s) and ends in CrmRateLimitError when retries run out', async () => {
    const p = await startProxy((n) => (n === 1 ? { status: 429, retryAfter: '1' } : 'forward'));
    try {
      const c = createCrmClient({ url: p.url, apiKey: secretKey });
      const started = Date.now();
      expect((await c.shop.get()).name).toBe('SDK Shop');
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect(p.bodies).toHaveLength(2);
    } finally {
      await p.close();
    }
    const p2 = await startProxy(() => ({ status: 429, retryAfter: '0' }));
    try {
      const e = await createCrmClient({ url: p2.url, apiKey: secretKey, retries: 1 })
        .shop.get()
        .catch((x: unknown) => x);
      expect(e).toBeInstanceOf(CrmRateLimitError);
      expect(e).toMatchObject({ status: 429, retryAfterMs: 0 });
      expect(p2.bodies).toHaveLength(2);
    } finally {
      await p2.close();
    }
  });

  it('a dropped connection is retried for queries (backoff with jitter)', async () => {
    const p = await startProxy((n) => (n === 1 ? 'destroy' : 'forward'));
    try {
      const c = createCrmClient({ url: p.url, apiKey: secretKey, retryDelayMs: 10 });
      expect((await c.shop.get()).name).toBe('SDK Shop');
      expect(p.bodies).toHaveLength(2);
    } finally {
      await p.close();
    }
  });

  it('a timeout is a CrmNetworkError (code TIMEOUT); an aborted call is not retried', async () => {
    const p = await startProxy(() => 'hang');
    try {
      const c = createCrmClient({ url: p.url, apiKey: secretKey, timeoutMs: 200, retries: 1, retryDelayMs: 10 });
      const e = await c.shop.get().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(CrmNetworkError);
      expect(e).toMatchObject({ code: 'TIMEOUT' });
      expect(p.bodies).toHaveLength(2);
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 50);
      await expect(c.shop.get({ signal: ac.signal })).rejects.toMatchObject({ name: 'CrmNetworkError', code: 'ABORTED' });
      expect(p.bodies).toHaveLength(3);
    } finally {
      await p.close();
    }
  });
});

describe('segments', () => {
  it('preview, create, get, list, fields, members, allMembers, update, refresh, export (CSV and JSONL), membershipChanged, delete', async () => {
    const [a, b] = [await newCustomer({ tags: ['sdk-seg'], stage: 'LOYAL' }), await newCustomer({ tags: ['sdk-seg'] })];
    const rule = "tags CONTAINS 'sdk-seg'";
    const preview = await crm.segments.preview({ rule, first: 1 });
    expect(preview).toMatchObject({ rule, count: 2, hasNextPage: true });
    const created = unwrap(await crm.segments.create({ name: 'SDK segment', rule })).segment;
    expect(created).toMatchObject({ name: 'SDK segment', rule, memberCount: 2, version: 1 });
    expect((await crm.segments.get(created.id))?.ruleTree).toEqual({ condition: { field: 'tags', op: 'CONTAINS', value: 'sdk-seg' } });
    expect((await crm.segments.list({ first: 10 })).edges.map((e) => e.node.id)).toContain(created.id);
    expect((await crm.segments.fields()).map((f) => f.name)).toContain('orders.count');
    expect((await crm.segments.members(created.id, { first: 1 }))?.pageInfo.hasNextPage).toBe(true);
    const all: string[] = [];
    for await (const m of crm.segments.allMembers(created.id)) all.push(m.id);
    expect(all.sort()).toEqual([a.id, b.id].sort());
    expect(await crm.segments.members(Buffer.from('Segment:00000000-0000-0000-0000-000000000000').toString('base64'))).toBeNull();

    const csv: string[] = [];
    for await (const row of crm.segments.export(created.id)) csv.push(row);
    expect(csv[0]?.startsWith('id,externalId,email')).toBe(true);
    expect(csv).toHaveLength(3);
    const jsonl: { id: string }[] = [];
    for await (const line of crm.segments.export(created.id, { format: 'jsonl' })) jsonl.push(JSON.parse(line));
    expect(jsonl.map((j) => j.id).sort()).toEqual([a.id, b.id].sort());
    await expect(
      (async () => {
        for await (const _ of createCrmClient({ url, apiKey: publishableKey }).segments.export(created.id)) break;
      })(),
    ).rejects.toBeInstanceOf(CrmAuthError);

    const live = createCrmClient({ url, apiKey: secretKey, webSocketImpl: WebSocket });
    try {
      const it = live.segments.membershipChanged(created.id)[Symbol.asyncIterator]();
      const next = it.next();
      await new Promise((r) => setTimeout(r, 500));
      await newCustomer({ tags: ['sdk-seg'] });
      expect(await t.app.segments.tick()).toMatchObject({ entered: 1 });
      const ev = (await next).value as { type: string; payload: { segmentId: string } };
      expect(ev).toMatchObject({ type: 'SEGMENT_ENTERED', payload: { segmentId: created.id } });
      await it.return?.();
    } finally {
      await live.close();
    }

    const updated = unwrap(await crm.segments.update({ id: created.id, version: 1, rule: `${rule} AND stage = LOYAL` })).segment;
    expect(updated).toMatchObject({ version: 2, memberCount: 1 });
    expect(unwrap(await crm.segments.refresh(created.id))).toMatchObject({ entered: 0, left: 0 });
    const stale = await crm.segments.update({ id: created.id, version: 1, name: 'x' });
    expect(isResultError(stale)).toBe(true);
    expect(unwrap(await crm.segments.delete(created.id)).deletedId).toBe(created.id);
    expect(await crm.segments.get(created.id)).toBeNull();
  });
});

describe('loyalty', () => {
  it('get, kpis, settings, updateSettings, recompute, points, earn, redeem, adjust, expire', async () => {
    const c = await newCustomer();
    unwrap(
      await crm.orders.upsert({
        customerId: c.id,
        externalId: 'loy-1',
        currency: 'EUR',
        items: [{ name: 'Sofa', quantity: 1, unitPrice: '250.00' }],
      }),
    );
    unwrap(await crm.interactions.record({ customerId: c.id, channel: 'WEB', direction: 'INBOUND', type: 'SUGGESTION' }));
    const recomputed = unwrap(await crm.loyalty.recompute());
    expect(recomputed.customers).toBeGreaterThan(0);
    const l = (await crm.loyalty.get(c.id))?.loyalty;
    expect(l?.rfm.frequency).toBe(1);
    expect(l?.indicators.find((i) => i.name === 'SUGGESTIONS')).toMatchObject({ value: 1, score: 33 });
    expect(l?.churnRisk).toBe('LOW');
    const k = await crm.loyalty.kpis(new Date(Date.now() - 86_400_000).toISOString(), new Date(Date.now() + 86_400_000).toISOString());
    expect(k.orders).toBeGreaterThanOrEqual(1);
    expect((await crm.loyalty.settings()).tiers.map((x) => x.name)).toEqual(['Bronze', 'Silver', 'Gold']);
    const upd = await crm.loyalty.updateSettings({ points: { perCurrencyUnit: 2 } });
    expect(upd.__typename === 'LoyaltySettings' && upd.points.perCurrencyUnit).toBe(2);
    unwrap(await crm.loyalty.updateSettings({ points: null }));
    // 250 points from the order and 10 for the suggestion.
    expect((await crm.loyalty.points(c.id))?.points.balance).toBe(260);
    expect(unwrap(await crm.loyalty.earn({ customerId: c.id, points: 40, reason: 'Event host' })).balance).toBe(300);
    const r = unwrap(await crm.loyalty.redeem({ customerId: c.id, points: 100, idempotencyKey: 'sdk-r1' }));
    expect(r).toMatchObject({ balance: 200, movement: { kind: 'REDEEM', points: -100 } });
    const over = await crm.loyalty.redeem({ customerId: c.id, points: 1000 });
    expect(over.__typename).toBe('InsufficientPointsError');
    expect(unwrap(await crm.loyalty.adjust({ customerId: c.id, points: -50, reason: 'Correction' })).balance).toBe(150);
    expect(unwrap(await crm.loyalty.expire()).points).toBe(0);
    const page = await crm.loyalty.points(c.id, { first: 2 });
    expect(page?.points.movements.totalCount).toBe(5);
    expect(page?.points.movements.edges).toHaveLength(2);
  });

  it('tierChanged and churnRiskRaised stream over the SDK; another shop sees none of them', async () => {
    const live = client({ webSocketImpl: WebSocket });
    const other = await t.newShop('SDK Other');
    const otherClient = createCrmClient({ url, apiKey: other.secretKey, webSocketImpl: WebSocket });
    try {
      const c = await newCustomer();
      unwrap(await crm.loyalty.adjust({ customerId: c.id, points: 1500, reason: 'Welcome' }));
      const it = live.loyalty.tierChanged({ after: '0' })[Symbol.asyncIterator]();
      const first = await it.next();
      expect(first.value?.type).toBe('TIER_CHANGED');
      await it.return?.();
      // The other shop's stream: its own tier change is the first thing it sees.
      const o = unwrap(await otherClient.customers.create({ email: email('o') })).customer;
      unwrap(await otherClient.loyalty.adjust({ customerId: o.id, points: 1000, reason: 'Welcome' }));
      const oit = otherClient.loyalty.tierChanged({ after: '0' })[Symbol.asyncIterator]();
      const seen = await oit.next();
      expect(seen.value?.customer?.id).toBe(o.id);
      await oit.return?.();
      // churnRiskRaised: a one-order customer 400 days ago is HIGH.
      const old = await newCustomer();
      unwrap(
        await crm.orders.upsert({
          customerId: old.id,
          externalId: 'loy-old',
          currency: 'EUR',
          placedAt: new Date(Date.now() - 400 * 86_400_000).toISOString(),
          items: [{ name: 'Chair', quantity: 1, unitPrice: '80.00' }],
        }),
      );
      unwrap(await crm.loyalty.recompute());
      const cit = live.loyalty.churnRiskRaised({ after: '0' })[Symbol.asyncIterator]();
      const churn = await cit.next();
      expect(churn.value).toMatchObject({ type: 'CHURN_RISK_RAISED', customer: { id: old.id } });
      await cit.return?.();
    } finally {
      await live.close();
      await otherClient.close();
    }
  });
});
