import type { ScopedDb, ScopedTx } from '../../db/tenant.ts';
import { NotFoundError } from '../../errors.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import { emitEvents, gid } from '../events/event.service.ts';
import { lockForMerge } from './customer.merge.ts';
import { getCustomer, tx } from './customer.service.ts';

/**
 * Erasure of a customer (right to erasure): every copy of their personal data, the registered
 * erase steps of other modules (modules/registry.ts), and the redaction helpers. Split from
 * customer.service.ts by role; customer.service.ts re-exports it.
 */
/**
 * What an erasure covers, handed to every erase step: the customer, the tombstones of everyone
 * merged into it (their former profiles are its data too), and the identifying strings of all of
 * them (current profile, tombstones and merge snapshots) for redacting free-form copies.
 */
export type Erasure = {
  /** The erased customer's id. */
  customerId: string;
  /** The customer's id and the ids of the tombstones merged into it. */
  customerIds: string[];
  /** Emails, phones, names, external ids, notes... of all of them (non-empty strings, 3+ characters). */
  identifiers: string[];
};

/** Keys of a customer row (or merge snapshot) holding strings that identify the person. */
const IDENTIFYING = [
  'email',
  'phone',
  'externalId',
  'firstName',
  'lastName',
  'company',
  'addressLine',
  'householdNotes',
  'sourceReferrerContact',
  'sourceReferrerName',
  'personality',
  'stylePreferences',
  'purchasePurpose',
] as const;

function identifiersOf(rows: Record<string, unknown>[]): string[] {
  const out = new Set<string>();
  const add = (v: unknown) => {
    if (typeof v === 'string' && v.trim().length >= 3) out.add(v.trim());
  };
  for (const r of rows) {
    for (const k of IDENTIFYING) add(r[k]);
    for (const k of ['otherEmails', 'otherPhones'] as const) if (Array.isArray(r[k])) (r[k] as unknown[]).forEach(add);
    if (Array.isArray(r.imHandles)) for (const h of r.imHandles as { handle?: unknown }[]) add(h?.handle);
    const first = typeof r.firstName === 'string' ? r.firstName : null;
    const last = typeof r.lastName === 'string' ? r.lastName : null;
    if (first && last) add(`${first} ${last}`);
  }
  return [...out];
}

/**
 * Replaces, in a JSON value, every string that contains one of `needles` (case-insensitive) by
 * "[redacted]"; numbers, booleans and other strings (ids, amounts, codes) stay. Irreversible.
 */
export function redactJson(value: unknown, needles: string[]): { value: unknown; changed: boolean } {
  const lower = needles.map((n) => n.toLowerCase());
  let changed = false;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const l = v.toLowerCase();
      if (lower.some((n) => l.includes(n))) {
        changed = true;
        return '[redacted]';
      }
      return v;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  const out = walk(value);
  return { value: out, changed };
}

const ERASE_BATCH = 500;

/**
 * Merges and erasures wait for each other's row locks (`lockForMerge`): a burst of them on the same
 * customers queues, so they get more than Prisma's default 2 s to obtain a connection and 5 s to run.
 */
export const LOCKING_TX = { maxWait: 10_000, timeout: 30_000 };

/**
 * Erases a customer (right to erasure) and every copy of their personal data; returns the erased
 * id. In one transaction, with the customer row locked (no merge into it can slip in): the
 * registered erase steps run (see `registerEraseStep`), then the customer's own copies go: merge
 * snapshots of everyone merged into it (and of its own merge, were it a tombstone), the tombstones,
 * event payloads and webhook delivery bodies (strings naming them redacted, ids and amounts kept),
 * idempotency results naming them (deleted: a retry would otherwise replay their data), and the
 * customer row with everything attached by cascade. Emits CUSTOMER_DELETED and CUSTOMER_REDACTED
 * (ids only).
 */
export async function deleteCustomer(db: ScopedDb, id: string): Promise<string> {
  return tx(
    db,
    async (t) => {
      const c = await getCustomer(t, id);
      if (!c) throw new NotFoundError('Customer', ['input', 'id']);
      await lockForMerge(t, [c.id]);
      const tombstones = await t.customer.findMany({ where: { mergedIntoId: c.id } });
      const customerIds = [c.id, ...tombstones.map((x) => x.id)];
      const merges = await t.customerMerge.findMany({
        where: { OR: [{ survivorId: { in: customerIds } }, { mergedId: { in: customerIds } }] },
      });
      const identifiers = identifiersOf([c, ...tombstones, ...merges.map((m) => m.snapshot as Record<string, unknown>)]);
      const erasure: Erasure = { customerId: c.id, customerIds, identifiers };
      for (const step of eraseSteps) await step(t, c.id, erasure);
      await t.customerMerge.deleteMany({ where: { id: { in: merges.map((m) => m.id) } } });
      await redactEventCopies(t, erasure);
      await t.customer.deleteMany({ where: { id: { in: tombstones.map((x) => x.id) } } });
      await t.customer.delete({ where: { id: c.id } });
      const customerGid = gid('Customer', c.id);
      await emitEvents(t, [
        { type: 'CUSTOMER_DELETED', customerId: c.id, payload: { customerId: customerGid } },
        {
          type: 'CUSTOMER_REDACTED',
          customerId: c.id,
          payload: { customerId: customerGid, mergedCustomerIds: tombstones.map((x) => gid('Customer', x.id)) },
        },
      ]);
      return c.id;
    },
    LOCKING_TX,
  );
}

/** Event payloads, webhook delivery bodies and idempotency results that name the erased people. */
async function redactEventCopies(t: ScopedTx, e: Erasure) {
  const needles = [...e.identifiers, ...e.customerIds, ...e.customerIds.map((x) => gid('Customer', x))];
  const personal = e.identifiers;
  // Events about them: ids and facts stay (subscribers may still need to drop what they mirror).
  const events = await t.event.findMany({ where: { customerId: { in: e.customerIds } }, select: { id: true, payload: true } });
  for (const ev of events) {
    const r = redactJson(ev.payload, personal);
    if (r.changed) await t.event.update({ where: { id: ev.id }, data: { payload: r.value as never } });
  }
  // Webhook bodies: copies of the event rows (any event, in case a payload names them without customerId).
  let cursor: string | undefined;
  for (;;) {
    const rows: { id: string; payload: unknown }[] = await t.webhookDelivery.findMany({
      select: { id: true, payload: true, eventId: true },
      orderBy: { id: 'asc' },
      take: ERASE_BATCH,
      ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}),
    });
    for (const d of rows) {
      const r = redactJson(d.payload, personal);
      if (r.changed) await t.webhookDelivery.update({ where: { id: d.id }, data: { payload: r.value as never } });
    }
    if (rows.length < ERASE_BATCH) break;
    cursor = rows[rows.length - 1]?.id;
  }
  // Idempotency results hold the first request's answer; one naming them goes with them.
  cursor = undefined;
  for (;;) {
    const rows: { id: string; result: unknown }[] = await t.idempotencyKey.findMany({
      where: { result: { not: Prisma.AnyNull } },
      select: { id: true, result: true },
      orderBy: { id: 'asc' },
      take: ERASE_BATCH,
      ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}),
    });
    const gone = rows.filter((r) => redactJson(r.result, needles).changed).map((r) => r.id);
    if (gone.length) await t.idempotencyKey.deleteMany({ where: { id: { in: gone } } });
    if (rows.length < ERASE_BATCH) break;
    cursor = rows[rows.length - 1]?.id;
  }
}

/**
 * Steps other modules add to an erasure, run in its transaction before the customer's own copies
 * and rows go (the customer row, and by cascade everything with a foreign key to it, last): e.g.
 * segments write SEGMENT_LEFT for the memberships; a module keeping personal data WITHOUT a foreign
 * key to Customer (an audit log, an export in progress) removes or redacts it here, using
 * `erasure.customerIds` (the customer and the tombstones merged into it) and
 * `erasure.identifiers` (their emails, phones, names, ...) with `redactJson`.
 */
export type EraseStep = (tx: ScopedTx, customerId: string, erasure: Erasure) => Promise<void>;
const eraseSteps: EraseStep[] = [];
export function registerEraseStep(step: EraseStep) {
  eraseSteps.push(step);
}
