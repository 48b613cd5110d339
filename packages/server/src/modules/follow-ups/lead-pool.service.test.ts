import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forShop, type ScopedDb } from '../../db/tenant.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../errors.ts';
import { createTestDatabase, type TestDatabase } from '../../testing.ts';
import * as customers from '../customers/customer.service.ts';
import { recordInteraction } from '../interactions/interaction.service.ts';
import { type Access, SYSTEM } from './follow-up.policy.ts';
import { createFollowUp } from './follow-up.service.ts';
import { updateLeadPoolSettings } from './follow-up.settings.ts';
import * as pool from './lead-pool.service.ts';

let tdb: TestDatabase;
const actor: customers.Actor = { staffId: null, source: 'api' };
const HOUR = 3_600_000;

beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(() => tdb.close());

let shops = 0;
/** A fresh shop with a manager and `agents` agents. */
async function shop(agents = 3) {
  const s = await tdb.prisma.shop.create({ data: { name: `Pool ${++shops}`, slug: `pool-${shops}` } });
  const db = forShop(tdb.prisma, s.id);
  const m = await db.staffUser.create({ data: { email: 'm@pool.test', name: 'M', role: 'MANAGER' } as never });
  const list: Access[] = [];
  const base = Date.now() - 60_000;
  for (let i = 0; i < agents; i++) {
    // Distinct creation times: round robin orders agents by createdAt (rows made in one millisecond tie).
    const createdAt = new Date(base + i * 1000);
    const a = await db.staffUser.create({ data: { email: `a${i}@pool.test`, name: `A${i}`, role: 'AGENT', createdAt } as never });
    list.push({ staffId: a.id, role: 'AGENT' });
  }
  return { id: s.id, db, manager: { staffId: m.id, role: 'MANAGER' } as Access, agents: list };
}
let n = 0;
const lead = (db: ScopedDb, extra: customers.CreateCustomerInput = {}) =>
  customers.createCustomer(db, actor, { email: `l${++n}@pool.test`, stage: 'PROSPECT', ...extra });
const history = (shopId: string, customerId: string) =>
  tdb.prisma.leadAssignment.findMany({ where: { shopId, customerId }, orderBy: { at: 'asc' } });

describe('claimLead', () => {
  it('an agent claims a pool lead; open follow-ups follow; recorded with an event', async () => {
    const s = await shop();
    const a = s.agents[0] as Access;
    const c = await lead(s.db);
    const f = await createFollowUp(s.db, SYSTEM, { customerId: c.id, dueAt: new Date(Date.now() + HOUR) });
    expect(f.assigneeId).toBeNull();
    const claimed = await pool.claimLead(s.db, a, c.id);
    expect(claimed.ownerId).toBe(a.staffId);
    expect((await s.db.followUp.findUnique({ where: { id: f.id } }))?.assigneeId).toBe(a.staffId);
    expect(await history(s.id, c.id)).toMatchObject([{ action: 'CLAIMED', staffId: a.staffId, actorStaffId: a.staffId }]);
    expect(await tdb.prisma.event.count({ where: { shopId: s.id, type: 'LEAD_ASSIGNED' } })).toBe(1);
    await expect(pool.claimLead(s.db, s.agents[1] as Access, c.id)).rejects.toBeInstanceOf(ConflictError);
  });

  it('refuses non-leads, unknown customers and callers without a staff user', async () => {
    const s = await shop(1);
    const a = s.agents[0] as Access;
    const buyer = await lead(s.db, { stage: 'REPEAT' });
    await expect(pool.claimLead(s.db, a, buyer.id)).rejects.toBeInstanceOf(ValidationError);
    await expect(pool.claimLead(s.db, a, '00000000-0000-0000-0000-000000000000')).rejects.toBeInstanceOf(NotFoundError);
    await expect(pool.claimLead(s.db, a, 'nope')).rejects.toBeInstanceOf(NotFoundError);
    await expect(pool.claimLead(s.db, SYSTEM, (await lead(s.db)).id)).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('concurrent claims of one lead: exactly one wins, the others get a ConflictError', async () => {
    const s = await shop(6);
    for (let round = 0; round < 3; round++) {
      const c = await lead(s.db);
      const results = await Promise.allSettled(s.agents.map((a) => pool.claimLead(s.db, a, c.id)));
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(5);
      for (const l of lost) expect(l.reason).toBeInstanceOf(ConflictError);
      const owner = (won[0] as PromiseFulfilledResult<{ ownerId: string | null }>).value.ownerId;
      expect((await s.db.customer.findUnique({ where: { id: c.id } }))?.ownerId).toBe(owner);
      expect(await history(s.id, c.id)).toHaveLength(1);
    }
  });
});

describe('assignLead', () => {
  it('managers assign and reassign', async () => {
    const s = await shop(2);
    const [a0, a1] = s.agents as [Access, Access];
    const c = await lead(s.db);
    // Agents are refused by the field declaration (role: MANAGER), see follow-up.service.test.ts.
    await pool.assignLead(s.db, s.manager, c.id, a0.staffId as string);
    const f = await createFollowUp(s.db, a0, { customerId: c.id, dueAt: new Date(Date.now() + HOUR) });
    const re = await pool.assignLead(s.db, SYSTEM, c.id, a1.staffId as string, 'Vacation');
    expect(re.ownerId).toBe(a1.staffId);
    expect((await s.db.followUp.findUnique({ where: { id: f.id } }))?.assigneeId).toBe(a1.staffId);
    expect(await history(s.id, c.id)).toMatchObject([
      { action: 'ASSIGNED', staffId: a0.staffId, actorStaffId: s.manager.staffId },
      { action: 'ASSIGNED', staffId: a1.staffId, actorStaffId: null, reason: 'Vacation' },
    ]);
    await expect(pool.assignLead(s.db, s.manager, c.id, '00000000-0000-0000-0000-000000000000')).rejects.toMatchObject({
      inputPath: ['input', 'staffId'],
    });
  });
});

describe('autoAssignLeads', () => {
  it('NONE assigns nothing; ROUND_ROBIN cycles through active agents and continues where it stopped', async () => {
    const s = await shop(3);
    await s.db.staffUser.update({ where: { id: (s.agents[2] as Access).staffId as string }, data: { active: false } });
    const leads = [];
    for (let i = 0; i < 5; i++) leads.push(await lead(s.db));
    // The pool is served oldest first: make the order explicit (leads created in one millisecond tie).
    for (const [i, l] of leads.entries())
      await s.db.customer.update({ where: { id: l.id }, data: { createdAt: new Date(Date.now() - (5 - i) * 1000) } });
    expect((await pool.autoAssignLeads(s.db, s.manager)).assignments).toEqual([]);
    // Agents are refused by the field declaration (role: MANAGER), see follow-up.service.test.ts.
    await updateLeadPoolSettings(s.db, { mode: 'ROUND_ROBIN' });
    const r1 = await pool.autoAssignLeads(s.db, SYSTEM, { limit: 3 });
    expect(r1.assignments).toHaveLength(3);
    const [a0, a1] = [(s.agents[0] as Access).staffId, (s.agents[1] as Access).staffId];
    const ownerOf = async (id: string) => (await s.db.customer.findUnique({ where: { id } }))?.ownerId;
    expect([await ownerOf(leads[0]?.id as string), await ownerOf(leads[1]?.id as string), await ownerOf(leads[2]?.id as string)]).toEqual([
      a0,
      a1,
      a0,
    ]);
    const r2 = await pool.autoAssignLeads(s.db, SYSTEM);
    expect(r2.assignments.map((x) => x.action)).toEqual(['AUTO_ASSIGNED', 'AUTO_ASSIGNED']);
    expect([await ownerOf(leads[3]?.id as string), await ownerOf(leads[4]?.id as string)]).toEqual([a1, a0]);
    expect(await tdb.prisma.event.count({ where: { shopId: s.id, type: 'LEAD_ASSIGNED' } })).toBe(5);
    expect((await pool.autoAssignLeads(s.db, SYSTEM)).assignments).toEqual([]); // the pool is empty
  });

  it('BY_SOURCE maps acquisition channels; unmapped sources stay in the pool', async () => {
    const s = await shop(2);
    const [a0, a1] = s.agents as [Access, Access];
    await updateLeadPoolSettings(s.db, {
      mode: 'BY_SOURCE',
      bySource: [
        { channel: 'SOCIAL', staffId: a0.staffId as string },
        { channel: 'WALK_IN', staffId: a1.staffId as string },
      ],
    });
    const social = await lead(s.db, { source: { channel: 'SOCIAL' } });
    const walkIn = await lead(s.db, { source: { channel: 'WALK_IN' } });
    const other = await lead(s.db, { source: { channel: 'EVENT' } });
    const none = await lead(s.db);
    const r = await pool.autoAssignLeads(s.db, s.manager);
    expect(r.assignments).toHaveLength(2);
    const owners = await s.db.customer.findMany({ where: { id: { in: [social.id, walkIn.id, other.id, none.id] } } });
    const by = Object.fromEntries(owners.map((c) => [c.id, c.ownerId]));
    expect([by[social.id], by[walkIn.id], by[other.id], by[none.id]]).toEqual([a0.staffId, a1.staffId, null, null]);
  });
});

describe('returnStaleLeads', () => {
  it('returns owned leads without activity for returnAfterHours; active ones stay', async () => {
    const s = await shop(2);
    const [a0, a1] = s.agents as [Access, Access];
    await updateLeadPoolSettings(s.db, { returnAfterHours: 24 });
    const stale = await lead(s.db, { ownerId: a0.staffId });
    const withFollowUp = await lead(s.db, { ownerId: a0.staffId });
    const withCall = await lead(s.db, { ownerId: a1.staffId });
    const buyer = await lead(s.db, { ownerId: a1.staffId, stage: 'REPEAT' });
    const staleF = await createFollowUp(s.db, a0, { customerId: stale.id, dueAt: new Date(Date.now() + HOUR) });
    // Make everything two days old, then add fresh activity to two of them.
    const old = new Date(Date.now() - 48 * HOUR);
    await tdb.prisma.customer.updateMany({ where: { shopId: s.id }, data: { createdAt: old } });
    await tdb.prisma.followUp.updateMany({ where: { shopId: s.id }, data: { updatedAt: old, createdAt: old } });
    await createFollowUp(s.db, a0, { customerId: withFollowUp.id, dueAt: new Date(Date.now() + HOUR) });
    await recordInteraction(
      s.db,
      { staffId: a1.staffId },
      { customerId: withCall.id, channel: 'PHONE', direction: 'OUTBOUND', type: 'FOLLOW_UP_CALL' },
    );
    // Agents are refused by the field declaration (role: MANAGER), see follow-up.service.test.ts.
    const r = await pool.returnStaleLeads(s.db, s.manager);
    expect(r.assignments.map((x) => [x.customerId, x.action, x.staffId])).toEqual([[stale.id, 'RETURNED', a0.staffId]]);
    const after = await s.db.customer.findMany({ where: { id: { in: [stale.id, withFollowUp.id, withCall.id, buyer.id] } } });
    const by = Object.fromEntries(after.map((c) => [c.id, c.ownerId]));
    expect([by[stale.id], by[withFollowUp.id], by[withCall.id], by[buyer.id]]).toEqual([null, a0.staffId, a1.staffId, a1.staffId]);
    expect((await s.db.followUp.findUnique({ where: { id: staleF.id } }))?.assigneeId).toBeNull();
    expect(await tdb.prisma.event.count({ where: { shopId: s.id, type: 'LEAD_RETURNED' } })).toBe(1);
    // Returned just now: the history row is fresh activity, nothing returns again.
    expect((await pool.returnStaleLeads(s.db, s.manager)).assignments).toEqual([]);
    // Back in the pool: claimable.
    await expect(pool.claimLead(s.db, a1, stale.id)).resolves.toMatchObject({ ownerId: a1.staffId });
    await updateLeadPoolSettings(s.db, { returnAfterHours: null });
    expect((await pool.returnStaleLeads(s.db, s.manager)).assignments).toEqual([]);
  });
});
