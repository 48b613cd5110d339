import { z } from 'zod';
import type { ScopedDb } from '../../db/tenant.ts';
import type { TenantSql } from '../../db/tenant-sql.ts';
import { ValidationError } from '../../errors.ts';
import { type FollowUp, Prisma } from '../../generated/prisma/client.ts';
import type { ConsentChannel, ContactChannel, ContactTolerance, FollowUpKind, LifecycleStage } from '../../generated/prisma/enums.ts';
import { parseInput } from '../common/validate.ts';
import { counted } from '../orders/order.counting.ts';
import { chooseChannel, nextBirthday, toleranceAllows } from './follow-up.cadence.ts';
import { type Access, emitEvents } from './follow-up.policy.ts';
import { createdPayload, DAY, optText, tx } from './follow-up.service.ts';
import { getFollowUpSettings } from './follow-up.settings.ts';

/** Retention follow-ups (birthdays, holidays, service reminders), generated set-based and idempotently. */
export type RetentionKind = Exclude<FollowUpKind, 'SALES'>;
export type RetentionInput = {
  kinds: RetentionKind[];
  stages: LifecycleStage[];
  holidayDate?: Date | null;
  holidayName?: string | null;
  serviceAfterDays?: number | null;
  windowDays?: number | null;
};
export type RetentionResult = {
  created: FollowUp[];
  alreadyScheduled: number;
  skippedNoConsent: number;
  skippedTolerance: number;
};

type Candidate = {
  id: string;
  shopId: string;
  ownerId: string | null;
  birthDate: Date | null;
  contactTolerance: ContactTolerance | null;
  preferredChannel: ContactChannel | null;
  consented: string[] | null;
  lastContactAt: Date | null;
  lastOrderAt: Date | null;
  planned: { dueAt: string; key: string | null }[] | null;
};

const retentionSchema = z.object({
  kinds: z.array(z.enum(['BIRTHDAY', 'HOLIDAY', 'SERVICE_REMINDER'])).min(1, 'Give at least one kind'),
  stages: z.array(z.string()).min(1, 'Give at least one stage'),
  holidayDate: z.date().nullish(),
  holidayName: optText(100),
  serviceAfterDays: z.number().int().min(1).max(3650).nullish(),
  windowDays: z.number().int().min(1).max(60).nullish(),
});

const dayKey = (d: Date) => d.toISOString().slice(0, 10);
const utcDay = (d: Date) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
const asDate = (v: Date | string | null) => (v == null ? null : v instanceof Date ? v : new Date(v));

/**
 * Creates birthday / holiday / service-reminder follow-ups for the customers in `stages`. One
 * statement loads every candidate with its consents, last contact, last order and planned
 * follow-ups; one inserts the new follow-ups. A customer without a consented channel is skipped,
 * and so is one whose contact tolerance the greeting would violate (too close to the last contact
 * or another planned follow-up). Idempotent: each follow-up has a key (kind, customer, date) unique
 * per shop, so running again creates nothing new.
 */
export async function generateRetentionFollowUps(
  db: ScopedDb,
  sql: TenantSql,
  a: Access,
  input: RetentionInput,
  now = new Date(),
): Promise<RetentionResult> {
  const p = parseInput(retentionSchema, input, ['input']);
  const kinds = [...new Set(p.kinds)];
  if (kinds.includes('HOLIDAY') && !p.holidayDate) throw ValidationError.field(['input', 'holidayDate'], 'Required for HOLIDAY');
  const today = utcDay(now);
  if (p.holidayDate && p.holidayDate < today) throw ValidationError.field(['input', 'holidayDate'], 'Must not be in the past');
  const settings = (await getFollowUpSettings(db)).cadence;
  const window = p.windowDays ?? settings.retentionWindowDays;
  const serviceDays = p.serviceAfterDays ?? settings.serviceAfterDays;
  const hour = settings.retentionHourUtc * 3_600_000;

  const stages = [...new Set(p.stages)];
  const rows = await sql<Candidate>(
    (shop) => Prisma.sql`
    SELECT c.id, c."shopId", c."ownerId", c."birthDate", c."contactTolerance"::text AS "contactTolerance",
      c."preferredChannel"::text AS "preferredChannel",
      (SELECT array_agg(k.channel::text) FROM "Consent" k WHERE k."customerId" = c.id AND k.granted) AS consented,
      GREATEST(
        (SELECT max(i."occurredAt") FROM "Interaction" i
          WHERE i."customerId" = c.id AND i."deletedAt" IS NULL AND i.direction = 'OUTBOUND'),
        (SELECT max(f."completedAt") FROM "FollowUp" f WHERE f."customerId" = c.id AND f.status = 'DONE')
      ) AS "lastContactAt",
      (SELECT max(o."placedAt") FROM "Order" o
        WHERE o."customerId" = c.id AND ${counted()}) AS "lastOrderAt",
      (SELECT json_agg(json_build_object('dueAt', f."dueAt", 'key', f."retentionKey")) FROM "FollowUp" f
        WHERE f."customerId" = c.id AND f.status = 'PLANNED') AS planned
    FROM "Customer" c
    WHERE c."shopId" = ${shop} AND c.status = 'ACTIVE' AND c.stage::text IN (${Prisma.join(stages)})
      ${kinds.length === 1 && kinds[0] === 'BIRTHDAY' ? Prisma.sql`AND c."birthDate" IS NOT NULL` : Prisma.empty}`,
  );

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
  let skippedNoConsent = 0;
  let skippedTolerance = 0;
  for (const c of rows) {
    const dates: [RetentionKind, Date, string][] = [];
    if (kinds.includes('BIRTHDAY') && c.birthDate) {
      const b = nextBirthday(asDate(c.birthDate) as Date, now);
      if (b.getTime() - today.getTime() <= window * DAY) dates.push(['BIRTHDAY', b, 'Birthday greeting']);
    }
    if (kinds.includes('HOLIDAY') && p.holidayDate) {
      dates.push(['HOLIDAY', utcDay(p.holidayDate), `Holiday greeting${p.holidayName ? `: ${p.holidayName}` : ''}`]);
    }
    const lastOrder = asDate(c.lastOrderAt);
    if (kinds.includes('SERVICE_REMINDER') && lastOrder) {
      const d = new Date(utcDay(lastOrder).getTime() + serviceDays * DAY);
      if (Math.abs(d.getTime() - today.getTime()) <= window * DAY) {
        dates.push(['SERVICE_REMINDER', d, `Service reminder (last order ${dayKey(lastOrder)})`]);
      }
    }
    if (!dates.length) continue;
    const ch = chooseChannel(c.preferredChannel, (c.consented ?? []) as ConsentChannel[], settings.channelOrder);
    if (!ch.channel) {
      skippedNoConsent += dates.length;
      continue;
    }
    const keys = new Set(dates.map(([k, d]) => `${k}:${c.id}:${dayKey(d)}`));
    const others: (Date | null)[] = [
      asDate(c.lastContactAt),
      ...(c.planned ?? []).filter((x) => !x.key || !keys.has(x.key)).map((x) => new Date(x.dueAt)),
    ];
    for (const [kind, day, goal] of dates) {
      const key = `${kind}:${c.id}:${dayKey(day)}`;
      const dueAt = new Date(day.getTime() + hour);
      const existing = (c.planned ?? []).some((x) => x.key === key);
      if (!existing && !toleranceAllows(c.contactTolerance, dueAt, others)) {
        skippedTolerance++;
        continue;
      }
      others.push(dueAt);
      plans.push({ customerId: c.id, assigneeId: c.ownerId, kind, dueAt, channel: ch.channel, goal, retentionKey: key });
    }
  }
  if (!plans.length) return { created: [], alreadyScheduled: 0, skippedNoConsent, skippedTolerance };
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
    return { created, alreadyScheduled: plans.length - created.length, skippedNoConsent, skippedTolerance };
  });
}
