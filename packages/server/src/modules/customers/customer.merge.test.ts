import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forShop, type ScopedDb } from '../../db/tenant.ts';
import { AlreadyMergedError, NotFoundError } from '../../errors.ts';
import { createTestDatabase, type TestDatabase } from '../../testing.ts';
import * as orders from '../orders/order.service.ts';
import * as svc from './customer.service.ts';

/**
 * Merges under concurrency (issue: opposite merges sent together left no active customer; parallel
 * identical merges left one snapshot each). On PostgreSQL the merges really run in parallel on a
 * pool; on PGlite (one connection) they queue, and the outcome must be the same.
 */
let tdb: TestDatabase;
let db: ScopedDb;
const actor: svc.Actor = { staffId: null, source: 'api' };

beforeAll(async () => {
  tdb = await createTestDatabase();
  const shop = await tdb.prisma.shop.create({ data: { name: 'M', slug: 'merge-race' } });
  db = forShop(tdb.prisma, shop.id);
});
afterAll(() => tdb.close());

let n = 0;
const person = (name: string) => svc.createCustomer(db, actor, { firstName: name, email: `${name.toLowerCase()}${++n}@race.example` });

/** Runs all merges at once; returns the successes and checks every failure is AlreadyMergedError. */
async function race(pairs: [string, string][]) {
  const settled = await Promise.allSettled(pairs.map(([s, d]) => svc.mergeCustomers(db, actor, s, d)));
  const failures = settled.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason);
  for (const f of failures) expect(f).toBeInstanceOf(AlreadyMergedError);
  return settled.filter((r) => r.status === 'fulfilled').length;
}

async function state(ids: string[]) {
  const rows = await db.customer.findMany({ where: { id: { in: ids } } });
  const snapshots = await db.customerMerge.findMany({ where: { OR: [{ survivorId: { in: ids } }, { mergedId: { in: ids } }] } });
  return { rows, snapshots };
}

describe('concurrent merges', () => {
  it('opposite merges (5 x into y, 5 y into x at once): exactly one wins, one active survivor, one snapshot', async () => {
    const x = await person('Xena');
    const y = await person('Yuri');
    const pairs: [string, string][] = [];
    for (let i = 0; i < 5; i++) pairs.push([x.id, y.id], [y.id, x.id]);
    expect(await race(pairs)).toBe(1);
    const { rows, snapshots } = await state([x.id, y.id]);
    const active = rows.filter((r) => r.status === 'ACTIVE');
    const merged = rows.filter((r) => r.status === 'MERGED');
    expect(active).toHaveLength(1);
    expect(merged).toHaveLength(1);
    expect(merged[0]?.mergedIntoId).toBe(active[0]?.id);
    expect(active[0]?.mergedIntoId).toBeNull();
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0]).toMatchObject({ survivorId: active[0]?.id, mergedId: merged[0]?.id });
  });

  it('same-direction merges (5 x into y at once): one merge, one snapshot, the others AlreadyMergedError', async () => {
    const x = await person('Sam');
    const y = await person('Sammy');
    await orders.upsertOrder(db, { staffId: null }, {
      customerId: y.id,
      externalId: `race-${n}`,
      placedAt: new Date('2026-01-01T00:00:00Z'),
      currency: 'EUR',
      items: [{ name: 'Chair', quantity: 1, unitPrice: '10.00' }],
    } as never);
    expect(await race(Array.from({ length: 5 }, () => [x.id, y.id] as [string, string]))).toBe(1);
    const { rows, snapshots } = await state([x.id, y.id]);
    expect(rows.find((r) => r.id === x.id)?.status).toBe('ACTIVE');
    expect(rows.find((r) => r.id === y.id)).toMatchObject({ status: 'MERGED', mergedIntoId: x.id });
    expect(snapshots).toHaveLength(1);
    // Moved once: the order is the survivor's, once.
    expect(await db.order.count({ where: { customerId: x.id } })).toBe(1);
    expect(await db.event.count({ where: { type: 'CUSTOMER_MERGED', customerId: x.id } })).toBe(1);
  });

  it('a chain (A<-B and B<-C at once): one consistent outcome, everything reaches one active customer', async () => {
    for (let round = 0; round < 3; round++) {
      const a = await person('Ann');
      const b = await person('Ben');
      const c = await person('Cid');
      const ok = await race([
        [a.id, b.id],
        [b.id, c.id],
      ]);
      const { rows, snapshots } = await state([a.id, b.id, c.id]);
      const active = rows.filter((r) => r.status === 'ACTIVE');
      expect(snapshots).toHaveLength(ok);
      if (ok === 2) {
        // B<-C went first, then A<-B: C's pointer follows to A.
        expect(active.map((r) => r.id)).toEqual([a.id]);
        for (const r of rows.filter((r) => r.status === 'MERGED')) expect(r.mergedIntoId).toBe(a.id);
      } else {
        // A<-B went first: B, already merged, cannot be a survivor.
        expect(ok).toBe(1);
        expect(active.map((r) => r.id).sort()).toEqual([a.id, c.id].sort());
        expect(rows.find((r) => r.id === b.id)).toMatchObject({ status: 'MERGED', mergedIntoId: a.id });
      }
      for (const r of rows) expect((await svc.getCustomer(db, r.id, true))?.status).toBe('ACTIVE');
    }
  });

  it('refuses a merged customer as survivor or duplicate with AlreadyMergedError naming where it went', async () => {
    const a = await person('Kim');
    const b = await person('Kit');
    const c = await person('Kip');
    await svc.mergeCustomers(db, actor, a.id, b.id);
    const asDup = await svc.mergeCustomers(db, actor, c.id, b.id).catch((e) => e);
    expect(asDup).toBeInstanceOf(AlreadyMergedError);
    expect(asDup).toMatchObject({ mergedIntoId: a.id, inputPath: ['input', 'duplicateId'] });
    const asSurvivor = await svc.mergeCustomers(db, actor, b.id, c.id).catch((e) => e);
    expect(asSurvivor).toMatchObject({ code: 'ALREADY_MERGED', inputPath: ['input', 'survivorId'] });
    expect((await db.customer.findUnique({ where: { id: c.id } }))?.status).toBe('ACTIVE');
    await expect(svc.previewMerge(db, c.id, b.id)).rejects.toBeInstanceOf(AlreadyMergedError);
    await expect(svc.previewMerge(db, c.id, 'not-a-uuid')).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('merge preview (dry run)', () => {
  it('reports fields, identifiers, consents, points, owner and moves without writing anything', async () => {
    const rep1 = await db.staffUser.create({ data: { email: `r1-${++n}@shop.example`, name: 'Rep One' } as never });
    const rep2 = await db.staffUser.create({ data: { email: `r2-${++n}@shop.example`, name: 'Rep Two' } as never });
    const s = await svc.createCustomer(db, actor, {
      firstName: 'Dora',
      company: 'Acme',
      email: 'dora@preview.example',
      externalId: 'ext-s',
      ownerId: rep1.id,
      consents: [{ channel: 'EMAIL', granted: false }],
    });
    const d = await svc.createCustomer(db, actor, {
      firstName: 'Dora',
      lastName: 'Diaz',
      company: 'Other Corp',
      email: 'dd@preview.example',
      phone: '+4930999888',
      externalId: 'ext-d',
      ownerId: rep2.id,
      stage: 'REPEAT',
      tags: ['vip'],
      consents: [
        { channel: 'EMAIL', granted: true },
        { channel: 'SMS', granted: true },
      ],
    });
    const before = await db.customer.findMany({ where: { id: { in: [s.id, d.id] } }, orderBy: { id: 'asc' } });
    const plan = await svc.previewMerge(db, s.id, d.id);
    expect(plan.filled).toContainEqual({ field: 'lastName', value: 'Diaz' });
    expect(plan.conflicts).toContainEqual({ field: 'company', survivorValue: 'Acme', duplicateValue: 'Other Corp' });
    expect(plan.conflicts.find((c) => c.field === 'firstName')).toBeUndefined();
    expect(plan.addedEmails).toEqual(['dd@preview.example']);
    expect(plan.addedPhones).toEqual(['+4930999888']);
    expect(plan.conflictingExternalId).toBe('ext-d');
    expect(plan.consents).toEqual([
      { channel: 'EMAIL', survivorGranted: false, duplicateGranted: true, resultGranted: true, conflict: true },
      { channel: 'SMS', survivorGranted: null, duplicateGranted: true, resultGranted: true, conflict: false },
    ]);
    expect(plan.owner).toEqual({ survivorOwnerId: rep1.id, duplicateOwnerId: rep2.id, resultOwnerId: rep1.id, conflict: true });
    expect(plan.stage).toEqual({ survivor: 'PROSPECT', duplicate: 'REPEAT', result: 'REPEAT' });
    expect(plan.points).toEqual({ survivorBalance: 0, duplicateBalance: 0, resultBalance: 0 });
    expect(plan.moves).toContainEqual({ kind: 'tags', count: 1 });
    expect(plan.moves).toContainEqual({ kind: 'stageTransitions', count: 1 });
    expect(plan.moves).toContainEqual({ kind: 'consentChanges', count: 2 });
    // Nothing written.
    expect(await db.customer.findMany({ where: { id: { in: [s.id, d.id] } }, orderBy: { id: 'asc' } })).toEqual(before);
    expect(await db.customerMerge.count({ where: { mergedId: d.id } })).toBe(0);
    // The real merge does what the preview said.
    const { customer, plan: done } = await svc.mergeCustomersWithPlan(db, actor, s.id, d.id);
    expect(done).toEqual(plan);
    expect(customer).toMatchObject({ lastName: 'Diaz', company: 'Acme', ownerId: rep1.id, stage: 'REPEAT' });
  });
});
