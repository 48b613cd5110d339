import { encodeGlobalID } from '@pothos/plugin-relay';
import type { ScopedTx } from '../../db/tenant.ts';
import type { Customer, Prisma } from '../../generated/prisma/client.ts';
import type { LifecycleStage } from '../../generated/prisma/enums.ts';
import { type Access, isManager } from '../auth/auth.policy.ts';
import type { EmitEvent } from '../events/event.service.ts';

/** The staff role model lives in auth (auth.policy.ts); re-exported for the follow-up modules. */
export { type Access, isManager, SYSTEM } from '../auth/auth.policy.ts';

/** Customers in these stages are leads; open (not lost) leads without an owner are the pool. */
export const LEAD_STAGES: LifecycleStage[] = ['SUSPECT', 'PROSPECT'];
export const isLead = (stage: LifecycleStage) => LEAD_STAGES.includes(stage);
export const POOL_WHERE = {
  ownerId: null,
  stage: { in: LEAD_STAGES },
  status: 'ACTIVE',
  lostAt: null,
} satisfies Prisma.CustomerWhereInput;

/** May the agent work on this customer: owns it, or it waits in the pool. */
export function canWorkCustomer(a: Access, c: Pick<Customer, 'ownerId' | 'stage' | 'status'>): boolean {
  if (isManager(a)) return true;
  return c.ownerId === a.staffId || (c.ownerId == null && isLead(c.stage) && c.status === 'ACTIVE');
}

/** The follow-ups an actor may see. */
export function followUpVisibility(a: Access): Prisma.FollowUpWhereInput {
  if (isManager(a)) return {};
  return {
    OR: [{ assigneeId: a.staffId }, { customer: { ownerId: a.staffId } }, { customer: POOL_WHERE }],
  };
}

export function canSeeFollowUp(a: Access, f: { assigneeId: string | null }, c: Pick<Customer, 'ownerId' | 'stage' | 'status'>): boolean {
  return isManager(a) || f.assigneeId === a.staffId || canWorkCustomer(a, c);
}

export const gidOf = (type: 'Customer' | 'FollowUp' | 'StaffUser', id: string) => encodeGlobalID(type, id);

/**
 * Several outbox events in one statement (set-based operations); same rules as emitEvent:
 * the last statement of the transaction.
 */
export async function emitEvents(tx: ScopedTx, events: EmitEvent[]) {
  if (!events.length) return;
  await tx.event.createMany({
    data: events.map((e) => ({ type: e.type, customerId: e.customerId ?? null, payload: e.payload as Prisma.InputJsonValue })) as never,
  });
}
