import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forShop } from '../packages/server/src/db/tenant.ts';
import { createLogger } from '../packages/server/src/logger.ts';
import { createAuditRetentionScheduler, pruneAudit } from '../packages/server/src/modules/audit/audit.service.ts';
import { deleteCustomer } from '../packages/server/src/modules/customers/customer.service.ts';
import { schema } from '../packages/server/src/schema.ts';
import { type Caller, createTestApp, globalId, rawId, type TestApp } from '../packages/server/src/testing.ts';
import { createCustomer, createStaff, ok, type StaffOut, succeed } from './helpers/crm.ts';

/**
 * The audit log: every Mutation field of the schema writes an entry (enumerated from the schema, so
 * a new mutation is covered or fails here), row changes carry old -> new in the same transaction,
 * actors are told apart, the log is paginated and filtered, erasure redacts values, retention prunes.
 */
let t: TestApp;
let shopId: string;
let g: Caller;
let secretKeyId: string;
let rep: StaffOut;
let pk: Caller;
let publishableKeyId: string;

beforeAll(async () => {
  t = await createTestApp();
  const s = await t.newShop('Audit shop', 'owner@audit.test');
  shopId = s.shop.id;
  g = t.gql(s.secretKey);
  secretKeyId = (await t.db.prisma.apiKey.findFirstOrThrow({ where: { shopId, kind: 'SECRET' } })).id;
  rep = await createStaff(g, { name: 'Audit Rep', email: 'rep@audit.test' });
  pk = t.gql(s.publishableKey);
  publishableKeyId = (await t.db.prisma.apiKey.findFirstOrThrow({ where: { shopId, kind: 'PUBLISHABLE' } })).id;
});
afterAll(() => t.close());

const entries = (where: Record<string, unknown>) =>
  t.db.prisma.auditEntry.findMany({ where: { shopId, ...where }, orderBy: { id: 'asc' } });

/** A GraphQL input type, read structurally (the root package does not depend on graphql). */
type InType = {
  constructor: { name: string };
  ofType?: InType;
  name?: string;
  getValues?: () => { value: unknown }[];
  getFields?: () => Record<string, { name: string; type: InType }>;
};
const kind = (t: InType) => t.constructor.name;

/** A value of the argument's type that passes GraphQL validation (the resolver may still refuse it). */
function dummy(type: InType, depth = 0): unknown {
  if (kind(type) === 'GraphQLNonNull') return dummy(type.ofType as InType, depth);
  if (kind(type) === 'GraphQLList') return [dummy(type.ofType as InType, depth + 1)];
  if (kind(type) === 'GraphQLEnumType') return type.getValues?.()[0]?.value;
  if (kind(type) === 'GraphQLInputObjectType') {
    const out: Record<string, unknown> = {};
    for (const f of Object.values(type.getFields?.() ?? {})) {
      if (kind(f.type) === 'GraphQLNonNull' && depth < 6) out[f.name] = dummy(f.type, depth + 1); // batch items: input.items[].items[]
    }
    return out;
  }
  switch (type.name) {
    case 'Int':
    case 'Float':
      return 1;
    case 'Boolean':
      return false;
    case 'ID':
      return globalId('Customer', '00000000-0000-4000-8000-000000000000');
    case 'DateTime':
      return new Date().toISOString();
    case 'Date':
      return '2000-01-01';
    case 'Decimal':
      return '1.00';
    case 'JSON':
      return {};
    default:
      return 'audit-dummy';
  }
}

describe('every mutation writes an audit entry', () => {
  const fields = Object.values(schema.getMutationType()?.getFields() ?? {});
  it('the schema has mutations to check', () => expect(fields.length).toBeGreaterThan(20));
  for (const field of fields) {
    it(`Mutation.${field.name}`, async () => {
      const args = field.args.filter((a) => kind(a.type as unknown as InType) === 'GraphQLNonNull');
      const decl = args.map((a) => `$${a.name}: ${a.type.toString()}`).join(', ');
      const call = args.map((a) => `${a.name}: $${a.name}`).join(', ');
      const variables = Object.fromEntries(args.map((a) => [a.name, dummy(a.type as unknown as InType)]));
      const query = `mutation${decl ? `(${decl})` : ''} { ${field.name}${call ? `(${call})` : ''} { __typename } }`;
      const before = await t.db.prisma.auditEntry.count({ where: { shopId, operation: field.name, action: 'MUTATION' } });
      const r = await g(query, variables);
      expect(r.status, JSON.stringify(r.errors)).toBeLessThan(500);
      const after = await entries({ operation: field.name, action: 'MUTATION' });
      expect(after.length, `${field.name}: ${JSON.stringify(r)}`).toBe(before + 1);
      expect(after.at(-1)).toMatchObject({ actorKind: 'API_KEY', actorKeyId: secretKeyId });
      expect(after.at(-1)?.outcome).toBeTruthy();
    });
  }
});

describe('row changes', () => {
  it('records fields old -> new with the actor and operation, in the same transaction', async () => {
    const c = await createCustomer(g, { email: 'ann@audit.test', firstName: 'Ann' });
    const id = rawId(c.id);
    const ins = await entries({ entityType: 'Customer', entityId: id, action: 'INSERT' });
    expect(ins).toHaveLength(1);
    expect(ins[0]).toMatchObject({ operation: 'createCustomer', actorKind: 'API_KEY', customerId: id });
    expect((ins[0]?.changes as Record<string, unknown> | null)?.firstName).toEqual([null, 'Ann']);

    await succeed(g, 'updateCustomer', { id: c.id, version: 1, firstName: 'Anna' }, { 'x-crm-staff-id': rep.id });
    const upd = await entries({ entityType: 'Customer', entityId: id, action: 'UPDATE', operation: 'updateCustomer' });
    expect(upd).toHaveLength(1);
    expect(upd[0]).toMatchObject({ actorKind: 'STAFF', actorStaffId: rawId(rep.id), fields: ['firstName'] });
    expect(upd[0]?.changes).toEqual({ firstName: ['Ann', 'Anna'] });

    // A rejected change writes no row entry (the mutation entry records the outcome).
    const bad = await g('mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { __typename ... on Error { code } } }', {
      input: { id: c.id, version: 1, firstName: 'Stale' },
    });
    expect(bad.data).toMatchObject({ updateCustomer: { code: 'VERSION_CONFLICT' } });
    expect(await entries({ entityType: 'Customer', entityId: id, action: 'UPDATE' })).toHaveLength(1);
    const calls = await entries({ operation: 'updateCustomer', action: 'MUTATION', entityId: id });
    expect(calls.map((e) => e.outcome)).toEqual(['OK', 'VERSION_CONFLICT']);
  });

  it('a transaction with crm.audit_rows off queues no row entry (bulk imports); one without it is audited as before', async () => {
    const c = await createCustomer(g, { email: 'rows@audit.test' });
    const id = rawId(c.id);
    const ctx = JSON.stringify({ kind: 'SYSTEM', op: 'auditRowsTest' });
    const rename = (name: string, rows: string) =>
      t.db.prisma.$transaction([
        t.db.prisma.$queryRaw`SELECT set_config('crm.audit', ${ctx}, true), set_config('crm.audit_rows', ${rows}, true)`,
        t.db.prisma.$executeRaw`UPDATE "Customer" SET "firstName" = ${name} WHERE id = ${id}::uuid`,
      ]);
    await rename('Off', 'off');
    expect(await entries({ entityId: id, operation: 'auditRowsTest' })).toEqual([]);
    // An instance that does not set it (one from before migration 20261128160000, mid-deploy).
    await rename('On', '');
    const logged = await entries({ entityId: id, operation: 'auditRowsTest' });
    expect(logged.map((e) => [e.action, e.actorKind, e.changes])).toEqual([['UPDATE', 'SYSTEM', { firstName: ['Off', 'On'] }]]);
  });

  it('reads write nothing', async () => {
    const before = await t.db.prisma.auditEntry.count({ where: { shopId } });
    await ok(g, '{ customers(first: 5) { edges { node { id email } } } shop { name } }');
    expect(await t.db.prisma.auditEntry.count({ where: { shopId } })).toBe(before);
  });
});

describe('auditLog query', () => {
  it('filters by entity, actor, operation and time, with cursor pagination; managers only', async () => {
    const c = await createCustomer(g, { email: 'bo@audit.test', firstName: 'Bo' });
    for (const n of ['B1', 'B2', 'B3']) {
      const cur = (await t.db.prisma.customer.findUniqueOrThrow({ where: { id: rawId(c.id) } })).version;
      await succeed(g, 'updateCustomer', { id: c.id, version: cur, firstName: n });
    }
    type Page = {
      totalCount: number;
      pageInfo: { hasNextPage: boolean; endCursor: string };
      edges: { node: { changes: { firstName: string[] } } }[];
    };
    const Q = `query($f: AuditLogFilter, $after: String) { auditLog(first: 2, after: $after, filter: $f) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { operation action entityType entityId actorKind changes fields } } } }`;
    const f = { entity: { type: 'Customer', id: c.id }, operation: 'updateCustomer', action: 'UPDATE' };
    const p1 = (await ok<{ auditLog: Page }>(g, Q, { f })).auditLog;
    expect(p1.totalCount).toBe(3);
    expect(p1.edges.map((e) => e.node.changes.firstName[1])).toEqual(['B3', 'B2']);
    const p2 = (await ok<{ auditLog: Page }>(g, Q, { f, after: p1.pageInfo.endCursor })).auditLog;
    expect(p2.edges.map((e) => e.node.changes.firstName[1])).toEqual(['B1']);
    expect(p2.pageInfo.hasNextPage).toBe(false);
    const byActor = (await ok<{ auditLog: Page }>(g, Q, { f: { actor: { kind: 'STAFF' }, operation: 'createCustomer' } })).auditLog;
    expect(byActor.totalCount).toBe(0);
    const byKey = (await ok<{ auditLog: Page }>(g, Q, { f: { ...f, actor: { kind: 'API_KEY', id: secretKeyId } } })).auditLog;
    expect(byKey.totalCount).toBe(3);
    const future = (await ok<{ auditLog: Page }>(g, Q, { f: { from: new Date(Date.now() + 60_000).toISOString() } })).auditLog;
    expect(future.totalCount).toBe(0);
    // An agent may not read the audit log.
    const agent = await g(Q, { f }, { 'x-crm-staff-id': rep.id });
    expect(agent.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('actors', () => {
  it('a customer acting on their own profile is recorded as CUSTOMER', async () => {
    const c = await createCustomer(g, { email: 'self@audit.test', firstName: 'Selma' });
    const token = (await succeed(g, 'createCustomerToken', { customerId: c.id })).token as string;
    await succeed(pk, 'updateMyProfile', { firstName: 'Selina' }, { 'x-customer-token': token });
    const e = await entries({ entityId: rawId(c.id), action: 'UPDATE', operation: 'updateMyProfile' });
    expect(e).toHaveLength(1);
    expect(e[0]).toMatchObject({
      actorKind: 'CUSTOMER',
      actorCustomerId: rawId(c.id),
      actorKeyId: publishableKeyId,
      changes: { firstName: ['Selma', 'Selina'] },
    });
  });

  it('system jobs are recorded as SYSTEM with the job name', async () => {
    const c = await createCustomer(g, { email: 'sys@audit.test' });
    const { withAudit } = await import('../packages/server/src/db/audit-context.ts');
    // (awaited inside: a Prisma query runs when awaited, and must run in the job's context)
    await withAudit({ kind: 'SYSTEM', job: 'test-job', op: 'test-job' }, async () => {
      await t.db.prisma.customer.update({ where: { id: rawId(c.id) }, data: { jobTitle: 'Set by a job' } });
    });
    const e = await entries({ entityId: rawId(c.id), operation: 'test-job' });
    expect(e).toHaveLength(1);
    expect(e[0]).toMatchObject({ actorKind: 'SYSTEM', actorJob: 'test-job', changes: { jobTitle: [null, 'Set by a job'] } });
    // Outside an audit context (migrations, seeds) nothing is recorded.
    await t.db.prisma.customer.update({ where: { id: rawId(c.id) }, data: { jobTitle: 'Raw' } });
    expect(await entries({ entityId: rawId(c.id), action: 'UPDATE', operation: 'unknown' })).toHaveLength(0);
  });
});

describe('erasure and retention', () => {
  it('erasure redacts the values of the person’s entries; the entries stay', async () => {
    const c = await createCustomer(g, { email: 'erase-me@audit.test', firstName: 'Eraso', phone: '+49 30 1234567' });
    const id = rawId(c.id);
    await succeed(g, 'updateCustomer', { id: c.id, version: 1, lastName: 'Erasovic' });
    // A duplicate merged into them: its entries are theirs too.
    const dup = await createCustomer(g, { email: 'erase-dup@audit.test', firstName: 'Dupliko', company: 'Dup Holdings' });
    await succeed(g, 'mergeCustomers', { survivorId: c.id, duplicateId: dup.id });
    // Merge records gone first (another erase step may remove them): the audit log still knows the merge.
    await t.db.prisma.customerMerge.deleteMany({ where: { shopId, survivorId: id } });
    const { withAudit } = await import('../packages/server/src/db/audit-context.ts');
    await withAudit({ kind: 'API_KEY', key: secretKeyId, op: 'deleteCustomer' }, () => deleteCustomer(forShop(t.db.prisma, shopId), id));
    const left = await entries({ OR: [{ customerId: { in: [id, rawId(dup.id)] } }, { entityId: { in: [id, rawId(dup.id)] } }] });
    expect(left.length).toBeGreaterThanOrEqual(3);
    const all = JSON.stringify(await entries({}), (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    for (const s of ['erase-me', 'Eraso', 'Erasovic', '1234567', 'erase-dup', 'Dupliko', 'Dup Holdings']) expect(all).not.toContain(s);
    expect(left.filter((e) => e.action !== 'DELETE' && e.action !== 'MUTATION').every((e) => e.redacted && e.changes === null)).toBe(true);
  });

  it('prunes entries past AUDIT_RETENTION_DAYS, independently of events', async () => {
    const db = forShop(t.db.prisma, shopId);
    const total = await t.db.prisma.auditEntry.count({ where: { shopId } });
    const old = await t.db.prisma.auditEntry.findFirstOrThrow({ where: { shopId }, orderBy: { id: 'asc' } });
    await t.db.prisma.auditEntry.update({ where: { id: old.id }, data: { at: new Date(Date.now() - 400 * 86_400_000) } });
    expect(await pruneAudit(db, 0)).toBe(0);
    const sched = createAuditRetentionScheduler({ prisma: t.db.prisma, logger: createLogger('silent'), retentionDays: 365, intervalMs: 0 });
    expect(await sched.tick()).toBe(1);
    expect(await t.db.prisma.auditEntry.count({ where: { shopId } })).toBe(total - 1);
    expect(t.config.audit.retentionDays).toBe(365);
  });
});
