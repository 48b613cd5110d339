import { z } from 'zod';
import type { ShopBound } from '../../db/shop-bound.ts';
import { forShop, type ScopedDb, type ScopedTx } from '../../db/tenant.ts';
import { NotFoundError, ValidationError } from '../../errors.ts';
import { Prisma, type PrismaClient } from '../../generated/prisma/client.ts';
import * as E from '../../generated/prisma/enums.ts';
import type { Logger } from '../../logger.ts';
import { periodic } from '../../periodic.ts';
import { parseInput } from '../common/validate.ts';
import { byCustomerBigId, type ExportSection } from '../customers/customer.export.ts';
import { type EraseStep, findCustomerBy, getCustomer, type MergeStep } from '../customers/customer.service.ts';

/**
 * Storefront behaviour events (docs/behaviour.md): what anonymous visitors do before (and after)
 * they become known. Telemetry, not records: written in batches with one multi-row INSERT, no audit
 * row trigger on the table (the trackEvents call itself gets its one MUTATION audit entry), never
 * updated except to stitch a visitor to a customer, deleted by retention.
 *
 * Limits (rejecting means the whole batch is refused with VALIDATION_FAILED, nothing is written):
 * - at most MAX_BATCH events per call;
 * - visitorId / sessionId: UUIDs (the SDK makes them);
 * - occurredAt: more than MAX_FUTURE_MS ahead of the server clock is clamped to the receive time
 *   (client clock skew); older than MAX_AGE_MS is rejected; default: the receive time;
 * - free text (url, referrer, searchQuery, utm*) is truncated to its limit; identifiers (sku) over
 *   their limit are rejected;
 * - properties: a flat-ish JSON object of at most PROPERTIES_LIMITS.keys keys and .bytes bytes.
 */
export const MAX_BATCH = 100;
export const MAX_FUTURE_MS = 5 * 60_000;
export const MAX_AGE_MS = 7 * 86_400_000;
export const TEXT_LIMITS = { url: 2000, referrer: 2000, searchQuery: 200, utm: 200 } as const;
export const SKU_MAX = 100;
export const PROPERTIES_LIMITS = { keys: 20, bytes: 2000 };
export const MAX_DURATION_MS = 86_400_000;

export type BehaviourEventType = (typeof E.BehaviourEventType)[keyof typeof E.BehaviourEventType];

const clip = (n: number) =>
  z
    .string()
    .transform((s) => s.trim().slice(0, n))
    .nullish();

const eventSchema = z
  .object({
    type: z.enum(E.BehaviourEventType),
    visitorId: z.uuid('A visitor id is a UUID'),
    sessionId: z.uuid('A session id is a UUID').nullish(),
    occurredAt: z.coerce.date().nullish(),
    url: clip(TEXT_LIMITS.url),
    referrer: clip(TEXT_LIMITS.referrer),
    sku: z.string().trim().min(1).max(SKU_MAX, `At most ${SKU_MAX} characters`).nullish(),
    searchQuery: clip(TEXT_LIMITS.searchQuery),
    durationMs: z.number().int().min(0).max(MAX_DURATION_MS, 'At most one day').nullish(),
    utmSource: clip(TEXT_LIMITS.utm),
    utmMedium: clip(TEXT_LIMITS.utm),
    utmCampaign: clip(TEXT_LIMITS.utm),
    properties: z
      .record(z.string(), z.unknown())
      .refine((o) => Object.keys(o).length <= PROPERTIES_LIMITS.keys, `At most ${PROPERTIES_LIMITS.keys} keys`)
      .refine((o) => Buffer.byteLength(JSON.stringify(o)) <= PROPERTIES_LIMITS.bytes, `At most ${PROPERTIES_LIMITS.bytes} bytes`)
      .nullish(),
  })
  .superRefine((e, ctx) => {
    if ((e.type === 'PRODUCT_VIEWED' || e.type === 'ADDED_TO_CART') && !e.sku) {
      ctx.addIssue({ code: 'custom', path: ['sku'], message: `${e.type} needs the sku` });
    }
    if (e.type === 'SEARCHED' && !e.searchQuery)
      ctx.addIssue({ code: 'custom', path: ['searchQuery'], message: 'SEARCHED needs the searchQuery' });
  });

export type BehaviourEventInput = z.input<typeof eventSchema>;
type ParsedEvent = z.output<typeof eventSchema>;

/** Validates a batch (limits above) and fixes each event's time. Throws ValidationError; nothing is written. */
export function parseBatch(events: unknown, path: string[], now = new Date()): (ParsedEvent & { occurredAt: Date })[] {
  if (!Array.isArray(events)) throw ValidationError.field(path, 'A list of events');
  if (events.length === 0) throw ValidationError.field(path, 'At least one event');
  if (events.length > MAX_BATCH) throw ValidationError.field(path, `At most ${MAX_BATCH} events per call`, 'too_big');
  const parsed = parseInput(z.array(eventSchema), events, path);
  return parsed.map((e, i) => {
    let at = e.occurredAt ?? now;
    if (Number.isNaN(at.getTime())) throw ValidationError.field([...path, String(i), 'occurredAt'], 'Not a date');
    if (at.getTime() > now.getTime() + MAX_FUTURE_MS) at = now;
    if (at.getTime() < now.getTime() - MAX_AGE_MS) {
      throw ValidationError.field([...path, String(i), 'occurredAt'], 'Older than 7 days: too late to record');
    }
    return { ...e, occurredAt: at };
  });
}

/** Events per visitor in a batch (the rate limiter charges each visitor its count). */
export function countByVisitor(events: { visitorId: string }[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of events) m.set(e.visitorId, (m.get(e.visitorId) ?? 0) + 1);
  return m;
}

/** How a visitor was identified: lead form, customer token, email/phone match, or a backend naming the customer. */
export type IdentifiedVia = 'LEAD' | 'TOKEN' | 'EMAIL' | 'API';

/**
 * Records a batch with ONE statement (db/tenant-sql.ts `tenantWriteStatement`; atomic by itself,
 * no transaction round trips): the events are inserted from one JSON parameter, each with the
 * customer of its visitor read in the same statement (`crm_visitor_customer`: under the visitor's
 * stitch lock, with a fresh snapshot; migration visitor_stitch_lock), so an event is the customer's
 * whenever its batch and a stitch of its visitor overlap, in either order. With a customer token (`tokenCustomerId`) the events
 * are the token customer's (a merged one's survivor; an erased one's token is ignored) and the
 * visitors not yet linked to it are stitched in the same statement (identity upserted with via
 * TOKEN, their earlier anonymous events given to the customer). With `audit` the call's MUTATION
 * entry is written by the same statement too. Returns the number of events written.
 *
 * Hand-written SQL rather than Prisma's createMany: per call that cost a query compilation of 20
 * rows, an identity read, the audit context's transaction and a separate audit entry
 * (bench/README.md "Behaviour events").
 */
export async function recordEvents(
  shop: Pick<ShopBound, 'write'>,
  events: ReturnType<typeof parseBatch>,
  opts: { tokenCustomerId?: string | null; audit?: (shop: Prisma.Sql) => Prisma.Sql } = {},
): Promise<number> {
  // Key order and names match the record type below; missing keys are NULL.
  const rows = JSON.stringify(
    events.map((e, i) => ({
      i,
      visitorId: e.visitorId,
      sessionId: e.sessionId ?? null,
      type: e.type,
      occurredAt: e.occurredAt.toISOString(),
      url: e.url || null,
      referrer: e.referrer || null,
      sku: e.sku ?? null,
      searchQuery: e.searchQuery || null,
      durationMs: e.durationMs ?? null,
      utmSource: e.utmSource || null,
      utmMedium: e.utmMedium || null,
      utmCampaign: e.utmCampaign || null,
      properties: e.properties ?? {},
    })),
  );
  const token = opts.tokenCustomerId ?? null;
  await shop.write(
    (s) => Prisma.sql`
    ev AS (
      SELECT * FROM jsonb_to_recordset(${rows}::jsonb) AS e(
        "i" int, "visitorId" uuid, "sessionId" uuid, "type" "BehaviourEventType", "occurredAt" timestamptz, "url" text,
        "referrer" text, "sku" text, "searchQuery" text, "durationMs" int, "utmSource" text, "utmMedium" text,
        "utmCampaign" text, "properties" jsonb)
    ),
    ${
      token
        ? Prisma.sql`live AS (
      SELECT CASE WHEN c."status" = 'MERGED' AND c."mergedIntoId" IS NOT NULL THEN c."mergedIntoId" ELSE c."id" END AS "id"
      FROM "Customer" c WHERE c."shopId" = ${s} AND c."id" = ${token}::uuid
    ),
    linked AS (
      INSERT INTO "VisitorIdentity" ("shopId", "visitorId", "customerId", "via")
      SELECT ${s}, v."visitorId", live."id", 'TOKEN'
      FROM (SELECT DISTINCT "visitorId" FROM ev) v CROSS JOIN live
      LEFT JOIN "VisitorIdentity" vi ON vi."shopId" = ${s} AND vi."visitorId" = v."visitorId"
      WHERE vi."customerId" IS DISTINCT FROM live."id"
      ORDER BY v."visitorId"
      ON CONFLICT ("shopId", "visitorId") DO UPDATE SET "customerId" = EXCLUDED."customerId", "via" = EXCLUDED."via", "identifiedAt" = now()
      RETURNING "shopId", "visitorId", "customerId"
    ),
    stitched AS (
      SELECT linked."shopId", "crm_stitch_events"(linked."shopId", linked."visitorId", linked."customerId") AS n FROM linked
    ),`
        : Prisma.empty
    }
    ids AS MATERIALIZED (
      SELECT v."visitorId", "crm_visitor_customer"(${s}, v."visitorId") AS "customerId"
      FROM (SELECT DISTINCT "visitorId" FROM ev ORDER BY 1) v
      ${
        // With a live token customer the events are theirs whatever the links say; not reading the
        // links also means never holding a visitor's lock shared before \`linked\` takes it exclusive
        // (two such batches would deadlock upgrading).
        token ? Prisma.sql`WHERE NOT EXISTS (SELECT 1 FROM live)` : Prisma.empty
      }
    ),
    inserted AS (
      INSERT INTO "BehaviourEvent" ("shopId", "visitorId", "sessionId", "customerId", "type", "occurredAt", "url", "referrer", "sku",
        "searchQuery", "durationMs", "utmSource", "utmMedium", "utmCampaign", "properties")
      SELECT ${s}, ev."visitorId", ev."sessionId", ${token ? Prisma.sql`COALESCE((SELECT "id" FROM live), vi."customerId")` : Prisma.sql`vi."customerId"`}, ev."type", ev."occurredAt",
        ev."url", ev."referrer", ev."sku", ev."searchQuery", ev."durationMs", ev."utmSource", ev."utmMedium", ev."utmCampaign",
        COALESCE(ev."properties", '{}'::jsonb)
      FROM ev LEFT JOIN ids vi ON vi."visitorId" = ev."visitorId"
      ORDER BY ev."i"
      RETURNING "shopId"
    ),
    ${opts.audit ? Prisma.sql`audit AS (${opts.audit(s)}),` : Prisma.empty}
    written AS (
      SELECT "shopId" FROM inserted
      ${token ? Prisma.sql`UNION ALL SELECT "shopId" FROM linked UNION ALL SELECT "shopId" FROM stitched` : Prisma.empty}
      ${opts.audit ? Prisma.sql`UNION ALL SELECT "shopId" FROM audit` : Prisma.empty}
    )`,
  );
  return events.length;
}

/**
 * Identity stitching: the visitor is this customer from now on (VisitorIdentity), and the visitor's
 * earlier anonymous events become the customer's (one set-based UPDATE). Events already attributed
 * to someone else (a shared device, an earlier login) keep their customer. Returns how many events
 * were stitched. Writing the identity takes the visitor's stitch lock (a trigger), so batches of
 * the visitor in flight commit before the UPDATE starts, and it sees them.
 */
export async function stitchVisitor(db: ScopedDb | ScopedTx, visitorId: string, customerId: string, via: IdentifiedVia): Promise<number> {
  if (!z.uuid().safeParse(visitorId).success) throw ValidationError.field(['input', 'visitorId'], 'A visitor id is a UUID');
  // An upsert without naming the shop (the scoped client adds it): update, else insert.
  const moved = await db.visitorIdentity.updateMany({ where: { visitorId }, data: { customerId, via, identifiedAt: new Date() } });
  if (!moved.count) await db.visitorIdentity.createMany({ data: [{ visitorId, customerId, via } as never], skipDuplicates: true });
  const r = await db.behaviourEvent.updateMany({ where: { visitorId, customerId: null }, data: { customerId } });
  return r.count;
}

/** Deletes events older than `days` (0 keeps everything) in batches of `batch`; returns how many. */
export async function pruneBehaviour(db: ScopedDb, days: number, now = new Date(), batch = 5000): Promise<number> {
  if (days <= 0) return 0;
  const cutoff = new Date(now.getTime() - days * 86_400_000);
  let n = 0;
  for (;;) {
    const ids = (await db.behaviourEvent.findMany({ where: { occurredAt: { lt: cutoff } }, take: batch, select: { id: true } })).map(
      (r) => r.id,
    );
    if (!ids.length) return n;
    n += (await db.behaviourEvent.deleteMany({ where: { id: { in: ids } } })).count;
    if (ids.length < batch) return n;
  }
}

/**
 * Erasure: the person's events go (those attributed to them by cascade with the customer row; here
 * also every event of the visitors identified as them, anonymous ones included), with the visitor links.
 */
export const eraseBehaviour: EraseStep = async (t, _customerId, erasure) => {
  const links = await t.visitorIdentity.findMany({ where: { customerId: { in: erasure.customerIds } }, select: { visitorId: true } });
  const visitors = links.map((l) => l.visitorId);
  await t.behaviourEvent.deleteMany({
    where: { OR: [{ customerId: { in: erasure.customerIds } }, ...(visitors.length ? [{ visitorId: { in: visitors } }] : [])] },
  });
  await t.visitorIdentity.deleteMany({ where: { customerId: { in: erasure.customerIds } } });
};

/**
 * Merge: the duplicate's events and visitors become the survivor's. The links first, one by one in
 * visitor-id order: each takes its visitor's stitch lock (migration visitor_stitch_lock) in the
 * order every batch takes them, before the events' rollup rows, as a batch does; a batch that
 * waited then reads the survivor.
 */
export const mergeBehaviour: MergeStep = async (t, survivorId, duplicateId) => {
  const links = await t.visitorIdentity.findMany({
    where: { customerId: duplicateId },
    orderBy: { visitorId: 'asc' },
    select: { visitorId: true },
  });
  for (const { visitorId } of links) {
    await t.visitorIdentity.updateMany({ where: { visitorId, customerId: duplicateId }, data: { customerId: survivorId } });
  }
  await t.behaviourEvent.updateMany({ where: { customerId: duplicateId }, data: { customerId: survivorId } });
};

/** Export: the browsers (visitor ids) identified as the person. */
export const VISITOR_EXPORT_SECTION: ExportSection = {
  key: 'visitors',
  tables: ['VisitorIdentity'],
  description: 'The storefront browsers (anonymous visitor ids) identified as the person, when and how (lead form, login, email).',
  load: async (db, scope) =>
    (await db.visitorIdentity.findMany({ where: { customerId: { in: scope.customerIds } }, orderBy: { identifiedAt: 'asc' } })).map(
      ({ shopId: _s, ...v }) => v,
    ),
};

/** Export: every behaviour event attributed to the person. */
export const BEHAVIOUR_EXPORT_SECTION: ExportSection = {
  key: 'behaviour',
  tables: ['BehaviourEvent'],
  description: 'Storefront behaviour (pages and products viewed, searches, carts, checkouts) of the browsers identified as the person.',
  pages: (db, scope, after) =>
    byCustomerBigId(
      (a) => db.behaviourEvent.findMany(a),
      ({ shopId: _s, id, ...e }) => ({ ...e, id: String(id) }),
    )(db, scope, after),
};

/** Deletes every shop's behaviour events older than `retentionDays` (0 = never) every `intervalMs` (0 = never), in batches. */
export function createBehaviourRetentionScheduler(opts: {
  prisma: PrismaClient;
  logger: Logger;
  retentionDays: number;
  intervalMs: number;
}) {
  async function tick(now = new Date()): Promise<number> {
    if (opts.retentionDays <= 0) return 0;
    let total = 0;
    for (const { id } of await opts.prisma.shop.findMany({ select: { id: true } })) {
      try {
        total += await pruneBehaviour(forShop(opts.prisma, id), opts.retentionDays, now);
      } catch (err) {
        opts.logger.error('behaviour retention pass failed', { shopId: id, error: String(err) });
      }
    }
    if (total) opts.logger.info('behaviour retention', { events: total });
    return total;
  }
  return {
    tick,
    ...periodic({ name: 'behaviour-retention', intervalMs: opts.retentionDays > 0 ? opts.intervalMs : 0, logger: opts.logger }, () =>
      tick(),
    ),
  };
}

/**
 * A backend identifies a visitor (secret key): by the customer's id, or by email (a checkout, a
 * newsletter sign-up handled server-side). Returns the customer and how many earlier events were
 * stitched. Unknown customer or email: NotFoundError (nothing is created).
 */
export async function identifyVisitor(
  db: ScopedDb,
  input: { visitorId: string; customerId?: string | null; email?: string | null },
): Promise<{ customerId: string; stitched: number }> {
  if (!z.uuid().safeParse(input.visitorId).success) throw ValidationError.field(['input', 'visitorId'], 'A visitor id is a UUID');
  if (!input.customerId === !input.email) throw ValidationError.field(['input', 'customerId'], 'Give exactly one of customerId, email');
  const c = input.customerId ? await getCustomer(db, input.customerId, true) : await findCustomerBy(db, { email: input.email ?? '' });
  if (!c || c.status === 'MERGED') throw new NotFoundError('Customer', ['input', input.customerId ? 'customerId' : 'email']);
  const stitched = await stitchVisitor(db, input.visitorId, c.id, input.customerId ? 'API' : 'EMAIL');
  return { customerId: c.id, stitched };
}
