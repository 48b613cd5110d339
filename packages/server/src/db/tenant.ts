import type { PrismaClient } from '../generated/prisma/client.ts';

/**
 * Tenant scoping: the one mechanism every module's data access goes through.
 *
 * `forShop(prisma, shopId)` returns a client on which every operation on a tenant-owned model is
 * confined to that shop: reads, updates and deletes get `shopId` added to their `where`, creates get
 * it set on their data (a different shopId in the data is rejected). The Shop model itself is
 * confined to the shop's own row. Raw SQL is not available on the scoped client (`$queryRaw` and
 * friends throw), so nothing in a module can bypass the scope by accident.
 */
const TENANT_MODELS = new Set([
  'ApiKey',
  'StaffUser',
  'Customer',
  'Tag',
  'CustomerTag',
  'Consent',
  'ConsentChange',
  'StageTransition',
  'CustomerMerge',
  'Interaction',
  'Order',
  'OrderItem',
  'IdempotencyKey',
  'WebhookEndpoint',
  'WebhookDelivery',
  'Event',
  'FollowUp',
  'FollowUpDoubt',
  'LeadAssignment',
  'Segment',
  'SegmentMember',
  'CustomerMetrics',
  'LoyaltyState',
  'PointsAccount',
  'PointsMovement',
  'TierChange',
  'LeadLoss',
  'ExchangeRate',
  'AuditEntry',
  'ImportJob',
  'ImportChunk',
  'ImportRejection',
  'BehaviourEvent',
  'BehaviourDay',
  'VisitorIdentity',
  'Holiday',
]);

const WHERE_OPS = new Set([
  'findUnique',
  'findUniqueOrThrow',
  'findFirst',
  'findFirstOrThrow',
  'findMany',
  'count',
  'aggregate',
  'groupBy',
  'update',
  'updateMany',
  'updateManyAndReturn',
  'delete',
  'deleteMany',
]);

export class TenantScopeError extends Error {}

function scopeData(data: unknown, shopId: string): unknown {
  if (Array.isArray(data)) return data.map((d) => scopeData(d, shopId));
  if (data && typeof data === 'object') {
    const d = data as Record<string, unknown>;
    if ('shopId' in d && d.shopId !== shopId) throw new TenantScopeError('Cross-tenant write refused');
    if ('shop' in d) throw new TenantScopeError('Set shopId through the scoped client only');
    return { ...d, shopId };
  }
  return data;
}

export function scopeArgs(model: string, operation: string, args: Record<string, unknown>, shopId: string) {
  if (model === 'Shop') {
    if (operation.startsWith('create') || operation === 'upsert' || operation.startsWith('delete')) {
      throw new TenantScopeError(`Shop.${operation} is not allowed on a tenant-scoped client`);
    }
    return { ...args, where: { ...(args.where as object), id: shopId } };
  }
  if (!TENANT_MODELS.has(model)) throw new TenantScopeError(`Model ${model} is not tenant-scoped`);
  const out: Record<string, unknown> = { ...args };
  if (WHERE_OPS.has(operation) || operation === 'upsert') {
    out.where = { ...(args.where as object), shopId };
  }
  if (operation === 'create' || operation === 'createMany' || operation === 'createManyAndReturn') {
    out.data = scopeData(args.data, shopId);
  }
  if (operation === 'upsert') out.create = scopeData(args.create, shopId);
  if ((operation === 'update' || operation === 'updateMany' || operation === 'upsert') && args.data) {
    const d = (operation === 'upsert' ? args.update : args.data) as Record<string, unknown>;
    if (d && 'shopId' in d && d.shopId !== shopId) throw new TenantScopeError('Cross-tenant write refused');
  }
  return out;
}

function makeScoped(prisma: PrismaClient, shopId: string) {
  return prisma.$extends({
    name: 'tenant-scope',
    query: {
      $allModels: {
        $allOperations({ model, operation, args, query }) {
          return query(scopeArgs(model, operation, (args ?? {}) as Record<string, unknown>, shopId) as typeof args);
        },
      },
      $queryRaw: () => {
        throw new TenantScopeError('Raw SQL is not available on a tenant-scoped client');
      },
      $executeRaw: () => {
        throw new TenantScopeError('Raw SQL is not available on a tenant-scoped client');
      },
      $queryRawUnsafe: () => {
        throw new TenantScopeError('Raw SQL is not available on a tenant-scoped client');
      },
      $executeRawUnsafe: () => {
        throw new TenantScopeError('Raw SQL is not available on a tenant-scoped client');
      },
    },
  });
}

export type ScopedDb = ReturnType<typeof makeScoped>;
/** An interactive-transaction client of a scoped db (still scoped). */
export type ScopedTx = Parameters<Parameters<ScopedDb['$transaction']>[0]>[0];

/** Transaction clients opened by inTransaction (a tx client also has `$transaction`: savepoints, which PGlite lacks). */
const openTransactions = new WeakSet<object>();

/**
 * Runs `fn` in a transaction of `db`, or directly when `db` is a transaction inTransaction opened:
 * services compose into one caller's transaction, e.g. captureLead's customer, interaction and
 * events commit or roll back together.
 */
export function inTransaction<T>(
  db: ScopedDb | ScopedTx,
  fn: (t: ScopedTx) => Promise<T>,
  opts?: { maxWait?: number; timeout?: number },
): Promise<T> {
  if (openTransactions.has(db)) return fn(db as ScopedTx);
  return (db as ScopedDb).$transaction((t) => {
    openTransactions.add(t);
    return fn(t);
  }, opts);
}

/** True for a transaction client opened by inTransaction / inSavepoint (services compose into it). */
export const isOpenTransaction = (db: ScopedDb | ScopedTx) => openTransactions.has(db);

/**
 * Runs `fn` in a savepoint of the open transaction `t` (Prisma's nested transaction): when `fn`
 * throws, only its writes are rolled back and `t` goes on. Services called with the savepoint's
 * client compose into it (inTransaction). Used by batch mutations, one savepoint per item.
 */
export function inSavepoint<T>(t: ScopedTx, fn: (sp: ScopedTx) => Promise<T>): Promise<T> {
  return (t as unknown as ScopedDb).$transaction((sp) => {
    openTransactions.add(sp);
    return fn(sp);
  });
}

const cache = new WeakMap<PrismaClient, Map<string, ScopedDb>>();

export function forShop(prisma: PrismaClient, shopId: string): ScopedDb {
  let perClient = cache.get(prisma);
  if (!perClient) {
    perClient = new Map();
    cache.set(prisma, perClient);
  }
  let scoped = perClient.get(shopId);
  if (!scoped) {
    scoped = makeScoped(prisma, shopId);
    if (perClient.size > 1000) perClient.clear();
    perClient.set(shopId, scoped);
  }
  return scoped;
}
