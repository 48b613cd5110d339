import type { ContactTime, ContactTolerance } from '../../generated/prisma/enums.ts';

/**
 * Contact at the right time: pure functions (no I/O) for time zones, the customer's contact window
 * and the per-customer contact budget. Documented in docs/follow-ups.md ("Contact timing").
 *
 * - Time zones are IANA names; the customer's own (Customer.timeZone) wins over the shop's
 *   (followUpSettings.cadence.timeZone, default UTC).
 * - Contact windows (local hours, start inclusive, end exclusive): MORNING 09-12, AFTERNOON 13-17,
 *   EVENING 18-21, WEEKEND Saturday and Sunday 10-18, ANY (and no preference) every day 09-18.
 * - A due time computed by the system keeps its time when it lies inside the window; otherwise it
 *   moves to the window's start on the target's local day (earlier or later that day: the cadence
 *   counts days), or on the next day with a window; never before `notBefore` (now, or a later
 *   earliest contact allowed by the contact tolerance). Occasions
 *   (birthday, holiday) keep their date: the window's hours on that very day (a WEEKEND customer
 *   is greeted on a weekday birthday at 10:00), or `notBefore` later that day once the window has
 *   passed.
 * - A local wall time that does not exist (the hour skipped when clocks go forward) moves forward
 *   by the length of the gap; a wall time that occurs twice (clocks go back) is the earlier one.
 */

export type Window = { startHour: number; endHour: number; days: readonly number[] | null };

export const CONTACT_WINDOWS: Record<ContactTime, Window> = {
  MORNING: { startHour: 9, endHour: 12, days: null },
  AFTERNOON: { startHour: 13, endHour: 17, days: null },
  EVENING: { startHour: 18, endHour: 21, days: null },
  /** 6 = Saturday, 0 = Sunday. */
  WEEKEND: { startHour: 10, endHour: 18, days: [6, 0] },
  ANY: { startHour: 9, endHour: 18, days: null },
};

export const windowOf = (t: ContactTime | null | undefined): Window => CONTACT_WINDOWS[t ?? 'ANY'];

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The canonical IANA name of `tz` (e.g. "europe/berlin" -> "Europe/Berlin"), or null when unknown. */
export function canonicalTimeZone(tz: string): string | null {
  if (!tz || tz.length > 64) return null;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

type Parts = { year: number; month: number; day: number; hour: number; minute: number; second: number };

function partsOf(instant: Date, timeZone: string): Parts {
  const parts = formatter(timeZone).formatToParts(instant);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute'), second: get('second') };
}

/** The zone's offset from UTC at `instant`, in milliseconds (Berlin in summer: +7 200 000). */
export function offsetAt(instant: number, timeZone: string): number {
  const p = partsOf(new Date(instant), timeZone);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(instant / 1000) * 1000;
}

/** The local calendar date of `instant` in `timeZone`, as YYYY-MM-DD. */
export function localDate(instant: Date, timeZone: string): string {
  const p = partsOf(instant, timeZone);
  return `${String(p.year).padStart(4, '0')}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
}

const dayMs = 86_400_000;
const keyToUtc = (key: string) => Date.parse(`${key}T00:00:00Z`);
const utcToKey = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** `key` (YYYY-MM-DD) plus `days` calendar days. */
export const addDays = (key: string, days: number) => utcToKey(keyToUtc(key) + days * dayMs);
/** 0 = Sunday … 6 = Saturday. */
export const weekday = (key: string) => new Date(keyToUtc(key)).getUTCDay();
/** Whole calendar days from `a` to `b` (YYYY-MM-DD). */
export const daysBetween = (a: string, b: string) => Math.round((keyToUtc(b) - keyToUtc(a)) / dayMs);

/**
 * The instant of the local wall time `hour:minute` on `date` (YYYY-MM-DD) in `timeZone`. In a gap
 * (clocks forward) it moves forward by the gap; in an overlap (clocks back) it is the earlier one.
 */
export function zonedInstant(date: string, hour: number, minute: number, timeZone: string): Date {
  const wall = keyToUtc(date) + hour * 3_600_000 + minute * 60_000;
  const before = offsetAt(wall - 12 * 3_600_000, timeZone);
  const after = offsetAt(wall + 12 * 3_600_000, timeZone);
  const matches = (t: number) => {
    const p = partsOf(new Date(t), timeZone);
    return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute) === wall;
  };
  const candidates = [...new Set([wall - before, wall - after])].filter(matches).sort((x, y) => x - y);
  return new Date(candidates[0] ?? wall - before);
}

export type Placement = { dueAt: Date; reason: string };

/**
 * Places a system-computed due time in the customer's contact window: `target` itself when inside
 * its day's window, else the window's start on `target`'s local day (in `timeZone`) or the next
 * day with a window; never before `notBefore`. With
 * `keepDay` (occasions: birthday, holiday) the date is kept: the window's hours on that day
 * whatever the weekday, or `notBefore` later that same day once the window has passed; only a day
 * wholly in the past moves to `notBefore`.
 */
export function placeInWindow(
  target: Date,
  opts: { contactTime: ContactTime | null | undefined; timeZone: string; notBefore: Date; keepDay?: boolean },
): Placement {
  const w = windowOf(opts.contactTime);
  const name = opts.contactTime ?? 'ANY';
  const hours = `${String(w.startHour).padStart(2, '0')}:00-${String(w.endHour).padStart(2, '0')}:00`;
  const nb = opts.notBefore.getTime();
  const first = localDate(new Date(Math.max(target.getTime(), 0)), opts.timeZone);
  if (opts.keepDay) {
    const start = zonedInstant(first, w.startHour, 0, opts.timeZone).getTime();
    const end = zonedInstant(addDays(first, 1), 0, 0, opts.timeZone).getTime();
    if (start >= nb) return { dueAt: new Date(start), reason: `Contact window ${name} (${hours} ${opts.timeZone}) on ${first}` };
    if (nb < end)
      return { dueAt: new Date(nb), reason: `On ${first} (${opts.timeZone}); its contact window ${name} has begun or passed: due now` };
    return { dueAt: new Date(nb), reason: `The day ${first} (${opts.timeZone}) has passed: due now` };
  }
  for (let i = 0; i < 400; i++) {
    const day = addDays(first, i);
    if (w.days && !w.days.includes(weekday(day))) continue;
    const start = zonedInstant(day, w.startHour, 0, opts.timeZone).getTime();
    const end = zonedInstant(day, w.endHour, 0, opts.timeZone).getTime();
    // A target inside its day's window keeps its time; otherwise the window's start.
    const t = target.getTime();
    const lo = Math.max(i === 0 && t >= start && t < end ? t : start, nb);
    if (lo < end) {
      return { dueAt: new Date(lo), reason: `Contact window ${name} (${hours} ${opts.timeZone}): ${day}` };
    }
  }
  return { dueAt: new Date(Math.max(target.getTime(), nb)), reason: 'No contact window found' };
}

// ---------------------------------------------------------------------------------------------
// Contact budget

export type Budget = { max: number; periodDays: number };

/**
 * The per-customer contact budget: at most `max` outbound contacts per `periodDays`, shared by all
 * staff and channels, from the customer's contact tolerance (unknown tolerance: DEFAULT_BUDGET).
 */
export const CONTACT_BUDGET: Record<ContactTolerance, Budget> = {
  DAILY: { max: 7, periodDays: 7 },
  WEEKLY: { max: 4, periodDays: 30 },
  BIWEEKLY: { max: 2, periodDays: 30 },
  MONTHLY: { max: 1, periodDays: 30 },
  QUARTERLY: { max: 1, periodDays: 91 },
  NEVER: { max: 0, periodDays: 30 },
};
export const DEFAULT_BUDGET: Budget = { max: 4, periodDays: 30 };

export const budgetOf = (t: ContactTolerance | null | undefined): Budget => (t ? CONTACT_BUDGET[t] : DEFAULT_BUDGET);

export type BudgetState = Budget & { used: number; remaining: number; tolerance: ContactTolerance | null };

export function budgetState(tolerance: ContactTolerance | null | undefined, used: number): BudgetState {
  const b = budgetOf(tolerance);
  return { ...b, used, remaining: Math.max(0, b.max - used), tolerance: tolerance ?? null };
}

/** The reason text for a customer whose budget is spent. */
export const budgetReason = (s: BudgetState) =>
  `Contact budget spent: ${s.used} of ${s.max} contacts in ${s.periodDays} days (contact tolerance ${s.tolerance ?? 'unknown'})`;
