import type { ScopedDb, ScopedTx } from '../../db/tenant.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import type { ContactTolerance } from '../../generated/prisma/enums.ts';
import { type BudgetState, budgetOf, budgetState, CONTACT_BUDGET, DEFAULT_BUDGET } from './follow-up.timing.ts';

/**
 * The per-customer contact budget in SQL (definitions in follow-up.timing.ts / docs/follow-ups.md).
 * Contacts that count against it, within the budget period (the last `periodDays` days):
 * - outbound interactions (not deleted) that occurred in the period, whoever logged them;
 * - follow-ups the system creates (retention kinds BIRTHDAY, HOLIDAY, SERVICE_REMINDER, OFFER, and
 *   any follow-up without a creator, e.g. the churn follow-up), PLANNED or DONE, due in the period
 *   or later (planned contacts ahead use the budget up front).
 * Staff-planned SALES follow-ups count once the contact is logged as an outbound interaction.
 */

const caseOf = (tolerance: Prisma.Sql, pick: (b: { max: number; periodDays: number }) => number) =>
  Prisma.sql`(CASE ${Prisma.join(
    (Object.keys(CONTACT_BUDGET) as ContactTolerance[]).map(
      (k) => Prisma.sql`WHEN ${tolerance} = ${k} THEN ${pick(CONTACT_BUDGET[k])}::int`,
    ),
    ' ',
  )} ELSE ${pick(DEFAULT_BUDGET)}::int END)`;

/** The budget's maximum for a tolerance column (text). */
export const budgetMaxSql = (tolerance: Prisma.Sql) => caseOf(tolerance, (b) => b.max);

/** The contacts used by customer `customerId` (an SQL expression) at `now`, given its tolerance column (text). */
export function budgetUsedSql(customerId: Prisma.Sql, tolerance: Prisma.Sql, now: Date): Prisma.Sql {
  const since = Prisma.sql`(${now}::timestamptz - make_interval(days => ${caseOf(tolerance, (b) => b.periodDays)}))`;
  return Prisma.sql`(
    (SELECT count(*) FROM "Interaction" bi
      WHERE bi."customerId" = ${customerId} AND bi."deletedAt" IS NULL AND bi.direction = 'OUTBOUND'
        AND bi."occurredAt" > ${since} AND bi."occurredAt" <= ${now}::timestamptz)
    + (SELECT count(*) FROM "FollowUp" bf
      WHERE bf."customerId" = ${customerId} AND bf.status IN ('PLANNED', 'DONE')
        AND (bf.kind <> 'SALES' OR bf."createdById" IS NULL) AND bf."dueAt" > ${since}))::int`;
}

/** One customer's budget at `now` (two counts through the tenant-scoped client; also inside a transaction). */
export async function customerBudget(db: ScopedDb | ScopedTx, customerId: string, now = new Date()): Promise<BudgetState | null> {
  const c = await db.customer.findFirst({ where: { id: customerId }, select: { id: true, contactTolerance: true } });
  if (!c) return null;
  const since = new Date(now.getTime() - budgetOf(c.contactTolerance).periodDays * 86_400_000);
  const [interactions, followUps] = await Promise.all([
    db.interaction.count({
      where: { customerId: c.id, deletedAt: null, direction: 'OUTBOUND', occurredAt: { gt: since, lte: now } },
    }),
    db.followUp.count({
      where: {
        customerId: c.id,
        status: { in: ['PLANNED', 'DONE'] },
        OR: [{ kind: { not: 'SALES' } }, { createdById: null }],
        dueAt: { gt: since },
      },
    }),
  ]);
  return budgetState(c.contactTolerance, interactions + followUps);
}
