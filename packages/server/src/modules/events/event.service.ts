import { encodeGlobalID } from '@pothos/plugin-relay';
import type { ScopedDb, ScopedTx } from '../../db/tenant.ts';
import type { Event, Prisma } from '../../generated/prisma/client.ts';

/**
 * The outbox. Every change worth reacting to writes one Event row IN ITS OWN TRANSACTION through
 * `emitEvent(tx, …)`: the event commits with the change or not at all. A trigger (migration
 * `events`) allocates ids per shop in commit order and NOTIFYs `crm_events`; subscriptions
 * (event.graphql.ts) and webhooks read the table by `id > cursor`.
 *
 * Call `emitEvent` as the LAST statements of a transaction: the first event insert takes the
 * shop's event lock until commit, so rows locked after it could deadlock with another writer.
 */
export const EVENT_TYPES = [
  'LEAD_CAPTURED',
  'CUSTOMER_CREATED',
  'CUSTOMER_UPDATED',
  'CUSTOMER_MERGED',
  'CUSTOMER_DELETED',
  'STAGE_CHANGED',
  'INTERACTION_RECORDED',
  'ORDER_RECORDED',
  'FOLLOW_UP_CREATED',
  'FOLLOW_UP_COMPLETED',
  'LEAD_ASSIGNED',
  'LEAD_RETURNED',
  'SEGMENT_ENTERED',
  'SEGMENT_LEFT',
  'CHURN_RISK_RAISED',
  'TIER_CHANGED',
  'FOLLOW_UP_DUE',
  'FOLLOW_UP_UPDATED',
  'FOLLOW_UP_CANCELLED',
  'FOLLOW_UP_SKIPPED',
  'INTERACTION_UPDATED',
  'INTERACTION_DELETED',
  'LEAD_LOST',
  'LEAD_REOPENED',
  'CUSTOMER_REDACTED',
  'SHOP_REDACTED',
  'CUSTOMER_DATA_REQUESTED',
  'CONSENT_CONFIRMATION_REQUESTED',
  'API_KEY_REVOKED',
  'IMPORT_COMPLETED',
  'CHECKOUT_ABANDONED',
  'STAFF_USER_UPDATED',
  'SETTINGS_UPDATED',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Payload values: ids (global ids) and small facts, never personal data. */
export type EventPayload = Record<string, string | number | boolean | null | string[]>;

export type EmitEvent = { type: EventType; customerId?: string | null; payload: EventPayload };

/** Global ids as the API hands them out (Relay: base64 of "Type:id"). */
export const gid = (type: 'Customer' | 'Interaction' | 'Order' | 'ApiKey' | 'StaffUser', id: string) => encodeGlobalID(type, id);

/** Transactions whose events are collected instead of inserted (collectEvents). */
const collectors = new WeakMap<object, EmitEvent[]>();

/**
 * Runs `fn` with the events emitted on `tx` collected instead of inserted, and returns them with
 * its result. Batch mutations run each item this way (in a savepoint) and insert the events of the
 * items that succeeded with ONE emitEvents at the end: no event lock is taken before the last item
 * locked its rows, and a failed item's events go with its savepoint.
 */
export async function collectEvents<T>(tx: ScopedTx, fn: () => Promise<T>): Promise<{ result: T; events: EmitEvent[] }> {
  const events: EmitEvent[] = [];
  collectors.set(tx, events);
  try {
    return { result: await fn(), events };
  } finally {
    collectors.delete(tx);
  }
}

/** Inserts one event; returns its row (null when collected by collectEvents). */
export async function emitEvent(tx: ScopedTx, e: EmitEvent): Promise<Event | null> {
  const collected = collectors.get(tx);
  if (collected) {
    collected.push(e);
    return null;
  }
  return tx.event.create({
    data: { type: e.type, customerId: e.customerId ?? null, payload: e.payload as Prisma.InputJsonValue } as never,
  });
}

/**
 * Several events of one change in ONE insert (one round trip), in the given order: the first event
 * insert takes the shop's event lock until commit, so fewer round trips after it shorten the time
 * other writers of the shop wait.
 */
export async function emitEvents(tx: ScopedTx, events: EmitEvent[]): Promise<void> {
  if (!events.length) return;
  const collected = collectors.get(tx);
  if (collected) {
    collected.push(...events);
    return;
  }
  await tx.event.createMany({
    data: events.map((e) => ({ type: e.type, customerId: e.customerId ?? null, payload: e.payload as Prisma.InputJsonValue })) as never,
  });
}

/** Events of the scoped shop after `cursor` (exclusive), oldest first. */
export function readEvents(db: ScopedDb, cursor: bigint, limit = 500): Promise<Event[]> {
  return db.event.findMany({ where: { id: { gt: cursor } }, orderBy: { id: 'asc' }, take: limit });
}

/** The newest event id of the scoped shop (0 when none): "now" for a subscriber without `after`. */
export async function latestEventId(db: ScopedDb): Promise<bigint> {
  const last = await db.event.findFirst({ orderBy: { id: 'desc' }, select: { id: true } });
  return last?.id ?? 0n;
}
