import { describe, expect, it } from 'vitest';
import { DEFAULT_CADENCE, proposeNext } from './follow-up.cadence.ts';
import { holidayDates, nextYearly, yearly } from './follow-up.holidays.ts';
import { budgetReason, budgetState, canonicalTimeZone, localDate, placeInWindow, zonedInstant } from './follow-up.timing.ts';

/** Every expected instant below is computed by hand from the zone's offset on that day. */
const at = (iso: string) => new Date(iso);

describe('time zones', () => {
  it('validates and canonicalises IANA names', () => {
    expect(canonicalTimeZone('Europe/Berlin')).toBe('Europe/Berlin');
    expect(canonicalTimeZone('europe/berlin')).toBe('Europe/Berlin');
    expect(canonicalTimeZone('UTC')).toBe('UTC');
    expect(canonicalTimeZone('Mars/Olympus_Mons')).toBeNull();
    expect(canonicalTimeZone('')).toBeNull();
  });

  it('local dates: 23:30 UTC is already tomorrow in Berlin, still today in Los Angeles', () => {
    expect(localDate(at('2026-04-01T23:30:00Z'), 'Europe/Berlin')).toBe('2026-04-02');
    expect(localDate(at('2026-04-01T23:30:00Z'), 'America/Los_Angeles')).toBe('2026-04-01');
    expect(localDate(at('2026-04-01T23:30:00Z'), 'Asia/Tokyo')).toBe('2026-04-02');
  });

  it('local wall times across DST (Berlin: +1 until 29 Mar 2026 01:00 UTC, then +2; back on 25 Oct 01:00 UTC)', () => {
    expect(zonedInstant('2026-03-28', 9, 0, 'Europe/Berlin').toISOString()).toBe('2026-03-28T08:00:00.000Z');
    expect(zonedInstant('2026-03-29', 9, 0, 'Europe/Berlin').toISOString()).toBe('2026-03-29T07:00:00.000Z');
    expect(zonedInstant('2026-10-25', 9, 0, 'Europe/Berlin').toISOString()).toBe('2026-10-25T08:00:00.000Z');
    // 02:30 does not exist on 29 Mar: moved forward by the gap, to 03:30 CEST = 01:30 UTC.
    expect(zonedInstant('2026-03-29', 2, 30, 'Europe/Berlin').toISOString()).toBe('2026-03-29T01:30:00.000Z');
    // 02:30 happens twice on 25 Oct: the earlier one (CEST, 00:30 UTC).
    expect(zonedInstant('2026-10-25', 2, 30, 'Europe/Berlin').toISOString()).toBe('2026-10-25T00:30:00.000Z');
    // New York: EST (-5) on 7 Mar, EDT (-4) from 8 Mar 2026.
    expect(zonedInstant('2026-03-07', 9, 0, 'America/New_York').toISOString()).toBe('2026-03-07T14:00:00.000Z');
    expect(zonedInstant('2026-03-08', 9, 0, 'America/New_York').toISOString()).toBe('2026-03-08T13:00:00.000Z');
  });
});

describe('placeInWindow', () => {
  const place = (
    target: string,
    contactTime: Parameters<typeof placeInWindow>[1]['contactTime'],
    tz: string,
    notBefore = target,
    keepDay = false,
  ) => placeInWindow(at(target), { contactTime, timeZone: tz, notBefore: at(notBefore), keepDay }).dueAt.toISOString();

  it('MORNING in Berlin: after the window moves to the next morning, across the DST change', () => {
    // Fri 27 Mar 16:00 CET: past 12:00 -> Sat 28 Mar 09:00 CET = 08:00 UTC.
    expect(place('2026-03-27T15:00:00Z', 'MORNING', 'Europe/Berlin')).toBe('2026-03-28T08:00:00.000Z');
    // Sat 28 Mar 11:00 CET: inside the window, kept.
    expect(place('2026-03-28T10:00:00Z', 'MORNING', 'Europe/Berlin')).toBe('2026-03-28T10:00:00.000Z');
    // Sat 28 Mar 13:00 CET -> Sun 29 Mar 09:00 CEST = 07:00 UTC (the clocks went forward overnight).
    expect(place('2026-03-28T12:00:00Z', 'MORNING', 'Europe/Berlin')).toBe('2026-03-29T07:00:00.000Z');
    // Before the window: 06:00 CEST on 30 Mar -> 09:00 CEST = 07:00 UTC.
    expect(place('2026-03-30T04:00:00Z', 'MORNING', 'Europe/Berlin')).toBe('2026-03-30T07:00:00.000Z');
  });

  it('AFTERNOON, EVENING, ANY and no preference', () => {
    expect(place('2026-04-01T00:00:00Z', 'EVENING', 'Asia/Tokyo')).toBe('2026-04-01T09:00:00.000Z'); // 18:00 JST
    expect(place('2026-04-01T00:00:00Z', 'AFTERNOON', 'UTC')).toBe('2026-04-01T13:00:00.000Z');
    expect(place('2026-04-01T00:00:00Z', 'ANY', 'UTC')).toBe('2026-04-01T09:00:00.000Z');
    expect(place('2026-04-01T00:00:00Z', null, 'UTC')).toBe('2026-04-01T09:00:00.000Z');
    // New York after DST: 18:30 EDT is past 18:00 -> next day 09:00 EDT = 13:00 UTC.
    expect(place('2026-03-09T22:30:00Z', null, 'America/New_York')).toBe('2026-03-10T13:00:00.000Z');
  });

  it('WEEKEND: a weekday moves to Saturday 10:00; a Sunday evening to the next Saturday', () => {
    // Wed 1 Apr 2026 -> Sat 4 Apr 10:00 UTC.
    expect(place('2026-04-01T08:00:00Z', 'WEEKEND', 'UTC')).toBe('2026-04-04T10:00:00.000Z');
    // Sun 5 Apr 19:00 (past 18:00) -> Sat 11 Apr 10:00.
    expect(place('2026-04-05T19:00:00Z', 'WEEKEND', 'UTC')).toBe('2026-04-11T10:00:00.000Z');
  });

  it('never in the past: a target before now is placed from now on', () => {
    expect(place('2026-03-01T09:00:00Z', null, 'UTC', '2026-04-01T10:30:00Z')).toBe('2026-04-01T10:30:00.000Z');
    expect(place('2026-03-01T09:00:00Z', 'MORNING', 'UTC', '2026-04-01T12:30:00Z')).toBe('2026-04-02T09:00:00.000Z');
  });

  it('occasions keep their day (birthday on a weekday for a WEEKEND customer; late in the day: due now)', () => {
    const day = zonedInstant('2026-04-01', 0, 0, 'UTC').toISOString();
    expect(place(day, 'WEEKEND', 'UTC', '2026-03-25T00:00:00Z', true)).toBe('2026-04-01T10:00:00.000Z');
    expect(place(day, 'MORNING', 'UTC', '2026-04-01T19:00:00Z', true)).toBe('2026-04-01T19:00:00.000Z');
    // Berlin on the DST day: 09:00 CEST.
    const berlin = zonedInstant('2026-03-29', 0, 0, 'Europe/Berlin').toISOString();
    expect(place(berlin, 'MORNING', 'Europe/Berlin', '2026-03-20T00:00:00Z', true)).toBe('2026-03-29T07:00:00.000Z');
  });
});

describe('cadence proposals land in the window', () => {
  it('likelihood 50% (4 days) from Wed 1 Apr 15:00 UTC, MORNING in Berlin -> Sun 5 Apr 09:00 CEST (the due day)', () => {
    const p = proposeNext(
      {
        now: at('2026-04-01T15:00:00Z'),
        dealLikelihood: 50,
        expectedPurchaseAt: null,
        interestValue: null,
        tolerance: null,
        preferredChannel: null,
        consented: ['EMAIL'],
        lastContactAt: null,
        timeZone: 'Europe/Berlin',
        contactTime: 'MORNING',
      },
      DEFAULT_CADENCE,
    );
    // now + 4 days = Sun 5 Apr 17:00 CEST: the window of that day (09:00 CEST = 07:00 UTC) is after now.
    expect(p.dueAt?.toISOString()).toBe('2026-04-05T07:00:00.000Z');
    expect(p.reasons.some((r) => r.includes('Contact window MORNING'))).toBe(true);
  });

  it('tolerance: never before last contact + gap even inside the window', () => {
    const p = proposeNext(
      {
        now: at('2026-04-01T08:00:00Z'),
        dealLikelihood: 90,
        expectedPurchaseAt: null,
        interestValue: null,
        tolerance: 'WEEKLY',
        preferredChannel: null,
        consented: ['EMAIL'],
        lastContactAt: at('2026-03-30T10:30:00Z'),
        timeZone: 'UTC',
        contactTime: null,
      },
      DEFAULT_CADENCE,
    );
    // 2 days -> 3 Apr 08:00; tolerance: not before 6 Apr 10:30 (inside 09-18): 6 Apr 10:30.
    expect(p.dueAt?.toISOString()).toBe('2026-04-06T10:30:00.000Z');
  });
});

describe('holiday calendar dates', () => {
  it('yearly holidays repeat; 29 Feb falls on 28 Feb in other years; one-off dates only once', () => {
    expect(yearly('2024-02-29', 2027)).toBe('2027-02-28');
    expect(nextYearly('2000-12-24', '2026-12-25')).toBe('2027-12-24');
    expect(nextYearly('2000-12-24', '2026-12-24')).toBe('2026-12-24');
    const xmas = { date: new Date('2000-12-24T00:00:00Z'), recurringYearly: true };
    expect(holidayDates(xmas, '2026-12-20', 7)).toEqual(['2026-12-24']);
    expect(holidayDates(xmas, '2026-12-10', 7)).toEqual([]);
    const newYear = { date: new Date('2027-01-01T00:00:00Z'), recurringYearly: true };
    expect(holidayDates(newYear, '2026-12-28', 7)).toEqual(['2027-01-01']);
    const once = { date: new Date('2026-12-24T00:00:00Z'), recurringYearly: false };
    expect(holidayDates(once, '2026-12-20', 7)).toEqual(['2026-12-24']);
    expect(holidayDates(once, '2027-12-20', 7)).toEqual([]);
  });
});

describe('contact budget', () => {
  it('max per period from the contact tolerance (unknown: 4 per 30 days)', () => {
    expect(budgetState('WEEKLY', 1)).toEqual({ max: 4, periodDays: 30, used: 1, remaining: 3, tolerance: 'WEEKLY' });
    expect(budgetState('MONTHLY', 2)).toMatchObject({ max: 1, remaining: 0 });
    expect(budgetState('QUARTERLY', 0)).toMatchObject({ max: 1, periodDays: 91, remaining: 1 });
    expect(budgetState('DAILY', 3)).toMatchObject({ max: 7, periodDays: 7, remaining: 4 });
    expect(budgetState('NEVER', 0)).toMatchObject({ max: 0, remaining: 0 });
    expect(budgetState(null, 4)).toMatchObject({ max: 4, periodDays: 30, remaining: 0 });
    expect(budgetReason(budgetState('MONTHLY', 1))).toBe('Contact budget spent: 1 of 1 contacts in 30 days (contact tolerance MONTHLY)');
  });
});
