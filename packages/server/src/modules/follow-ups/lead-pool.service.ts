import type { ScopedDb, ScopedTx } from '../../db/tenant.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../errors.ts';
import type { Customer, LeadAssignment } from '../../generated/prisma/client.ts';
import type { LeadAssignmentAction } from '../../generated/prisma/enums.ts';
import { getCustomer, isUuid } from '../customers/customer.service.ts';
import type { EmitEvent } from '../events/event.service.ts';
import { type Access, emitEvents, gidOf, isLead, LEAD_STAGES, POOL_WHERE } from './follow-up.policy.ts';
import { getFollowUpSettings } from './follow-up.settings.ts';

/**
 * The lead pool: leads (SUSPECT / PROSPECT customers) without an owner. Agents claim them, managers
 * assign them, `autoAssignLeads` distributes them by the shop's rule (round-robin among active
 * agents, or by acquisition source), and `returnStaleLeads` puts back leads whose owner has done
 * nothing with them for `returnAfterHours`. Every move is a LeadAssignment row and a
 * LEAD_ASSIGNED / LEAD_RETURNED event. Ownership changes are conditional updates
 * (`WHERE ownerId IS NULL` for claims), so of concurrent claims exactly one wins.
 */

async function tx<T>(db: ScopedDb, fn: (t: ScopedTx) => Promise<T>): Promise<T> {
  return db.$transaction(fn);
}

const assignedEvent = (customerId: string, staffId: string, action: LeadAssignmentAction): EmitEvent => ({
  type: 'LEAD_ASSIGNED',
  customerId,
  payload: { customerId: gidOf('Customer', customerId), staffId: gidOf('StaffUser', staffId), action },
});

/** Open follow-ups follow the lead to its new owner (unassigned ones and those of the previous owner). */
async function moveOpenFollowUps(t: ScopedTx, customerIds: string[], from: string | null, to: string | null) {
  await t.followUp.updateMany({
    where: { customerId: { in: customerIds }, status: 'PLANNED', OR: [{ assigneeId: null }, ...(from ? [{ assigneeId: from }] : [])] },
    data: { assigneeId: to },
  });
}

/** The acting staff user takes a lead from the pool. */
export async function claimLead(db: ScopedDb, a: Access, customerId: string): Promise<Customer> {
  // Declared on claimLead (authScopes: staff); schedulers never claim.
  if (!a.staffId) throw new ForbiddenError('claimLead acts for a staff user: send x-crm-staff-id');
  const staffId = a.staffId;
  return tx(db, async (t) => {
    const res = isUuid(customerId)
      ? await t.customer.updateMany({ where: { id: customerId, ...POOL_WHERE }, data: { ownerId: staffId, version: { increment: 1 } } })
      : { count: 0 };
    if (res.count !== 1) {
      const c = await getCustomer(t, customerId);
      if (!c || c.status === 'MERGED') throw new NotFoundError('Customer', ['input', 'customerId']);
      if (c.ownerId) throw new ConflictError('The lead already has an owner', ['input', 'customerId']);
      if (c.status !== 'ACTIVE') throw ValidationError.field(['input', 'customerId'], 'The customer is archived');
      if (c.lostAt) throw ValidationError.field(['input', 'customerId'], 'The lead is lost; reopen it first (reopenLead)');
      throw ValidationError.field(['input', 'customerId'], `Only leads (${LEAD_STAGES.join(', ')}) can be claimed`);
    }
    await moveOpenFollowUps(t, [customerId], null, staffId);
    await t.leadAssignment.create({ data: { customerId, staffId, action: 'CLAIMED', actorStaffId: staffId } as never });
    const c = (await t.customer.findUnique({ where: { id: customerId } })) as Customer;
    await emitEvents(t, [assignedEvent(customerId, staffId, 'CLAIMED')]);
    return c;
  });
}

/** A manager (or the system) gives a customer to a staff user, from the pool or from another owner. */
export async function assignLead(db: ScopedDb, a: Access, customerId: string, staffId: string, reason?: string | null): Promise<Customer> {
  if (reason != null && reason.length > 500) throw ValidationError.field(['input', 'reason'], 'At most 500 characters');
  return tx(db, async (t) => {
    const c = await getCustomer(t, customerId);
    if (!c || c.status === 'MERGED') throw new NotFoundError('Customer', ['input', 'customerId']);
    const s = isUuid(staffId) ? await t.staffUser.findFirst({ where: { id: staffId } }) : null;
    if (!s) throw new NotFoundError('Staff user', ['input', 'staffId']);
    if (!s.active) throw ValidationError.field(['input', 'staffId'], 'Staff user is inactive');
    if (c.ownerId === s.id) return c;
    const res = await t.customer.updateMany({
      where: { id: c.id, ownerId: c.ownerId },
      data: { ownerId: s.id, version: { increment: 1 } },
    });
    if (res.count !== 1) throw new ConflictError('The owner changed concurrently; retry', ['input', 'customerId']);
    await moveOpenFollowUps(t, [c.id], c.ownerId, s.id);
    await t.leadAssignment.create({
      data: { customerId: c.id, staffId: s.id, action: 'ASSIGNED', actorStaffId: a.staffId, reason: reason ?? null } as never,
    });
    const updated = (await t.customer.findUnique({ where: { id: c.id } })) as Customer;
    await emitEvents(t, [assignedEvent(c.id, s.id, 'ASSIGNED')]);
    return updated;
  });
}

export type BulkLeadResult = { assignments: LeadAssignment[] };

/** Conditionally moves leads to owners, grouped per owner (one update per owner, not per lead). */
async function applyOwners(
  t: ScopedTx,
  a: Access,
  plan: Map<string | null, string[]>,
  action: LeadAssignmentAction,
  expectedOwner: (ownerKey: string | null) => string | null,
  reason: string | null,
): Promise<LeadAssignment[]> {
  type Row = {
    customerId: string;
    staffId: string | null;
    action: LeadAssignmentAction;
    actorStaffId: string | null;
    reason: string | null;
    at: Date;
  };
  const rows: Row[] = [];
  const base = Date.now();
  const events: EmitEvent[] = [];
  for (const [key, ids] of plan) {
    if (!ids.length) continue;
    const from = expectedOwner(key);
    const to = action === 'RETURNED' ? null : key;
    const moved = await t.customer.updateManyAndReturn({
      where: { id: { in: ids }, ownerId: from, stage: { in: LEAD_STAGES }, status: 'ACTIVE', lostAt: null },
      data: { ownerId: to, version: { increment: 1 } },
      select: { id: true },
    });
    const movedIds = moved.map((m) => m.id);
    if (!movedIds.length) continue;
    await moveOpenFollowUps(t, movedIds, from, to);
    for (const id of movedIds) {
      // Distinct, increasing times: the history's order is the order of the moves (round-robin reads it).
      rows.push({ customerId: id, staffId: key, action, actorStaffId: a.staffId, reason, at: new Date(base + rows.length) });
      events.push(
        action === 'RETURNED'
          ? {
              type: 'LEAD_RETURNED',
              customerId: id,
              payload: { customerId: gidOf('Customer', id), previousOwnerId: key ? gidOf('StaffUser', key) : null },
            }
          : assignedEvent(id, key as string, action),
      );
    }
  }
  const created = rows.length ? await t.leadAssignment.createManyAndReturn({ data: rows as never }) : [];
  await emitEvents(t, events);
  return created;
}

/**
 * Distributes pool leads (oldest first, at most `limit`) by the shop's rule: ROUND_ROBIN among
 * active AGENTs (continuing after the last auto-assigned agent), BY_SOURCE by the lead's source
 * channel (unmapped sources stay in the pool). Mode NONE assigns nothing.
 */
export async function autoAssignLeads(db: ScopedDb, a: Access, opts: { limit?: number | null } = {}): Promise<BulkLeadResult> {
  const limit = opts.limit ?? 100;
  if (limit < 1 || limit > 500) throw ValidationError.field(['input', 'limit'], 'Must be 1-500');
  const { leadPool } = await getFollowUpSettings(db);
  if (leadPool.mode === 'NONE') return { assignments: [] };
  return tx(db, async (t) => {
    const leads = await t.customer.findMany({
      where: POOL_WHERE,
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      take: limit,
      select: { id: true, sourceChannel: true },
    });
    const plan = new Map<string | null, string[]>();
    const add = (staffId: string, id: string) => plan.set(staffId, [...(plan.get(staffId) ?? []), id]);
    if (leadPool.mode === 'ROUND_ROBIN') {
      const agents = await t.staffUser.findMany({ where: { role: 'AGENT', active: true }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
      if (!agents.length) return { assignments: [] };
      const last = await t.leadAssignment.findFirst({
        where: { action: 'AUTO_ASSIGNED', staffId: { not: null } },
        orderBy: [{ at: 'desc' }, { id: 'desc' }],
      });
      let i = last ? agents.findIndex((s) => s.id === last.staffId) + 1 : 0;
      let lastUsed: string | null = null;
      for (const l of leads) {
        lastUsed = (agents[i % agents.length] as { id: string }).id;
        add(lastUsed, l.id);
        i++;
      }
      // The agent who got the last lead goes last, so the next call continues after them.
      const lastIds = plan.get(lastUsed);
      if (lastIds) {
        plan.delete(lastUsed);
        plan.set(lastUsed, lastIds);
      }
    } else {
      const wanted = [...new Set(Object.values(leadPool.bySource))];
      const active = new Set(
        (await t.staffUser.findMany({ where: { id: { in: wanted }, active: true }, select: { id: true } })).map((s) => s.id),
      );
      for (const l of leads) {
        const staffId = l.sourceChannel ? leadPool.bySource[l.sourceChannel] : undefined;
        if (staffId && active.has(staffId)) add(staffId, l.id);
      }
    }
    const assignments = await applyOwners(t, a, plan, 'AUTO_ASSIGNED', () => null, `Auto-assigned (${leadPool.mode})`);
    return { assignments };
  });
}

/**
 * Returns to the pool every owned lead without follow-up activity (a follow-up created or changed,
 * an outbound interaction, an assignment) for the shop's `returnAfterHours`.
 */
export async function returnStaleLeads(
  db: ScopedDb,
  a: Access,
  opts: { limit?: number | null } = {},
  now = new Date(),
): Promise<BulkLeadResult> {
  const limit = opts.limit ?? 500;
  if (limit < 1 || limit > 5000) throw ValidationError.field(['input', 'limit'], 'Must be 1-5000');
  const { leadPool } = await getFollowUpSettings(db);
  if (leadPool.returnAfterHours == null) return { assignments: [] };
  const cutoff = new Date(now.getTime() - leadPool.returnAfterHours * 3_600_000);
  return tx(db, async (t) => {
    const stale = await t.customer.findMany({
      where: {
        stage: { in: LEAD_STAGES },
        status: 'ACTIVE',
        lostAt: null,
        ownerId: { not: null },
        createdAt: { lt: cutoff },
        followUps: { none: { updatedAt: { gte: cutoff } } },
        leadAssignments: { none: { at: { gte: cutoff } } },
        interactions: { none: { occurredAt: { gte: cutoff }, direction: 'OUTBOUND', deletedAt: null } },
      },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      take: limit,
      select: { id: true, ownerId: true },
    });
    const plan = new Map<string | null, string[]>();
    for (const c of stale) plan.set(c.ownerId, [...(plan.get(c.ownerId) ?? []), c.id]);
    const assignments = await applyOwners(t, a, plan, 'RETURNED', (owner) => owner, `No activity for ${leadPool.returnAfterHours} h`);
    return { assignments };
  });
}

export { isLead };
