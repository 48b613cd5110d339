import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Caller, createTestApp, globalId, rawId, type TestApp } from '../packages/server/src/testing.ts';
import {
  type CustomerOut,
  createCustomer,
  createStaff,
  errorCodes,
  expectError,
  getCustomer,
  mutate,
  mutateRaw,
  ok,
  rowCounts,
  type StaffOut,
  sleep,
  succeed,
} from './helpers/crm.ts';

/** GraphQL operation tests of the customers module, through the real /graphql endpoint. */

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

type Shop = { shopId: string; g: Caller; ownerId: string };
async function shop(): Promise<Shop> {
  const s = await t.newShop(undefined, `owner-${Math.random().toString(36).slice(2)}@shop.test`);
  return { shopId: s.shop.id, g: t.gql(s.secretKey), ownerId: s.ownerId as string };
}

const sorted = <T>(xs: T[]) => [...xs].sort();
const names = (tags: { name: string }[]) => sorted(tags.map((x) => x.name));
const MISSING_UUID = '00000000-0000-4000-8000-000000000000';

type Edge = { cursor: string; node: CustomerOut };
type Conn = { totalCount: number; edges: Edge[]; pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; endCursor: string | null } };
const LIST = `query L($filter: CustomerFilter, $orderBy: CustomerOrder, $first: Int, $after: String, $last: Int, $before: String) {
  customers(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { id firstName lastName email createdAt dealLikelihood status } }
  }
}`;
async function list(g: Caller, vars: Record<string, unknown> = {}): Promise<Conn> {
  return (await ok<{ customers: Conn }>(g, LIST, { first: 100, ...vars })).customers;
}
const ids = (c: Conn) => c.edges.map((e) => e.node.id);

describe('createCustomer', () => {
  it('normalises email and phone and stores tags, consents, source with referrer, owner and the initial stage', async () => {
    const { g, shopId } = await shop();
    const rep = await createStaff(g, { name: 'Rita Rep', email: 'rita@shop.test' });
    const referrer = await createCustomer(g, { email: 'ref@example.com', firstName: 'Ref' });
    const c = await createCustomer(g, {
      email: '  Ada.Lovelace@Example.COM ',
      phone: '+49 30 1234567',
      firstName: 'Ada',
      lastName: 'Lovelace',
      tags: ['vip', 'newsletter', 'vip'],
      consents: [
        { channel: 'EMAIL', granted: true, source: 'checkout-form' },
        { channel: 'SMS', granted: false },
      ],
      source: { channel: 'REFERRAL', campaign: 'spring-sale', referrerCustomerId: referrer.id },
      ownerId: rep.id,
      stage: 'FIRST_PURCHASE',
    });
    expect(c.email).toBe('ada.lovelace@example.com');
    expect(c.phone).toBe('+49301234567');
    expect(c.version).toBe(1);
    expect(c.status).toBe('ACTIVE');
    expect(names(c.tags)).toEqual(['newsletter', 'vip']);
    expect([...c.consents].sort((a, b) => a.channel.localeCompare(b.channel))).toEqual([
      { channel: 'EMAIL', granted: true, source: 'checkout-form' },
      { channel: 'SMS', granted: false, source: 'api' },
    ]);
    expect(c.source).toEqual({
      channel: 'REFERRAL',
      campaign: 'spring-sale',
      referrer: { id: referrer.id },
      referrerName: null,
      referrerContact: null,
    });
    expect(c.owner).toEqual({ id: rep.id, name: 'Rita Rep' });
    expect(c.stage).toBe('FIRST_PURCHASE');
    expect(c.stageHistory.totalCount).toBe(1);
    expect(c.stageHistory.edges[0]?.node).toMatchObject({ fromStage: null, toStage: 'FIRST_PURCHASE', source: 'MANUAL', actor: null });

    // What is stored, read with the unscoped client.
    const row = await t.db.prisma.customer.findUniqueOrThrow({ where: { id: rawId(c.id) } });
    expect(row).toMatchObject({ shopId, email: 'ada.lovelace@example.com', phone: '+49301234567', ownerId: rawId(rep.id) });
    expect(row.sourceReferrerId).toBe(rawId(referrer.id));
    // The stored phone is found from another notation.
    const found = await ok<{ customerBy: { id: string } | null }>(g, '{ customerBy(phone: "+49 (30) 123-4567") { id } }');
    expect(found.customerBy?.id).toBe(c.id);
  });

  it('defaults to PROSPECT and records it; a referrer can be a name and contact instead', async () => {
    const { g } = await shop();
    const c = await createCustomer(g, {
      firstName: 'Plain',
      source: { channel: 'WALK_IN', referrerName: 'Uncle Bob', referrerContact: 'bob@x.de' },
    });
    expect(c.stage).toBe('PROSPECT');
    expect(c.stageHistory.edges.map((e) => [e.node.fromStage, e.node.toStage])).toEqual([[null, 'PROSPECT']]);
    expect(c.source).toMatchObject({ channel: 'WALK_IN', referrer: null, referrerName: 'Uncle Bob', referrerContact: 'bob@x.de' });
    expect(c.owner).toBeNull();
    expect(c.tags).toEqual([]);
  });

  describe('bad input returns a typed error and writes nothing', () => {
    let s: Shop;
    beforeAll(async () => {
      s = await shop();
      await createCustomer(s.g, { email: 'taken@example.com', phone: '+49 30 9999999', externalId: 'ext-taken' });
    });
    // Every case also carries tags and consents, so a partial write would show in the counts.
    const extra = { tags: ['must-not-exist'], consents: [{ channel: 'EMAIL', granted: true }] };
    const cases: [string, Record<string, unknown>, string, string, string[]][] = [
      ['malformed email', { email: 'not-an-email' }, 'ValidationError', 'VALIDATION_FAILED', ['input', 'email']],
      ['malformed phone', { phone: '12ab' }, 'ValidationError', 'VALIDATION_FAILED', ['input', 'phone']],
      ['phone without country', { phone: '030 1234567' }, 'ValidationError', 'VALIDATION_FAILED', ['input', 'phone']],
      ['101-char firstName', { firstName: 'x'.repeat(101) }, 'ValidationError', 'VALIDATION_FAILED', ['input', 'firstName']],
      ['dealLikelihood 101', { dealLikelihood: 101 }, 'ValidationError', 'VALIDATION_FAILED', ['input', 'dealLikelihood']],
      ['dealLikelihood -1', { dealLikelihood: -1 }, 'ValidationError', 'VALIDATION_FAILED', ['input', 'dealLikelihood']],
      ['duplicate email (other case)', { email: ' TAKEN@example.com' }, 'ConflictError', 'CONFLICT', ['input', 'email']],
      ['duplicate phone (other notation)', { phone: '+4930 999 9999' }, 'ConflictError', 'CONFLICT', ['input', 'phone']],
      ['duplicate externalId', { externalId: 'ext-taken' }, 'ConflictError', 'CONFLICT', ['input', 'externalId']],
      ['unknown ownerId', { ownerId: globalId('StaffUser', MISSING_UUID) }, 'NotFoundError', 'NOT_FOUND', ['input', 'ownerId']],
      [
        'unknown referrer',
        { source: { referrerCustomerId: globalId('Customer', MISSING_UUID) } },
        'NotFoundError',
        'NOT_FOUND',
        ['input', 'source', 'referrerCustomerId'],
      ],
    ];
    it.each(cases)('%s', async (_name, input, typename, code, path) => {
      const before = await rowCounts(t.db.prisma, s.shopId);
      const res = await mutate(s.g, 'createCustomer', { firstName: 'Bad', ...extra, ...input });
      expectError(res, typename, code, path);
      expect(res.customer).toBeUndefined();
      if (typename === 'ValidationError') {
        expect(res.issues?.length).toBeGreaterThanOrEqual(1);
        expect(res.issues?.[0]?.path).toEqual(path);
        expect(res.issues?.[0]?.message).toMatch(/\w/);
      }
      if (typename === 'NotFoundError') expect(res.resource).toMatch(/Staff user|Referrer customer/);
      expect(await rowCounts(t.db.prisma, s.shopId)).toEqual(before);
    });

    it('an unknown enum value is a GraphQL validation error with no data, as a literal and as a variable', async () => {
      const before = await rowCounts(t.db.prisma, s.shopId);
      const literal = await s.g('mutation { createCustomer(input: { firstName: "E", gender: WIZARD }) { __typename } }');
      expect(literal.data).toBeUndefined();
      expect(errorCodes(literal)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      expect(literal.errors?.[0]?.message).toMatch(/WIZARD/);
      const variable = await mutateRaw(s.g, 'createCustomer', { firstName: 'E', gender: 'WIZARD' });
      expect(variable.data).toBeUndefined();
      expect(errorCodes(variable)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      expect(variable.errors?.[0]?.message).toMatch(/WIZARD/);
      expect(await rowCounts(t.db.prisma, s.shopId)).toEqual(before);
    });

    it('a malformed global id is rejected as invalid input, not as an internal error', async () => {
      const before = await rowCounts(t.db.prisma, s.shopId);
      const r = await mutateRaw(s.g, 'createCustomer', { firstName: 'E', ownerId: 'not-a-global-id' });
      // The one id parsing point raises a ValidationError: the mutation's typed error member.
      expect(errorCodes(r)).toEqual([]);
      expect(r.data?.createCustomer).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION_FAILED' });
      const wrongType = await s.g('query($id: ID!) { customer(id: $id) { id } }', { id: globalId('StaffUser', MISSING_UUID) });
      expect(errorCodes(wrongType)).toEqual(['VALIDATION_FAILED']);
      expect(await rowCounts(t.db.prisma, s.shopId)).toEqual(before);
    });
  });
});

describe('updateCustomer', () => {
  it('increments the version, refuses a stale version with the current one, and null clears a field', async () => {
    const { g } = await shop();
    const c = await createCustomer(g, { firstName: 'Old', company: 'Acme', dealLikelihood: 40, email: 'u@example.com' });
    const r1 = await succeed(g, 'updateCustomer', { id: c.id, version: 1, firstName: 'New' });
    expect(r1.customer?.version).toBe(2);
    expect(r1.customer?.firstName).toBe('New');
    expect(r1.customer?.company).toBe('Acme');

    const stale = await mutate(g, 'updateCustomer', { id: c.id, version: 1, firstName: 'Lost' });
    expectError(stale, 'VersionConflictError', 'VERSION_CONFLICT', ['input', 'version']);
    expect(stale.currentVersion).toBe(2);
    const after = await getCustomer(g, c.id);
    expect(after?.firstName).toBe('New');
    expect(after?.version).toBe(2);

    // Null clears; omitted fields stay; no version = no check.
    const r2 = await succeed(g, 'updateCustomer', { id: c.id, company: null, dealLikelihood: null });
    expect(r2.customer).toMatchObject({ company: null, dealLikelihood: null, firstName: 'New', email: 'u@example.com', version: 3 });
  });

  it('rejects an email taken by another customer and an unknown id', async () => {
    const { g } = await shop();
    await createCustomer(g, { email: 'one@example.com' });
    const two = await createCustomer(g, { email: 'two@example.com' });
    const res = await mutate(g, 'updateCustomer', { id: two.id, email: 'ONE@example.com' });
    expectError(res, 'ConflictError', 'CONFLICT', ['input', 'email']);
    expect((await getCustomer(g, two.id))?.email).toBe('two@example.com');
    const missing = await mutate(g, 'updateCustomer', { id: globalId('Customer', MISSING_UUID), firstName: 'X' });
    expectError(missing, 'NotFoundError', 'NOT_FOUND', ['input', 'id']);
  });
});

describe('upsertCustomer', () => {
  const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ['email', { email: 'Up@Example.com' }, { email: ' up@example.COM ' }],
    ['phone', { phone: '+49 30 7654321' }, { phone: '+4930 765 4321' }],
    ['externalId', { externalId: 'shopify-42', email: 'first@example.com' }, { externalId: 'shopify-42' }],
  ];
  it.each(cases)('matches by %s: the second call updates, no duplicate', async (_by, first, second) => {
    const { g, shopId } = await shop();
    const a = await succeed(g, 'upsertCustomer', { ...first, firstName: 'First', tags: ['a'] });
    expect(a.created).toBe(true);
    const b = await succeed(g, 'upsertCustomer', { ...second, firstName: 'Second', tags: ['b'] });
    expect(b.created).toBe(false);
    expect(b.customer?.id).toBe(a.customer?.id);
    expect(b.customer?.firstName).toBe('Second');
    // Tags are added on update, never removed.
    expect(names(b.customer?.tags ?? [])).toEqual(['a', 'b']);
    expect(await t.db.prisma.customer.count({ where: { shopId } })).toBe(1);
    expect((await list(g)).totalCount).toBe(1);
  });
});

describe('mergeCustomers', () => {
  it('moves tags, consents and stage history to the survivor; the duplicate resolves to it and leaves the list', async () => {
    const { g, shopId } = await shop();
    const survivor = await createCustomer(g, {
      email: 'keep@example.com',
      firstName: 'Keep',
      tags: ['a', 'shared'],
      consents: [{ channel: 'EMAIL', granted: true }],
    });
    const dup = await createCustomer(g, {
      email: 'dup@example.com',
      phone: '+49 30 1112223',
      company: 'Dup Corp',
      tags: ['b', 'shared'],
      consents: [{ channel: 'SMS', granted: true, source: 'pos' }],
    });
    await succeed(g, 'setCustomerStage', { id: dup.id, stage: 'REPEAT', reason: 'second order' });

    const res = await succeed(g, 'mergeCustomers', { survivorId: survivor.id, duplicateId: dup.id });
    const m = res.customer as CustomerOut;
    expect(m.id).toBe(survivor.id);
    expect(m.email).toBe('keep@example.com');
    expect(m.otherEmails).toContain('dup@example.com');
    expect(m.otherPhones).toContain('+49301112223');
    expect(m.company).toBe('Dup Corp'); // filled from the duplicate where the survivor had none
    expect(names(m.tags)).toEqual(['a', 'b', 'shared']);
    expect(m.consents.map((c) => [c.channel, c.granted, c.source]).sort()).toEqual([
      ['EMAIL', true, 'api'],
      ['SMS', true, 'pos'],
    ]);
    // History of both (2 creations + the duplicate's move) plus the merge's stage move.
    expect(m.stage).toBe('REPEAT');
    const moves = m.stageHistory.edges.map((e) => e.node);
    expect(m.stageHistory.totalCount).toBe(4);
    expect(moves).toContainEqual(
      expect.objectContaining({ fromStage: 'PROSPECT', toStage: 'REPEAT', reason: 'second order', source: 'MANUAL' }),
    );
    expect(moves).toContainEqual(expect.objectContaining({ fromStage: 'PROSPECT', toStage: 'REPEAT', source: 'MERGE' }));
    expect(await t.db.prisma.stageTransition.count({ where: { customerId: rawId(dup.id) } })).toBe(0);
    expect(await t.db.prisma.customerTag.count({ where: { customerId: rawId(dup.id) } })).toBe(0);

    expect((await getCustomer(g, dup.id))?.id).toBe(survivor.id);
    const by = await ok<{ customerBy: { id: string } | null }>(g, '{ customerBy(email: "DUP@example.com") { id } }');
    expect(by.customerBy?.id).toBe(survivor.id);
    const byPhone = await ok<{ customerBy: { id: string } | null }>(g, '{ customerBy(phone: "+49 30 1112223") { id } }');
    expect(byPhone.customerBy?.id).toBe(survivor.id);
    const all = await list(g, { filter: { statuses: ['ACTIVE', 'ARCHIVED', 'MERGED'] } });
    expect(ids(all)).toEqual([survivor.id]);
    expect(all.totalCount).toBe(1);
    const row = await t.db.prisma.customer.findUniqueOrThrow({ where: { id: rawId(dup.id) } });
    expect(row).toMatchObject({ shopId, status: 'MERGED', mergedIntoId: rawId(survivor.id) });

    // A tombstone cannot be merged again, nor a customer into itself.
    const again = await mutate(g, 'mergeCustomers', { survivorId: survivor.id, duplicateId: dup.id });
    expectError(again, 'AlreadyMergedError', 'ALREADY_MERGED', ['input', 'duplicateId']);
    const self = await mutate(g, 'mergeCustomers', { survivorId: survivor.id, duplicateId: survivor.id });
    expectError(self, 'ValidationError', 'VALIDATION_FAILED', ['input', 'duplicateId']);
  });
});

describe('mergeCustomers dryRun', () => {
  it('returns the preview without writing; the real merge returns the same preview', async () => {
    const { g } = await shop();
    const survivor = await createCustomer(g, {
      email: 'keep2@example.com',
      company: 'Keep Co',
      consents: [{ channel: 'EMAIL', granted: false }],
    });
    const dup = await createCustomer(g, {
      email: 'dup2@example.com',
      company: 'Dup Co',
      lastName: 'Dupe',
      consents: [{ channel: 'EMAIL', granted: true }],
    });
    const q = `mutation($input: MergeCustomersInput!) { mergeCustomers(input: $input) { __typename
      ... on MergeCustomersSuccess { dryRun customer { id version }
        preview { addedEmails addedPhones conflictingExternalId filledFields { field value } conflictingFields { field survivorValue duplicateValue }
          consents { channel survivorGranted duplicateGranted resultGranted conflict } points { resultBalance }
          owner { conflict } stage { result } moves { kind count } } }
      ... on Error { code } } }`;
    type R = {
      mergeCustomers: { __typename: string; dryRun: boolean; customer: { id: string; version: number }; preview: Record<string, unknown> };
    };
    const dry = await ok<R>(g, q, { input: { survivorId: survivor.id, duplicateId: dup.id, dryRun: true } });
    expect(dry.mergeCustomers).toMatchObject({
      __typename: 'MergeCustomersSuccess',
      dryRun: true,
      customer: { id: survivor.id, version: 1 },
    });
    expect(dry.mergeCustomers.preview).toMatchObject({
      addedEmails: ['dup2@example.com'],
      filledFields: [{ field: 'lastName', value: 'Dupe' }],
      conflictingFields: [{ field: 'company', survivorValue: 'Keep Co', duplicateValue: 'Dup Co' }],
      consents: [{ channel: 'EMAIL', survivorGranted: false, duplicateGranted: true, resultGranted: true, conflict: true }],
    });
    expect((await getCustomer(g, dup.id))?.id).toBe(dup.id); // not merged
    const real = await ok<R>(g, q, { input: { survivorId: survivor.id, duplicateId: dup.id } });
    expect(real.mergeCustomers.dryRun).toBe(false);
    expect(real.mergeCustomers.preview).toEqual(dry.mergeCustomers.preview);
    const again = await ok<{ mergeCustomers: { code: string } }>(g, q, {
      input: { survivorId: dup.id, duplicateId: survivor.id, dryRun: true },
    });
    expect(again.mergeCustomers.code).toBe('ALREADY_MERGED');
  });
});

describe('stage, tags, archive, delete', () => {
  it('setCustomerStage refuses LOYAL without the facts (unless forced with a reason) and PARTNER without a kind', async () => {
    const { g, shopId } = await shop();
    const c = await createCustomer(g, { firstName: 'One order' });
    const before = await rowCounts(t.db.prisma, shopId);
    const refused = await mutate(g, 'setCustomerStage', { id: c.id, stage: 'LOYAL', reason: 'VIP' });
    expectError(refused, 'ValidationError', 'VALIDATION_FAILED', ['input', 'stage']);
    expect(refused.message).toMatch(/The facts do not support LOYAL: 0 orders; LOYAL needs at least 3 orders spanning at least 180 days/);
    expectError(await mutate(g, 'setCustomerStage', { id: c.id, stage: 'LOYAL', force: true }), 'ValidationError', 'VALIDATION_FAILED', [
      'input',
      'reason',
    ]);
    expectError(await mutate(g, 'setCustomerStage', { id: c.id, stage: 'PARTNER', reason: 'x' }), 'ValidationError', 'VALIDATION_FAILED', [
      'input',
      'partnerKind',
    ]);
    expect(await rowCounts(t.db.prisma, shopId)).toEqual(before); // nothing half-written
    const p = await succeed(g, 'setCustomerStage', { id: c.id, stage: 'PARTNER', partnerKind: 'SHAREHOLDER', reason: 'Bought shares' });
    expect(p.customer).toMatchObject({ stage: 'PARTNER' });
    const r = await g<{ node: { partnerKind: string } }>('query($id: ID!) { node(id: $id) { ... on Customer { partnerKind } } }', {
      id: c.id,
    });
    expect(r.data?.node.partnerKind).toBe('SHAREHOLDER');
  });

  it('setCustomerStage records the transition with its reason (newest first) and bumps the version', async () => {
    const { g } = await shop();
    const c = await createCustomer(g, { firstName: 'Stage' });
    const r = await succeed(g, 'setCustomerStage', { id: c.id, stage: 'LOYAL', reason: 'Bought three times', force: true });
    expect(r.customer?.stage).toBe('LOYAL');
    expect(r.customer?.version).toBe(2);
    expect(r.customer?.stageHistory.totalCount).toBe(2);
    expect(r.customer?.stageHistory.edges[0]?.node).toEqual({
      fromStage: 'PROSPECT',
      toStage: 'LOYAL',
      // Forced past the facts (no order): the recorded reason says so.
      reason: expect.stringMatching(/^Bought three times \(forced: facts do not support LOYAL: 0 orders; LOYAL needs at least 3 orders/),
      source: 'MANUAL',
      actor: null,
    });
    // The same stage again is not a move.
    const same = await succeed(g, 'setCustomerStage', { id: c.id, stage: 'LOYAL', reason: 'again', force: true });
    expect(same.customer?.stageHistory.totalCount).toBe(2);
    const long = await mutate(g, 'setCustomerStage', { id: c.id, stage: 'CHURNED', reason: 'r'.repeat(501) });
    expectError(long, 'ValidationError', 'VALIDATION_FAILED', ['input', 'reason']);
    expect((await getCustomer(g, c.id))?.stage).toBe('LOYAL');
  });

  it('tagCustomer adds (trimmed, idempotent), untagCustomer removes, the tag itself stays', async () => {
    const { g } = await shop();
    const c = await createCustomer(g, { firstName: 'Tag', tags: ['existing'] });
    const r1 = await succeed(g, 'tagCustomer', { id: c.id, tags: ['gold', ' silver ', 'existing'] });
    expect(names(r1.customer?.tags ?? [])).toEqual(['existing', 'gold', 'silver']);
    const r2 = await succeed(g, 'untagCustomer', { id: c.id, tags: ['gold', 'existing'] });
    expect(names(r2.customer?.tags ?? [])).toEqual(['silver']);
    const all = await ok<{ tags: { name: string }[] }>(g, '{ tags { name } }');
    expect(all.tags.map((x) => x.name)).toEqual(['existing', 'gold', 'silver']);
    const empty = await mutate(g, 'tagCustomer', { id: c.id, tags: ['  '] });
    expectError(empty, 'ValidationError', 'VALIDATION_FAILED');
    expect(names((await getCustomer(g, c.id))?.tags ?? [])).toEqual(['silver']);
  });

  it('archive hides from the default list, statuses:[ARCHIVED] shows it; unarchive brings it back', async () => {
    const { g } = await shop();
    const keep = await createCustomer(g, { firstName: 'Keep' });
    const c = await createCustomer(g, { firstName: 'Archive' });
    const a = await succeed(g, 'archiveCustomer', { id: c.id });
    expect(a.customer?.status).toBe('ARCHIVED');
    expect(a.customer?.archivedAt).toEqual(expect.any(String));
    const active = await list(g);
    expect(ids(active)).toEqual([keep.id]);
    expect(active.totalCount).toBe(1);
    const archived = await list(g, { filter: { statuses: ['ARCHIVED'] } });
    expect(ids(archived)).toEqual([c.id]);
    expect(archived.totalCount).toBe(1);
    expect(sorted(ids(await list(g, { filter: { statuses: ['ACTIVE', 'ARCHIVED'] } })))).toEqual(sorted([keep.id, c.id]));
    // Still readable by id.
    expect((await getCustomer(g, c.id))?.status).toBe('ARCHIVED');

    const u = await succeed(g, 'unarchiveCustomer', { id: c.id });
    expect(u.customer?.status).toBe('ACTIVE');
    expect(u.customer?.archivedAt).toBeNull();
    expect(sorted(ids(await list(g)))).toEqual(sorted([keep.id, c.id]));
    expect((await list(g, { filter: { statuses: ['ARCHIVED'] } })).totalCount).toBe(0);
  });

  it('deleteCustomer erases the customer and everything attached', async () => {
    const { g, shopId } = await shop();
    const other = await createCustomer(g, { firstName: 'Other', tags: ['t'] });
    const c = await createCustomer(g, { email: 'gone@example.com', tags: ['t'], consents: [{ channel: 'EMAIL', granted: true }] });
    const r = await succeed(g, 'deleteCustomer', { id: c.id });
    expect(r.deletedId).toBe(c.id);
    expect(await getCustomer(g, c.id)).toBeNull();
    const node = await g('query($id: ID!) { node(id: $id) { id } nodes(ids: [$id]) { id } }', { id: c.id });
    expect(node.errors).toBeUndefined();
    expect(node.data).toEqual({ node: null, nodes: [null] });
    const by = await ok<{ customerBy: { id: string } | null }>(g, '{ customerBy(email: "gone@example.com") { id } }');
    expect(by.customerBy).toBeNull();
    const cid = rawId(c.id);
    const prisma = t.db.prisma;
    expect(await prisma.customer.count({ where: { id: cid } })).toBe(0);
    expect(await prisma.consent.count({ where: { customerId: cid } })).toBe(0);
    expect(await prisma.consentChange.count({ where: { customerId: cid } })).toBe(0);
    expect(await prisma.stageTransition.count({ where: { customerId: cid } })).toBe(0);
    expect(await prisma.customerTag.count({ where: { customerId: cid } })).toBe(0);
    // Others are untouched.
    expect(ids(await list(g))).toEqual([other.id]);
    expect(await prisma.customer.count({ where: { shopId } })).toBe(1);
    const again = await mutate(g, 'deleteCustomer', { id: c.id });
    expectError(again, 'NotFoundError', 'NOT_FOUND', ['input', 'id']);
  });
});

describe('customers list', () => {
  let s: Shop;
  let rep1: StaffOut;
  let rep2: StaffOut;
  const c: Record<string, CustomerOut> = {};
  beforeAll(async () => {
    s = await shop();
    rep1 = await createStaff(s.g, { name: 'Rep One', email: 'rep1@shop.test' });
    rep2 = await createStaff(s.g, { name: 'Rep Two', email: 'rep2@shop.test' });
    const data: [string, Record<string, unknown>][] = [
      [
        'alice',
        {
          firstName: 'Alice',
          lastName: 'Zimmer',
          email: 'alice@example.com',
          company: 'Acme GmbH',
          stage: 'LOYAL',
          tags: ['vip', 'newsletter'],
          ownerId: '@rep1',
          source: { channel: 'SOCIAL' },
          dealLikelihood: 80,
        },
      ],
      [
        'bob',
        {
          firstName: 'Bob',
          lastName: 'Young',
          email: 'bob@example.com',
          phone: '+49 30 5550001',
          tags: ['vip'],
          ownerId: '@rep2',
          source: { channel: 'ORGANIC_SEARCH' },
          dealLikelihood: 20,
        },
      ],
      [
        'carla',
        {
          firstName: 'Carla',
          lastName: 'Xavier',
          company: 'Beta AG',
          tags: ['newsletter'],
          source: { channel: 'SOCIAL' },
          dealLikelihood: 50,
        },
      ],
      ['dan', { firstName: 'Dan', stage: 'SUSPECT' }],
      ['eve', { firstName: 'Eve', lastName: 'Adams', stage: 'REPEAT', tags: ['vip', 'newsletter', 'b2b'], ownerId: '@rep1' }],
    ];
    for (const [key, input] of data) {
      const ownerId = input.ownerId === '@rep1' ? rep1.id : input.ownerId === '@rep2' ? rep2.id : undefined;
      c[key] = await createCustomer(s.g, { ...input, ownerId });
      await sleep(3); // distinct createdAt (millisecond precision)
    }
  });
  const idsOf = (...keys: string[]) => sorted(keys.map((k) => c[k]?.id as string));

  const filters: [string, () => Record<string, unknown>, string[]][] = [
    ['no filter', () => ({}), ['alice', 'bob', 'carla', 'dan', 'eve']],
    ['stages PROSPECT', () => ({ stages: ['PROSPECT'] }), ['bob', 'carla']],
    ['stages LOYAL, REPEAT', () => ({ stages: ['LOYAL', 'REPEAT'] }), ['alice', 'eve']],
    ['tagsAny', () => ({ tagsAny: ['b2b', 'newsletter'] }), ['alice', 'carla', 'eve']],
    ['tagsAll', () => ({ tagsAll: ['vip', 'newsletter'] }), ['alice', 'eve']],
    ['tagsAll with an unknown tag', () => ({ tagsAll: ['vip', 'nope'] }), []],
    ['ownerIds one', () => ({ ownerIds: [rep1.id] }), ['alice', 'eve']],
    ['ownerIds two', () => ({ ownerIds: [rep1.id, rep2.id] }), ['alice', 'bob', 'eve']],
    ['unowned', () => ({ unowned: true }), ['carla', 'dan']],
    ['sourceChannels', () => ({ sourceChannels: ['SOCIAL'] }), ['alice', 'carla']],
    ['search company, any case', () => ({ search: 'acme' }), ['alice']],
    ['search last name', () => ({ search: 'ZIMM' }), ['alice']],
    ['search first name', () => ({ search: 'carl' }), ['carla']],
    ['search email', () => ({ search: 'bob@exa' }), ['bob']],
    ['search phone digits', () => ({ search: '5550001' }), ['bob']],
    ['search two words (all must match)', () => ({ search: 'alice acme' }), ['alice']],
    ['search no match', () => ({ search: 'nobody' }), []],
    ['combined', () => ({ stages: ['PROSPECT'], tagsAny: ['vip'] }), ['bob']],
    ['createdAfter (inclusive)', () => ({ createdAfter: c.carla?.createdAt }), ['carla', 'dan', 'eve']],
    ['createdBefore (exclusive)', () => ({ createdBefore: c.carla?.createdAt }), ['alice', 'bob']],
    ['createdAfter + createdBefore', () => ({ createdAfter: c.bob?.createdAt, createdBefore: c.eve?.createdAt }), ['bob', 'carla', 'dan']],
  ];
  it.each(filters)('filter: %s', async (_name, filter, expected) => {
    const res = await list(s.g, { filter: filter() });
    expect(sorted(ids(res))).toEqual(idsOf(...expected));
    expect(res.totalCount).toBe(expected.length);
  });

  it('a malformed owner id in the filter is a validation error', async () => {
    const r = await s.g(LIST, { filter: { ownerIds: ['nope'] } });
    expect(errorCodes(r)).toEqual(['VALIDATION_FAILED']);
  });

  const orders: [string, Record<string, unknown> | undefined, string[]][] = [
    ['default (newest first)', undefined, ['eve', 'dan', 'carla', 'bob', 'alice']],
    ['CREATED_AT ASC', { field: 'CREATED_AT', direction: 'ASC' }, ['alice', 'bob', 'carla', 'dan', 'eve']],
    ['LAST_NAME ASC (nulls last)', { field: 'LAST_NAME', direction: 'ASC' }, ['eve', 'carla', 'bob', 'alice', 'dan']],
    ['LAST_NAME DESC (nulls last)', { field: 'LAST_NAME', direction: 'DESC' }, ['alice', 'bob', 'carla', 'eve', 'dan']],
    ['DEAL_LIKELIHOOD DESC', { field: 'DEAL_LIKELIHOOD', direction: 'DESC' }, ['alice', 'carla', 'bob']],
  ];
  it.each(orders)('orderBy %s', async (_name, orderBy, expected) => {
    const res = await list(s.g, { orderBy });
    const order = ids(res).filter((id) => expected.some((k) => c[k]?.id === id));
    expect(order).toEqual(expected.map((k) => c[k]?.id));
    expect(res.totalCount).toBe(5);
  });

  it('first: 101 is an error (max 100 per page), with or without edges; 100 is fine', async () => {
    for (const sel of ['edges { node { id } } totalCount', 'totalCount']) {
      const r = await s.g(`{ customers(first: 101) { ${sel} } }`);
      expect(errorCodes(r)).toEqual(['VALIDATION_FAILED']);
      expect(r.errors?.[0]?.message).toMatch(/100/);
    }
    const last = await s.g('{ customers(last: 101) { edges { node { id } } } }');
    expect(errorCodes(last)).toEqual(['VALIDATION_FAILED']);
    expect((await list(s.g, { first: 100 })).totalCount).toBe(5);
    const neg = await s.g('{ customers(first: -1) { edges { node { id } } } }');
    expect(errorCodes(neg)).toEqual(['VALIDATION_FAILED']);
    const badCursor = await s.g('{ customers(first: 2, after: "garbage") { edges { node { id } } } }');
    expect(errorCodes(badCursor)).toEqual(['VALIDATION_FAILED']);
  });
});

describe('cursor pagination', () => {
  let s: Shop;
  const created: string[] = [];
  beforeAll(async () => {
    s = await shop();
    // Few distinct last names (ties must be broken by id) and some without one (nulls last).
    const lastNames = ['Meyer', 'Abel', null, 'Zorn', 'Meyer'];
    for (let i = 0; i < 23; i++) {
      const cust = await createCustomer(s.g, { firstName: `P${i}`, lastName: lastNames[i % lastNames.length] });
      created.push(cust.id);
    }
  });

  async function walk(orderBy: Record<string, unknown> | undefined, pageSize: number) {
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 20; page++) {
      const res: Conn = await list(s.g, { orderBy, first: pageSize, after });
      expect(res.totalCount).toBe(23);
      seen.push(...ids(res));
      if (!res.pageInfo.hasNextPage) return seen;
      expect(res.edges).toHaveLength(pageSize);
      after = res.pageInfo.endCursor;
    }
    throw new Error('pagination did not end');
  }

  const cases: [string, Record<string, unknown> | undefined][] = [
    ['default order', undefined],
    ['CREATED_AT ASC', { field: 'CREATED_AT', direction: 'ASC' }],
    ['LAST_NAME ASC', { field: 'LAST_NAME', direction: 'ASC' }],
    ['LAST_NAME DESC', { field: 'LAST_NAME', direction: 'DESC' }],
  ];
  it.each(cases)('%s: pages of 7 cover every customer once, in the same order as one big page', async (_name, orderBy) => {
    const seen = await walk(orderBy, 7);
    expect(seen).toHaveLength(23);
    expect(new Set(seen).size).toBe(23);
    expect(sorted(seen)).toEqual(sorted(created));
    expect(seen).toEqual(ids(await list(s.g, { orderBy, first: 100 })));
  });

  it('last/before pages backwards', async () => {
    const all = ids(await list(s.g, { first: 100 }));
    const tail = await list(s.g, { first: undefined, last: 5 });
    expect(ids(tail)).toEqual(all.slice(-5));
    const prev = await list(s.g, { first: undefined, last: 5, before: tail.edges[0]?.cursor });
    expect(ids(prev)).toEqual(all.slice(-10, -5));
  });
});

describe('N+1', () => {
  const QUERY = `{ customers(first: 30) { totalCount edges { node {
    owner { name } tags { name } source { channel referrer { id } } consents { channel }
  } } } }`;
  type Res = { customers: { totalCount: number; edges: { node: { owner: { name: string } | null; tags: unknown[] } }[] } };

  it('a list of customers with owners, tags, source, referrers and consents takes a constant number of SQL statements', async () => {
    const { g } = await shop();
    const reps = [
      await createStaff(g, { name: 'A', email: 'a@shop.test' }),
      await createStaff(g, { name: 'B', email: 'b@shop.test' }),
      await createStaff(g, { name: 'C', email: 'c@shop.test' }),
    ];
    let prev: string | null = null;
    const add = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const cust: CustomerOut = await createCustomer(g, {
          firstName: `N${i}`,
          ownerId: reps[i % 3]?.id,
          tags: [`t${i % 4}`, `u${i % 3}`],
          consents: [{ channel: 'EMAIL', granted: i % 2 === 0 }],
          source: { channel: 'REFERRAL', referrerCustomerId: prev },
        });
        prev = cust.id;
      }
    };
    const measure = async (expected: number) => {
      await ok(g, QUERY); // warm-up: the key's last use is recorded (at most once a minute)
      await sleep(50);
      t.db.resetQueryCount();
      const res = await ok<Res>(g, QUERY);
      const count = t.db.queryCount();
      expect(res.customers.edges).toHaveLength(expected);
      expect(res.customers.totalCount).toBe(expected);
      expect(res.customers.edges.every((e) => e.node.owner !== null && e.node.tags.length === 2)).toBe(true);
      return count;
    };
    await add(10);
    const small = await measure(10);
    await add(20);
    const large = await measure(30);
    // Measured: 8 on both backends (API key lookup, customers, owners, customer tags, consents, tags, count, referrers).
    expect(small).toBeLessThanOrEqual(8);
    expect(large).toBe(small);
  });
});

describe('query limits and error masking', () => {
  it('a too deep query is rejected with QUERY_TOO_COMPLEX, not a crash', async () => {
    const { g } = await shop();
    const c = await createCustomer(g, { firstName: 'Deep' });
    let sel = 'id';
    for (let i = 0; i < 12; i++) sel = `id source { referrer { ${sel} } }`;
    const r = await g(`query($id: ID!) { customer(id: $id) { ${sel} } }`, { id: c.id });
    expect(r.data?.customer ?? null).toBeNull();
    expect(errorCodes(r)).toEqual(['QUERY_TOO_COMPLEX']);
    expect(r.errors?.[0]?.message).toMatch(/depth/i);
    // The limit is the depth, not the query shape: a shallow version of it works.
    const shallow = await g(`query($id: ID!) { customer(id: $id) { id source { referrer { id } } } }`, { id: c.id });
    expect(shallow.errors).toBeUndefined();
  });

  it('a too complex (wide) query is rejected with QUERY_TOO_COMPLEX', async () => {
    const { g } = await shop();
    const one = 'customers(first: 100) { edges { node { id tags { name } consents { channel } } } }';
    // 25 aliases: under the alias limit (30), so the complexity limit is what refuses it.
    const wide = Array.from({ length: 25 }, (_, i) => `a${i}: ${one}`).join('\n');
    const r = await g(`{ ${wide} }`);
    expect(r.data ?? null).toBeNull();
    expect(errorCodes(r)).toEqual(['QUERY_TOO_COMPLEX']);
  });

  it('unexpected errors are masked: a generic message with an error id, no internals', async () => {
    const broken = await createTestApp();
    const s = await broken.newShop();
    const g = broken.gql(s.secretKey);
    await broken.db.close(); // the database goes away under the running app
    const r = await g('{ customers { totalCount } }');
    expect(errorCodes(r)).toEqual(['INTERNAL']);
    expect(r.errors?.[0]?.message).toBe('Unexpected error.');
    const ext = r.errors?.[0]?.extensions as { errorId?: string };
    expect(ext.errorId).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.stringify(r)).not.toMatch(/prisma|pglite|pool|stack|\.ts:/i);
    await broken.app.stop();
  });
});

describe('limits on mutations', () => {
  it('a too deep mutation selection is rejected before anything is written', async () => {
    const { g, shopId } = await shop();
    let sel = 'id';
    for (let i = 0; i < 12; i++) sel = `id source { referrer { ${sel} } }`;
    const before = await rowCounts(t.db.prisma, shopId);
    const r = await g(`mutation { createCustomer(input: { firstName: "Deep" }) { ... on CreateCustomerSuccess { customer { ${sel} } } } }`);
    expect(errorCodes(r)).toEqual(['QUERY_TOO_COMPLEX']);
    expect(await rowCounts(t.db.prisma, shopId)).toEqual(before);
  });
});
