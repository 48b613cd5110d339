import type { TenantSql } from '../../db/tenant-sql.ts';
import { ForbiddenError, ValidationError } from '../../errors.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import type { LifecycleStage } from '../../generated/prisma/enums.ts';
import { endOfDay } from './follow-up.cadence.ts';
import { type Access, isManager } from './follow-up.policy.ts';

/** The agenda: whose follow-ups, split into overdue / due today / upcoming, and their counts in one statement. */
export type AgendaSection = 'OVERDUE' | 'DUE_TODAY' | 'UPCOMING';
export type AgendaArgs = {
  assigneeId?: string | null;
  stages?: LifecycleStage[] | null;
  minLikelihood?: number | null;
  maxLikelihood?: number | null;
  section?: AgendaSection | null;
  timeZone?: string | null;
};

/** Whose agenda: an agent's own (always), a given staff user's, or the whole shop (managers, no assigneeId). */
export function agendaScope(a: Access, args: AgendaArgs): { assigneeId: string | null } {
  if (!isManager(a)) {
    if (args.assigneeId != null && args.assigneeId !== a.staffId) throw new ForbiddenError('Agents see only their own agenda');
    return { assigneeId: a.staffId };
  }
  return { assigneeId: args.assigneeId ?? null };
}

/** The PLANNED follow-ups of an agenda (without the section bound), and the day boundary. */
export function agendaWhere(a: Access, args: AgendaArgs, now: Date) {
  const { assigneeId } = agendaScope(a, args);
  for (const k of ['minLikelihood', 'maxLikelihood'] as const) {
    const v = args[k];
    if (v != null && (v < 0 || v > 100)) throw ValidationError.field(['filter', k], 'Must be 0-100');
  }
  let eod: Date;
  try {
    eod = endOfDay(now, args.timeZone ?? 'UTC');
  } catch {
    throw ValidationError.field(['timeZone'], 'Unknown time zone (use an IANA name such as Europe/Berlin)');
  }
  const customer: Prisma.CustomerWhereInput = {};
  if (args.stages?.length) customer.stage = { in: args.stages };
  if (args.minLikelihood != null || args.maxLikelihood != null) {
    customer.dealLikelihood = {
      ...(args.minLikelihood != null ? { gte: args.minLikelihood } : {}),
      ...(args.maxLikelihood != null ? { lte: args.maxLikelihood } : {}),
    };
  }
  const base: Prisma.FollowUpWhereInput = {
    status: 'PLANNED',
    ...(assigneeId ? { assigneeId } : {}),
    ...(Object.keys(customer).length ? { customer } : {}),
  };
  const sections: Record<AgendaSection, Prisma.FollowUpWhereInput> = {
    OVERDUE: { dueAt: { lt: now } },
    DUE_TODAY: { dueAt: { gte: now, lt: eod } },
    UPCOMING: { dueAt: { gte: eod } },
  };
  const where = args.section ? { ...base, ...sections[args.section] } : base;
  return { base, where, sections, endOfDay: eod };
}

export function sectionOf(dueAt: Date, now: Date, eod: Date): AgendaSection {
  return dueAt < now ? 'OVERDUE' : dueAt < eod ? 'DUE_TODAY' : 'UPCOMING';
}

export type AgendaCounts = { overdue: number; dueToday: number; upcoming: number };

/**
 * The three section counts of an agenda as an SQL fragment for `shop`: one row ("shopId",
 * overdue, "dueToday", upcoming) when the agenda has planned follow-ups, none when it is empty.
 */
export function agendaCountsSql(shop: Prisma.Sql, a: Access, args: AgendaArgs, now: Date): Prisma.Sql {
  const { endOfDay: eod } = agendaWhere(a, { ...args, section: null }, now);
  const { assigneeId } = agendaScope(a, args);
  const conds = [Prisma.sql`f."shopId" = ${shop}`, Prisma.sql`f.status = 'PLANNED'`];
  if (assigneeId) conds.push(Prisma.sql`f."assigneeId" = ${assigneeId}::uuid`);
  const byCustomer = !!args.stages?.length || args.minLikelihood != null || args.maxLikelihood != null;
  if (args.stages?.length) conds.push(Prisma.sql`c.stage::text IN (${Prisma.join(args.stages)})`);
  if (args.minLikelihood != null) conds.push(Prisma.sql`c."dealLikelihood" >= ${args.minLikelihood}`);
  if (args.maxLikelihood != null) conds.push(Prisma.sql`c."dealLikelihood" <= ${args.maxLikelihood}`);
  return Prisma.sql`
      SELECT f."shopId",
        (count(*) FILTER (WHERE f."dueAt" < ${now}::timestamptz))::int AS overdue,
        (count(*) FILTER (WHERE f."dueAt" >= ${now}::timestamptz AND f."dueAt" < ${eod}::timestamptz))::int AS "dueToday",
        (count(*) FILTER (WHERE f."dueAt" >= ${eod}::timestamptz))::int AS upcoming
      FROM "FollowUp" f ${byCustomer ? Prisma.sql`JOIN "Customer" c ON c.id = f."customerId"` : Prisma.empty}
      WHERE ${Prisma.join(conds, ' AND ')}
      GROUP BY f."shopId"`;
}

/** Counts from a row of `agendaCountsSql` (none: an empty agenda). */
export const agendaCountsOf = (r: { overdue?: unknown; dueToday?: unknown; upcoming?: unknown } | undefined): AgendaCounts => ({
  overdue: Number(r?.overdue ?? 0),
  dueToday: Number(r?.dueToday ?? 0),
  upcoming: Number(r?.upcoming ?? 0),
});

/** The three section counts of an agenda in one statement, whatever the size. */
export async function agendaCounts(sql: TenantSql, a: Access, args: AgendaArgs, now: Date): Promise<AgendaCounts> {
  const rows = await sql<{ overdue: number; dueToday: number; upcoming: number }>((shop) => agendaCountsSql(shop, a, args, now));
  return agendaCountsOf(rows[0]);
}

/** The size of an agenda (or of one section) from its counts. */
export const agendaTotal = (c: AgendaCounts, section: AgendaSection | null | undefined) =>
  section === 'OVERDUE'
    ? c.overdue
    : section === 'DUE_TODAY'
      ? c.dueToday
      : section === 'UPCOMING'
        ? c.upcoming
        : c.overdue + c.dueToday + c.upcoming;
