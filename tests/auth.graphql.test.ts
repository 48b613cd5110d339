import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signCustomerToken } from '../packages/server/src/modules/auth/api-key.service.ts';
import { SCOPES } from '../packages/server/src/modules/auth/auth.policy.ts';
import { type Caller, createTestApp, globalId, rawId, type TestApp } from '../packages/server/src/testing.ts';
import {
  type ApiKeyOut,
  createCustomer,
  createStaff,
  errorCodes,
  expectError,
  getCustomer,
  mutate,
  ok,
  PROFILE,
  type ProfileOut,
  rowCounts,
  sleep,
  succeed,
} from './helpers/crm.ts';

/** Authentication, API keys and scopes, publishable keys with customer tokens, staff. */

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

type Shop = { shopId: string; sk: string; pk: string; g: Caller; ownerId: string };
async function shop(): Promise<Shop> {
  const s = await t.newShop(undefined, `owner-${Math.random().toString(36).slice(2)}@shop.test`);
  return { shopId: s.shop.id, sk: s.secretKey, pk: s.publishableKey, g: t.gql(s.secretKey), ownerId: s.ownerId as string };
}

const API_KEYS = '{ apiKeys { id kind name prefix scopes lastUsedAt revokedAt } }';
const apiKeys = async (g: Caller) => (await ok<{ apiKeys: ApiKeyOut[] }>(g, API_KEYS)).apiKeys;
const COUNT = '{ customers { totalCount } }';

async function newKey(g: Caller, input: { kind: string; name: string; scopes?: string[] }) {
  const res = await succeed(g, 'createApiKey', input);
  return { key: res.key as string, apiKey: res.apiKey as ApiKeyOut };
}

describe('authentication', () => {
  it('without a key: UNAUTHENTICATED with HTTP 401; viewer is null', async () => {
    const r = await t.gql(null)(COUNT);
    expect(r.status).toBe(401);
    expect(errorCodes(r)).toEqual(['UNAUTHENTICATED']);
    expect(r.data?.customers).toBeUndefined();
    const v = await t.gql(null)('{ viewer { keyKind } }');
    expect(v.status).toBe(200);
    expect(v.data).toEqual({ viewer: null });
  });

  it.each([
    ['an unknown well-formed secret key', `sk_live_${'A'.repeat(32)}`],
    ['an unknown publishable key', `pk_live_${'b'.repeat(32)}`],
    ['garbage', 'hello'],
  ])('%s: 401', async (_name, key) => {
    const r = await t.gql(key)(COUNT);
    expect(r.status).toBe(401);
    expect(errorCodes(r)).toEqual(['UNAUTHENTICATED']);
    expect(r.data?.customers).toBeUndefined();
  });

  it('the key may also come in x-api-key', async () => {
    const s = await shop();
    await createCustomer(s.g, { firstName: 'X' });
    const r = await ok<{ customers: { totalCount: number } }>(t.gql(null), COUNT, undefined, { 'x-api-key': s.sk });
    expect(r.customers.totalCount).toBe(1);
  });

  it('a revoked key stops working at once', async () => {
    const s = await shop();
    const { key, apiKey } = await newKey(s.g, { kind: 'SECRET', name: 'to revoke' });
    expect((await t.gql(key)(COUNT)).status).toBe(200);
    const res = await succeed(s.g, 'revokeApiKey', { id: apiKey.id });
    expect(res.apiKey?.revokedAt).toEqual(expect.any(String));
    const r = await t.gql(key)(COUNT);
    expect(r.status).toBe(401);
    expect(errorCodes(r)).toEqual(['UNAUTHENTICATED']);
    // The revoking key still works, and the revoked one is listed as revoked.
    const listed = (await apiKeys(s.g)).find((k) => k.id === apiKey.id);
    expect(listed?.revokedAt).toEqual(res.apiKey?.revokedAt);
  });

  it('a key cannot revoke itself', async () => {
    const s = await shop();
    const self = (await apiKeys(s.g)).find((k) => s.sk.startsWith(k.prefix) && k.kind === 'SECRET');
    expect(self).toBeDefined();
    const res = await mutate(s.g, 'revokeApiKey', { id: self?.id });
    expectError(res, 'ForbiddenError', 'FORBIDDEN');
    expect((await t.gql(s.sk)(COUNT)).status).toBe(200);
    const row = await t.db.prisma.apiKey.findUniqueOrThrow({ where: { id: rawId(self?.id as string) } });
    expect(row.revokedAt).toBeNull();
  });

  it('revoking an unknown or malformed key id is a typed error', async () => {
    const s = await shop();
    expectError(
      await mutate(s.g, 'revokeApiKey', { id: globalId('ApiKey', '00000000-0000-4000-8000-000000000000') }),
      'NotFoundError',
      'NOT_FOUND',
      ['input', 'id'],
    );
    expectError(await mutate(s.g, 'revokeApiKey', { id: 'garbage' }), 'ValidationError', 'VALIDATION_FAILED', ['input', 'id']);
  });
});

describe('API keys', () => {
  it('createApiKey shows the key once; apiKeys lists the prefix, never the key; lastUsedAt is set after use', async () => {
    const s = await shop();
    const { key, apiKey } = await newKey(s.g, { kind: 'SECRET', name: 'backend' });
    expect(key).toMatch(/^sk_live_[A-Za-z0-9_-]{20,}$/);
    expect(apiKey).toMatchObject({ kind: 'SECRET', name: 'backend', prefix: key.slice(0, 12), lastUsedAt: null, revokedAt: null });
    // Default: every scope the creating key holds (the shop's default key holds all).
    expect(apiKey.scopes).toEqual([...SCOPES]);

    const listRes = await s.g(API_KEYS);
    const json = JSON.stringify(listRes);
    expect(json).toContain(apiKey.prefix);
    expect(json).not.toContain(key);
    expect(json).not.toContain(key.slice(12));
    // Nor is the plain key stored.
    const row = await t.db.prisma.apiKey.findUniqueOrThrow({ where: { id: rawId(apiKey.id) } });
    expect(JSON.stringify(row)).not.toContain(key.slice(12));
    // A publishable key too.
    const pk = await newKey(s.g, { kind: 'PUBLISHABLE', name: 'storefront', scopes: ['customers:write'] });
    expect(pk.key).toMatch(/^pk_live_/);
    expect(pk.apiKey.scopes).toEqual([]);
    expect(JSON.stringify(await s.g(API_KEYS))).not.toContain(pk.key);

    // lastUsedAt: recorded (asynchronously) once the key is used.
    const before = Date.now();
    await ok(t.gql(key), COUNT);
    let used: string | null = null;
    for (let i = 0; i < 40 && !used; i++) {
      used = (await apiKeys(s.g)).find((k) => k.id === apiKey.id)?.lastUsedAt ?? null;
      if (!used) await sleep(25);
    }
    expect(used).not.toBeNull();
    expect(new Date(used as string).getTime()).toBeGreaterThanOrEqual(before - 1000);
  });

  it('a key restricted to customers:read can read but not write (ForbiddenError, nothing written)', async () => {
    const s = await shop();
    await createCustomer(s.g, { email: 'existing@example.com' });
    const { key, apiKey } = await newKey(s.g, { kind: 'SECRET', name: 'read only', scopes: ['customers:read'] });
    expect(apiKey.scopes).toEqual(['customers:read']);
    const ro = t.gql(key);
    const v = await ok<{ viewer: { keyKind: string; scopes: string[] } }>(ro, '{ viewer { keyKind scopes } }');
    expect(v.viewer).toEqual({ keyKind: 'SECRET', scopes: ['customers:read'] });
    expect((await ok<{ customers: { totalCount: number } }>(ro, COUNT)).customers.totalCount).toBe(1);

    const before = await rowCounts(t.db.prisma, s.shopId);
    const res = await mutate(ro, 'createCustomer', { email: 'new@example.com', tags: ['x'] });
    expectError(res, 'ForbiddenError', 'FORBIDDEN', []);
    expect(res.message).toMatch(/customers:write/);
    const existing = (await ok<{ customerBy: { id: string } }>(ro, '{ customerBy(email: "existing@example.com") { id } }')).customerBy;
    expectError(await mutate(ro, 'updateCustomer', { id: existing.id, firstName: 'Nope' }), 'ForbiddenError', 'FORBIDDEN');
    expectError(await mutate(ro, 'createStaffUser', { name: 'S', email: 's@x.de' }), 'ForbiddenError', 'FORBIDDEN');
    expectError(await mutate(ro, 'createApiKey', { kind: 'SECRET', name: 'escalate' }), 'ForbiddenError', 'FORBIDDEN');
    expect(await rowCounts(t.db.prisma, s.shopId)).toEqual(before);
    expect((await getCustomer(s.g, existing.id))?.firstName).toBeNull();
    // Reads outside its scope are refused too.
    const keys = await ro(API_KEYS);
    expect(errorCodes(keys)).toEqual(['FORBIDDEN']);
    expect(keys.status).toBe(403);
    expect(errorCodes(await ro('{ staffUsers { id } }'))).toEqual(['FORBIDDEN']);
  });

  it('an unknown scope is a ValidationError and creates nothing', async () => {
    const s = await shop();
    const before = await rowCounts(t.db.prisma, s.shopId);
    const res = await mutate(s.g, 'createApiKey', { kind: 'SECRET', name: 'bad', scopes: ['customers:read', 'root'] });
    expectError(res, 'ValidationError', 'VALIDATION_FAILED', ['input', 'scopes']);
    expect(res.message).toMatch(/root/);
    expect(res.issues?.[0]?.path).toEqual(['input', 'scopes']);
    const noName = await mutate(s.g, 'createApiKey', { kind: 'SECRET', name: '  ' });
    expectError(noName, 'ValidationError', 'VALIDATION_FAILED', ['input', 'name']);
    expect(await rowCounts(t.db.prisma, s.shopId)).toEqual(before);
  });
});

describe('publishable keys and customer tokens', () => {
  let s: Shop;
  let customerId: string;
  let pk: Caller;
  beforeAll(async () => {
    s = await shop();
    pk = t.gql(s.pk);
    customerId = (await createCustomer(s.g, { email: 'me@example.com', firstName: 'Mia', lastName: 'Self' })).id;
  });
  async function token(g: Caller = s.g, id = customerId, ttlSeconds?: number) {
    const res = await succeed(g, 'createCustomerToken', { customerId: id, ttlSeconds });
    return res.token as string;
  }
  const ME = `{ me { ${PROFILE} } viewer { keyKind customerId } }`;

  it('cannot list or read customers, nor use node/nodes: FORBIDDEN', async () => {
    const r = await pk(COUNT);
    expect(errorCodes(r)).toEqual(['FORBIDDEN']);
    // Query errors keep their response path and source location.
    const located = r.errors?.[0] as { path?: unknown[]; locations?: unknown[] } | undefined;
    // Refused at the field that declares it (authScopes), before anything below it runs.
    expect(located?.path).toEqual(['customers']);
    expect(located?.locations?.length).toBe(1);
    expect(r.status).toBe(403);
    const one = await pk('query($id: ID!) { customer(id: $id) { id email } }', { id: customerId });
    expect(errorCodes(one)).toEqual(['FORBIDDEN']);
    expect(one.data?.customer ?? null).toBeNull();
    const node = await pk('query($id: ID!) { node(id: $id) { id ... on Customer { email } } }', { id: customerId });
    expect(errorCodes(node)).toEqual(['FORBIDDEN']);
    expect(node.data?.node ?? null).toBeNull();
    const nodes = await pk('query($id: ID!) { nodes(ids: [$id]) { id } }', { id: customerId });
    expect(errorCodes(nodes)).toEqual(['FORBIDDEN']);
    expect(JSON.stringify(nodes)).not.toContain('me@example.com');
    // Even with a customer token, only `me` is open.
    const withToken = await pk(
      'query($id: ID!) { node(id: $id) { id ... on Customer { email } } }',
      { id: customerId },
      { 'x-customer-token': await token() },
    );
    expect(errorCodes(withToken)).toEqual(['FORBIDDEN']);
  });

  it('cannot create customers or tokens: typed ForbiddenError, nothing written', async () => {
    const before = await rowCounts(t.db.prisma, s.shopId);
    expectError(await mutate(pk, 'createCustomer', { email: 'lead@example.com' }), 'ForbiddenError', 'FORBIDDEN');
    expectError(await mutate(pk, 'createCustomerToken', { customerId }), 'ForbiddenError', 'FORBIDDEN');
    expectError(await mutate(pk, 'updateCustomer', { id: customerId, firstName: 'Hacked' }), 'ForbiddenError', 'FORBIDDEN');
    expect(await rowCounts(t.db.prisma, s.shopId)).toEqual(before);
  });

  it('with a customer token, me returns that customer and updateMyProfile changes it (consents recorded as self-service)', async () => {
    const tok = await token();
    const headers = { 'x-customer-token': tok };
    const r = await ok<{ me: ProfileOut; viewer: { keyKind: string; customerId: string } }>(pk, ME, undefined, headers);
    expect(r.me).toMatchObject({ email: 'me@example.com', firstName: 'Mia', lastName: 'Self', consents: [] });
    expect(r.viewer).toEqual({ keyKind: 'PUBLISHABLE', customerId });

    const res = await succeed(
      pk,
      'updateMyProfile',
      { firstName: 'Mila', phone: '+49 30 2223334', consents: [{ channel: 'EMAIL', granted: true, source: 'spoofed' }] },
      headers,
    );
    expect(res.profile).toMatchObject({ firstName: 'Mila', lastName: 'Self', phone: '+49302223334' });
    expect(res.profile?.consents).toEqual([{ channel: 'EMAIL', granted: true, source: 'self-service' }]);
    const stored = await getCustomer(s.g, customerId);
    expect(stored).toMatchObject({ firstName: 'Mila', phone: '+49302223334' });
    expect(stored?.consents).toEqual([{ channel: 'EMAIL', granted: true, source: 'self-service' }]);
    const changes = await t.db.prisma.consentChange.findMany({ where: { customerId: rawId(customerId) } });
    expect(changes.map((c) => [c.channel, c.granted, c.source])).toEqual([['EMAIL', true, 'self-service']]);
    // Invalid input is a typed error.
    expectError(await mutate(pk, 'updateMyProfile', { phone: 'nope' }, headers), 'ValidationError', 'VALIDATION_FAILED', [
      'input',
      'phone',
    ]);
  });

  it('without a token, me and updateMyProfile are forbidden; a secret key cannot use them either', async () => {
    const r = await pk('{ me { email } }');
    expect(errorCodes(r)).toEqual(['FORBIDDEN']);
    expect(r.data?.me ?? null).toBeNull();
    expectError(await mutate(pk, 'updateMyProfile', { firstName: 'X' }), 'ForbiddenError', 'FORBIDDEN');
    expect(errorCodes(await s.g('{ me { email } }'))).toEqual(['FORBIDDEN']);
    expectError(await mutate(s.g, 'updateMyProfile', { firstName: 'X' }), 'ForbiddenError', 'FORBIDDEN');
    expect((await getCustomer(s.g, customerId))?.firstName).not.toBe('X');
  });

  it("a token of shop A used with shop B's publishable key: UNAUTHENTICATED", async () => {
    const other = await shop();
    const r = await t.gql(other.pk)('{ me { email } }', undefined, { 'x-customer-token': await token() });
    expect(r.status).toBe(401);
    expect(errorCodes(r)).toEqual(['UNAUTHENTICATED']);
    expect(JSON.stringify(r)).not.toContain('me@example.com');
    const u = await t.gql(other.pk)('mutation { updateMyProfile(input: { firstName: "Evil" }) { __typename } }', undefined, {
      'x-customer-token': await token(),
    });
    expect(u.status).toBe(401);
    expect((await getCustomer(s.g, customerId))?.firstName).not.toBe('Evil');
  });

  it('a tampered, forged or expired token: UNAUTHENTICATED', async () => {
    const tok = await token();
    const [payload, mac] = tok.slice(3).split('.') as [string, string];
    const flip = (x: string) => x.slice(0, -2) + (x.at(-2) === 'A' ? 'B' : 'A') + x.slice(-1);
    const other = await createCustomer(s.g, { email: 'victim@example.com' });
    const forgedPayload = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), c: rawId(other.id) }),
    ).toString('base64url');
    const bad = [
      `ct_${payload}.${flip(mac)}`,
      `ct_${forgedPayload}.${mac}`,
      `ct_${payload}`,
      'garbage',
      signCustomerToken('not-the-server-secret-0123456789', s.shopId, rawId(customerId), 3600),
      signCustomerToken(t.app.services.tokenSecret, s.shopId, rawId(customerId), -10),
    ];
    for (const b of bad) {
      const r = await pk('{ me { email } }', undefined, { 'x-customer-token': b });
      expect(r.status, b).toBe(401);
      expect(errorCodes(r)).toEqual(['UNAUTHENTICATED']);
      expect(JSON.stringify(r)).not.toMatch(/@example\.com/);
    }
  });

  it('createCustomerToken validates its ttl and the customer', async () => {
    expectError(await mutate(s.g, 'createCustomerToken', { customerId, ttlSeconds: 10 }), 'ValidationError', 'VALIDATION_FAILED', [
      'input',
      'ttlSeconds',
    ]);
    const missing = await mutate(s.g, 'createCustomerToken', { customerId: globalId('Customer', '00000000-0000-4000-8000-000000000000') });
    expectError(missing, 'NotFoundError', 'NOT_FOUND', ['input', 'customerId']);
    const ok1 = await succeed(s.g, 'createCustomerToken', { customerId, ttlSeconds: 120 });
    const expires = new Date(ok1.expiresAt as string).getTime();
    expect(expires).toBeGreaterThan(Date.now() + 100_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 121_000);
  });
});

describe('x-crm-staff-id', () => {
  it('records the acting staff member on stage transitions; viewer shows them', async () => {
    const s = await shop();
    const rep = await createStaff(s.g, { name: 'Acting Rep', email: 'acting@shop.test' });
    const c = await createCustomer(s.g, { firstName: 'Acted' });
    for (const [header, stage] of [
      [rep.id, 'FIRST_PURCHASE'],
      [rawId(rep.id), 'REPEAT'],
    ] as const) {
      const asRep: Caller = <T>(q: string, v?: Record<string, unknown>, h?: Record<string, string>) =>
        s.g<T>(q, v, { ...h, 'x-crm-staff-id': header });
      const v = await asRep('{ viewer { staffUserId } }');
      expect(v.data).toEqual({ viewer: { staffUserId: rep.id } });
      const res = await mutate(asRep, 'setCustomerStage', { id: c.id, stage, reason: 'by hand' });
      expect(res.customer?.stageHistory.edges[0]?.node).toMatchObject({ toStage: stage, reason: 'by hand', actor: { id: rep.id } });
    }
    // Without the header there is no actor.
    const plain = await succeed(s.g, 'setCustomerStage', { id: c.id, stage: 'LOYAL', reason: 'test', force: true });
    expect(plain.customer?.stageHistory.edges[0]?.node).toMatchObject({ toStage: 'LOYAL', actor: null });
    const rows = await t.db.prisma.stageTransition.findMany({ where: { customerId: rawId(c.id) }, orderBy: { at: 'asc' } });
    expect(rows.map((r) => r.actorStaffId)).toEqual([null, rawId(rep.id), rawId(rep.id), null]);
  });

  it.each([
    ['an unknown staff id', () => globalId('StaffUser', '00000000-0000-4000-8000-000000000000')],
    ['garbage', () => 'nobody'],
    ['36 non-uuid characters', () => '-'.repeat(36)],
  ])('%s: 401', async (_name, header) => {
    const s = await shop();
    const r = await s.g(COUNT, undefined, { 'x-crm-staff-id': header() });
    expect(r.status).toBe(401);
    expect(errorCodes(r)).toEqual(['UNAUTHENTICATED']);
  });

  it("another shop's or an inactive staff member: 401", async () => {
    const a = await shop();
    const b = await shop();
    const r = await b.g(COUNT, undefined, { 'x-crm-staff-id': globalId('StaffUser', a.ownerId) });
    expect(r.status).toBe(401);
    const rep = await createStaff(a.g, { name: 'Leaving', email: 'leaving@shop.test' });
    await succeed(a.g, 'updateStaffUser', { id: rep.id, active: false });
    const r2 = await a.g(COUNT, undefined, { 'x-crm-staff-id': rep.id });
    expect(r2.status).toBe(401);
    expect(errorCodes(r2)).toEqual(['UNAUTHENTICATED']);
  });
});

describe('staff', () => {
  it('createStaffUser (default AGENT, email normalised, duplicate is a ConflictError), updateStaffUser changes the role', async () => {
    const s = await shop();
    const rep = await createStaff(s.g, { name: ' Sam Seller ', email: ' Sam@Shop.TEST ' });
    expect(rep).toMatchObject({ name: 'Sam Seller', email: 'sam@shop.test', role: 'AGENT', active: true });
    const dup = await mutate(s.g, 'createStaffUser', { name: 'Sam 2', email: 'sam@shop.test' });
    expectError(dup, 'ConflictError', 'CONFLICT', ['input', 'email']);
    expectError(await mutate(s.g, 'createStaffUser', { name: 'X', email: 'nope' }), 'ValidationError', 'VALIDATION_FAILED', [
      'input',
      'email',
    ]);

    const up = await succeed(s.g, 'updateStaffUser', { id: rep.id, role: 'MANAGER', name: 'Sam S.' });
    expect(up.staffUser).toMatchObject({ id: rep.id, role: 'MANAGER', name: 'Sam S.' });
    const all = await ok<{ staffUsers: { id: string; role: string }[] }>(s.g, '{ staffUsers { id role } }');
    expect(all.staffUsers).toContainEqual({ id: rep.id, role: 'MANAGER' });
    expect(all.staffUsers).toHaveLength(2);

    await succeed(s.g, 'updateStaffUser', { id: rep.id, active: false });
    expect((await ok<{ staffUsers: unknown[] }>(s.g, '{ staffUsers { id } }')).staffUsers).toHaveLength(1);
    expect((await ok<{ staffUsers: unknown[] }>(s.g, '{ staffUsers(includeInactive: true) { id } }')).staffUsers).toHaveLength(2);
  });

  it('the last active owner cannot be demoted or deactivated (ConflictError); with a second owner it can', async () => {
    const s = await shop();
    const ownerGid = globalId('StaffUser', s.ownerId);
    const demote = await mutate(s.g, 'updateStaffUser', { id: ownerGid, role: 'AGENT' });
    expectError(demote, 'ConflictError', 'CONFLICT', ['input', 'role']);
    const deactivate = await mutate(s.g, 'updateStaffUser', { id: ownerGid, active: false });
    expectError(deactivate, 'ConflictError', 'CONFLICT');
    const row = await t.db.prisma.staffUser.findUniqueOrThrow({ where: { id: s.ownerId } });
    expect(row).toMatchObject({ role: 'OWNER', active: true });

    const second = await createStaff(s.g, { name: 'Second Owner', email: 'second@shop.test', role: 'OWNER' });
    expect(second.role).toBe('OWNER');
    const ok1 = await succeed(s.g, 'updateStaffUser', { id: ownerGid, role: 'MANAGER' });
    expect(ok1.staffUser?.role).toBe('MANAGER');
    // Now the second is the last owner.
    expectError(await mutate(s.g, 'updateStaffUser', { id: second.id, role: 'AGENT' }), 'ConflictError', 'CONFLICT');
    expectError(
      await mutate(s.g, 'updateStaffUser', { id: globalId('StaffUser', '00000000-0000-4000-8000-000000000000'), name: 'X' }),
      'NotFoundError',
      'NOT_FOUND',
    );
  });

  it('two owners demoting each other at the same moment: one wins, the shop keeps an active owner', async () => {
    const s = await shop();
    const first = globalId('StaffUser', s.ownerId);
    const second = (await createStaff(s.g, { name: 'Co-Owner', email: 'co-owner@shop.test', role: 'OWNER' })).id;
    for (let round = 0; round < 5; round++) {
      const [a, b] = await Promise.all([
        mutate(s.g, 'updateStaffUser', { id: first, role: round % 2 ? 'MANAGER' : 'AGENT' }),
        mutate(s.g, 'updateStaffUser', { id: second, active: false }),
      ]);
      const outcomes = [a, b].map((r) => r.__typename).sort();
      expect(outcomes).toEqual(['ConflictError', 'UpdateStaffUserSuccess']);
      const owners = await t.db.prisma.staffUser.count({ where: { shopId: s.shopId, role: 'OWNER', active: true } });
      expect(owners).toBe(1);
      // Both owners again for the next round (as the shop's system, outside the race).
      await t.db.prisma.staffUser.updateMany({ where: { shopId: s.shopId }, data: { role: 'OWNER', active: true } });
    }
  });
});
