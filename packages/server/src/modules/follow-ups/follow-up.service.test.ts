import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forShop, type ScopedDb } from '../../db/tenant.ts';
import { tenantSql } from '../../db/tenant-sql.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError, VersionConflictError } from '../../errors.ts';
import { schema } from '../../schema.ts';
import { createTestDatabase, type TestDatabase } from '../../testing.ts';
import { allows, expandScopes, SCOPES, type ScopeDeclaration } from '../auth/auth.policy.ts';
import * as customers from '../customers/customer.service.ts';
import { recordInteraction } from '../interactions/interaction.service.ts';
import { upsertOrder } from '../orders/order.service.ts';
import * as agenda from './follow-up.agenda.ts';
import { type Access, SYSTEM } from './follow-up.policy.ts';
import * as retention from './follow-up.retention.ts';
import * as svc from './follow-up.service.ts';
import { getFollowUpSettings, updateCadenceSettings, updateLeadPoolSettings } from './follow-up.settings.ts';

let tdb: TestDatabase;
let db: ScopedDb;
let shopId: string;
let manager: Access;
let agent: Access;
let agent2: Access;
const actor: customers.Actor = { staffId: null, source: 'api' };
const DAY = 86_400_000;

beforeAll(async () => {
  tdb = await createTestDatabase();
  const shop = await tdb.prisma.shop.create({ data: { name: 'F', slug: 'fu-svc' } });
  shopId = shop.id;
  db = forShop(tdb.prisma, shop.id);
  const mk = async (email: string, role: 'MANAGER' | 'AGENT'): Promise<Access> => {
    const s = await db.staffUser.create({ data: { email, name: email, role } as never });
    return { staffId: s.id, role };
  };
  manager = await mk('m@fu.test', 'MANAGER');
  agent = await mk('a@fu.test', 'AGENT');
  agent2 = await mk('b@fu.test', 'AGENT');
});
afterAll(() => tdb.close());

let n = 0;
const newCustomer = (extra: customers.CreateCustomerInput = {}) =>
  customers.createCustomer(db, actor, {
    email: `c${++n}@fu.test`,
    consents: [
      { channel: 'EMAIL', granted: true },
      { channel: 'PHONE', granted: true },
    ],
    ...extra,
  });
const events = (type: string) => tdb.prisma.event.count({ where: { shopId, type } });

describe('follow-ups', () => {
  it('creates with the cadence proposal when dueAt and channel are omitted', async () => {
    const c = await newCustomer({ dealLikelihood: 90, preferredChannel: 'EMAIL', ownerId: agent.staffId });
    // 10:00 UTC: the proposal (+2 days) lies inside the default contact window (09-18, shop time zone UTC).
    const now = new Date(new Date().setUTCHours(10, 0, 0, 0));
    const before = await events('FOLLOW_UP_CREATED');
    const f = await svc.createFollowUp(db, manager, { customerId: c.id, goal: 'Call about the sofa' }, now);
    expect(f).toMatchObject({ status: 'PLANNED', channel: 'EMAIL', assigneeId: agent.staffId, goal: 'Call about the sofa', kind: 'SALES' });
    expect(f.dueAt.getTime()).toBe(now.getTime() + 2 * DAY);
    expect(await events('FOLLOW_UP_CREATED')).toBe(before + 1);
  });

  it('refuses a channel without consent, unknown customers and bad input', async () => {
    const c = await newCustomer();
    await expect(svc.createFollowUp(db, manager, { customerId: c.id, channel: 'SMS' })).rejects.toMatchObject({
      constructor: ValidationError,
      inputPath: ['input', 'channel'],
    });
    await expect(svc.createFollowUp(db, manager, { customerId: '00000000-0000-0000-0000-000000000000' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(svc.createFollowUp(db, manager, { customerId: c.id, goal: 'x'.repeat(501) })).rejects.toBeInstanceOf(ValidationError);
    await expect(svc.createFollowUp(db, manager, { customerId: c.id, interestValue: '-3' })).rejects.toBeInstanceOf(ValidationError);
  });

  it('a NEVER-tolerance customer gets no proposed date', async () => {
    const c = await newCustomer({ contactTolerance: 'NEVER' });
    await expect(svc.createFollowUp(db, manager, { customerId: c.id })).rejects.toMatchObject({ inputPath: ['input', 'dueAt'] });
    const s = await svc.suggestNextFollowUp(db, c.id);
    expect(s).toMatchObject({ dueAt: null, channel: null });
  });

  it('suggestNextFollowUp respects tolerance against the last outbound contact', async () => {
    const c = await newCustomer({ dealLikelihood: 90, contactTolerance: 'WEEKLY' });
    // Fixed clock: the last contact at 10:00 UTC, so a week later lies inside the default window (09-18 UTC).
    const at = new Date('2026-01-09T10:00:00.000Z');
    await recordInteraction(db, actor, {
      customerId: c.id,
      channel: 'PHONE',
      direction: 'OUTBOUND',
      type: 'FOLLOW_UP_CALL',
      occurredAt: at,
    });
    const now = new Date('2026-01-10T12:00:00.000Z');
    const s = await svc.suggestNextFollowUp(db, c.id, now);
    expect(s?.dueAt?.getTime()).toBe(at.getTime() + 7 * DAY);
    expect(s?.reasons.join(' ')).toMatch(/WEEKLY/);
    expect(await svc.suggestNextFollowUp(db, '00000000-0000-0000-0000-000000000000')).toBeNull();
  });

  it('update, cancel and skip only PLANNED ones; version conflicts', async () => {
    const c = await newCustomer();
    const f = await svc.createFollowUp(db, manager, { customerId: c.id, dueAt: new Date(Date.now() + DAY), channel: 'PHONE' });
    const u = await svc.updateFollowUp(db, manager, f.id, f.version, { goal: 'New goal', interestValue: '1500.5' });
    expect(u).toMatchObject({ goal: 'New goal', version: 2 });
    expect(u.interestValue?.toFixed(2)).toBe('1500.50');
    await expect(svc.updateFollowUp(db, manager, f.id, 1, { goal: 'x' })).rejects.toBeInstanceOf(VersionConflictError);
    const skipped = await svc.closeFollowUp(db, manager, f.id, 'SKIPPED', 'Customer on holiday');
    expect(skipped).toMatchObject({ status: 'SKIPPED', outcome: 'Customer on holiday' });
    await expect(svc.closeFollowUp(db, manager, f.id, 'CANCELLED')).rejects.toBeInstanceOf(ConflictError);
    await expect(svc.updateFollowUp(db, manager, f.id, null, { goal: 'x' })).rejects.toBeInstanceOf(ConflictError);
  });

  it('complete: outcome, notes, doubts, next follow-up in a navigable chain; doubts resolved later', async () => {
    const c = await newCustomer({ dealLikelihood: 60, ownerId: agent.staffId });
    const now = new Date(new Date().setUTCHours(10, 0, 0, 0)); // inside the default window (09-18 UTC)
    const f1 = await svc.createFollowUp(db, agent, {
      customerId: c.id,
      dueAt: new Date(now.getTime() - 3_600_000),
      channel: 'PHONE',
      goal: 'First call',
    });
    const completed = await svc.completeFollowUp(
      db,
      agent,
      f1.id,
      { outcome: 'Interested', notes: 'Asked about delivery', nextStep: 'Send offer', doubts: ['Price too high', 'Delivery time'] },
      now,
    );
    expect(completed.followUp).toMatchObject({ status: 'DONE', outcome: 'Interested', notes: 'Asked about delivery', completedAt: now });
    expect(completed.next).toMatchObject({ previousId: f1.id, goal: 'Send offer', status: 'PLANNED', assigneeId: agent.staffId });
    expect(completed.next?.dueAt.getTime()).toBe(now.getTime() + 4 * DAY);
    expect(completed.proposal.reasons.join(' ')).toMatch(/60%/);
    const doubts = await db.followUpDoubt.findMany({ where: { customerId: c.id }, orderBy: { text: 'asc' } });
    expect(doubts.map((d) => [d.text, d.resolvedAt])).toEqual([
      ['Delivery time', null],
      ['Price too high', null],
    ]);
    // The chain: f1 -> next; completing next resolves a doubt and proposes without scheduling.
    const f2 = completed.next as NonNullable<typeof completed.next>;
    const chain = await db.followUp.findUnique({ where: { id: f1.id }, include: { next: true } });
    expect(chain?.next?.id).toBe(f2.id);
    const second = await svc.completeFollowUp(db, agent, f2.id, {
      outcome: 'Offer sent',
      resolveDoubts: [{ id: (doubts[0] as { id: string }).id, resolution: 'Delivery in 2 weeks' }],
      scheduleNext: false,
    });
    expect(second.next).toBeNull();
    expect(second.proposal.dueAt).toBeInstanceOf(Date);
    const d0 = await db.followUpDoubt.findUnique({ where: { id: (doubts[0] as { id: string }).id } });
    expect(d0).toMatchObject({ resolution: 'Delivery in 2 weeks' });
    expect(d0?.resolvedAt).toBeInstanceOf(Date);
    const resolved = await svc.resolveDoubt(db, agent, (doubts[1] as { id: string }).id, 'Discount offered');
    expect(resolved.resolution).toBe('Discount offered');
    await expect(svc.resolveDoubt(db, agent, (doubts[1] as { id: string }).id, 'again')).rejects.toBeInstanceOf(ConflictError);
    // Completing twice is a conflict; completing with a doubt of another customer is NotFound (nothing written).
    await expect(svc.completeFollowUp(db, agent, f1.id, { outcome: 'again' })).rejects.toBeInstanceOf(ConflictError);
    const other = await newCustomer();
    const fo = await svc.createFollowUp(db, manager, { customerId: other.id, dueAt: new Date(now.getTime() + DAY) });
    await expect(
      svc.completeFollowUp(db, manager, fo.id, { resolveDoubts: [{ id: (doubts[0] as { id: string }).id, resolution: 'x' }] }),
    ).rejects.toBeInstanceOf(NotFoundError);
    expect((await db.followUp.findUnique({ where: { id: fo.id } }))?.status).toBe('PLANNED');
    expect(await events('FOLLOW_UP_COMPLETED')).toBeGreaterThanOrEqual(2);
  });

  it('completion with explicit next: dueAt, channel (consent checked), goal', async () => {
    const c = await newCustomer();
    const f = await svc.createFollowUp(db, manager, { customerId: c.id, dueAt: new Date(Date.now() + DAY) });
    await expect(svc.completeFollowUp(db, manager, f.id, { next: { channel: 'SMS' } })).rejects.toBeInstanceOf(ValidationError);
    const due = new Date(Date.now() + 10 * DAY);
    const r = await svc.completeFollowUp(db, manager, f.id, { next: { dueAt: due, channel: 'EMAIL', goal: 'Showroom visit' } });
    expect(r.next).toMatchObject({ dueAt: due, channel: 'EMAIL', goal: 'Showroom visit' });
  });
});

describe('permissions', () => {
  it('agents act on their own leads and the pool, managers on all', async () => {
    const mine = await newCustomer({ ownerId: agent.staffId });
    const theirs = await newCustomer({ ownerId: agent2.staffId });
    const pooled = await newCustomer({ stage: 'PROSPECT' });
    const buyer = await newCustomer({ stage: 'REPEAT' }); // no owner but no lead: not in the pool
    const due = new Date(Date.now() + DAY);
    await expect(svc.createFollowUp(db, agent, { customerId: mine.id, dueAt: due })).resolves.toMatchObject({ assigneeId: agent.staffId });
    await expect(svc.createFollowUp(db, agent, { customerId: pooled.id, dueAt: due })).resolves.toMatchObject({
      assigneeId: agent.staffId,
    });
    await expect(svc.createFollowUp(db, agent, { customerId: theirs.id, dueAt: due })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(svc.createFollowUp(db, agent, { customerId: buyer.id, dueAt: due })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(svc.createFollowUp(db, agent, { customerId: mine.id, dueAt: due, assigneeId: agent2.staffId })).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    const theirsF = await svc.createFollowUp(db, manager, { customerId: theirs.id, dueAt: due, assigneeId: agent2.staffId });
    expect(await svc.getFollowUp(db, agent, theirsF.id)).toBeNull();
    expect(await svc.getFollowUp(db, agent2, theirsF.id)).not.toBeNull();
    expect(await svc.getFollowUp(db, manager, theirsF.id)).not.toBeNull();
    expect(await svc.getFollowUp(db, SYSTEM, theirsF.id)).not.toBeNull();
    await expect(svc.updateFollowUp(db, agent, theirsF.id, null, { goal: 'steal' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(svc.completeFollowUp(db, agent, theirsF.id, {})).rejects.toBeInstanceOf(NotFoundError);
    await expect(svc.closeFollowUp(db, agent, theirsF.id, 'CANCELLED')).rejects.toBeInstanceOf(NotFoundError);
    // A manager may hand a follow-up to anyone; an agent only to themselves.
    await expect(svc.updateFollowUp(db, manager, theirsF.id, null, { assigneeId: agent.staffId })).resolves.toMatchObject({
      assigneeId: agent.staffId,
    });
    expect(await svc.getFollowUp(db, agent, theirsF.id)).not.toBeNull(); // assigned to them now
  });

  it("agents see only their own agenda; the shop's agenda is for managers and the system", () => {
    expect(() => agenda.agendaWhere(agent, { assigneeId: agent2.staffId }, new Date())).toThrow(ForbiddenError);
    expect(agenda.agendaScope(agent, {})).toEqual({ assigneeId: agent.staffId });
    expect(agenda.agendaScope(manager, {})).toEqual({ assigneeId: null });
    expect(agenda.agendaScope(SYSTEM, { assigneeId: agent2.staffId })).toEqual({ assigneeId: agent2.staffId });
  });

  it('retention and settings are for managers: declared on the fields (auth.policy.ts), not checked in the service', () => {
    const fields = schema.getMutationType()?.getFields() ?? {};
    for (const name of ['generateRetentionFollowUps', 'updateCadenceSettings', 'updateLeadPoolSettings', 'assignLead', 'autoAssignLeads']) {
      const decl =
        ((fields[name]?.extensions ?? {}) as { pothosOptions?: { authScopes?: ScopeDeclaration } }).pothosOptions?.authScopes ?? {};
      const as = (role: 'AGENT' | 'MANAGER') => ({ kind: 'secret' as const, scopes: expandScopes(SCOPES), staff: { id: 'x', role } });
      expect(allows(decl, as('AGENT')), name).toBe(false);
      expect(allows(decl, as('MANAGER')), name).toBe(true);
    }
  });
});

describe('agenda', () => {
  it('buckets overdue / due today / upcoming with a fixed clock, filtered by stage and likelihood', async () => {
    const shop = await tdb.prisma.shop.create({ data: { name: 'Agenda', slug: 'fu-agenda' } });
    const adb = forShop(tdb.prisma, shop.id);
    const asql = tenantSql(tdb.prisma, shop.id);
    const rep = await adb.staffUser.create({ data: { email: 'r@ag.test', name: 'R', role: 'AGENT' } as never });
    const other = await adb.staffUser.create({ data: { email: 'o@ag.test', name: 'O', role: 'AGENT' } as never });
    const me: Access = { staffId: rep.id, role: 'AGENT' };
    const now = new Date('2026-05-20T10:00:00Z');
    const hot = await customers.createCustomer(adb, actor, { email: 'hot@ag.test', dealLikelihood: 90, ownerId: rep.id });
    const cold = await customers.createCustomer(adb, actor, {
      email: 'cold@ag.test',
      dealLikelihood: 10,
      stage: 'SUSPECT',
      ownerId: rep.id,
    });
    const mk = (customerId: string, dueAt: string, assigneeId = rep.id, status: 'PLANNED' | 'DONE' = 'PLANNED') =>
      adb.followUp.create({ data: { customerId, assigneeId, dueAt: new Date(dueAt), status } as never });
    await mk(hot.id, '2026-05-18T09:00:00Z'); // overdue
    await mk(cold.id, '2026-05-20T09:59:00Z'); // overdue (earlier today)
    await mk(hot.id, '2026-05-20T15:00:00Z'); // due today
    await mk(cold.id, '2026-05-21T08:00:00Z'); // upcoming
    await mk(hot.id, '2026-06-01T08:00:00Z'); // upcoming
    await mk(hot.id, '2026-05-20T11:00:00Z', other.id); // someone else's
    await mk(hot.id, '2026-05-19T11:00:00Z', rep.id, 'DONE'); // done: not on the agenda
    const counts = await agenda.agendaCounts(asql, me, {}, now);
    expect(counts).toEqual({ overdue: 2, dueToday: 1, upcoming: 2 });
    expect(await agenda.agendaCounts(asql, SYSTEM, {}, now)).toEqual({ overdue: 2, dueToday: 2, upcoming: 2 });
    expect(await agenda.agendaCounts(asql, me, { stages: ['SUSPECT'] }, now)).toEqual({ overdue: 1, dueToday: 0, upcoming: 1 });
    expect(await agenda.agendaCounts(asql, me, { minLikelihood: 50 }, now)).toEqual({ overdue: 1, dueToday: 1, upcoming: 1 });
    expect(await agenda.agendaCounts(asql, me, { maxLikelihood: 50 }, now)).toEqual({ overdue: 1, dueToday: 0, upcoming: 1 });
    // In Tokyo the day ends at 15:00Z: the 15:00Z follow-up is already tomorrow's (upcoming).
    expect(await agenda.agendaCounts(asql, me, { timeZone: 'Asia/Tokyo' }, now)).toEqual({ overdue: 2, dueToday: 0, upcoming: 3 });
    const { where, endOfDay } = agenda.agendaWhere(me, { section: 'UPCOMING' }, now);
    const rows = await adb.followUp.findMany({ where, orderBy: [{ dueAt: 'asc' }, { id: 'asc' }] });
    expect(rows.map((r) => agenda.sectionOf(r.dueAt, now, endOfDay))).toEqual(['UPCOMING', 'UPCOMING']);
    expect(() => agenda.agendaWhere(me, { timeZone: 'Nowhere/City' }, now)).toThrow(ValidationError);
    expect(() => agenda.agendaWhere(me, { minLikelihood: 101 }, now)).toThrow(ValidationError);
  });
});

describe('retention follow-ups', () => {
  it('birthdays, holidays and service reminders: consent, tolerance, idempotency, set-based', async () => {
    const shop = await tdb.prisma.shop.create({ data: { name: 'Ret', slug: 'fu-ret' } });
    const rdb = forShop(tdb.prisma, shop.id);
    const sql = tenantSql(tdb.prisma, shop.id);
    const now = new Date('2026-07-01T08:00:00Z');
    const yes = [{ channel: 'EMAIL' as const, granted: true }];
    const c = (email: string, extra: customers.CreateCustomerInput) =>
      customers.createCustomer(rdb, actor, { email, stage: 'LOYAL', consents: yes, ...extra });
    const bday = await c('bday@r.test', { birthDate: new Date('1980-07-04') });
    await c('later@r.test', { birthDate: new Date('1980-09-04') }); // outside the window
    await c('noconsent@r.test', { birthDate: new Date('1980-07-03'), consents: [{ channel: 'EMAIL', granted: false }] });
    await c('never@r.test', { birthDate: new Date('1980-07-03'), contactTolerance: 'NEVER' });
    const monthly = await c('monthly@r.test', { birthDate: new Date('1980-07-05'), contactTolerance: 'MONTHLY' });
    await recordInteraction(rdb, actor, {
      customerId: monthly.id,
      channel: 'EMAIL',
      direction: 'OUTBOUND',
      type: 'MESSAGE',
      occurredAt: new Date('2026-06-20T10:00:00Z'),
    });
    await c('prospect@r.test', { birthDate: new Date('1980-07-02'), stage: 'PROSPECT' }); // stage not chosen
    const buyer = await c('buyer@r.test', {});
    await upsertOrder(rdb, actor, {
      externalId: 'o-1',
      customerId: buyer.id,
      currency: 'EUR',
      items: [{ name: 'Boiler', quantity: 1, unitPrice: '900' }],
      placedAt: new Date('2026-01-03T12:00:00Z'),
    });
    await customers.setStage(rdb, actor, buyer.id, 'LOYAL', 'test', 'MANUAL', { force: true });

    const input: retention.RetentionInput = {
      kinds: ['BIRTHDAY', 'HOLIDAY', 'SERVICE_REMINDER'],
      stages: ['LOYAL'],
      holidayDate: new Date('2026-07-14'),
      holidayName: 'Summer sale',
      windowDays: 7,
    };
    tdb.resetQueryCount();
    const r1 = await retention.generateRetentionFollowUps(rdb, sql, SYSTEM, input, now);
    const statements = tdb.queryCount();
    expect(statements).toBeLessThanOrEqual(8); // settings, candidates, transaction (begin, insert, events, commit)
    const summary = (r: retention.RetentionResult) =>
      r.created.map(
        (f) =>
          `${f.kind}:${f.customerId === bday.id ? 'bday' : f.customerId === buyer.id ? 'buyer' : f.customerId === monthly.id ? 'monthly' : 'other'}:${f.dueAt.toISOString()}`,
      );
    expect(summary(r1).sort()).toEqual(
      [
        'BIRTHDAY:bday:2026-07-04T09:00:00.000Z',
        'HOLIDAY:bday:2026-07-14T09:00:00.000Z',
        'HOLIDAY:buyer:2026-07-14T09:00:00.000Z',
        'HOLIDAY:other:2026-07-14T09:00:00.000Z', // later@: birthday outside the window, but the holiday
        // monthly: the birthday is too close to the last contact (tolerance); the holiday is 24 days later: also too close
        // service reminder: last order 2026-01-03 + 180 days = 2026-07-02
        'SERVICE_REMINDER:buyer:2026-07-02T09:00:00.000Z',
      ].sort(),
    );
    expect(r1.skippedNoConsent).toBe(2); // birthday + holiday of noconsent
    expect(r1.skippedTolerance).toBe(4); // monthly's birthday and holiday; never's two
    expect(r1.created.every((f) => f.channel === 'EMAIL' && f.retentionKey)).toBe(true);
    expect(await tdb.prisma.event.count({ where: { shopId: shop.id, type: 'FOLLOW_UP_CREATED' } })).toBe(5);
    // Again: nothing new.
    const r2 = await retention.generateRetentionFollowUps(rdb, sql, SYSTEM, input, now);
    expect(r2.created).toEqual([]);
    expect(r2.alreadyScheduled).toBe(5);
    expect(await rdb.followUp.count()).toBe(5);
    // HOLIDAY needs a date, not in the past.
    await expect(
      retention.generateRetentionFollowUps(rdb, sql, SYSTEM, { kinds: ['HOLIDAY'], stages: ['LOYAL'] }, now),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      retention.generateRetentionFollowUps(
        rdb,
        sql,
        SYSTEM,
        { kinds: ['HOLIDAY'], stages: ['LOYAL'], holidayDate: new Date('2026-06-01') },
        now,
      ),
    ).rejects.toBeInstanceOf(ValidationError);
  });

  it('the candidate query is one statement whatever the number of customers', async () => {
    const shop = await tdb.prisma.shop.create({ data: { name: 'Ret2', slug: 'fu-ret2' } });
    const rdb = forShop(tdb.prisma, shop.id);
    const sql = tenantSql(tdb.prisma, shop.id);
    const now = new Date('2026-07-01T08:00:00Z');
    const run = async (count: number) => {
      for (let i = 0; i < count; i++) {
        await customers.createCustomer(rdb, actor, {
          email: `m${count}-${i}@r2.test`,
          stage: 'ADVOCATE',
          consents: [{ channel: 'PHONE', granted: true }],
        });
      }
      tdb.resetQueryCount();
      const r = await retention.generateRetentionFollowUps(
        rdb,
        sql,
        SYSTEM,
        { kinds: ['HOLIDAY'], stages: ['ADVOCATE'], holidayDate: new Date(`2026-12-${count === 3 ? 24 : 31}`) },
        now,
      );
      return { statements: tdb.queryCount(), created: r.created.length };
    };
    const small = await run(3);
    const large = await run(12);
    expect(small.created).toBe(3);
    expect(large.created).toBe(15);
    expect(large.statements).toBe(small.statements);
  });
});

describe('settings', () => {
  it('defaults, zod-validated patches, null restores defaults', async () => {
    const shop = await tdb.prisma.shop.create({ data: { name: 'Set', slug: 'fu-set', settings: { other: 'kept' } } });
    const sdb = forShop(tdb.prisma, shop.id);
    const d = await getFollowUpSettings(sdb);
    expect(d.cadence.unknownLikelihoodDays).toBe(7);
    expect(d.leadPool).toEqual({ mode: 'NONE', bySource: {}, returnAfterHours: 72 });
    const u = await updateCadenceSettings(sdb, { unknownLikelihoodDays: 10, highValueThreshold: null, channelOrder: ['EMAIL'] });
    expect(u.cadence).toMatchObject({ unknownLikelihoodDays: 10, highValueThreshold: null, channelOrder: ['EMAIL'] });
    await expect(updateCadenceSettings(sdb, { minIntervalDays: 20, maxIntervalDays: 10 })).rejects.toBeInstanceOf(ValidationError);
    await expect(updateCadenceSettings(sdb, { purchaseSoonFactor: 7 })).rejects.toMatchObject({
      inputPath: ['input', 'purchaseSoonFactor'],
    });
    const back = await updateCadenceSettings(sdb, { unknownLikelihoodDays: null });
    expect(back.cadence.unknownLikelihoodDays).toBe(7);
    expect(back.cadence.channelOrder).toEqual(['EMAIL']);
    const staff = await sdb.staffUser.create({ data: { email: 's@set.test', name: 'S' } as never });
    const lp = await updateLeadPoolSettings(sdb, {
      mode: 'BY_SOURCE',
      bySource: [{ channel: 'SOCIAL', staffId: staff.id }],
      returnAfterHours: null,
    });
    expect(lp.leadPool).toEqual({ mode: 'BY_SOURCE', bySource: { SOCIAL: staff.id }, returnAfterHours: null });
    await expect(
      updateLeadPoolSettings(sdb, { bySource: [{ channel: 'SOCIAL', staffId: manager.staffId as string }] }),
    ).rejects.toBeInstanceOf(NotFoundError);
    const row = await tdb.prisma.shop.findUniqueOrThrow({ where: { id: shop.id } });
    expect((row.settings as { other: string }).other).toBe('kept');
  });
});
