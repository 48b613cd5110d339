import { z } from 'zod';
import type { ScopedDb } from '../../db/tenant.ts';
import type { TenantSql } from '../../db/tenant-sql.ts';
import { ValidationError } from '../../errors.ts';
import { type FollowUp, Prisma } from '../../generated/prisma/client.ts';
import type {
  ConsentChannel,
  ContactChannel,
  ContactTime,
  ContactTolerance,
  FollowUpKind,
  LifecycleStage,
} from '../../generated/prisma/enums.ts';
import { parseInput } from '../common/validate.ts';
import { isUuid } from '../customers/customer.service.ts';
import { counted } from '../orders/order.counting.ts';
import { budgetUsedSql } from './follow-up.budget.ts';
import { chooseChannel, RETENTION_KINDS, toleranceAllows } from './follow-up.cadence.ts';
import { holidayDates, nextYearly } from './follow-up.holidays.ts';
import { type Access, emitEvents } from './follow-up.policy.ts';
import { createdPayload, DAY, optText, tx } from './follow-up.service.ts';
import { getFollowUpSettings } from './follow-up.settings.ts';
import { addDays, budgetReason, budgetState, daysBetween, localDate, placeInWindow, zonedInstant } from './follow-up.timing.ts';

/** Retention follow-ups (birthdays, holidays, service reminders, news of offers), generated set-based and idempotently. */
export type RetentionKind = Exclude<FollowUpKind, 'SALES'>;
export type RetentionInput = {
  kinds: RetentionKind[];
  /** Default: followUpSettings.cadence.retentionStages. */
  stages?: LifecycleStage[] | null;
  /** A one-off holiday in addition to the shop's calendar. */
  holidayDate?: Date | null;
  holidayName?: string | null;
  serviceAfterDays?: number | null;
  windowDays?: number | null;
  /** OFFER: members of these segments (default: followUpSettings.cadence.offerSegmentIds). */
  segmentIds?: string[] | null;
  /** OFFER: what the news is about (goal text). */
  offerName?: string | null;
};
export type RetentionSkip = { customerId: string; kind: RetentionKind; date: string; reason: string };
export type RetentionResult = {
  created: FollowUp[];
  alreadyScheduled: number;
  skippedNoConsent: number;
  skippedTolerance: number;
  skippedBudget: number;
  /** Every skipped occasion with its reason (consent, tolerance, budget). */
  skipped: RetentionSkip[];
};

type Candidate = {
  id: string;
  shopId: string;
  ownerId: string | null;
  inStages: boolean;
  offerMember: boolean;
  birthDate: Date | string | null;
  timeZone: string | null;
  contactTime: ContactTime | null;
  contactTolerance: ContactTolerance | null;
  preferredChannel: ContactChannel | null;
  consented: string[] | null;
  lastContactAt: Date | null;
  lastOrderAt: Date | null;
  lastOfferAt: Date | null;
  budgetUsed: number;
  planned: { dueAt: string; key: string | null }[] | null;
};

const retentionSchema = z.object({
  kinds: z.array(z.enum(RETENTION_KINDS)).min(1, 'Give at least one kind'),
  stages: z.array(z.string()).min(1, 'Give at least one stage').nullish(),
  holidayDate: z.date().nullish(),
  holidayName: optText(100),
  serviceAfterDays: z.number().int().min(1).max(3650).nullish(),
  windowDays: z.number().int().min(1).max(60).nullish(),
  segmentIds: z.array(z.string()).max(20).nullish(),
  offerName: optText(200),
});

const utcDay = (d: Date) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
const asDate = (v: Date | string | null) => (v == null ? null : v instanceof Date ? v : new Date(v));
const KIND_ORDER: Record<RetentionKind, number> = { BIRTHDAY: 0, HOLIDAY: 1, SERVICE_REMINDER: 2, OFFER: 3 };

/**
 * Creates birthday / holiday / service-reminder / offer follow-ups. One statement loads every
 * candidate (customers in `stages`, plus members of the offer segments) with its time zone,
 * contact window, consents, last contact, last order, last offer, contact budget used and planned
 * follow-ups; one inserts the new follow-ups. Occasions, each on the customer's local calendar
 * (their time zone, else the shop's), from today to `windowDays` ahead:
 * - BIRTHDAY: the birthday's month/day (29 Feb -> 28 Feb);
 * - HOLIDAY: the shop's holiday calendar (once or yearly) plus `holidayDate` when given;
 * - SERVICE_REMINDER: every `serviceAfterDays` days after the last counted order (repeating: the
 *   next one after today; a new order restarts the cycle);
 * - OFFER: members of the offer segments without an OFFER follow-up in the last `offerEveryDays`
 *   days, today.
 * Due times: in the customer's contact window (follow-up.timing.ts; birthdays and holidays keep
 * their date). Skipped, each with a reason: no consented channel; contact tolerance (NEVER, or too
 * close to the last contact or another planned follow-up); contact budget spent. Idempotent: each
 * follow-up has a key (kind, customer, local date) unique per shop, so running again (the daily
 * pass runs hourly) creates nothing new.
 */
export async function generateRetentionFollowUps(
  db: ScopedDb,
  sql: TenantSql,
  a: Access,
  input: RetentionInput,
  now = new Date(),
): Promise<RetentionResult> {
  const p = parseInput(retentionSchema, input, ['input']);
  const kinds = [...new Set(p.kinds)] as RetentionKind[];
  const settings = (await getFollowUpSettings(db)).cadence;
  if (p.holidayDate && dayKey(p.holidayDate) < localDate(now, settings.timeZone))
    throw ValidationError.field(['input', 'holidayDate'], 'Must not be in the past');
  const window = p.windowDays ?? settings.retentionWindowDays;
  const serviceDays = p.serviceAfterDays ?? settings.serviceAfterDays;
  const stages = [...new Set(p.stages ?? settings.retentionStages)];
  const segmentIds = kinds.includes('OFFER') ? [...new Set(p.segmentIds ?? settings.offerSegmentIds)].filter(isUuid) : [];
  if (kinds.includes('OFFER') && !segmentIds.length)
    throw ValidationError.field(['input', 'segmentIds'], 'OFFER needs segments (here or in followUpSettings.cadence.offerSegmentIds)');
  const holidays = kinds.includes('HOLIDAY') ? await db.holiday.findMany({ orderBy: [{ date: 'asc' }, { id: 'asc' }] }) : [];
  const oneOff = p.holidayDate ? { name: p.holidayName ?? null, date: utcDay(p.holidayDate), recurringYearly: false } : null;
  if (kinds.length === 1 && kinds[0] === 'HOLIDAY' && !holidays.length && !oneOff)
    throw ValidationError.field(['input', 'holidayDate'], 'No holiday in the calendar (createHoliday) and none given');

  const offerSince = new Date(now.getTime() - settings.offerEveryDays * DAY);
  const rows = await sql<Candidate>(
    (shop) => Prisma.sql`
    SELECT * FROM (
    SELECT c.id, c."shopId", c."ownerId", c."birthDate", c."timeZone",
      c."preferredContactTime"::text AS "contactTime", c."contactTolerance"::text AS "contactTolerance",
      c."preferredChannel"::text AS "preferredChannel",
      c.stage::text IN (${Prisma.join(stages)}) AS "inStages",
      ${
        segmentIds.length
          ? Prisma.sql`EXISTS (SELECT 1 FROM "SegmentMember" sm WHERE sm."customerId" = c.id AND sm."segmentId" = ANY(${segmentIds}::uuid[]))`
          : Prisma.sql`false`
      } AS "offerMember",
      (SELECT array_agg(k.channel::text) FROM "Consent" k WHERE k."customerId" = c.id AND k.granted) AS consented,
      GREATEST(
        (SELECT max(i."occurredAt") FROM "Interaction" i
          WHERE i."customerId" = c.id AND i."deletedAt" IS NULL AND i.direction = 'OUTBOUND'),
        (SELECT max(f."completedAt") FROM "FollowUp" f WHERE f."customerId" = c.id AND f.status = 'DONE')
      ) AS "lastContactAt",
      (SELECT max(o."placedAt") FROM "Order" o
        WHERE o."customerId" = c.id AND ${counted()}) AS "lastOrderAt",
      (SELECT max(f."dueAt") FROM "FollowUp" f
        WHERE f."customerId" = c.id AND f.kind = 'OFFER' AND f.status IN ('PLANNED', 'DONE') AND f."dueAt" > ${offerSince}::timestamptz) AS "lastOfferAt",
      ${budgetUsedSql(Prisma.sql`c.id`, Prisma.sql`c."contactTolerance"::text`, now)} AS "budgetUsed",
      (SELECT json_agg(json_build_object('dueAt', f."dueAt", 'key', f."retentionKey")) FROM "FollowUp" f
        WHERE f."customerId" = c.id AND f.status = 'PLANNED') AS planned
    FROM "Customer" c
    WHERE c."shopId" = ${shop} AND c.status = 'ACTIVE' AND c."lostAt" IS NULL
      ${kinds.length === 1 && kinds[0] === 'BIRTHDAY' ? Prisma.sql`AND c."birthDate" IS NOT NULL` : Prisma.empty}
    ) x WHERE x."inStages" OR x."offerMember"`,
  );
  rows.sort((x, y) => x.id.localeCompare(y.id));

  type Planned = {
    customerId: string;
    assigneeId: string | null;
    kind: RetentionKind;
    dueAt: Date;
    channel: ContactChannel;
    goal: string;
    retentionKey: string;
  };
  const plans: Planned[] = [];
  const skipped: RetentionSkip[] = [];
  let skippedNoConsent = 0;
  let skippedTolerance = 0;
  let skippedBudget = 0;
  for (const c of rows) {
    const tz = c.timeZone ?? settings.timeZone;
    const today = localDate(now, tz);
    const occasions: [RetentionKind, string, string][] = [];
    const birth = asDate(c.birthDate);
    if (c.inStages && kinds.includes('BIRTHDAY') && birth) {
      const b = nextYearly(dayKey(birth), today);
      if (daysBetween(today, b) <= window) occasions.push(['BIRTHDAY', b, 'Birthday greeting']);
    }
    if (c.inStages && kinds.includes('HOLIDAY')) {
      const seen = new Set<string>();
      for (const h of [...(oneOff ? [oneOff] : []), ...holidays]) {
        // A date given in the call is scheduled however far ahead; the calendar within the window.
        const dates = h === oneOff ? [dayKey(h.date)].filter((d) => d >= today) : holidayDates(h, today, window);
        for (const d of dates) {
          if (seen.has(d)) continue;
          seen.add(d);
          occasions.push(['HOLIDAY', d, `Holiday greeting${h.name ? `: ${h.name}` : ''}`]);
        }
      }
    }
    const lastOrder = asDate(c.lastOrderAt);
    if (c.inStages && kinds.includes('SERVICE_REMINDER') && lastOrder) {
      const bought = localDate(lastOrder, tz);
      const k = Math.max(1, Math.ceil(daysBetween(bought, today) / serviceDays));
      const d = addDays(bought, k * serviceDays);
      if (daysBetween(today, d) <= window)
        occasions.push(['SERVICE_REMINDER', d, `Service reminder (${k * serviceDays} days after the order of ${bought})`]);
    }
    if (c.offerMember && kinds.includes('OFFER') && !c.lastOfferAt) {
      occasions.push(['OFFER', today, `News of offers${p.offerName ? `: ${p.offerName}` : ''}`]);
    }
    if (!occasions.length) continue;
    occasions.sort((x, y) => x[1].localeCompare(y[1]) || KIND_ORDER[x[0]] - KIND_ORDER[y[0]]);
    const skip = (kind: RetentionKind, date: string, reason: string) => skipped.push({ customerId: c.id, kind, date, reason });
    const ch = chooseChannel(c.preferredChannel, (c.consented ?? []) as ConsentChannel[], settings.channelOrder);
    if (!ch.channel) {
      skippedNoConsent += occasions.length;
      for (const [kind, d] of occasions) skip(kind, d, ch.reason);
      continue;
    }
    const keys = new Set(occasions.map(([k, d]) => `${k}:${c.id}:${d}`));
    const others: (Date | null)[] = [
      asDate(c.lastContactAt),
      ...(c.planned ?? []).filter((x) => !x.key || !keys.has(x.key)).map((x) => new Date(x.dueAt)),
    ];
    const budget = budgetState(c.contactTolerance, Number(c.budgetUsed));
    let remaining = budget.remaining;
    for (const [kind, day, goal] of occasions) {
      const key = `${kind}:${c.id}:${day}`;
      const existing = (c.planned ?? []).some((x) => x.key === key);
      const { dueAt } = placeInWindow(zonedInstant(day, 0, 0, tz), {
        contactTime: c.contactTime,
        timeZone: tz,
        notBefore: now,
        keepDay: kind === 'BIRTHDAY' || kind === 'HOLIDAY',
      });
      if (!existing) {
        if (!toleranceAllows(c.contactTolerance, dueAt, others)) {
          skippedTolerance++;
          skip(
            kind,
            day,
            c.contactTolerance === 'NEVER'
              ? 'Contact tolerance NEVER: the customer does not want to be contacted'
              : `Contact tolerance ${c.contactTolerance}: too close to another contact`,
          );
          continue;
        }
        if (remaining <= 0) {
          skippedBudget++;
          skip(kind, day, budgetReason({ ...budget, used: budget.max - remaining }));
          continue;
        }
        remaining--;
      }
      others.push(dueAt);
      plans.push({ customerId: c.id, assigneeId: c.ownerId, kind, dueAt, channel: ch.channel, goal, retentionKey: key });
    }
  }
  const base = { skippedNoConsent, skippedTolerance, skippedBudget, skipped };
  if (!plans.length) return { created: [], alreadyScheduled: 0, ...base };
  return tx(db, async (t) => {
    const created = await t.followUp.createManyAndReturn({
      data: plans.map((x) => ({ ...x, createdById: a.staffId })) as never,
      skipDuplicates: true,
    });
    await emitEvents(
      t,
      created.map((f) => ({ type: 'FOLLOW_UP_CREATED' as const, customerId: f.customerId, payload: createdPayload(f) })),
    );
    created.sort((x, y) => x.dueAt.getTime() - y.dueAt.getTime() || x.id.localeCompare(y.id));
    return { created, alreadyScheduled: plans.length - created.length, ...base };
  });
}

const dayKey = (d: Date) => d.toISOString().slice(0, 10);
