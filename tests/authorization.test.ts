import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Caller, createTestApp, rawId, type TestApp } from '../packages/server/src/testing.ts';
import {
  type ApiKeyOut,
  createCustomer,
  createStaff,
  errorCodes,
  expectError,
  mutate,
  ok,
  rowCounts,
  type StaffOut,
  succeed,
} from './helpers/crm.ts';

/**
 * The staff and key policy (docs/authorization.md): what an agent, a manager and an owner may do
 * with one shared secret key that names them in x-crm-staff-id. Every refusal changes nothing.
 */

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

type Shop = { shopId: string; sk: string; g: Caller; owner: Caller; ownerId: string; as: (staffId: string) => Caller };
async function shop(): Promise<Shop> {
  const s = await t.newShop(undefined, `owner-${Math.random().toString(36).slice(2)}@shop.test`);
  const g = t.gql(s.secretKey);
  const as =
    (staffId: string): Caller =>
    (q, v, h) =>
      g(q, v, { 'x-crm-staff-id': staffId, ...h });
  return { shopId: s.shop.id, sk: s.secretKey, g, owner: as(s.ownerId as string), ownerId: s.ownerId as string, as };
}

async function team(s: Shop) {
  const manager = await createStaff(s.g, { name: 'Mia Manager', email: `mia-${Math.random()}@x.test`, role: 'MANAGER' });
  const agent = await createStaff(s.g, { name: 'Al Agent', email: `al-${Math.random()}@x.test`, role: 'AGENT' });
  return { manager, agent, asManager: s.as(manager.id), asAgent: s.as(agent.id) };
}

const staffRow = (id: string) => t.db.prisma.staffUser.findUniqueOrThrow({ where: { id: rawId(id) } });

describe('agents cannot escalate', () => {
  it('an agent cannot promote itself to OWNER (the reported hole), nor change its own role at all', async () => {
    const s = await shop();
    const { agent, asAgent } = await team(s);
    for (const role of ['OWNER', 'MANAGER']) {
      expectError(await mutate(asAgent, 'updateStaffUser', { id: agent.id, role }), 'ForbiddenError', 'FORBIDDEN');
    }
    expect((await staffRow(agent.id)).role).toBe('AGENT');
  });

  it('an agent cannot create staff (of any role), API keys or webhook endpoints, nor delete or merge customers', async () => {
    const s = await shop();
    const { asAgent } = await team(s);
    const a = await createCustomer(s.g, { email: 'a@x.test' });
    const b = await createCustomer(s.g, { email: 'b@x.test' });
    const before = await rowCounts(t.db.prisma, s.shopId);
    for (const role of ['OWNER', 'MANAGER', 'AGENT']) {
      const res = await mutate(asAgent, 'createStaffUser', { name: 'X', email: `x-${role}@x.test`, role });
      expectError(res, 'ForbiddenError', 'FORBIDDEN');
      expect(res.message).toMatch(/MANAGE_STAFF/);
    }
    expectError(await mutate(asAgent, 'createApiKey', { kind: 'SECRET', name: 'mine' }), 'ForbiddenError', 'FORBIDDEN');
    expectError(await mutate(asAgent, 'deleteCustomer', { id: a.id }), 'ForbiddenError', 'FORBIDDEN');
    expectError(await mutate(asAgent, 'mergeCustomers', { survivorId: a.id, duplicateId: b.id }), 'ForbiddenError', 'FORBIDDEN');
    const hook = await asAgent(
      'mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { __typename ... on Error { code } } }',
      { i: { url: 'https://example.com/hook' } },
    );
    expect(JSON.stringify(hook.data ?? hook.errors)).toContain('FORBIDDEN');
    expect(await rowCounts(t.db.prisma, s.shopId)).toEqual(before);
    expect(await t.db.prisma.webhookEndpoint.count({ where: { shopId: s.shopId } })).toBe(0);
    // An agent may still do its everyday work.
    await succeed(asAgent, 'createCustomer', { email: 'lead@x.test' });
  });

  it('an agent cannot revoke keys, nor deactivate or demote the owner', async () => {
    const s = await shop();
    const { asAgent } = await team(s);
    const keys = (await ok<{ apiKeys: ApiKeyOut[] }>(s.g, '{ apiKeys { id kind } }')).apiKeys;
    const pk = keys.find((k) => k.kind === 'PUBLISHABLE');
    expectError(await mutate(asAgent, 'revokeApiKey', { id: pk?.id }), 'ForbiddenError', 'FORBIDDEN');
    const ownerGid = (await ok<{ staffUsers: StaffOut[] }>(s.g, '{ staffUsers { id role } }')).staffUsers.find((u) => u.role === 'OWNER');
    expectError(await mutate(asAgent, 'updateStaffUser', { id: ownerGid?.id, active: false }), 'ForbiddenError', 'FORBIDDEN');
    expect((await staffRow(ownerGid?.id as string)).active).toBe(true);
  });

  it('with the shop granting MANAGE_STAFF, an agent manages agents only: no promotion, no owner changes', async () => {
    const s = await shop();
    const { agent, manager, asAgent } = await team(s);
    await ok(s.owner, 'mutation { updateAuthorizationSettings(input: { agentsMay: [MANAGE_STAFF] }) { __typename } }');
    const settings = await ok<{ authorizationSettings: { agentsMay: string[] } }>(s.g, '{ authorizationSettings { agentsMay } }');
    expect(settings.authorizationSettings.agentsMay).toEqual(['MANAGE_STAFF']);
    const created = await succeed(asAgent, 'createStaffUser', { name: 'New', email: 'new-agent@x.test', role: 'AGENT' });
    expect(created.staffUser?.role).toBe('AGENT');
    expectError(await mutate(asAgent, 'createStaffUser', { name: 'M', email: 'm@x.test', role: 'MANAGER' }), 'ForbiddenError', 'FORBIDDEN');
    expectError(await mutate(asAgent, 'updateStaffUser', { id: agent.id, role: 'OWNER' }), 'ForbiddenError', 'FORBIDDEN');
    expectError(await mutate(asAgent, 'updateStaffUser', { id: manager.id, active: false }), 'ForbiddenError', 'FORBIDDEN');
    // Still no keys or webhooks: those are separate grants.
    expectError(await mutate(asAgent, 'createApiKey', { kind: 'SECRET', name: 'mine' }), 'ForbiddenError', 'FORBIDDEN');
  });

  const SET_DELETE = 'mutation { updateAuthorizationSettings(input: { agentsMay: [DELETE_CUSTOMERS] }) { __typename } }';
  it('only an owner (or the shop system) changes what agents may do; the grant then opens deleteCustomer', async () => {
    const s = await shop();
    const { asManager, asAgent } = await team(s);
    for (const g of [asManager, asAgent]) {
      const r = await ok<{ updateAuthorizationSettings: { __typename: string } }>(g, SET_DELETE);
      expect(r.updateAuthorizationSettings.__typename).toBe('ForbiddenError');
    }
    const c = await createCustomer(s.g, { email: 'gone@x.test' });
    expectError(await mutate(asAgent, 'deleteCustomer', { id: c.id }), 'ForbiddenError', 'FORBIDDEN');
    const r = await ok<{ updateAuthorizationSettings: { __typename: string } }>(s.owner, SET_DELETE);
    expect(r.updateAuthorizationSettings.__typename).toBe('AuthorizationSettings');
    await succeed(asAgent, 'deleteCustomer', { id: c.id });
    expect(await t.db.prisma.customer.count({ where: { id: rawId(c.id) } })).toBe(0);
  });
});

describe('managers', () => {
  it('cannot create or promote owners, nor change an owner; can manage agents and managers', async () => {
    const s = await shop();
    const { agent, asManager } = await team(s);
    expectError(await mutate(asManager, 'createStaffUser', { name: 'O', email: 'o@x.test', role: 'OWNER' }), 'ForbiddenError', 'FORBIDDEN');
    expectError(await mutate(asManager, 'updateStaffUser', { id: agent.id, role: 'OWNER' }), 'ForbiddenError', 'FORBIDDEN');
    const owners = (await ok<{ staffUsers: StaffOut[] }>(s.g, '{ staffUsers { id role } }')).staffUsers.filter((u) => u.role === 'OWNER');
    expectError(await mutate(asManager, 'updateStaffUser', { id: owners[0]?.id, role: 'AGENT' }), 'ForbiddenError', 'FORBIDDEN');
    expect(await t.db.prisma.staffUser.count({ where: { shopId: s.shopId, role: 'OWNER' } })).toBe(1);
    await succeed(asManager, 'updateStaffUser', { id: agent.id, role: 'MANAGER' });
    await succeed(asManager, 'createStaffUser', { name: 'A2', email: 'a2@x.test', role: 'AGENT' });
  });
});

describe('owners and keys', () => {
  it('the last active owner stays: neither demoted nor deactivated, even by itself', async () => {
    const s = await shop();
    const owners = (await ok<{ staffUsers: StaffOut[] }>(s.g, '{ staffUsers { id role } }')).staffUsers.filter((u) => u.role === 'OWNER');
    const id = owners[0]?.id as string;
    expectError(await mutate(s.owner, 'updateStaffUser', { id, role: 'MANAGER' }), 'ConflictError', 'CONFLICT');
    expectError(await mutate(s.owner, 'updateStaffUser', { id, active: false }), 'ConflictError', 'CONFLICT');
    expect((await staffRow(id)).role).toBe('OWNER');
  });

  it('nobody grants a key scope they do not hold; the default is the creator’s own scopes', async () => {
    const s = await shop();
    const limited = await succeed(s.g, 'createApiKey', {
      kind: 'SECRET',
      name: 'keys only',
      scopes: ['keys:write', 'keys:read', 'contacts:read'],
    });
    const lg = t.gql(limited.key as string);
    const before = await t.db.prisma.apiKey.count({ where: { shopId: s.shopId } });
    const res = await mutate(lg, 'createApiKey', { kind: 'SECRET', name: 'escalate', scopes: ['staff:write'] });
    expectError(res, 'ForbiddenError', 'FORBIDDEN');
    expect(res.message).toMatch(/staff:write/);
    // A legacy broad name counts as the fine scopes it stands for.
    expectError(
      await mutate(lg, 'createApiKey', { kind: 'SECRET', name: 'legacy', scopes: ['customers:read'] }),
      'ForbiddenError',
      'FORBIDDEN',
    );
    expect(await t.db.prisma.apiKey.count({ where: { shopId: s.shopId } })).toBe(before);
    const dflt = await succeed(lg, 'createApiKey', { kind: 'SECRET', name: 'default' });
    expect((dflt.apiKey as ApiKeyOut).scopes.sort()).toEqual(['contacts:read', 'keys:read', 'keys:write']);
  });

  it('legacy scope names keep working: customers:read reads customers and orders, not staff', async () => {
    const s = await shop();
    const ro = await succeed(s.g, 'createApiKey', { kind: 'SECRET', name: 'legacy ro', scopes: ['customers:read'] });
    const g = t.gql(ro.key as string);
    await ok(g, '{ customers { totalCount } orders { totalCount } segments { totalCount } agenda { totalCount } }');
    expect(errorCodes(await g('{ staffUsers { id } }'))).toEqual(['FORBIDDEN']);
    expect(errorCodes(await g('{ webhookEndpoints { id } }'))).toEqual(['FORBIDDEN']);
  });

  it('a fine scope opens only its area', async () => {
    const s = await shop();
    const k = await succeed(s.g, 'createApiKey', { kind: 'SECRET', name: 'orders', scopes: ['orders:read'] });
    const g = t.gql(k.key as string);
    await ok(g, '{ orders { totalCount } interactions { totalCount } }');
    const r = await g('{ customers { totalCount } }');
    expect(errorCodes(r)).toEqual(['FORBIDDEN']);
    expect(r.errors?.[0]?.message).toMatch(/contacts:read/);
  });
});
