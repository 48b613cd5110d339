import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forShop, type ScopedDb } from '../../db/tenant.ts';
import { tenantSql } from '../../db/tenant-sql.ts';
import { ValidationError } from '../../errors.ts';
import { createLogger } from '../../logger.ts';
import { createTestDatabase, type TestDatabase } from '../../testing.ts';
import * as customers from '../customers/customer.service.ts';
import { recordInteraction } from '../interactions/interaction.service.ts';
import { upsertOrder } from '../orders/order.service.ts';
import { customerBudget } from './follow-up.budget.ts';
import * as holidays from './follow-up.holidays.ts';
import { SYSTEM } from './follow-up.policy.ts';
import * as retention from './follow-up.retention.ts';
import * as svc from './follow-up.service.ts';
import { getFollowUpSettings, updateCadenceSettings } from './follow-up.settings.ts';
import { createRetentionFollowUpScheduler } from './retention.scheduler.ts';

/**
 * Contact at the right time, on hand-computed fixtures: local dates per time zone, contact
 * windows, the holiday calendar, repeating service reminders, news of offers to segment members,
 * consent / tolerance / budget skips with reasons, and the daily pass's idempotency.
 */
let tdb: TestDatabase;
const actor: customers.Actor = { staffId: null, source: 'api' };
const DAY = 86_400_000;
const yes = [{ channel: 'EMAIL' as const, granted: true }];

beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(() => tdb.close());

let shopN = 0;
async function newShop(settings: Parameters<typeof updateCadenceSettings>[1] = {}) {
  const shop = await tdb.prisma.shop.create({ data: { name: 'T', slug: `timing-${++shopN}` } });
  const db = forShop(tdb.prisma, shop.id);
  if (Object.keys(settings).length) await updateCadenceSettings(db, settings);
  return { id: shop.id, db, sql: tenantSql(tdb.prisma, shop.id) };
}
let n = 0;
const customer = (db: ScopedDb, extra: customers.CreateCustomerInput = {}) =>
  customers.createCustomer(db, actor, { email: `t${++n}@timing.test`, stage: 'LOYAL', consents: yes, ...extra });
const iso = (fs: { dueAt: Date }[]) => fs.map((f) => f.dueAt.toISOString());

describe('time zone settings', () => {
  it('the shop time zone defaults to UTC, is validated and stored canonically; customers have their own', async () => {
    const s = await newShop();
    expect((await getFollowUpSettings(s.db)).cadence.timeZone).toBe('UTC');
    await expect(updateCadenceSettings(s.db, { timeZone: 'Mars/Base' })).rejects.toMatchObject({
      constructor: ValidationError,
      inputPath: ['input', 'timeZone'],
    });
    expect((await updateCadenceSettings(s.db, { timeZone: 'europe/berlin' })).cadence.timeZone).toBe('Europe/Berlin');
    expect((await updateCadenceSettings(s.db, { timeZone: null })).cadence.timeZone).toBe('UTC');
    const c = await customer(s.db, { timeZone: 'asia/tokyo' });
    expect(c.timeZone).toBe('Asia/Tokyo');
    await expect(customer(s.db, { timeZone: 'Nowhere/City' })).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('birthdays on the local date, in the contact window', () => {
  it('Berlin (shop), Tokyo and Los Angeles customers at the same instant', async () => {
    const s = await newShop({ timeZone: 'Europe/Berlin' });
    // Fri 27 Mar 2026 21:30 UTC = 22:30 in Berlin (27th), Sat 06:30 in Tokyo (28th), 14:30 in Los Angeles (27th).
    const now = new Date('2026-03-27T21:30:00Z');
    const berlin = await customer(s.db, { birthDate: new Date('1980-03-29'), preferredContactTime: 'MORNING' });
    const tokyo = await customer(s.db, { birthDate: new Date('1985-03-28'), timeZone: 'Asia/Tokyo', preferredContactTime: 'EVENING' });
    const la = await customer(s.db, { birthDate: new Date('1990-03-27'), timeZone: 'America/Los_Angeles' });
    const weekend = await customer(s.db, { birthDate: new Date('1970-04-01'), preferredContactTime: 'WEEKEND' });
    const r = await retention.generateRetentionFollowUps(s.db, s.sql, SYSTEM, { kinds: ['BIRTHDAY'] }, now);
    const due = Object.fromEntries(r.created.map((f) => [f.customerId, f.dueAt.toISOString()]));
    // Berlin: 29 Mar, the DST day: 09:00 CEST = 07:00 UTC.
    expect(due[berlin.id]).toBe('2026-03-29T07:00:00.000Z');
    // Tokyo: already the 28th there: today 18:00 JST = 09:00 UTC (in Berlin it is still the 27th).
    expect(due[tokyo.id]).toBe('2026-03-28T09:00:00.000Z');
    // Los Angeles: the 27th there, the window (09-18 PDT) has begun: due now, never in the past.
    expect(due[la.id]).toBe('2026-03-27T21:30:00.000Z');
    // WEEKEND customer, birthday Wed 1 Apr: the day is kept, at the weekend window's hour (10:00 CEST = 08:00 UTC).
    expect(due[weekend.id]).toBe('2026-04-01T08:00:00.000Z');
    expect(r.created.map((f) => f.retentionKey).sort()).toEqual(
      [
        `BIRTHDAY:${berlin.id}:2026-03-29`,
        `BIRTHDAY:${tokyo.id}:2026-03-28`,
        `BIRTHDAY:${la.id}:2026-03-27`,
        `BIRTHDAY:${weekend.id}:2026-04-01`,
      ].sort(),
    );
  });
});

describe('the holiday calendar and the daily pass', () => {
  it('CRUD, yearly and one-off holidays in the window, idempotent ticks, nothing twice across days', async () => {
    const s = await newShop({ retentionDailyKinds: ['HOLIDAY'] });
    const founders = await holidays.createHoliday(s.db, { name: 'Founders day', date: new Date('1999-03-30'), recurringYearly: true });
    const sale = await holidays.createHoliday(s.db, { name: 'Spring sale', date: new Date('2026-04-02') });
    const xmas = await holidays.createHoliday(s.db, { name: 'Christmas', date: new Date('2000-12-24'), recurringYearly: true });
    await expect(holidays.createHoliday(s.db, { name: ' ', date: new Date('2026-01-01') })).rejects.toBeInstanceOf(ValidationError);
    const renamed = await holidays.updateHoliday(s.db, sale.id, { name: 'Spring sale day' });
    expect(renamed).toMatchObject({ name: 'Spring sale day', recurringYearly: false });
    const gone = await holidays.createHoliday(s.db, { name: 'Mistake', date: new Date('2026-03-31') });
    await holidays.deleteHoliday(s.db, gone.id);
    expect((await holidays.listHolidays(s.db)).map((h) => h.name)).toEqual(['Founders day', 'Christmas', 'Spring sale day']);
    expect(founders.recurringYearly && xmas.recurringYearly).toBe(true);

    const c = await customer(s.db, { preferredContactTime: 'AFTERNOON' });
    await customer(s.db, { stage: 'PROSPECT' }); // not in the default retention stages
    const pass = createRetentionFollowUpScheduler({ prisma: tdb.prisma, logger: createLogger('silent'), intervalMs: 0 });
    const now = new Date('2026-03-27T10:00:00Z');
    await pass.tick(now);
    const planned = () => s.db.followUp.findMany({ where: { kind: 'HOLIDAY' }, orderBy: { dueAt: 'asc' } });
    // Window 7 days (27 Mar - 3 Apr): Founders day 30 Mar and the sale 2 Apr, 13:00 UTC (AFTERNOON); Christmas is far.
    expect(iso(await planned())).toEqual(['2026-03-30T13:00:00.000Z', '2026-04-02T13:00:00.000Z']);
    expect((await planned()).every((f) => f.customerId === c.id && f.createdById === null && f.channel === 'EMAIL')).toBe(true);
    expect((await planned()).map((f) => f.goal)).toEqual(['Holiday greeting: Founders day', 'Holiday greeting: Spring sale day']);
    // Ticks later the same day and the next days create nothing twice.
    await pass.tick(new Date(now.getTime() + 3_600_000));
    await pass.tick(new Date(now.getTime() + DAY));
    expect(await planned()).toHaveLength(2);
    // A year later the yearly holiday comes again (a new date, a new follow-up); the one-off does not.
    await pass.tick(new Date('2027-03-25T10:00:00Z'));
    expect(iso(await planned())).toEqual(['2026-03-30T13:00:00.000Z', '2026-04-02T13:00:00.000Z', '2027-03-30T13:00:00.000Z']);
  });
});

describe('service reminders repeat every N days after the last purchase', () => {
  it('30-day cycle from 1 Jan: 2 Mar, then 1 Apr; a new order restarts the cycle', async () => {
    const s = await newShop({ serviceAfterDays: 30 });
    const c = await customer(s.db, {});
    const buy = (id: string, placedAt: string) =>
      upsertOrder(s.db, actor, {
        externalId: id,
        customerId: c.id,
        currency: 'EUR',
        items: [{ name: 'Boiler', quantity: 1, unitPrice: '900' }],
        placedAt: new Date(placedAt),
      });
    await buy('o-1', '2026-01-01T12:00:00Z');
    const run = (at: string) => retention.generateRetentionFollowUps(s.db, s.sql, SYSTEM, { kinds: ['SERVICE_REMINDER'] }, new Date(at));
    // 1 Mar: 59 days after 1 Jan -> the 2nd occurrence (60 days) = 2 Mar, 09:00 UTC.
    expect(iso((await run('2026-03-01T08:00:00Z')).created)).toEqual(['2026-03-02T09:00:00.000Z']);
    // 28 Mar: 86 days -> the 3rd occurrence (90 days) = 1 Apr.
    expect(iso((await run('2026-03-28T08:00:00Z')).created)).toEqual(['2026-04-01T09:00:00.000Z']);
    expect((await run('2026-03-28T08:00:00Z')).created).toHaveLength(0);
    // A purchase on 10 Apr restarts the cycle: 10 May.
    await buy('o-2', '2026-04-10T12:00:00Z');
    expect(iso((await run('2026-05-05T08:00:00Z')).created)).toEqual(['2026-05-10T09:00:00.000Z']);
    const goals = (await s.db.followUp.findMany({ where: { kind: 'SERVICE_REMINDER' }, orderBy: { dueAt: 'asc' } })).map((f) => f.goal);
    expect(goals).toEqual([
      'Service reminder (60 days after the order of 2026-01-01)',
      'Service reminder (90 days after the order of 2026-01-01)',
      'Service reminder (30 days after the order of 2026-04-10)',
    ]);
  });
});

describe('news of offers to segment members', () => {
  it('members with consent get an OFFER in their window, at most once per offerEveryDays; others are skipped or untouched', async () => {
    const s = await newShop();
    const seg = await s.db.segment.create({ data: { name: 'Boiler owners', rule: 'stage = LOYAL' } as never });
    const m1 = await customer(s.db, { stage: 'PROSPECT', preferredContactTime: 'WEEKEND' });
    const m2 = await customer(s.db, { consents: [] });
    const outsider = await customer(s.db, {});
    for (const c of [m1, m2]) await tdb.prisma.segmentMember.create({ data: { shopId: s.id, segmentId: seg.id, customerId: c.id } });
    await expect(
      retention.generateRetentionFollowUps(s.db, s.sql, SYSTEM, { kinds: ['OFFER'] }, new Date('2026-03-27T10:00:00Z')),
    ).rejects.toMatchObject({ inputPath: ['input', 'segmentIds'] });
    await updateCadenceSettings(s.db, { offerSegmentIds: [seg.id] });
    const run = (at: string) =>
      retention.generateRetentionFollowUps(s.db, s.sql, SYSTEM, { kinds: ['OFFER'], offerName: 'Spring collection' }, new Date(at));
    // Fri 27 Mar 10:00 UTC: m1 (WEEKEND) -> Sat 28 Mar 10:00 UTC; m2 has no consent.
    const r1 = await run('2026-03-27T10:00:00Z');
    expect(r1.created.map((f) => [f.customerId, f.kind, f.dueAt.toISOString(), f.goal])).toEqual([
      [m1.id, 'OFFER', '2026-03-28T10:00:00.000Z', 'News of offers: Spring collection'],
    ]);
    expect(r1.skipped).toEqual([
      { customerId: m2.id, kind: 'OFFER', date: '2026-03-27', reason: expect.stringMatching(/No channel with consent/) },
    ]);
    expect(await s.db.followUp.count({ where: { customerId: outsider.id } })).toBe(0);
    // The same day again and 10 days later: nothing new (offerEveryDays 30); 31 days later: the next one.
    expect((await run('2026-03-27T15:00:00Z')).created).toHaveLength(0);
    expect((await run('2026-04-06T10:00:00Z')).created).toHaveLength(0);
    expect(iso((await run('2026-04-28T10:00:00Z')).created)).toEqual(['2026-05-02T10:00:00.000Z']); // Tue 28 Apr -> Sat 2 May
    // Per call: other segments than the shop's.
    const other = await s.db.segment.create({ data: { name: 'Other', rule: 'stage = LOYAL' } as never });
    await tdb.prisma.segmentMember.create({ data: { shopId: s.id, segmentId: other.id, customerId: outsider.id } });
    const r2 = await retention.generateRetentionFollowUps(
      s.db,
      s.sql,
      SYSTEM,
      { kinds: ['OFFER'], segmentIds: [other.id] },
      new Date('2026-04-28T10:00:00Z'),
    );
    expect(r2.created.map((f) => [f.customerId, f.dueAt.toISOString()])).toEqual([[outsider.id, '2026-04-28T10:00:00.000Z']]);
  });
});

describe('consent, contact tolerance and the contact budget', () => {
  it('system passes skip with reasons; staff get a warning, not a refusal; the remaining budget is on the customer', async () => {
    const s = await newShop();
    const now = new Date('2026-06-10T08:00:00Z');
    // busy: WEEKLY (4 contacts per 30 days), 4 outbound contacts 29, 22, 15 and 8 days ago (a week apart: the tolerance holds).
    const busy = await customer(s.db, { contactTolerance: 'WEEKLY', birthDate: new Date('1980-06-12') });
    for (const ago of [29, 22, 15, 8])
      await recordInteraction(s.db, actor, {
        customerId: busy.id,
        channel: 'EMAIL',
        direction: 'OUTBOUND',
        type: 'MESSAGE',
        occurredAt: new Date(now.getTime() - ago * DAY),
      });
    // calm: WEEKLY, one contact 8 days ago: budget 3 left.
    const calm = await customer(s.db, { contactTolerance: 'WEEKLY', birthDate: new Date('1980-06-12') });
    await recordInteraction(s.db, actor, {
      customerId: calm.id,
      channel: 'EMAIL',
      direction: 'OUTBOUND',
      type: 'MESSAGE',
      occurredAt: new Date(now.getTime() - 8 * DAY),
    });
    // close: MONTHLY, contacted 5 days ago: the tolerance forbids a birthday greeting in 2 days.
    const close = await customer(s.db, { contactTolerance: 'MONTHLY', birthDate: new Date('1980-06-12') });
    await recordInteraction(s.db, actor, {
      customerId: close.id,
      channel: 'EMAIL',
      direction: 'OUTBOUND',
      type: 'MESSAGE',
      occurredAt: new Date(now.getTime() - 5 * DAY),
    });
    const never = await customer(s.db, { contactTolerance: 'NEVER', birthDate: new Date('1980-06-12') });
    const silent = await customer(s.db, { consents: [], birthDate: new Date('1980-06-12') });

    expect(await customerBudget(s.db, busy.id, now)).toMatchObject({ max: 4, periodDays: 30, used: 4, remaining: 0 });
    expect(await customerBudget(s.db, calm.id, now)).toMatchObject({ used: 1, remaining: 3 });

    const r = await retention.generateRetentionFollowUps(s.db, s.sql, SYSTEM, { kinds: ['BIRTHDAY'] }, now);
    expect(r.created.map((f) => [f.customerId, f.dueAt.toISOString()])).toEqual([[calm.id, '2026-06-12T09:00:00.000Z']]);
    expect({ budget: r.skippedBudget, tolerance: r.skippedTolerance, consent: r.skippedNoConsent }).toEqual({
      budget: 1,
      tolerance: 2,
      consent: 1,
    });
    const why = Object.fromEntries(r.skipped.map((x) => [x.customerId, x.reason]));
    expect(why[busy.id]).toBe('Contact budget spent: 4 of 4 contacts in 30 days (contact tolerance WEEKLY)');
    expect(why[close.id]).toBe('Contact tolerance MONTHLY: too close to another contact');
    expect(why[never.id]).toBe('Contact tolerance NEVER: the customer does not want to be contacted');
    expect(why[silent.id]).toMatch(/No channel with consent/);
    // The greeting planned for calm uses its budget: 2 of 4.
    expect(await customerBudget(s.db, calm.id, now)).toMatchObject({ used: 2, remaining: 2 });

    // Staff may still plan a contact with busy: created, with a warning.
    const staff = await s.db.staffUser.create({ data: { email: 'm@timing.test', name: 'M', role: 'MANAGER' } as never });
    const manager = { staffId: staff.id, role: 'MANAGER' as const };
    const f = await svc.createFollowUp(s.db, manager, { customerId: busy.id, dueAt: new Date(now.getTime() + 2 * DAY) }, now);
    expect(f.budgetWarning).toBe('Contact budget spent: 4 of 4 contacts in 30 days (contact tolerance WEEKLY)');
    const ok = await svc.createFollowUp(s.db, manager, { customerId: calm.id, dueAt: new Date(now.getTime() + 9 * DAY) }, now);
    expect(ok.budgetWarning).toBeNull();
  });
});
