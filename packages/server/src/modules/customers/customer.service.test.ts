import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forShop, type ScopedDb } from '../../db/tenant.ts';
import { ConflictError, NotFoundError, ValidationError, VersionConflictError } from '../../errors.ts';
import { createTestDatabase, type TestDatabase } from '../../testing.ts';
import { customerOrderBy, customerWhere } from './customer.filters.ts';
import { normalizeEmail, normalizePhone } from './customer.schema.ts';
import * as svc from './customer.service.ts';

let tdb: TestDatabase;
let db: ScopedDb;
let other: ScopedDb;
const actor: svc.Actor = { staffId: null, source: 'api' };

beforeAll(async () => {
  tdb = await createTestDatabase();
  const a = await tdb.prisma.shop.create({ data: { name: 'A', slug: 'svc-a' } });
  const b = await tdb.prisma.shop.create({ data: { name: 'B', slug: 'svc-b' } });
  db = forShop(tdb.prisma, a.id);
  other = forShop(tdb.prisma, b.id);
});
afterAll(() => tdb.close());

const countAll = async () => ({
  customers: await tdb.prisma.customer.count(),
  transitions: await tdb.prisma.stageTransition.count(),
  tags: await tdb.prisma.customerTag.count(),
  consents: await tdb.prisma.consentChange.count(),
});

describe('normalisation', () => {
  it.each([
    ['  Anna@Example.COM ', 'anna@example.com'],
    ['a.b+c@sub.example.org', 'a.b+c@sub.example.org'],
    ['not-an-email', null],
    ['a@b', null],
    ['a b@example.com', null],
  ])('email %s -> %s', (raw, expected) => expect(normalizeEmail(raw)).toBe(expected));

  it.each([
    ['+49 30 1234567', '+49301234567'],
    ['+1 (415) 555-2671', '+14155552671'],
    ['030 1234567', null],
    ['+49 abc', null],
    ['+1 415', null],
  ])('phone %s -> %s', (raw, expected) => expect(normalizePhone(raw)).toBe(expected));

  it('uses a default country for national numbers', () => {
    expect(normalizePhone('030 1234567', 'DE')).toBe('+49301234567');
  });
});

describe('createCustomer', () => {
  it('stores normalised identifiers, tags, consents and the initial stage', async () => {
    const c = await svc.createCustomer(db, actor, {
      firstName: ' Anna ',
      email: ' ANNA@Shop.example ',
      phone: '+49 30 1234567',
      tags: ['vip', 'vip', 'newsletter'],
      consents: [{ channel: 'EMAIL', granted: true, source: 'checkout' }],
      stage: 'PROSPECT',
      location: { country: 'de', city: 'Berlin' },
    });
    expect(c).toMatchObject({
      firstName: 'Anna',
      email: 'anna@shop.example',
      phone: '+49301234567',
      country: 'DE',
      stage: 'PROSPECT',
      version: 1,
    });
    const tags = await db.customerTag.findMany({ where: { customerId: c.id }, include: { tag: true } });
    expect(tags.map((t) => t.tag.name).sort()).toEqual(['newsletter', 'vip']);
    expect(await db.consent.findMany({ where: { customerId: c.id } })).toMatchObject([
      { channel: 'EMAIL', granted: true, source: 'checkout' },
    ]);
    expect(await db.stageTransition.findMany({ where: { customerId: c.id } })).toMatchObject([{ fromStage: null, toStage: 'PROSPECT' }]);
  });

  it.each([
    ['malformed email', { email: 'nope' }, ['input', 'email']],
    ['malformed phone', { phone: '12' }, ['input', 'phone']],
    ['oversized name', { firstName: 'x'.repeat(101) }, ['input', 'firstName']],
    ['likelihood over 100', { dealLikelihood: 101 }, ['input', 'dealLikelihood']],
    ['unknown enum', { gender: 'ROBOT' }, ['input', 'gender']],
    ['birth date in the future', { birthDate: new Date('2999-01-01') }, ['input', 'birthDate']],
    ['oversized attributes', { attributes: { big: 'x'.repeat(20_000) } }, ['input', 'attributes']],
    ['country not ISO', { location: { country: 'Germany' } }, ['input', 'location', 'country']],
    ['oversized tag', { tags: ['x'.repeat(51)] }, ['input', 'tags', '0']],
  ])('rejects %s with a ValidationError at its path and writes nothing', async (_label, input, path) => {
    const before = await countAll();
    const err = await svc.createCustomer(db, actor, input as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues[0]?.path).toEqual(path);
    expect(await countAll()).toEqual(before);
  });

  it('rejects a taken email/phone/externalId with a ConflictError and writes nothing', async () => {
    await svc.createCustomer(db, actor, { email: 'dup@x.com', phone: '+4915112345678', externalId: 'ext-dup' });
    for (const input of [{ email: 'DUP@x.com' }, { phone: '+49 151 12345678' }, { externalId: 'ext-dup' }]) {
      const before = await countAll();
      const err = await svc.createCustomer(db, actor, input).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConflictError);
      expect((err as ConflictError).inputPath).toEqual(['input', Object.keys(input)[0]]);
      expect(await countAll()).toEqual(before);
    }
  });

  it('the same email is free in another shop', async () => {
    const c = await svc.createCustomer(other, actor, { email: 'dup@x.com' });
    expect(c.email).toBe('dup@x.com');
  });

  it("refuses another shop's staff user as owner and another shop's customer as referrer", async () => {
    const staffB = await other.staffUser.create({ data: { email: 's@b.com', name: 'S' } as never });
    const custB = await svc.createCustomer(other, actor, { email: 'ref@b.com' });
    await expect(svc.createCustomer(db, actor, { ownerId: staffB.id })).rejects.toBeInstanceOf(NotFoundError);
    await expect(svc.createCustomer(db, actor, { source: { referrerCustomerId: custB.id } })).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('updateCustomer', () => {
  it('applies changes, clears with null and increments the version', async () => {
    const c = await svc.createCustomer(db, actor, { firstName: 'Ben', company: 'Old GmbH' });
    const u = await svc.updateCustomer(db, actor, c.id, 1, { company: null, lastName: 'Berg', dealLikelihood: 60 });
    expect(u).toMatchObject({ firstName: 'Ben', lastName: 'Berg', company: null, dealLikelihood: 60, version: 2 });
  });

  it('a stale version is a VersionConflictError and changes nothing', async () => {
    const c = await svc.createCustomer(db, actor, { firstName: 'Cleo' });
    await svc.updateCustomer(db, actor, c.id, 1, { lastName: 'First' });
    const err = await svc.updateCustomer(db, actor, c.id, 1, { lastName: 'Second' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VersionConflictError);
    expect((err as VersionConflictError).currentVersion).toBe(2);
    expect((await db.customer.findUnique({ where: { id: c.id } }))?.lastName).toBe('First');
  });

  it('of two concurrent updates with the same version exactly one wins', async () => {
    const c = await svc.createCustomer(db, actor, { firstName: 'Race' });
    const results = await Promise.allSettled([
      svc.updateCustomer(db, actor, c.id, 1, { lastName: 'One' }),
      svc.updateCustomer(db, actor, c.id, 1, { lastName: 'Two' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toBeInstanceOf(VersionConflictError);
    expect((await db.customer.findUnique({ where: { id: c.id } }))?.version).toBe(2);
  });

  it("cannot touch another shop's customer", async () => {
    const c = await svc.createCustomer(other, actor, { firstName: 'Other' });
    await expect(svc.updateCustomer(db, actor, c.id, null, { firstName: 'Hacked' })).rejects.toBeInstanceOf(NotFoundError);
    expect((await other.customer.findUnique({ where: { id: c.id } }))?.firstName).toBe('Other');
  });
});

describe('upsertCustomer', () => {
  it('matches by externalId, then email, then phone; never duplicates', async () => {
    const first = await svc.upsertCustomer(db, actor, { externalId: 'shopify-1', email: 'up@x.com', firstName: 'Up' });
    expect(first.created).toBe(true);
    const byExt = await svc.upsertCustomer(db, actor, { externalId: 'shopify-1', lastName: 'Dated' });
    expect(byExt).toMatchObject({ created: false, customer: { id: first.customer.id, firstName: 'Up', lastName: 'Dated' } });
    const byEmail = await svc.upsertCustomer(db, actor, { email: 'UP@x.com', phone: '+4917612345678' });
    expect(byEmail.customer.id).toBe(first.customer.id);
    const byPhone = await svc.upsertCustomer(db, actor, { phone: '+49 176 12345678', company: 'Phone Co' });
    expect(byPhone).toMatchObject({ created: false, customer: { id: first.customer.id, company: 'Phone Co' } });
    expect(await db.customer.count({ where: { OR: [{ email: 'up@x.com' }, { externalId: 'shopify-1' }] } })).toBe(1);
  });

  it('parallel upserts of one new email create exactly one customer', async () => {
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) => svc.upsertCustomer(db, actor, { email: 'same@parallel.com', firstName: `P${i}` })),
    );
    expect(new Set(results.map((r) => r.customer.id)).size).toBe(1);
    expect(await db.customer.count({ where: { email: 'same@parallel.com' } })).toBe(1);
  });
});

describe('stages, tags, archive, delete', () => {
  it('records every stage move with its reason and actor', async () => {
    const staff = await db.staffUser.create({ data: { email: 'rep@a.com', name: 'Rep' } as never });
    const c = await svc.createCustomer(db, actor, { firstName: 'Stage' });
    await svc.setStage(db, { staffId: staff.id }, c.id, 'FIRST_PURCHASE', 'Bought in store');
    await svc.setStage(db, { staffId: staff.id }, c.id, 'FIRST_PURCHASE', 'again');
    const history = await db.stageTransition.findMany({ where: { customerId: c.id }, orderBy: { at: 'asc' } });
    expect(history).toMatchObject([
      { fromStage: null, toStage: 'PROSPECT' },
      { fromStage: 'PROSPECT', toStage: 'FIRST_PURCHASE', reason: 'Bought in store', source: 'MANUAL', actorStaffId: staff.id },
    ]);
  });

  it('tags and untags', async () => {
    const c = await svc.createCustomer(db, actor, { firstName: 'Tag' });
    await svc.tagCustomer(db, c.id, ['a', 'b']);
    await svc.tagCustomer(db, c.id, ['b', 'c']);
    await svc.untagCustomer(db, c.id, ['a']);
    const names = (await db.customerTag.findMany({ where: { customerId: c.id }, include: { tag: true } })).map((t) => t.tag.name).sort();
    expect(names).toEqual(['b', 'c']);
    await expect(svc.tagCustomer(db, c.id, [])).rejects.toBeInstanceOf(ValidationError);
  });

  it('archives (hidden from default lists) and erases', async () => {
    const c = await svc.createCustomer(db, actor, { firstName: 'Arch', email: 'arch@x.com' });
    await svc.archiveCustomer(db, c.id, true);
    expect(await db.customer.count({ where: { AND: [customerWhere(null), { id: c.id }] } })).toBe(0);
    expect(await db.customer.count({ where: { AND: [customerWhere({ statuses: ['ARCHIVED'] }), { id: c.id }] } })).toBe(1);
    await svc.deleteCustomer(db, c.id);
    expect(await tdb.prisma.customer.findUnique({ where: { id: c.id } })).toBeNull();
    expect(await tdb.prisma.stageTransition.count({ where: { customerId: c.id } })).toBe(0);
  });
});

describe('mergeCustomers', () => {
  it('moves everything to the survivor and keeps the duplicate as a tombstone', async () => {
    const referrer = await svc.createCustomer(db, actor, { firstName: 'Ref' });
    const survivor = await svc.createCustomer(db, actor, {
      firstName: 'Sue',
      email: 'sue@x.com',
      tags: ['vip'],
      consents: [{ channel: 'EMAIL', granted: false, source: 'old' }],
      productInterests: ['sofas'],
    });
    const dup = await svc.createCustomer(db, actor, {
      lastName: 'Smith',
      email: 'sue.smith@work.com',
      phone: '+4915199999999',
      stage: 'REPEAT',
      tags: ['b2b', 'vip'],
      consents: [{ channel: 'SMS', granted: true, source: 'form' }],
      productInterests: ['lighting'],
      source: { referrerCustomerId: referrer.id },
      attributes: { shoeSize: 38 },
    });
    // A newer EMAIL decision on the duplicate wins.
    await svc.updateCustomer(db, actor, dup.id, null, { consents: [{ channel: 'EMAIL', granted: true, source: 'newer' }] });
    const referred = await svc.createCustomer(db, actor, { firstName: 'Kid', source: { referrerCustomerId: dup.id } });

    const merged = await svc.mergeCustomers(db, actor, survivor.id, dup.id);
    expect(merged).toMatchObject({
      firstName: 'Sue',
      lastName: 'Smith',
      email: 'sue@x.com',
      otherEmails: ['sue.smith@work.com'],
      otherPhones: ['+4915199999999'],
      stage: 'REPEAT',
      sourceReferrerId: referrer.id,
      attributes: { shoeSize: 38 },
    });
    expect(merged.productInterests.sort()).toEqual(['lighting', 'sofas']);
    const tags = await db.customerTag.findMany({ where: { customerId: survivor.id }, include: { tag: true } });
    expect(tags.map((t) => t.tag.name).sort()).toEqual(['b2b', 'vip']);
    const consents = await db.consent.findMany({ where: { customerId: survivor.id }, orderBy: { channel: 'asc' } });
    expect(consents).toMatchObject([
      { channel: 'EMAIL', granted: true, source: 'newer' },
      { channel: 'SMS', granted: true },
    ]);
    // History of both, plus the merge's own stage move, is on the survivor.
    const history = await db.stageTransition.findMany({ where: { customerId: survivor.id } });
    expect(history.map((h) => h.toStage).sort()).toEqual(['PROSPECT', 'REPEAT', 'REPEAT']);
    expect(history.some((h) => h.source === 'MERGE')).toBe(true);
    expect(await db.consentChange.count({ where: { customerId: dup.id } })).toBe(0);
    expect(await db.consentChange.count({ where: { customerId: survivor.id } })).toBe(3);
    expect((await db.customer.findUnique({ where: { id: referred.id } }))?.sourceReferrerId).toBe(survivor.id);
    // The duplicate remains as a tombstone; lookups by its identifiers reach the survivor.
    const tomb = await db.customer.findUnique({ where: { id: dup.id } });
    expect(tomb).toMatchObject({ status: 'MERGED', mergedIntoId: survivor.id });
    expect((await svc.findCustomerBy(db, { email: 'sue.smith@work.com' }))?.id).toBe(survivor.id);
    expect((await svc.findCustomerBy(db, { phone: '+4915199999999' }))?.id).toBe(survivor.id);
    expect((await svc.getCustomer(db, dup.id, true))?.id).toBe(survivor.id);
    const snapshot = await db.customerMerge.findFirst({ where: { mergedId: dup.id } });
    expect(snapshot?.snapshot).toMatchObject({ email: 'sue.smith@work.com', lastName: 'Smith' });
  });

  it('refuses self-merge, merged or foreign customers and changes nothing', async () => {
    const a = await svc.createCustomer(db, actor, { firstName: 'A1' });
    const b = await svc.createCustomer(other, actor, { firstName: 'B1' });
    await expect(svc.mergeCustomers(db, actor, a.id, a.id)).rejects.toBeInstanceOf(ValidationError);
    await expect(svc.mergeCustomers(db, actor, a.id, b.id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await other.customer.findUnique({ where: { id: b.id } }))?.status).toBe('ACTIVE');
  });
});

describe('list filters', () => {
  it('filters by stage, tags, owner, source, dates and text, sorted with stable cursors', async () => {
    const shop = await tdb.prisma.shop.create({ data: { name: 'L', slug: 'svc-list' } });
    const l = forShop(tdb.prisma, shop.id);
    const rep = await l.staffUser.create({ data: { email: 'r@l.com', name: 'R' } as never });
    await svc.createCustomer(l, actor, {
      firstName: 'Zed',
      lastName: 'Alpha',
      company: 'Acme',
      stage: 'LOYAL',
      tags: ['vip'],
      ownerId: rep.id,
    });
    await svc.createCustomer(l, actor, {
      firstName: 'Amy',
      lastName: 'Beta',
      email: 'amy@acme.io',
      source: { channel: 'SOCIAL' },
      tags: ['vip', 'b2b'],
    });
    await svc.createCustomer(l, actor, { firstName: 'Bo', lastName: 'Gamma', phone: '+4930555666', stage: 'CHURNED' });
    const names = async (f: Parameters<typeof customerWhere>[0], order = customerOrderBy('LAST_NAME', 'ASC')) =>
      (await l.customer.findMany({ where: customerWhere(f), orderBy: order })).map((c) => c.firstName);
    expect(await names(null)).toEqual(['Zed', 'Amy', 'Bo']);
    expect(await names({ stages: ['LOYAL', 'CHURNED'] })).toEqual(['Zed', 'Bo']);
    expect(await names({ tagsAny: ['b2b', 'vip'] })).toEqual(['Zed', 'Amy']);
    expect(await names({ tagsAll: ['b2b', 'vip'] })).toEqual(['Amy']);
    expect(await names({ ownerIds: [rep.id] })).toEqual(['Zed']);
    expect(await names({ unowned: true })).toEqual(['Amy', 'Bo']);
    expect(await names({ sourceChannels: ['SOCIAL'] })).toEqual(['Amy']);
    expect(await names({ search: 'acme' })).toEqual(['Zed', 'Amy']);
    expect(await names({ search: '555 666' })).toEqual(['Bo']);
    expect(await names({ search: '555 999' })).toEqual([]);
    expect(await names({ search: 'amy acme' })).toEqual(['Amy']);
    expect(await names({ search: '555666' })).toEqual(['Bo']);
    expect(await names({ createdAfter: new Date(Date.now() + 60_000) })).toEqual([]);
    expect(await names(null, customerOrderBy('LAST_NAME', 'DESC'))).toEqual(['Bo', 'Amy', 'Zed']);
    expect(() => customerWhere({ search: 'x'.repeat(101) })).toThrow(ValidationError);
  });
});
