import { z } from 'zod';
import type { ScopedDb, ScopedTx } from '../../db/tenant.ts';
import type { TenantSql } from '../../db/tenant-sql.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.ts';
import { type Customer, Prisma } from '../../generated/prisma/client.ts';
import type { LeadLossReason, LeadOutcome } from '../../generated/prisma/enums.ts';
import { emitEvents, gid } from '../events/event.service.ts';
import { type Access, canWorkCustomer, gidOf } from '../follow-ups/follow-up.policy.ts';

/**
 * Lost and disqualified leads (DOMAIN.md §4: "record why a lead was lost"). Marking a lead lost
 * appends a LeadLoss row with the stage, owner and source it had reached, sets Customer.lostAt (so
 * the lead leaves the pool and the agendas), cancels its planned follow-ups and writes LEAD_LOST.
 * It is reversible: by hand (reopenLead) or automatically when the person comes back (a new capture,
 * an inbound contact, an order), which writes LEAD_REOPENED.
 */

/** Stages at which a person is still a lead; a buyer who goes quiet is CHURNED, not lost. */
export const LOSABLE_STAGES = ['SUSPECT', 'PROSPECT'] as const;

export type MarkLostInput = { customerId: string; outcome?: LeadOutcome | null; reason: LeadLossReason; note?: string | null };
/** Why a lost lead came back. */
export type ReopenCause = 'MANUAL' | 'CAPTURE' | 'INBOUND_CONTACT' | 'ORDER';

const noteSchema = z.string().trim().max(2000, 'At most 2000 characters').nullish();

async function tx<T>(db: ScopedDb, fn: (t: ScopedTx) => Promise<T>): Promise<T> {
  return db.$transaction(fn);
}

async function liveLead(t: ScopedTx, id: string): Promise<Customer> {
  const c = await t.customer.findUnique({ where: { id } });
  if (!c || c.status === 'MERGED') throw new NotFoundError('Customer', ['input', 'customerId']);
  return c;
}

/** Marks a lead lost inside the caller's transaction (also used when a follow-up chain is closed). */
export async function markLeadLostTx(t: ScopedTx, actor: Access, input: MarkLostInput, now = new Date()) {
  const parsed = noteSchema.safeParse(input.note);
  if (!parsed.success) throw ValidationError.field(['input', 'note'], parsed.error.issues[0]?.message ?? 'Invalid note');
  const note = parsed.data || null;
  if (input.reason === 'OTHER' && !note) throw ValidationError.field(['input', 'note'], 'Describe the reason when it is OTHER');
  // The row lock serialises concurrent marks of the same lead.
  const c = await liveLead(t, input.customerId);
  await t.customer.updateMany({ where: { id: c.id }, data: { version: { increment: 1 } } });
  const locked = (await t.customer.findUnique({ where: { id: c.id } })) as Customer;
  if (!(LOSABLE_STAGES as readonly string[]).includes(locked.stage)) {
    throw ValidationError.field(
      ['input', 'customerId'],
      `Only leads (${LOSABLE_STAGES.join(', ')}) can be lost; this customer is ${locked.stage} (a quiet buyer becomes CHURNED)`,
    );
  }
  // Data-dependent policy (as for follow-ups): an agent ends only its own leads or pool leads.
  if (!canWorkCustomer(actor, locked)) throw new NotFoundError('Customer', ['input', 'customerId']);
  if (locked.lostAt) throw new ConflictError('This lead is already marked lost; reopen it first', ['input', 'customerId']);
  const outcome: LeadOutcome = input.outcome ?? 'LOST';
  const loss = await t.leadLoss.create({
    data: {
      customerId: c.id,
      outcome,
      reason: input.reason,
      note,
      stageReached: locked.stage,
      ownerId: locked.ownerId,
      sourceChannel: locked.sourceChannel,
      actorStaffId: actor.staffId,
      lostAt: now,
    } as never,
  });
  await t.customer.update({ where: { id: c.id }, data: { lostAt: now } });
  const planned = await t.followUp.findMany({ where: { customerId: c.id, status: 'PLANNED' }, select: { id: true } });
  if (planned.length) {
    await t.followUp.updateMany({
      where: { id: { in: planned.map((f) => f.id) } },
      data: { status: 'CANCELLED', outcome: `Lead ${outcome.toLowerCase()}: ${input.reason}`, completedAt: now, version: { increment: 1 } },
    });
  }
  const customerId = gid('Customer', c.id);
  await emitEvents(t, [
    ...planned.map((f) => ({
      type: 'FOLLOW_UP_CANCELLED' as const,
      customerId: c.id,
      payload: { followUpId: gidOf('FollowUp', f.id), customerId },
    })),
    {
      type: 'LEAD_LOST',
      customerId: c.id,
      payload: { customerId, outcome, reason: input.reason, stageReached: locked.stage, cancelledFollowUps: planned.length },
    },
  ]);
  return { loss, customer: (await t.customer.findUnique({ where: { id: c.id } })) as Customer };
}

export async function markLeadLost(db: ScopedDb, actor: Access, input: MarkLostInput, now = new Date()) {
  return tx(db, (t) => markLeadLostTx(t, actor, input, now));
}

/**
 * Reopens a lost lead inside the caller's transaction; returns false when it was not lost. Call it
 * before emitting the caller's own events (emitEvents must be the transaction's last statements).
 */
export async function reopenIfLost(t: ScopedTx, customerId: string, cause: ReopenCause, reason?: string | null, now = new Date()) {
  const c = await t.customer.findUnique({ where: { id: customerId }, select: { id: true, lostAt: true } });
  if (!c?.lostAt) return false;
  const claimed = await t.customer.updateMany({ where: { id: customerId, lostAt: { not: null } }, data: { lostAt: null } });
  if (claimed.count !== 1) return false;
  await t.leadLoss.updateMany({
    where: { customerId, reopenedAt: null },
    data: { reopenedAt: now, reopenReason: reason ?? cause },
  });
  return true;
}

/** The LEAD_REOPENED event of a reopen done in the same transaction. */
export const reopenedEvent = (customerId: string, cause: ReopenCause) => ({
  type: 'LEAD_REOPENED' as const,
  customerId,
  payload: { customerId: gid('Customer', customerId), cause },
});

export async function reopenLead(db: ScopedDb, actor: Access, customerId: string, reason?: string | null, now = new Date()) {
  const parsed = noteSchema.safeParse(reason);
  if (!parsed.success) throw ValidationError.field(['input', 'reason'], parsed.error.issues[0]?.message ?? 'Invalid reason');
  return tx(db, async (t) => {
    const c = await liveLead(t, customerId);
    if (!canWorkCustomer(actor, c)) throw new NotFoundError('Customer', ['input', 'customerId']);
    if (!(await reopenIfLost(t, c.id, 'MANUAL', parsed.data || null, now))) {
      throw new ConflictError('This lead is not lost', ['input', 'customerId']);
    }
    await emitEvents(t, [reopenedEvent(c.id, 'MANUAL')]);
    return (await t.customer.findUnique({ where: { id: c.id } })) as Customer;
  });
}

// ---------------------------------------------------------------------------------------------
// Loss analytics (one statement)

export type LossCount = { key: string | null; count: number };
export type LossMonth = { month: string; lost: number; disqualified: number; reopened: number };
export type LeadLossKpis = {
  total: number;
  lost: number;
  disqualified: number;
  reopened: number;
  /** Leads created in the range (the denominator of the loss rate). */
  leadsCreated: number;
  byReason: LossCount[];
  bySource: LossCount[];
  byOwner: LossCount[];
  byStage: LossCount[];
  monthly: LossMonth[];
};

/**
 * Losses recorded in [from, to) (a loss later reopened still counts as a loss then; `reopened`
 * says how many came back), by reason, acquisition source, owner at the time, stage reached, and
 * per calendar month (UTC).
 */
export async function leadLossKpis(sql: TenantSql, from: Date, to: Date): Promise<LeadLossKpis> {
  const [row] = await sql<{ k: LeadLossKpis }>((shop) => lossSql(shop, from, to));
  return (row as { k: LeadLossKpis }).k;
}

function lossSql(shop: Prisma.Sql, from: Date, to: Date): Prisma.Sql {
  const f = Prisma.sql`${from}::timestamptz`;
  const t = Prisma.sql`${to}::timestamptz`;
  const by = (col: string) => Prisma.sql`(SELECT coalesce(json_agg(json_build_object('key', k, 'count', n) ORDER BY n DESC, k), '[]')
      FROM (SELECT ${Prisma.raw(col)} AS k, count(*)::int AS n FROM l GROUP BY 1) g)`;
  return Prisma.sql`
    WITH l AS (
      SELECT ll.outcome, ll.reason::text AS reason, ll."sourceChannel"::text AS source, ll."ownerId"::text AS owner,
             ll."stageReached"::text AS stage, ll."lostAt", ll."reopenedAt"
      FROM "LeadLoss" ll WHERE ll."shopId" = ${shop} AND ll."lostAt" >= ${f} AND ll."lostAt" < ${t})
    SELECT ${shop} AS "shopId", json_build_object(
      'total', (SELECT count(*)::int FROM l),
      'lost', (SELECT count(*)::int FROM l WHERE outcome = 'LOST'),
      'disqualified', (SELECT count(*)::int FROM l WHERE outcome = 'DISQUALIFIED'),
      'reopened', (SELECT count(*)::int FROM l WHERE "reopenedAt" IS NOT NULL),
      'leadsCreated', (SELECT count(*)::int FROM "Customer" c WHERE c."shopId" = ${shop} AND c."createdAt" >= ${f} AND c."createdAt" < ${t}
                         AND EXISTS (SELECT 1 FROM "StageTransition" st WHERE st."customerId" = c.id AND st."fromStage" IS NULL
                                     AND st."toStage" IN ('SUSPECT', 'PROSPECT'))),
      'byReason', ${by('reason')},
      'bySource', ${by('source')},
      'byOwner', ${by('owner')},
      'byStage', ${by('stage')},
      'monthly', (SELECT coalesce(json_agg(json_build_object('month', m, 'lost', lo, 'disqualified', dq, 'reopened', re) ORDER BY m), '[]')
        FROM (SELECT to_char(date_trunc('month', "lostAt" AT TIME ZONE 'UTC'), 'YYYY-MM') AS m,
                     count(*) FILTER (WHERE outcome = 'LOST')::int AS lo,
                     count(*) FILTER (WHERE outcome = 'DISQUALIFIED')::int AS dq,
                     count(*) FILTER (WHERE "reopenedAt" IS NOT NULL)::int AS re
              FROM l GROUP BY 1) mm)
    ) AS k`;
}
