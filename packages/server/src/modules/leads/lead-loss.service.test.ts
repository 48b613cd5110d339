import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forShop, type ScopedDb } from '../../db/tenant.ts';
import { tenantSql } from '../../db/tenant-sql.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.ts';
import { createTestDatabase, type TestDatabase } from '../../testing.ts';
import * as customers from '../customers/customer.service.ts';
import { type Access, POOL_WHERE, SYSTEM } from '../follow-ups/follow-up.policy.ts';
import { closeFollowUp, createFollowUp } from '../follow-ups/follow-up.service.ts';
import { claimLead } from '../follow-ups/lead-pool.service.ts';
import { recordInteraction } from '../interactions/interaction.service.ts';
import { captureLead } from '../interactions/storefront.service.ts';
import { upsertOrder } from '../orders/order.service.ts';
import { leadLossKpis, markLeadLost, reopenLead } from './lead-loss.service.ts';

let tdb: TestDatabase;
const actor: customers.Actor = { staffId: null, source: 'api' };
const DAY = 86_400_000;

beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(() => tdb.close());

let shops = 0;
async function shop() {
  const s = await tdb.prisma.shop.create({ data: { name: `Loss ${++shops}`, slug: `loss-${shops}` } });
  const db = forShop(tdb.prisma, s.id);
  const a1 = await db.staffUser.create({ data: { email: 'a1@loss.test', name: 'A1', role: 'AGENT' } as never });
  const a2 = await db.staffUser.create({ data: { email: 'a2@loss.test', name: 'A2', role: 'AGENT' } as never });
  return {
    id: s.id,
    db,
    sql: tenantSql(tdb.prisma, s.id),
    a1: { staffId: a1.id, role: 'AGENT' } as Access,
    a2: { staffId: a2.id, role: 'AGENT' } as Access,
  };
}
let n = 0;
const lead = (db: ScopedDb, extra: customers.CreateCustomerInput = {}) =>
  customers.createCustomer(db, actor, { email: `l${++n}@loss.test`, stage: 'PROSPECT', ...extra });
const events = (shopId: string, type: string) =>
  tdb.prisma.event.findMany({ where: { shopId, type }, orderBy: { id: 'asc' } }).then((r) => r.map((e) => e.payload));

describe('markLeadLost', () => {
  it('records the reason with the stage, owner and source reached; cancels planned follow-ups; leaves the pool; one LEAD_LOST', async () => {
    const s = await shop();
    const c = await lead(s.db, { source: { channel: 'SOCIAL' } } as never);
    await claimLead(s.db, s.a1, c.id);
    const f1 = await createFollowUp(s.db, SYSTEM, { customerId: c.id, dueAt: new Date(Date.now() + DAY) });
    const f2 = await createFollowUp(s.db, SYSTEM, { customerId: c.id, dueAt: new Date(Date.now() + 2 * DAY) });
    const { loss, customer } = await markLeadLost(s.db, s.a1, { customerId: c.id, reason: 'PRICE', note: 'Found it 20% cheaper' });
    expect(loss).toMatchObject({
      outcome: 'LOST',
      reason: 'PRICE',
      note: 'Found it 20% cheaper',
      stageReached: 'PROSPECT',
      ownerId: s.a1.staffId,
      sourceChannel: 'SOCIAL',
      actorStaffId: s.a1.staffId,
      reopenedAt: null,
    });
    expect(customer.lostAt).toEqual(loss.lostAt);
    for (const f of [f1, f2]) {
      expect(await s.db.followUp.findUnique({ where: { id: f.id } })).toMatchObject({ status: 'CANCELLED', outcome: 'Lead lost: PRICE' });
    }
    const lost = await events(s.id, 'LEAD_LOST');
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ outcome: 'LOST', reason: 'PRICE', stageReached: 'PROSPECT', cancelledFollowUps: 2 });
    expect(JSON.stringify(lost)).not.toContain('cheaper'); // the note may hold personal details: not in the outbox
    expect(await events(s.id, 'FOLLOW_UP_CANCELLED')).toHaveLength(2);
    // An unowned lost lead is not in the pool.
    const pooled = await lead(s.db);
    await markLeadLost(s.db, SYSTEM, { customerId: pooled.id, outcome: 'DISQUALIFIED', reason: 'INVALID_CONTACT' });
    expect((await s.db.customer.findMany({ where: POOL_WHERE })).map((p) => p.id)).not.toContain(pooled.id);
    await expect(claimLead(s.db, s.a2, pooled.id)).rejects.toThrow(/lost; reopen it first/);
  });

  it('refuses buyers, a second loss, OTHER without a note, an over-long note, other agents’ leads and unknown customers, writing nothing', async () => {
    const s = await shop();
    const buyer = await lead(s.db);
    await upsertOrder(s.db, actor, {
      customerId: buyer.id,
      externalId: 'b1',
      currency: 'EUR',
      items: [{ name: 'X', quantity: 1, unitPrice: '5' }],
    });
    await expect(markLeadLost(s.db, SYSTEM, { customerId: buyer.id, reason: 'PRICE' })).rejects.toBeInstanceOf(ValidationError);
    const c = await lead(s.db);
    await expect(markLeadLost(s.db, SYSTEM, { customerId: c.id, reason: 'OTHER' })).rejects.toMatchObject({
      inputPath: ['input', 'note'],
    });
    await expect(markLeadLost(s.db, SYSTEM, { customerId: c.id, reason: 'STOCK', note: 'x'.repeat(2001) })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await claimLead(s.db, s.a1, c.id);
    await expect(markLeadLost(s.db, s.a2, { customerId: c.id, reason: 'STOCK' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      markLeadLost(s.db, SYSTEM, { customerId: '00000000-0000-0000-0000-000000000000', reason: 'STOCK' }),
    ).rejects.toBeInstanceOf(NotFoundError);
    expect(await s.db.leadLoss.count()).toBe(0);
    expect(await events(s.id, 'LEAD_LOST')).toHaveLength(0);
    await markLeadLost(s.db, s.a1, { customerId: c.id, reason: 'STOCK' });
    await expect(markLeadLost(s.db, s.a1, { customerId: c.id, reason: 'PRICE' })).rejects.toBeInstanceOf(ConflictError);
    expect(await s.db.leadLoss.count()).toBe(1);
  });

  it('concurrent marks of one lead: exactly one loss', async () => {
    const s = await shop();
    const c = await lead(s.db);
    const results = await Promise.allSettled(
      ['PRICE', 'STOCK', 'TOO_FAR', 'FORGOT'].map((reason) => markLeadLost(s.db, SYSTEM, { customerId: c.id, reason: reason as never })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(await s.db.leadLoss.count()).toBe(1);
    expect(await events(s.id, 'LEAD_LOST')).toHaveLength(1);
  });

  it('closing a follow-up with leadLost ends the chain and the lead in one transaction', async () => {
    const s = await shop();
    const c = await lead(s.db);
    const f = await createFollowUp(s.db, SYSTEM, { customerId: c.id, dueAt: new Date(Date.now() + DAY) });
    const g = await createFollowUp(s.db, SYSTEM, { customerId: c.id, dueAt: new Date(Date.now() + 3 * DAY) });
    await closeFollowUp(s.db, SYSTEM, f.id, 'CANCELLED', 'Not interested any more', { reason: 'DELIVERY_DATE' });
    expect(await s.db.followUp.findUnique({ where: { id: f.id } })).toMatchObject({
      status: 'CANCELLED',
      outcome: 'Not interested any more',
    });
    expect(await s.db.followUp.findUnique({ where: { id: g.id } })).toMatchObject({ status: 'CANCELLED' });
    expect(await s.db.leadLoss.findMany()).toMatchObject([{ reason: 'DELIVERY_DATE', customerId: c.id }]);
    // A refused loss (OTHER without a note) leaves the follow-up open too.
    const d = await lead(s.db);
    const h = await createFollowUp(s.db, SYSTEM, { customerId: d.id, dueAt: new Date(Date.now() + DAY) });
    await expect(closeFollowUp(s.db, SYSTEM, h.id, 'CANCELLED', null, { reason: 'OTHER' })).rejects.toBeInstanceOf(ValidationError);
    expect(await s.db.followUp.findUnique({ where: { id: h.id } })).toMatchObject({ status: 'PLANNED' });
  });
});

describe('reopening', () => {
  it('by hand, by a new capture, by an inbound contact and by an order; LEAD_REOPENED with the cause; outbound contact does not', async () => {
    const s = await shop();
    const causes: string[] = [];
    const manual = await lead(s.db);
    await markLeadLost(s.db, SYSTEM, { customerId: manual.id, reason: 'FORGOT' });
    const back = await reopenLead(s.db, SYSTEM, manual.id, 'Called us back');
    expect(back.lostAt).toBeNull();
    expect(await s.db.leadLoss.findFirst({ where: { customerId: manual.id } })).toMatchObject({ reopenReason: 'Called us back' });
    causes.push('MANUAL');
    await expect(reopenLead(s.db, SYSTEM, manual.id)).rejects.toBeInstanceOf(ConflictError);

    const captured = await lead(s.db);
    await markLeadLost(s.db, SYSTEM, { customerId: captured.id, reason: 'CANNOT_FIND_CONTACT' });
    await captureLead(s.db, { via: 'storefront', tokenCustomerId: null }, { email: captured.email as string, message: 'Still interested' });
    causes.push('CAPTURE');

    const called = await lead(s.db);
    await markLeadLost(s.db, SYSTEM, { customerId: called.id, reason: 'TOO_FAR' });
    await recordInteraction(s.db, actor, {
      customerId: called.id,
      channel: 'PHONE',
      direction: 'OUTBOUND',
      type: 'FOLLOW_UP_CALL',
    } as never);
    expect((await s.db.customer.findUnique({ where: { id: called.id } }))?.lostAt).not.toBeNull();
    await recordInteraction(s.db, actor, { customerId: called.id, channel: 'PHONE', direction: 'INBOUND', type: 'INQUIRY' } as never);
    causes.push('INBOUND_CONTACT');

    const buyer = await lead(s.db);
    await markLeadLost(s.db, SYSTEM, { customerId: buyer.id, reason: 'STOCK' });
    await upsertOrder(s.db, actor, {
      customerId: buyer.id,
      externalId: 'r1',
      currency: 'EUR',
      items: [{ name: 'X', quantity: 1, unitPrice: '5' }],
    });
    causes.push('ORDER');

    for (const c of [manual, captured, called, buyer]) {
      expect((await s.db.customer.findUnique({ where: { id: c.id } }))?.lostAt).toBeNull();
    }
    expect((await events(s.id, 'LEAD_REOPENED')).map((p) => (p as { cause: string }).cause)).toEqual(causes);
    expect(await s.db.leadLoss.count({ where: { reopenedAt: null } })).toBe(0);
    // Lost again after coming back: a second loss row, history kept.
    await markLeadLost(s.db, SYSTEM, { customerId: manual.id, reason: 'PRICE' });
    expect(await s.db.leadLoss.count({ where: { customerId: manual.id } })).toBe(2);
  });
});

describe('loss analytics', () => {
  it('counts losses in the range by reason, source, owner, stage reached and month (hand-computed fixture)', async () => {
    const s = await shop();
    const mk = async (
      reason: string,
      opts: { owner?: Access; stage?: 'SUSPECT' | 'PROSPECT'; source?: string; outcome?: string; at: string },
    ) => {
      const c = await lead(s.db, {
        stage: opts.stage ?? 'PROSPECT',
        ...(opts.source ? { source: { channel: opts.source } } : {}),
      } as never);
      if (opts.owner) await claimLead(s.db, opts.owner, c.id);
      await markLeadLost(
        s.db,
        opts.owner ?? SYSTEM,
        { customerId: c.id, reason: reason as never, outcome: (opts.outcome ?? 'LOST') as never },
        new Date(opts.at),
      );
      return c;
    };
    await mk('PRICE', { owner: s.a1, source: 'SOCIAL', at: '2026-03-05T10:00:00Z' });
    await mk('PRICE', { owner: s.a2, source: 'SOCIAL', at: '2026-03-20T10:00:00Z' });
    const back = await mk('STOCK', { owner: s.a1, source: 'REFERRAL', at: '2026-04-02T10:00:00Z' });
    await mk('INVALID_CONTACT', { stage: 'SUSPECT', outcome: 'DISQUALIFIED', at: '2026-04-10T10:00:00Z' });
    await mk('PRICE', { at: '2026-06-01T00:00:00Z' }); // outside [from, to)
    await reopenLead(s.db, SYSTEM, back.id);
    const k = await leadLossKpis(s.sql, new Date('2026-03-01T00:00:00Z'), new Date('2026-06-01T00:00:00Z'));
    expect(k).toMatchObject({ total: 4, lost: 3, disqualified: 1, reopened: 1 });
    expect(k.byReason).toEqual([
      { key: 'PRICE', count: 2 },
      { key: 'INVALID_CONTACT', count: 1 },
      { key: 'STOCK', count: 1 },
    ]);
    expect(k.bySource).toEqual(
      expect.arrayContaining([
        { key: 'SOCIAL', count: 2 },
        { key: 'REFERRAL', count: 1 },
        { key: null, count: 1 },
      ]),
    );
    expect(k.byOwner).toEqual(
      expect.arrayContaining([
        { key: s.a1.staffId, count: 2 },
        { key: s.a2.staffId, count: 1 },
        { key: null, count: 1 },
      ]),
    );
    expect(k.byStage).toEqual([
      { key: 'PROSPECT', count: 3 },
      { key: 'SUSPECT', count: 1 },
    ]);
    expect(k.monthly).toEqual([
      { month: '2026-03', lost: 2, disqualified: 0, reopened: 0 },
      { month: '2026-04', lost: 1, disqualified: 1, reopened: 1 },
    ]);
  });
});
