import { afterAll, beforeAll, expect, it } from 'vitest';
import { forShop } from '../../db/tenant.ts';
import { createLogger } from '../../logger.ts';
import { createTestDatabase, type TestDatabase } from '../../testing.ts';
import * as customers from '../customers/customer.service.ts';
import { updateLeadPoolSettings } from './follow-up.settings.ts';
import { createLeadPoolScheduler } from './lead-pool.scheduler.ts';

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(() => tdb.close());

it('without anyone calling a mutation, stale leads return to the pool and pool leads are distributed', async () => {
  const s = await tdb.prisma.shop.create({ data: { name: 'Sched', slug: 'sched' } });
  const db = forShop(tdb.prisma, s.id);
  const a0 = await db.staffUser.create({ data: { email: 'a0@s.test', name: 'A0', role: 'AGENT' } as never });
  const a1 = await db.staffUser.create({ data: { email: 'a1@s.test', name: 'A1', role: 'AGENT' } as never });
  await updateLeadPoolSettings(db, { mode: 'ROUND_ROBIN', returnAfterHours: 24 });
  const actor = { staffId: null, source: 'api' };
  const neglected = await customers.createCustomer(db, actor, { email: 'old@s.test', stage: 'PROSPECT', ownerId: a0.id });
  const fresh = await customers.createCustomer(db, actor, { email: 'new@s.test', stage: 'PROSPECT' });
  // The neglected lead was taken two days ago and nothing happened since.
  await tdb.prisma.customer.update({ where: { id: neglected.id }, data: { createdAt: new Date(Date.now() - 48 * 3_600_000) } });

  const scheduler = createLeadPoolScheduler({ prisma: tdb.prisma, logger: createLogger('silent'), intervalMs: 0 });
  expect(await scheduler.tick()).toEqual({ returned: 1, assigned: 2 });

  const history = await tdb.prisma.leadAssignment.findMany({ where: { shopId: s.id }, orderBy: { at: 'asc' } });
  expect(history.filter((h) => h.customerId === neglected.id).map((h) => h.action)).toEqual(['RETURNED', 'AUTO_ASSIGNED']);
  expect(history.filter((h) => h.customerId === fresh.id).map((h) => h.action)).toEqual(['AUTO_ASSIGNED']);
  const owners = (await db.customer.findMany({ where: { id: { in: [neglected.id, fresh.id] } } })).map((c) => c.ownerId);
  expect(owners.every((o) => o === a0.id || o === a1.id)).toBe(true);
  // Nothing left to do on the next pass.
  expect(await scheduler.tick()).toEqual({ returned: 0, assigned: 0 });
});
