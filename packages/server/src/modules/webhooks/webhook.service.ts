import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { ScopedDb } from '../../db/tenant.ts';
import { NotFoundError, ValidationError } from '../../errors.ts';
import { parseInput } from '../common/validate.ts';
import { isUuid } from '../customers/customer.service.ts';
import { EVENT_TYPES } from '../events/event.service.ts';
import { type TargetPolicy, targetProblem } from './webhook.target.ts';

/**
 * Webhook endpoints of a shop: a URL, the event types it wants (none = all) and a signing secret.
 * New endpoints receive events from their creation on. Deliveries are made by the dispatcher
 * (webhook.dispatcher.ts): at least once, signed, retried with backoff, logged per attempt.
 */
const urlSchema = z.string().trim().max(2000, 'At most 2000 characters');

/** The SSRF check (webhook.target.ts) of a URL being registered; a ValidationError at input.url. */
async function checkTarget(url: string, policy: TargetPolicy) {
  const problem = await targetProblem(url, policy);
  if (problem) throw ValidationError.field(['input', 'url'], problem);
}

const typesSchema = z
  .array(z.string().refine((t) => (EVENT_TYPES as readonly string[]).includes(t), `Unknown event type; known: ${EVENT_TYPES.join(', ')}`))
  .max(EVENT_TYPES.length);

const createSchema = z.object({ url: urlSchema, eventTypes: typesSchema.nullish() });
const updateSchema = z.object({ url: urlSchema.nullish(), eventTypes: typesSchema.nullish(), active: z.boolean().nullish() });

const newSecret = () => `whsec_${randomBytes(24).toString('base64url')}`;

export async function createEndpoint(db: ScopedDb, input: z.input<typeof createSchema>, policy: TargetPolicy) {
  const p = parseInput(createSchema, input, ['input']);
  await checkTarget(p.url, policy);
  const last = await db.event.findFirst({ orderBy: { id: 'desc' }, select: { id: true } });
  return db.webhookEndpoint.create({
    data: { url: p.url, eventTypes: [...new Set(p.eventTypes ?? [])], secret: newSecret(), lastEventId: last?.id ?? 0n } as never,
  });
}

async function requireEndpoint(db: ScopedDb, id: string) {
  const e = isUuid(id) ? await db.webhookEndpoint.findUnique({ where: { id } }) : null;
  if (!e) throw new NotFoundError('Webhook endpoint', ['input', 'id']);
  return e;
}

export async function updateEndpoint(db: ScopedDb, id: string, input: z.input<typeof updateSchema>, policy: TargetPolicy) {
  const p = parseInput(updateSchema, input, ['input']);
  if (p.url != null) await checkTarget(p.url, policy);
  await requireEndpoint(db, id);
  const data: Record<string, unknown> = {};
  if (p.url != null) data.url = p.url;
  if (p.eventTypes != null) data.eventTypes = [...new Set(p.eventTypes)];
  if (p.active != null) {
    data.active = p.active;
    data.disabledAt = p.active ? null : new Date();
  }
  return db.webhookEndpoint.update({ where: { id }, data });
}

export async function rotateSecret(db: ScopedDb, id: string) {
  await requireEndpoint(db, id);
  return db.webhookEndpoint.update({ where: { id }, data: { secret: newSecret() } });
}

export async function deleteEndpoint(db: ScopedDb, id: string): Promise<string> {
  await requireEndpoint(db, id);
  await db.webhookEndpoint.delete({ where: { id } });
  return id;
}

/** Queues a delivery again now (also after it FAILED); the attempt count continues. */
export async function redeliver(db: ScopedDb, deliveryId: string) {
  const d = isUuid(deliveryId) ? await db.webhookDelivery.findUnique({ where: { id: deliveryId } }) : null;
  if (!d) throw new NotFoundError('Webhook delivery', ['input', 'id']);
  return db.webhookDelivery.update({ where: { id: d.id }, data: { status: 'PENDING', nextAttemptAt: new Date() } });
}
