import { inTransaction, type ScopedDb, type ScopedTx } from '../../db/tenant.ts';
import { NotFoundError, ValidationError } from '../../errors.ts';
import type { Interaction, Prisma } from '../../generated/prisma/client.ts';
import type { InteractionChannel, InteractionDirection, InteractionType, Sentiment } from '../../generated/prisma/enums.ts';
import { withIdempotency } from '../common/idempotency.ts';
import { parseInput } from '../common/validate.ts';
import { type Actor, getCustomer, isUuid, type MergeStep } from '../customers/customer.service.ts';
import { emitEvent, emitEvents, gid } from '../events/event.service.ts';
import { reopenedEvent, reopenIfLost } from '../leads/lead-loss.service.ts';
import {
  type RecordInteractionInput,
  recordInteractionSchema,
  surveyIssue,
  type UpdateInteractionInput,
  updateInteractionSchema,
} from './interaction.schema.ts';

export type { RecordInteractionInput, UpdateInteractionInput } from './interaction.schema.ts';

/**
 * Interactions: every touchpoint (channel, direction, type, content, sentiment, time), optionally
 * handled by a staff user and about an order. Deleting is soft (`deletedAt`): deleted interactions
 * disappear from lists and the timeline but stay recorded.
 */

/** Where an interaction was recorded from: a secret key ("api") or a storefront ("storefront"). */
export type InteractionSource = 'api' | 'storefront';

function checkSurvey(v: Parameters<typeof surveyIssue>[0]) {
  const issue = surveyIssue(v);
  if (issue) throw ValidationError.field(['input', issue.field], issue.message);
}

async function checkStaff(t: ScopedTx, staffId: string) {
  const s = isUuid(staffId) ? await t.staffUser.findUnique({ where: { id: staffId } }) : null;
  if (!s) throw new NotFoundError('Staff user', ['input', 'staffId']);
}

async function checkOrder(t: ScopedTx, orderId: string, customerId: string) {
  const o = isUuid(orderId) ? await t.order.findUnique({ where: { id: orderId }, select: { customerId: true } }) : null;
  if (!o) throw new NotFoundError('Order', ['input', 'orderId']);
  if (o.customerId !== customerId) throw ValidationError.field(['input', 'orderId'], 'The order belongs to another customer');
}

export async function recordInteraction(
  db: ScopedDb,
  actor: Actor,
  input: RecordInteractionInput,
  source: InteractionSource = 'api',
): Promise<Interaction> {
  const p = parseInput(recordInteractionSchema, input, ['input']);
  checkSurvey({ type: p.type, surveyKind: p.surveyKind ?? null, score: p.score ?? null });
  return inTransaction(db, async (t) => {
    const c = isUuid(p.customerId) ? await getCustomer(t, p.customerId, true) : null;
    if (!c || c.status === 'MERGED') throw new NotFoundError('Customer', ['input', 'customerId']);
    const staffId = p.staffId ?? actor.staffId ?? null;
    if (staffId) await checkStaff(t, staffId);
    if (p.orderId) await checkOrder(t, p.orderId, c.id);
    const interaction = await t.interaction.create({
      data: {
        customerId: c.id,
        channel: p.channel,
        direction: p.direction,
        type: p.type,
        subject: p.subject || null,
        body: p.body || null,
        sentiment: p.sentiment ?? null,
        occurredAt: p.occurredAt ?? new Date(),
        staffId,
        orderId: p.orderId ?? null,
        metadata: (p.metadata ?? {}) as Prisma.InputJsonValue,
        surveyKind: p.surveyKind ?? null,
        score: p.score ?? null,
        source,
      } as never,
    });
    // A lost lead who gets in touch again is a lead again.
    const reopened =
      p.direction === 'INBOUND' && c.lostAt ? await reopenIfLost(t, c.id, source === 'storefront' ? 'CAPTURE' : 'INBOUND_CONTACT') : false;
    await emitEvent(t, {
      type: 'INTERACTION_RECORDED',
      customerId: c.id,
      payload: {
        interactionId: gid('Interaction', interaction.id),
        customerId: gid('Customer', c.id),
        channel: interaction.channel,
        direction: interaction.direction,
        type: interaction.type,
        source,
        ...(interaction.surveyKind ? { surveyKind: interaction.surveyKind, score: interaction.score } : {}),
      },
    });
    if (reopened) await emitEvents(t, [reopenedEvent(c.id, source === 'storefront' ? 'CAPTURE' : 'INBOUND_CONTACT')]);
    return interaction;
  });
}

/** recordInteraction with an optional idempotency key; a replay returns the first interaction. */
export async function recordInteractionIdempotent(
  db: ScopedDb,
  actor: Actor,
  input: RecordInteractionInput,
  idempotencyKey?: string | null,
): Promise<Interaction> {
  const { result } = await withIdempotency(db, 'recordInteraction', idempotencyKey, input, async () => ({
    interactionId: (await recordInteraction(db, actor, input)).id,
  }));
  const row = await db.interaction.findUnique({ where: { id: result.interactionId } });
  if (!row) throw new NotFoundError('Interaction', ['input', 'idempotencyKey']);
  return row;
}

async function requireInteraction(t: ScopedTx, id: string): Promise<Interaction> {
  const row = isUuid(id) ? await t.interaction.findUnique({ where: { id } }) : null;
  if (!row || row.deletedAt) throw new NotFoundError('Interaction', ['input', 'id']);
  return row;
}

export async function updateInteraction(db: ScopedDb, id: string, input: UpdateInteractionInput): Promise<Interaction> {
  const p = parseInput(updateInteractionSchema, input, ['input']);
  return db.$transaction(async (t) => {
    const current = await requireInteraction(t, id);
    if (p.staffId) await checkStaff(t, p.staffId);
    if (p.orderId) await checkOrder(t, p.orderId, current.customerId);
    const data: Record<string, unknown> = {};
    for (const k of ['channel', 'direction', 'type', 'occurredAt'] as const) {
      if (p[k] === null) throw ValidationError.field(['input', k], 'Cannot be cleared');
      if (p[k] !== undefined) data[k] = p[k];
    }
    for (const k of ['subject', 'body', 'sentiment', 'staffId', 'orderId', 'surveyKind', 'score'] as const) {
      if (p[k] !== undefined) data[k] = p[k] === '' ? null : p[k];
    }
    if (p.metadata !== undefined) data.metadata = p.metadata ?? {};
    checkSurvey({
      type: (data.type as InteractionType | undefined) ?? current.type,
      surveyKind: p.surveyKind === undefined ? current.surveyKind : p.surveyKind,
      score: p.score === undefined ? current.score : p.score,
    });
    const updated = await t.interaction.update({ where: { id: current.id }, data });
    await emitEvent(t, {
      type: 'INTERACTION_UPDATED',
      customerId: current.customerId,
      payload: {
        interactionId: gid('Interaction', current.id),
        customerId: gid('Customer', current.customerId),
        fields: Object.keys(data).sort(),
      },
    });
    return updated;
  });
}

/** Soft delete: hidden from lists and the timeline, kept in the database. Returns the row. */
export async function deleteInteraction(db: ScopedDb, id: string): Promise<Interaction> {
  return db.$transaction(async (t) => {
    const current = await requireInteraction(t, id);
    const deleted = await t.interaction.update({ where: { id: current.id }, data: { deletedAt: new Date() } });
    await emitEvent(t, {
      type: 'INTERACTION_DELETED',
      customerId: current.customerId,
      payload: { interactionId: gid('Interaction', current.id), customerId: gid('Customer', current.customerId) },
    });
    return deleted;
  });
}

export type InteractionFilter = {
  channels?: InteractionChannel[] | null;
  types?: InteractionType[] | null;
  sentiments?: Sentiment[] | null;
  directions?: InteractionDirection[] | null;
  occurredAfter?: Date | null;
  occurredBefore?: Date | null;
  staffIds?: string[] | null;
  customerId?: string | null;
};

/** The `where` of an interaction list; deleted interactions never appear. */
export function interactionWhere(f: InteractionFilter | null | undefined): Prisma.InteractionWhereInput {
  const and: Prisma.InteractionWhereInput[] = [{ deletedAt: null }];
  if (f?.channels?.length) and.push({ channel: { in: f.channels } });
  if (f?.types?.length) and.push({ type: { in: f.types } });
  if (f?.sentiments?.length) and.push({ sentiment: { in: f.sentiments } });
  if (f?.directions?.length) and.push({ direction: { in: f.directions } });
  if (f?.occurredAfter) and.push({ occurredAt: { gte: f.occurredAfter } });
  if (f?.occurredBefore) and.push({ occurredAt: { lt: f.occurredBefore } });
  if (f?.staffIds?.length) {
    const bad = f.staffIds.findIndex((id) => !isUuid(id));
    if (bad >= 0) throw ValidationError.field(['filter', 'staffIds', String(bad)], 'Not a staff user id');
    and.push({ staffId: { in: f.staffIds } });
  }
  if (f?.customerId != null) {
    if (!isUuid(f.customerId)) throw ValidationError.field(['filter', 'customerId'], 'Not a customer id');
    and.push({ customerId: f.customerId });
  }
  return { AND: and };
}

export const mergeInteractions: MergeStep = async (t, survivorId, duplicateId) => {
  await t.interaction.updateMany({ where: { customerId: duplicateId }, data: { customerId: survivorId } });
};
