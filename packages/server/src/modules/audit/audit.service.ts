import { decodeGlobalID } from '@pothos/plugin-relay';
import type { GraphQLFieldResolver, GraphQLSchema } from 'graphql';
import type { Context, Viewer } from '../../context.ts';
import { type AuditActorKind, type AuditContext, withAudit } from '../../db/audit-context.ts';
import { forShop, type ScopedDb, type ScopedTx } from '../../db/tenant.ts';
import { AppError, ValidationError } from '../../errors.ts';
import { Prisma, type PrismaClient } from '../../generated/prisma/client.ts';
import type { Logger } from '../../logger.ts';
import { periodic } from '../../periodic.ts';
import { isUuid } from '../customers/customer.service.ts';

/**
 * The audit log (docs/audit.md). Two kinds of entries, both with the actor and the operation:
 * - one MUTATION entry per mutation call (also when it changed nothing or failed: `outcome`), with
 *   the entity its input names (no input values);
 * - one INSERT / UPDATE / DELETE entry per changed row of the audited tables, with the changed
 *   fields old -> new, written by the row trigger `crm_audit_row` in the same transaction as the
 *   change (the actor reaches the trigger through db/audit-context.ts).
 */

export function auditActorOf(viewer: Viewer): Omit<AuditContext, 'op'> | null {
  switch (viewer.kind) {
    case 'secret':
      return viewer.staff ? { kind: 'STAFF', key: viewer.keyId, staff: viewer.staff.id } : { kind: 'API_KEY', key: viewer.keyId };
    case 'publishable':
      return viewer.customerId
        ? { kind: 'CUSTOMER', key: viewer.keyId, customer: viewer.customerId }
        : { kind: 'PUBLISHABLE_KEY', key: viewer.keyId };
    default:
      return null;
  }
}

/** The system job's context (periodic passes). */
export const systemAudit = (job: string): AuditContext => ({ kind: 'SYSTEM', job, op: job });

const ENTITY_ARGS = ['id', 'customerId', 'survivorId', 'orderId', 'interactionId', 'followUpId', 'segmentId', 'endpointId'];

/** The entity a mutation's arguments name (a global id in args or args.input), if any. */
function entityOf(args: Record<string, unknown>): { type: string; id: string } | null {
  const input = (args.input && typeof args.input === 'object' ? args.input : {}) as Record<string, unknown>;
  for (const k of ENTITY_ARGS) {
    for (const v of [args[k], input[k]]) {
      // Pothos globalID args arrive decoded ({ typename, id }); plain ID args as strings.
      if (v && typeof v === 'object' && 'typename' in v && 'id' in v) {
        const g = v as { typename: string; id: string };
        return { type: g.typename, id: String(g.id) };
      }
      if (typeof v === 'string') {
        try {
          const g = decodeGlobalID(v);
          if (g.typename && g.id) return { type: g.typename, id: g.id };
        } catch {
          /* not a global id */
        }
      }
    }
  }
  return null;
}

function outcomeOf(result: unknown): string {
  // The errors plugin returns expected errors as proxies of the AppError (instanceof does not see
  // through them): recognise them by their fields.
  if (result && typeof result === 'object' && 'inputPath' in result && typeof (result as AppError).code === 'string') {
    return (result as AppError).code;
  }
  if (result instanceof Error) return 'ERROR';
  return 'OK';
}

/** The MUTATION entry of one call: the actor, the operation, the entity its arguments name, the outcome. */
function mutationEntry(a: AuditContext, args: Record<string, unknown>, outcome: string) {
  const entity = entityOf(args);
  return {
    actorKind: a.kind,
    actorKeyId: a.key ?? null,
    actorStaffId: a.staff ?? null,
    actorCustomerId: a.customer ?? null,
    actorJob: a.job ?? null,
    operation: a.op,
    action: 'MUTATION',
    entityType: entity?.type ?? 'Mutation',
    entityId: entity?.id ?? null,
    fields: Object.keys((args.input && typeof args.input === 'object' ? args.input : args) as object).sort(),
    outcome,
    customerId: entity?.type === 'Customer' && isUuid(entity.id) ? entity.id : null,
  };
}

async function writeMutationEntry(db: ScopedDb, a: AuditContext, args: Record<string, unknown>, outcome: string): Promise<void> {
  await db.auditEntry.create({ data: mutationEntry(a, args, outcome) as never });
}

/**
 * The call's MUTATION entry (outcome OK) as an `INSERT … RETURNING "shopId"` to run as a CTE of the
 * mutation's own write statement (db/tenant-sql.ts `tenantWriteStatement`): entry and change commit
 * together in one round trip. The caller marks the context `entryWritten` once the statement
 * succeeded; should it fail, the wrapper below writes the entry with the error instead.
 */
export function mutationEntryInsert(a: AuditContext, args: Record<string, unknown>, shop: Prisma.Sql): Prisma.Sql {
  const e = mutationEntry(a, args, 'OK');
  return Prisma.sql`INSERT INTO "AuditEntry" ("shopId", "actorKind", "actorKeyId", "actorStaffId", "actorCustomerId", "actorJob",
      "operation", "action", "entityType", "entityId", "fields", "outcome", "customerId")
    VALUES (${shop}, ${e.actorKind}::"AuditActorKind", ${e.actorKeyId}::uuid, ${e.actorStaffId}::uuid, ${e.actorCustomerId}::uuid,
      ${e.actorJob}, ${e.operation}, ${e.action}, ${e.entityType}, ${e.entityId}, ${e.fields}::text[], ${e.outcome}, ${e.customerId}::uuid)
    RETURNING "shopId"`;
}

/**
 * Wraps every Mutation field's resolver: the call runs in its audit context (so each transaction it
 * opens carries the actor and operation to the row trigger) and then writes its MUTATION entry.
 * Applied once to the built schema, so a new mutation is audited without doing anything.
 */
export function auditMutations(schema: GraphQLSchema): GraphQLSchema {
  const fields = schema.getMutationType()?.getFields() ?? {};
  for (const field of Object.values(fields)) {
    const resolve = field.resolve as GraphQLFieldResolver<unknown, Context> | undefined;
    if (!resolve) continue;
    field.resolve = async (source, args, ctx, info) => {
      const actor = auditActorOf(ctx.viewer);
      if (!actor || ctx.viewer.kind === 'anonymous') return resolve(source, args, ctx, info);
      const a: AuditContext = { ...actor, op: info.fieldName };
      let outcome = 'ERROR';
      try {
        // Awaited inside the context: a Prisma query returned unawaited would run when awaited.
        const result = await withAudit(a, async () => await resolve(source, args, ctx, info));
        outcome = outcomeOf(result);
        return result;
      } catch (err) {
        outcome = err instanceof AppError ? err.code : 'ERROR';
        throw err;
      } finally {
        if (!a.entryWritten)
          await writeMutationEntry(ctx.db, a, args, outcome).catch((err) =>
            ctx.services.logger.error('audit entry failed', { operation: a.op, error: String(err) }),
          );
      }
    };
  }
  return schema;
}

// ---------------------------------------------------------------------------------------------
// Reading

export type AuditFilter = {
  action?: string | null;
  entityType?: string | null;
  entityId?: string | null;
  actorKind?: AuditActorKind | null;
  actorId?: string | null;
  operation?: string | null;
  from?: Date | null;
  to?: Date | null;
};

export function auditWhere(f: AuditFilter | null | undefined): Prisma.AuditEntryWhereInput {
  const and: Prisma.AuditEntryWhereInput[] = [];
  if (f?.action) and.push({ action: f.action });
  if (f?.entityType) and.push({ entityType: f.entityType });
  if (f?.entityId) and.push({ entityId: f.entityId });
  if (f?.actorKind) and.push({ actorKind: f.actorKind });
  if (f?.actorId) {
    if (!isUuid(f.actorId)) throw ValidationError.field(['filter', 'actor', 'id'], 'Not an actor id');
    and.push({ OR: [{ actorKeyId: f.actorId }, { actorStaffId: f.actorId }, { actorCustomerId: f.actorId }] });
  }
  if (f?.operation) and.push({ operation: f.operation });
  if (f?.from) and.push({ at: { gte: f.from } });
  if (f?.to) and.push({ at: { lt: f.to } });
  if (f?.from && f?.to && f.from >= f.to) throw ValidationError.field(['filter', 'to'], 'Must be after from');
  return { AND: and };
}

// ---------------------------------------------------------------------------------------------
// Retention and erasure

const DAY = 86_400_000;
const BATCH = 1000;

/** Deletes a shop's audit entries older than `days` (0 keeps everything), in batches. */
export async function pruneAudit(db: ScopedDb, days: number, now = new Date()): Promise<number> {
  if (days <= 0) return 0;
  const cutoff = new Date(now.getTime() - days * DAY);
  let n = 0;
  for (;;) {
    const ids = (await db.auditEntry.findMany({ where: { at: { lt: cutoff } }, take: BATCH, select: { id: true } })).map((r) => r.id);
    if (!ids.length) return n;
    n += (await db.auditEntry.deleteMany({ where: { id: { in: ids } } })).count;
    if (ids.length < BATCH) return n;
  }
}

/**
 * Erasure: the person's values leave the audit log, the entries stay (who did what, when, to which
 * fields). Covers their own rows, rows attached to them, and customers merged into them.
 */
export async function redactAuditFor(t: ScopedTx, customerId: string): Promise<void> {
  // The customers merged into this one (and into those, ...): from the merge records and, should
  // those be gone already, from the audit log's own record of the merges (mergedIntoId changes).
  const ids = new Set([customerId]);
  let frontier = [customerId];
  while (frontier.length && ids.size < 10_000) {
    const merged = await t.customerMerge.findMany({ where: { survivorId: { in: frontier } }, select: { mergedId: true } });
    const viaAudit = await t.auditEntry.findMany({
      where: { entityType: 'Customer', OR: frontier.map((id) => ({ changes: { path: ['mergedIntoId'], array_contains: id } })) },
      select: { entityId: true },
    });
    frontier = [...merged.map((m) => m.mergedId), ...viaAudit.map((e) => e.entityId ?? '')].filter((id) => id && !ids.has(id));
    for (const id of frontier) ids.add(id);
  }
  const all = [...ids];
  await t.auditEntry.updateMany({
    where: { OR: [{ customerId: { in: all } }, { entityType: 'Customer', entityId: { in: all } }] },
    data: { changes: Prisma.DbNull, redacted: true },
  });
}

/** Prunes every shop's audit log every `intervalMs` (0 = never) when `retentionDays` > 0. */
export function createAuditRetentionScheduler(opts: { prisma: PrismaClient; logger: Logger; retentionDays: number; intervalMs: number }) {
  async function tick(now = new Date()): Promise<number> {
    if (opts.retentionDays <= 0) return 0;
    let total = 0;
    for (const { id } of await opts.prisma.shop.findMany({ select: { id: true } })) {
      try {
        total += await pruneAudit(forShop(opts.prisma, id), opts.retentionDays, now);
      } catch (err) {
        opts.logger.error('audit retention pass failed', { shopId: id, error: String(err) });
      }
    }
    if (total) opts.logger.info('audit retention', { entries: total });
    return total;
  }
  return {
    tick,
    ...periodic({ name: 'audit-retention', intervalMs: opts.retentionDays > 0 ? opts.intervalMs : 0, logger: opts.logger }, () => tick()),
  };
}
