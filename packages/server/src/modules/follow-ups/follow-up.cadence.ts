import { z } from 'zod';
import type { ConsentChannel, ContactChannel, ContactTime, ContactTolerance } from '../../generated/prisma/enums.ts';
import { canonicalTimeZone, placeInWindow } from './follow-up.timing.ts';

/**
 * The cadence engine: pure functions proposing when and how to contact a customer next. No I/O:
 * the service loads the facts (customer, consents, last contact, shop settings) and passes them in.
 *
 * Rules, in order (each applied rule adds a human-readable reason):
 * 1. Contact tolerance NEVER: nothing is proposed.
 * 2. Base interval from deal likelihood: the first band whose `minLikelihood` the likelihood
 *    reaches (bands sorted high to low); unknown likelihood uses `unknownLikelihoodDays`.
 * 3. Expected purchase date: within `purchaseSoonDays` the interval is multiplied by
 *    `purchaseSoonFactor`; and the follow-up never lands after the expected date (one day before
 *    it, at least `minIntervalDays` from now). A passed expected date gets the shortest interval.
 * 4. Value of the product of interest: >= `highValueThreshold` multiplies by `highValueFactor`
 *    (more attention), <= `lowValueThreshold` by `lowValueFactor` (less).
 * 5. Clamped to [minIntervalDays, maxIntervalDays], whole days.
 * 6. Contact tolerance: never earlier than the last contact + the tolerated gap.
 * 7. Channel: the customer's preferred channel when consented, else the first consented channel
 *    in `channelOrder`; never a channel without consent (IN_PERSON needs none, but is only used
 *    when preferred). No consented channel: channel null.
 */

export const TOLERANCE_DAYS: Record<ContactTolerance, number | null> = {
  DAILY: 1,
  WEEKLY: 7,
  BIWEEKLY: 14,
  MONTHLY: 30,
  QUARTERLY: 91,
  NEVER: null,
};

/** The consent channel a contact channel needs (null: none needed). */
export const CONSENT_FOR: Record<ContactChannel, ConsentChannel | null> = {
  EMAIL: 'EMAIL',
  SMS: 'SMS',
  PHONE: 'PHONE',
  IM: 'IM',
  POSTAL: 'POSTAL',
  IN_PERSON: null,
};

const CONTACT_CHANNELS = ['EMAIL', 'SMS', 'PHONE', 'IM', 'POSTAL', 'IN_PERSON'] as const;
const STAGES = ['SUSPECT', 'PROSPECT', 'FIRST_PURCHASE', 'REPEAT', 'LOYAL', 'ADVOCATE', 'STRATEGIC', 'PARTNER', 'CHURNED'] as const;
export const RETENTION_KINDS = ['BIRTHDAY', 'HOLIDAY', 'SERVICE_REMINDER', 'OFFER'] as const;

/** An IANA time zone name, stored in its canonical spelling. */
export const timeZoneSchema = z
  .string()
  .trim()
  .refine((v) => canonicalTimeZone(v) != null, 'Unknown time zone (use an IANA name such as Europe/Berlin)')
  .transform((v) => canonicalTimeZone(v) as string);

export const cadenceSettingsSchema = z
  .object({
    likelihoodBands: z
      .array(z.object({ minLikelihood: z.number().int().min(0).max(100), intervalDays: z.number().int().min(1).max(365) }).strict())
      .min(1)
      .max(10),
    unknownLikelihoodDays: z.number().int().min(1).max(365),
    purchaseSoonDays: z.number().int().min(0).max(365),
    purchaseSoonFactor: z.number().min(0.1).max(1),
    highValueThreshold: z.number().min(0).nullable(),
    highValueFactor: z.number().min(0.1).max(1),
    lowValueThreshold: z.number().min(0).nullable(),
    lowValueFactor: z.number().min(1).max(5),
    defaultInterestValue: z.number().min(0).nullable(),
    minIntervalDays: z.number().int().min(1).max(30),
    maxIntervalDays: z.number().int().min(1).max(365),
    channelOrder: z.array(z.enum(CONTACT_CHANNELS)).min(1).max(6),
    /** Retention: birthdays and service dates this many days ahead are scheduled. */
    retentionWindowDays: z.number().int().min(1).max(60),
    /** Retention: a service reminder this many days after the last order. */
    serviceAfterDays: z.number().int().min(1).max(3650),
    /** Deprecated and ignored: due times follow the customer's contact window (follow-up.timing.ts). */
    retentionHourUtc: z.number().int().min(0).max(23),
    /** The shop's time zone (IANA), used for customers without their own. */
    timeZone: timeZoneSchema,
    /** Retention: stages whose customers get birthday, holiday and service follow-ups. */
    retentionStages: z.array(z.enum(STAGES)).max(9),
    /** Retention: the kinds the daily pass creates by itself (empty: it creates nothing). */
    retentionDailyKinds: z.array(z.enum(RETENTION_KINDS)).max(4),
    /** News of offers: members of these segments (ids) get an OFFER follow-up... */
    offerSegmentIds: z.array(z.string().uuid()).max(20),
    /** ...at most once every this many days. */
    offerEveryDays: z.number().int().min(1).max(365),
  })
  .strict()
  .refine((s) => s.minIntervalDays <= s.maxIntervalDays, {
    message: 'minIntervalDays must be <= maxIntervalDays',
    path: ['minIntervalDays'],
  });

export type CadenceSettings = z.output<typeof cadenceSettingsSchema>;

export const DEFAULT_CADENCE: CadenceSettings = {
  likelihoodBands: [
    { minLikelihood: 80, intervalDays: 2 },
    { minLikelihood: 50, intervalDays: 4 },
    { minLikelihood: 20, intervalDays: 7 },
    { minLikelihood: 0, intervalDays: 14 },
  ],
  unknownLikelihoodDays: 7,
  purchaseSoonDays: 14,
  purchaseSoonFactor: 0.5,
  highValueThreshold: 1000,
  highValueFactor: 0.7,
  lowValueThreshold: 50,
  lowValueFactor: 1.5,
  defaultInterestValue: null,
  minIntervalDays: 1,
  maxIntervalDays: 60,
  channelOrder: ['PHONE', 'EMAIL', 'IM', 'SMS', 'POSTAL'],
  retentionWindowDays: 7,
  serviceAfterDays: 180,
  retentionHourUtc: 9,
  timeZone: 'UTC',
  retentionStages: ['FIRST_PURCHASE', 'REPEAT', 'LOYAL', 'ADVOCATE', 'STRATEGIC', 'PARTNER'],
  retentionDailyKinds: ['BIRTHDAY', 'HOLIDAY', 'SERVICE_REMINDER', 'OFFER'],
  offerSegmentIds: [],
  offerEveryDays: 30,
};

export type CadenceFacts = {
  now: Date;
  dealLikelihood: number | null;
  expectedPurchaseAt: Date | null;
  interestValue: number | null;
  tolerance: ContactTolerance | null;
  preferredChannel: ContactChannel | null;
  /** Channels with consent granted. */
  consented: readonly ConsentChannel[];
  /** The last outbound contact (interaction or completed follow-up). */
  lastContactAt: Date | null;
  /** Given: the due time is placed in the customer's contact window in this time zone (follow-up.timing.ts). */
  timeZone?: string | null;
  contactTime?: ContactTime | null;
};

export type CadenceProposal = { dueAt: Date | null; channel: ContactChannel | null; intervalDays: number | null; reasons: string[] };

const DAY = 86_400_000;

/** The base interval from deal likelihood. */
export function baseIntervalDays(likelihood: number | null, s: CadenceSettings): { days: number; reason: string } {
  if (likelihood == null)
    return { days: s.unknownLikelihoodDays, reason: `Deal likelihood unknown: every ${s.unknownLikelihoodDays} days` };
  const bands = [...s.likelihoodBands].sort((a, b) => b.minLikelihood - a.minLikelihood);
  const band = bands.find((b) => likelihood >= b.minLikelihood) ?? bands[bands.length - 1];
  const days = band?.intervalDays ?? s.unknownLikelihoodDays;
  return { days, reason: `Deal likelihood ${likelihood}% (>= ${band?.minLikelihood ?? 0}%): every ${days} days` };
}

/** The channel to use: preferred when allowed, else the first consented one in the shop's order. */
export function chooseChannel(
  preferred: ContactChannel | null,
  consented: readonly ConsentChannel[],
  order: readonly ContactChannel[],
): { channel: ContactChannel | null; reason: string } {
  const allowed = (c: ContactChannel) => {
    const needs = CONSENT_FOR[c];
    return needs == null || consented.includes(needs);
  };
  if (preferred && allowed(preferred)) return { channel: preferred, reason: `Preferred channel ${preferred}` };
  const first = order.find((c) => CONSENT_FOR[c] != null && allowed(c)) ?? null;
  const why = preferred ? `preferred ${preferred} has no consent` : 'no preferred channel';
  if (first) return { channel: first, reason: `Channel ${first}: ${why}, first consented channel` };
  return { channel: null, reason: `No channel with consent (${why}): contact only after consent is given` };
}

/** Proposes the next follow-up. Pure: same facts, same proposal. */
export function proposeNext(f: CadenceFacts, s: CadenceSettings = DEFAULT_CADENCE): CadenceProposal {
  const reasons: string[] = [];
  if (f.tolerance === 'NEVER') {
    return {
      dueAt: null,
      channel: null,
      intervalDays: null,
      reasons: ['Contact tolerance NEVER: the customer does not want to be contacted'],
    };
  }
  const base = baseIntervalDays(f.dealLikelihood, s);
  let days = base.days;
  reasons.push(base.reason);

  let latest: Date | null = null;
  if (f.expectedPurchaseAt) {
    const until = (f.expectedPurchaseAt.getTime() - f.now.getTime()) / DAY;
    if (until < 0) {
      days = s.minIntervalDays;
      reasons.push(`Expected purchase date has passed: check in within ${days} day(s)`);
    } else if (until <= s.purchaseSoonDays) {
      days = days * s.purchaseSoonFactor;
      reasons.push(`Expected purchase within ${Math.ceil(until)} day(s): interval × ${s.purchaseSoonFactor}`);
      latest = new Date(f.expectedPurchaseAt.getTime() - DAY);
    } else {
      latest = new Date(f.expectedPurchaseAt.getTime() - DAY);
    }
  }

  const value = f.interestValue ?? s.defaultInterestValue;
  if (value != null) {
    if (s.highValueThreshold != null && value >= s.highValueThreshold) {
      days = days * s.highValueFactor;
      reasons.push(`High-value interest (${value} >= ${s.highValueThreshold}): interval × ${s.highValueFactor}`);
    } else if (s.lowValueThreshold != null && value <= s.lowValueThreshold) {
      days = days * s.lowValueFactor;
      reasons.push(`Low-value interest (${value} <= ${s.lowValueThreshold}): interval × ${s.lowValueFactor}`);
    }
  }

  const rounded = Math.min(s.maxIntervalDays, Math.max(s.minIntervalDays, Math.round(days)));
  if (rounded !== Math.round(days)) reasons.push(`Kept within ${s.minIntervalDays}-${s.maxIntervalDays} days`);
  let due = new Date(f.now.getTime() + rounded * DAY);
  if (latest && due > latest) {
    const capped = new Date(Math.max(latest.getTime(), f.now.getTime() + s.minIntervalDays * DAY));
    if (capped < due) {
      due = capped;
      reasons.push('Before the expected purchase date');
    }
  }

  const gap = f.tolerance ? TOLERANCE_DAYS[f.tolerance] : null;
  let notBefore = f.now;
  if (gap != null && f.lastContactAt) {
    const earliest = new Date(f.lastContactAt.getTime() + gap * DAY);
    if (earliest > notBefore) notBefore = earliest;
    if (due < earliest) {
      due = earliest;
      reasons.push(`Contact tolerance ${f.tolerance}: not before ${gap} day(s) after the last contact`);
    }
  }
  if (f.timeZone) {
    const placed = placeInWindow(due, { contactTime: f.contactTime, timeZone: f.timeZone, notBefore });
    due = placed.dueAt;
    reasons.push(placed.reason);
  }

  const ch = chooseChannel(f.preferredChannel, f.consented, s.channelOrder);
  reasons.push(ch.reason);
  return { dueAt: due, channel: ch.channel, intervalDays: Math.round(((due.getTime() - f.now.getTime()) / DAY) * 10) / 10, reasons };
}

/** True when contacting at `at` respects the tolerance given the last contact and other planned contacts. */
export function toleranceAllows(tolerance: ContactTolerance | null, at: Date, others: readonly (Date | null)[]): boolean {
  if (tolerance === 'NEVER') return false;
  const gap = tolerance ? TOLERANCE_DAYS[tolerance] : null;
  if (gap == null) return true;
  return others.every((o) => o == null || Math.abs(at.getTime() - o.getTime()) >= gap * DAY);
}

/** The end of `now`'s calendar day in `timeZone` (IANA name). Throws RangeError for an unknown zone. */
export function endOfDay(now: Date, timeZone = 'UTC'): Date {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(now);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const localAsUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  const offset = localAsUtc - Math.floor(now.getTime() / 1000) * 1000;
  return new Date(Date.UTC(get('year'), get('month') - 1, get('day') + 1) - offset);
}

/** The next occurrence (today included) of a birthday (month/day of `birth`) on or after `from`'s UTC date; 29 Feb -> 28 Feb in other years. */
export function nextBirthday(birth: Date, from: Date): Date {
  const y = from.getUTCFullYear();
  const at = (year: number) => {
    const m = birth.getUTCMonth();
    let d = birth.getUTCDate();
    const last = new Date(Date.UTC(year, m + 1, 0)).getUTCDate();
    if (d > last) d = last;
    return new Date(Date.UTC(year, m, d));
  };
  const today = Date.UTC(y, from.getUTCMonth(), from.getUTCDate());
  const thisYear = at(y);
  return thisYear.getTime() >= today ? thisYear : at(y + 1);
}
