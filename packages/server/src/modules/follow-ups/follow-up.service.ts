import { z } from 'zod';
import type { ScopedDb, ScopedTx } from '../../db/tenant.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError, VersionConflictError } from '../../errors.ts';
import type { Customer, FollowUp, FollowUpDoubt, Prisma } from '../../generated/prisma/client.ts';
import type { ConsentChannel, ContactChannel } from '../../generated/prisma/enums.ts';
import { parseInput } from '../common/validate.ts';
import { getCustomer, isUuid, type MergeStep } from '../customers/customer.service.ts';
import { emitEvent } from '../events/event.service.ts';
import { type MarkLostInput, markLeadLostTx } from '../leads/lead-loss.service.ts';
import { amountSchema, fromCents } from '../orders/money.ts';
import { customerBudget } from './follow-up.budget.ts';
import { type CadenceProposal, CONSENT_FOR, proposeNext } from './follow-up.cadence.ts';
import { type Access, canSeeFollowUp, canWorkCustomer, followUpVisibility, gidOf, isManager } from './follow-up.policy.ts';
import { getFollowUpSettings } from './follow-up.settings.ts';
import { budgetReason } from './follow-up.timing.ts';

/**
 * Follow-ups: planned contacts with a customer (goal, due date, channel, assignee), completed with
 * what was said, the customer's open doubts and the next step; completing one schedules the next
 * (the chain is navigable through previousId / next). The cadence engine proposes due dates and
 * channels; retention follow-ups (birthdays, holidays, service reminders) are generated set-based
 * and idempotently (follow-up.retention.ts); the agenda is in follow-up.agenda.ts. Data-dependent
 * permissions: follow-up.policy.ts.
 */

export const DAY = 86_400_000;
const text = (max: number) => z.string().trim().max(max, `At most ${max} characters`);
export const optText = (max: number) =>
  text(max)
    .nullish()
    .transform((v) => (v === '' ? null : v));
const dueAtSchema = z
  .date()
  .refine(
    (d) => d.getTime() >= Date.UTC(2000, 0, 1) && d.getTime() <= Date.now() + 5 * 365 * DAY,
    'Must be between 2000 and 5 years ahead',
  );
const interestSchema = amountSchema.nullish();

const createSchema = z.object({
  customerId: z.string(),
  assigneeId: z.string().nullish(),
  dueAt: dueAtSchema.nullish(),
  channel: z.string().nullish(),
  goal: optText(500),
  notes: optText(10_000),
  nextStep: optText(500),
  interestValue: interestSchema,
});
export type CreateFollowUpInput = z.input<typeof createSchema> & { channel?: ContactChannel | null };

const updateSchema = createSchema.omit({ customerId: true }).partial();
export type UpdateFollowUpInput = Omit<z.input<typeof updateSchema>, 'channel'> & { channel?: ContactChannel | null };

const doubtText = z.string().trim().min(1, 'Must not be empty').max(1000, 'At most 1000 characters');
const completeSchema = z.object({
  outcome: optText(2000),
  notes: optText(10_000),
  nextStep: optText(500),
  doubts: z.array(doubtText).max(20, 'At most 20 doubts').nullish(),
  resolveDoubts: z
    .array(z.object({ id: z.string(), resolution: text(2000).min(1, 'Must not be empty') }))
    .max(50)
    .nullish(),
  scheduleNext: z.boolean().nullish(),
  next: z
    .object({
      dueAt: dueAtSchema.nullish(),
      channel: z.string().nullish(),
      goal: optText(500),
      assigneeId: z.string().nullish(),
    })
    .nullish(),
  version: z.number().int().nullish(),
});
export type CompleteFollowUpInput = z.input<typeof completeSchema>;

export type CompleteResult = { followUp: FollowUp; next: FollowUp | null; proposal: CadenceProposal };

type Db = ScopedDb | ScopedTx;

/** Runs fn in a transaction; a unique-index race becomes a ConflictError. */
export async function tx<T>(db: ScopedDb, fn: (t: ScopedTx) => Promise<T>): Promise<T> {
  try {
    return await db.$transaction(fn);
  } catch (err) {
    if ((err as { code?: string })?.code === 'P2002') throw new ConflictError('The record was changed concurrently; retry');
    throw err;
  }
}

async function liveCustomer(db: Db, id: string, path = ['input', 'customerId']): Promise<Customer> {
  const c = await getCustomer(db, id);
  if (!c || c.status === 'MERGED') throw new NotFoundError('Customer', path);
  return c;
}

async function activeStaff(db: Db, id: string, path: string[]) {
  const s = isUuid(id) ? await db.staffUser.findFirst({ where: { id } }) : null;
  if (!s) throw new NotFoundError('Staff user', path);
  if (!s.active) throw ValidationError.field(path, 'Staff user is inactive');
  return s;
}

/** The assignee of a new or changed follow-up: agents only themselves. */
async function resolveAssignee(db: Db, a: Access, given: string | null | undefined, fallback: string | null, path: string[]) {
  if (!isManager(a)) {
    if (given != null && given !== a.staffId) throw new ForbiddenError('Agents may assign follow-ups only to themselves');
    return a.staffId;
  }
  if (given === undefined) return fallback;
  if (given === null) return null;
  return (await activeStaff(db, given, path)).id;
}

async function consentedChannels(db: Db, customerId: string): Promise<ConsentChannel[]> {
  const rows = await db.consent.findMany({ where: { customerId, granted: true }, select: { channel: true } });
  return rows.map((r) => r.channel);
}

function checkChannel(channel: string | null | undefined, consented: ConsentChannel[], path: string[]) {
  if (channel == null) return;
  const needs = CONSENT_FOR[channel as ContactChannel];
  if (needs && !consented.includes(needs))
    throw ValidationError.field(path, `The customer has not consented to ${channel} contact`, 'no_consent');
}

/** Facts the cadence engine needs about one customer (a fixed number of statements). */
async function cadenceFacts(db: Db, c: Customer, now: Date, shopTimeZone: string, interestOverride?: number | null) {
  const [consented, lastOut, lastDone, lastValue] = await Promise.all([
    consentedChannels(db, c.id),
    db.interaction.findFirst({
      where: { customerId: c.id, deletedAt: null, direction: 'OUTBOUND' },
      orderBy: { occurredAt: 'desc' },
      select: { occurredAt: true },
    }),
    db.followUp.findFirst({
      where: { customerId: c.id, status: 'DONE', completedAt: { not: null } },
      orderBy: { completedAt: 'desc' },
      select: { completedAt: true },
    }),
    db.followUp.findFirst({
      where: { customerId: c.id, interestValue: { not: null } },
      orderBy: { createdAt: 'desc' },
      select: { interestValue: true },
    }),
  ]);
  const last = [lastOut?.occurredAt, lastDone?.completedAt].filter((d): d is Date => !!d).sort((x, y) => y.getTime() - x.getTime())[0];
  return {
    now,
    dealLikelihood: c.dealLikelihood,
    expectedPurchaseAt: c.expectedPurchaseAt,
    interestValue: interestOverride !== undefined ? interestOverride : lastValue?.interestValue ? Number(lastValue.interestValue) : null,
    tolerance: c.contactTolerance,
    preferredChannel: c.preferredChannel,
    consented,
    lastContactAt: last ?? null,
    timeZone: c.timeZone ?? shopTimeZone,
    contactTime: c.preferredContactTime,
  };
}

/** Proposes the customer's next follow-up (due date, channel and the reasons). */
export async function suggestNextFollowUp(db: ScopedDb, customerId: string, now = new Date()): Promise<CadenceProposal | null> {
  const c = await getCustomer(db, customerId, true);
  if (!c) return null;
  const settings = await getFollowUpSettings(db);
  return proposeNext(await cadenceFacts(db, c, now, settings.cadence.timeZone), settings.cadence);
}

const centsToColumn = (c: bigint | null | undefined) => (c == null ? c : fromCents(c));

/** A created follow-up, with a warning when the customer's contact budget was already spent (not a refusal). */
export type CreatedFollowUp = FollowUp & { budgetWarning: string | null };

export async function createFollowUp(db: ScopedDb, a: Access, input: CreateFollowUpInput, now = new Date()): Promise<CreatedFollowUp> {
  const p = parseInput(createSchema, input, ['input']);
  return tx(db, async (t) => {
    const c = await liveCustomer(t, p.customerId);
    if (!canWorkCustomer(a, c)) throw new ForbiddenError('Agents may plan follow-ups only for their own leads and the pool');
    const assigneeId = await resolveAssignee(t, a, p.assigneeId, c.ownerId ?? a.staffId, ['input', 'assigneeId']);
    const consented = await consentedChannels(t, c.id);
    checkChannel(p.channel, consented, ['input', 'channel']);
    let dueAt = p.dueAt ?? null;
    let channel = (p.channel ?? null) as ContactChannel | null;
    if (!dueAt || p.channel === undefined) {
      const settings = await getFollowUpSettings(t);
      const interest = p.interestValue != null ? Number(fromCents(p.interestValue)) : undefined;
      const proposal = proposeNext(await cadenceFacts(t, c, now, settings.cadence.timeZone, interest), settings.cadence);
      if (!dueAt) {
        if (!proposal.dueAt) throw ValidationError.field(['input', 'dueAt'], `No due date proposed (${proposal.reasons[0]}); give dueAt`);
        dueAt = proposal.dueAt;
      }
      if (p.channel === undefined) channel = proposal.channel;
    }
    // Staff may plan beyond the contact budget (their judgement wins), but are told so.
    const budget = await customerBudget(t, c.id, now);
    const budgetWarning = budget && budget.remaining <= 0 ? budgetReason(budget) : null;
    const f = await t.followUp.create({
      data: {
        customerId: c.id,
        assigneeId,
        dueAt,
        channel,
        goal: p.goal ?? null,
        notes: p.notes ?? null,
        nextStep: p.nextStep ?? null,
        interestValue: centsToColumn(p.interestValue) ?? null,
        createdById: a.staffId,
      } as never,
    });
    await emitEvent(t, { type: 'FOLLOW_UP_CREATED', customerId: c.id, payload: createdPayload(f) });
    return Object.assign(f, { budgetWarning });
  });
}

export const createdPayload = (f: FollowUp) => ({
  followUpId: gidOf('FollowUp', f.id),
  customerId: gidOf('Customer', f.customerId),
  assigneeId: f.assigneeId ? gidOf('StaffUser', f.assigneeId) : null,
  kind: f.kind,
  dueAt: f.dueAt.toISOString(),
  channel: f.channel,
  previousId: f.previousId ? gidOf('FollowUp', f.previousId) : null,
});

/** A follow-up the actor may see (NotFound otherwise, so agents learn nothing of others' work). */
async function visibleFollowUp(db: Db, a: Access, id: string, path = ['input', 'id']) {
  const f = isUuid(id) ? await db.followUp.findUnique({ where: { id }, include: { customer: true } }) : null;
  if (!f || !canSeeFollowUp(a, f, f.customer)) throw new NotFoundError('Follow-up', path);
  return f;
}

/** A follow-up by id if the actor may see it. */
export async function getFollowUp(db: ScopedDb, a: Access, id: string): Promise<FollowUp | null> {
  if (!isUuid(id)) return null;
  const f = await db.followUp.findFirst({ where: { AND: [{ id }, followUpVisibility(a)] } });
  return f;
}

/** Writes a change to a PLANNED follow-up; a concurrent change (or a finished one) is a conflict. */
async function changePlanned(t: ScopedTx, f: FollowUp, version: number | null | undefined, data: Prisma.FollowUpUncheckedUpdateManyInput) {
  if (version != null && f.version !== version) throw new VersionConflictError(f.version);
  if (f.status !== 'PLANNED') throw new ConflictError(`The follow-up is already ${f.status}`, ['input', 'id']);
  const res = await t.followUp.updateMany({
    where: { id: f.id, status: 'PLANNED', version: version ?? f.version },
    data: { ...data, version: { increment: 1 } },
  });
  if (res.count !== 1) {
    const now = await t.followUp.findUnique({ where: { id: f.id } });
    if (now && now.status !== 'PLANNED') throw new ConflictError(`The follow-up is already ${now.status}`, ['input', 'id']);
    throw new VersionConflictError(now?.version ?? f.version);
  }
  return (await t.followUp.findUnique({ where: { id: f.id } })) as FollowUp;
}

export async function updateFollowUp(
  db: ScopedDb,
  a: Access,
  id: string,
  version: number | null | undefined,
  input: UpdateFollowUpInput,
): Promise<FollowUp> {
  const p = parseInput(updateSchema, input, ['input']);
  return tx(db, async (t) => {
    const f = await visibleFollowUp(t, a, id);
    const data: Prisma.FollowUpUncheckedUpdateManyInput = {};
    if (p.assigneeId !== undefined) data.assigneeId = await resolveAssignee(t, a, p.assigneeId, f.assigneeId, ['input', 'assigneeId']);
    if (p.dueAt !== undefined) {
      if (p.dueAt === null) throw ValidationError.field(['input', 'dueAt'], 'dueAt cannot be cleared');
      data.dueAt = p.dueAt;
      // A new due date re-arms FOLLOW_UP_DUE (follow-up-due.ts).
      if (p.dueAt.getTime() !== f.dueAt.getTime()) data.dueNotifiedAt = null;
    }
    if (p.channel !== undefined) {
      checkChannel(p.channel, await consentedChannels(t, f.customerId), ['input', 'channel']);
      data.channel = p.channel as ContactChannel | null;
    }
    for (const k of ['goal', 'notes', 'nextStep'] as const) if (p[k] !== undefined) data[k] = p[k];
    if (p.interestValue !== undefined) data.interestValue = centsToColumn(p.interestValue);
    const updated = await changePlanned(t, f, version, data);
    await emitEvent(t, {
      type: 'FOLLOW_UP_UPDATED',
      customerId: f.customerId,
      payload: {
        followUpId: gidOf('FollowUp', f.id),
        customerId: gidOf('Customer', f.customerId),
        assigneeId: updated.assigneeId ? gidOf('StaffUser', updated.assigneeId) : null,
        dueAt: updated.dueAt.toISOString(),
        fields: Object.keys(data)
          .filter((k) => k !== 'dueNotifiedAt')
          .sort(),
      },
    });
    return updated;
  });
}

/** CANCELLED (will not happen) or SKIPPED (passed without contact); `reason` is kept as the outcome. */
export async function closeFollowUp(
  db: ScopedDb,
  a: Access,
  id: string,
  status: 'CANCELLED' | 'SKIPPED',
  reason?: string | null,
  leadLost?: Omit<MarkLostInput, 'customerId'> | null,
): Promise<FollowUp> {
  const why = parseInput(optText(2000), reason, ['input', 'reason']);
  return tx(db, async (t) => {
    const f = await visibleFollowUp(t, a, id);
    const closed = await changePlanned(t, f, null, { status, outcome: why ?? null, completedAt: new Date() });
    // The chain ends with the lead: lost, with its reason (cancels the customer's other planned follow-ups).
    if (leadLost) await markLeadLostTx(t, a, { ...leadLost, customerId: f.customerId });
    await emitEvent(t, {
      type: status === 'CANCELLED' ? 'FOLLOW_UP_CANCELLED' : 'FOLLOW_UP_SKIPPED',
      customerId: f.customerId,
      payload: { followUpId: gidOf('FollowUp', f.id), customerId: gidOf('Customer', f.customerId) },
    });
    return closed;
  });
}

/**
 * Completes a follow-up: records outcome, notes, next step and the customer's new doubts, resolves
 * doubts answered, and schedules the next follow-up (the cadence engine's proposal unless `next`
 * gives due date / channel / goal). With `scheduleNext: false` only the proposal is returned.
 */
export async function completeFollowUp(
  db: ScopedDb,
  a: Access,
  id: string,
  input: CompleteFollowUpInput,
  now = new Date(),
): Promise<CompleteResult> {
  const p = parseInput(completeSchema, input, ['input']);
  return tx(db, async (t) => {
    const f = await visibleFollowUp(t, a, id);
    const done = await changePlanned(t, f, p.version, {
      status: 'DONE',
      outcome: p.outcome ?? null,
      notes: p.notes !== undefined ? p.notes : f.notes,
      nextStep: p.nextStep !== undefined ? p.nextStep : f.nextStep,
      completedAt: now,
    });
    if (p.doubts?.length) {
      await t.followUpDoubt.createMany({
        data: p.doubts.map((text) => ({ customerId: f.customerId, followUpId: f.id, text })) as never,
      });
    }
    for (const [i, r] of (p.resolveDoubts ?? []).entries()) {
      const res = isUuid(r.id)
        ? await t.followUpDoubt.updateMany({
            where: { id: r.id, customerId: f.customerId, resolvedAt: null },
            data: { resolvedAt: now, resolution: r.resolution },
          })
        : { count: 0 };
      if (res.count !== 1) throw new NotFoundError('Open doubt of this customer', ['input', 'resolveDoubts', String(i), 'id']);
    }
    const settings = await getFollowUpSettings(t);
    const proposal = proposeNext(await cadenceFacts(t, f.customer, now, settings.cadence.timeZone), settings.cadence);
    let next: FollowUp | null = null;
    if (p.scheduleNext !== false) {
      const consented = await consentedChannels(t, f.customerId);
      checkChannel(p.next?.channel, consented, ['input', 'next', 'channel']);
      const dueAt = p.next?.dueAt ?? proposal.dueAt;
      if (dueAt) {
        const assigneeId = await resolveAssignee(t, a, p.next?.assigneeId, f.assigneeId, ['input', 'next', 'assigneeId']);
        next = await t.followUp.create({
          data: {
            customerId: f.customerId,
            assigneeId,
            dueAt,
            channel: (p.next?.channel !== undefined ? p.next.channel : proposal.channel) as ContactChannel | null,
            goal: p.next?.goal ?? done.nextStep ?? f.goal,
            interestValue: f.interestValue,
            previousId: f.id,
            createdById: a.staffId,
          } as never,
        });
      }
    }
    await emitEvent(t, {
      type: 'FOLLOW_UP_COMPLETED',
      customerId: f.customerId,
      payload: {
        followUpId: gidOf('FollowUp', f.id),
        customerId: gidOf('Customer', f.customerId),
        doubtsRaised: p.doubts?.length ?? 0,
        nextFollowUpId: next ? gidOf('FollowUp', next.id) : null,
      },
    });
    if (next) await emitEvent(t, { type: 'FOLLOW_UP_CREATED', customerId: f.customerId, payload: createdPayload(next) });
    return { followUp: done, next, proposal };
  });
}

/** Marks an open doubt resolved with how it was answered. */
export async function resolveDoubt(db: ScopedDb, a: Access, id: string, resolution: string, now = new Date()): Promise<FollowUpDoubt> {
  const r = parseInput(text(2000).min(1, 'Must not be empty'), resolution, ['input', 'resolution']);
  return tx(db, async (t) => {
    const d = isUuid(id) ? await t.followUpDoubt.findUnique({ where: { id }, include: { customer: true, followUp: true } }) : null;
    if (!d || !canSeeFollowUp(a, d.followUp, d.customer)) throw new NotFoundError('Doubt', ['input', 'id']);
    if (d.resolvedAt) throw new ConflictError('The doubt is already resolved', ['input', 'id']);
    const res = await t.followUpDoubt.updateMany({ where: { id: d.id, resolvedAt: null }, data: { resolvedAt: now, resolution: r } });
    if (res.count !== 1) throw new ConflictError('The doubt is already resolved', ['input', 'id']);
    return (await t.followUpDoubt.findUnique({ where: { id: d.id } })) as FollowUpDoubt;
  });
}

// A merge moves the duplicate's follow-ups, doubts and lead history to the survivor.
export const mergeFollowUps: MergeStep = async (t, survivorId, duplicateId) => {
  await t.followUp.updateMany({ where: { customerId: duplicateId }, data: { customerId: survivorId } });
  await t.followUpDoubt.updateMany({ where: { customerId: duplicateId }, data: { customerId: survivorId } });
  await t.leadAssignment.updateMany({ where: { customerId: duplicateId }, data: { customerId: survivorId } });
};
