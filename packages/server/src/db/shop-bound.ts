import type { PrismaClient } from '../generated/prisma/client.ts';
import type { Database } from './database.ts';
import { eraseShop } from './shop-erasure.ts';
import { forShop, type ScopedDb, type ScopedTx, scopeArgs } from './tenant.ts';
import { type TenantSql, tenantDriverWriteRows, tenantSql, tenantWrite, tenantWriteRows, tenantWriteStatement } from './tenant-sql.ts';

/** The set-based write door of one shop (db/tenant-sql.ts `tenantWrite`): returns the rows written. */
export type TenantWrite = ReturnType<typeof tenantWrite>;

/** One transaction of one shop: the scoped client, raw reads and set-based writes, all on that transaction. */
export type ShopTx = {
  readonly shopId: string;
  readonly db: ScopedTx;
  readonly sql: TenantSql;
  readonly write: TenantWrite;
  /** Set-based writes that return the written rows (db/tenant-sql.ts `tenantWriteRows`). */
  readonly writeRows: ReturnType<typeof tenantWriteRows>;
};

/**
 * Everything a module may do with one shop's data, and nothing more: the scoped client (`db`), raw
 * reads (`sql`), and interactive transactions whose callback gets the same three doors on the
 * transaction (`transaction`). The request context hands one to services that need set-based SQL in
 * a transaction (loyalty, segments); schedulers build one per shop with `shopBound(prisma, shopId)`.
 * The unscoped client never leaves this file.
 */
/** What a `writeTransaction` callback may do: set-based writes that return the rows written. */
export type WriteTx = Pick<ShopTx, 'shopId' | 'writeRows'>;

export type ShopBound = {
  readonly shopId: string;
  readonly db: ScopedDb;
  readonly sql: TenantSql;
  /**
   * One set-based write statement on its own, outside a transaction (db/tenant-sql.ts
   * `tenantWriteStatement`: atomic by itself, the cross-tenant check inside the statement).
   */
  readonly write: TenantWrite;
  transaction<T>(fn: (t: ShopTx) => Promise<T>, opts?: { timeout?: number; maxWait?: number }): Promise<T>;
  /**
   * A transaction of set-based writes that return rows (`writeRows` only), on the driver when the
   * database has one (PostgreSQL: Database.driverTransaction, with the same audit context), else a
   * Prisma transaction: for statements with a large parameter, such as an import batch's JSON.
   */
  writeTransaction<T>(fn: (t: WriteTx) => Promise<T>, opts?: { timeout?: number; maxWait?: number }): Promise<T>;
  /**
   * Refreshes the planner's statistics of tables a bulk write has grown (`ANALYZE`). Without it, a
   * table that grows from empty within minutes (an import into a new database) keeps the plans
   * cached while it was tiny, e.g. a sequential scan for every foreign-key check against it
   * (PostgreSQL caches those per connection until the table's statistics change).
   */
  analyze(tables: readonly AnalyzedTable[]): Promise<void>;
  /** Erases this shop and everything in it (db/shop-erasure.ts): irreversible; callers check the owner's authority. */
  erase(): Promise<{ shopId: string; redactedAt: Date }>;
};

/** The tables `analyze` takes (a fixed list: names reach the SQL text). */
export type AnalyzedTable = 'Customer' | 'Order' | 'Tag' | 'Interaction';
const ANALYZED: readonly AnalyzedTable[] = ['Customer', 'Order', 'Tag', 'Interaction'];

/**
 * A transaction client with the tenant scope applied to every model operation (the same `scopeArgs`
 * as forShop: a transaction client cannot be `$extends`-ed, so the scope is applied by a proxy).
 */
function scopedTx(tx: object, shopId: string): ScopedTx {
  return new Proxy(tx, {
    get(target, prop) {
      const delegate = Reflect.get(target, prop);
      if (typeof prop !== 'string' || prop.startsWith('$') || !delegate || typeof delegate !== 'object') return delegate;
      const model = prop.charAt(0).toUpperCase() + prop.slice(1);
      return new Proxy(delegate, {
        get(d, op) {
          const fn = Reflect.get(d, op);
          if (typeof op !== 'string' || typeof fn !== 'function') return fn;
          return (args?: Record<string, unknown>) => fn.call(d, scopeArgs(model, op, args ?? {}, shopId));
        },
      });
    },
  }) as ScopedTx;
}

export function shopBound(prisma: PrismaClient, shopId: string, database?: Pick<Database, 'driverTransaction'>): ShopBound {
  const onDriver = database?.driverTransaction?.bind(database);
  return {
    shopId,
    db: forShop(prisma, shopId),
    sql: tenantSql(prisma, shopId),
    write: tenantWriteStatement(prisma, shopId),
    transaction: (fn, opts) =>
      prisma.$transaction(
        (tx) =>
          fn({
            shopId,
            db: scopedTx(tx, shopId),
            sql: tenantSql(tx, shopId),
            write: tenantWrite(tx, shopId),
            writeRows: tenantWriteRows(tx, shopId),
          }),
        opts,
      ),
    writeTransaction: (fn, opts) =>
      onDriver
        ? onDriver((query) => fn({ shopId, writeRows: tenantDriverWriteRows(query, shopId) }), opts)
        : prisma.$transaction((tx) => fn({ shopId, writeRows: tenantWriteRows(tx, shopId) }), opts),
    analyze: async (tables) => {
      if (!tables.length || tables.some((t) => !ANALYZED.includes(t))) throw new Error('analyze: unknown table');
      await prisma.$executeRawUnsafe(`ANALYZE ${tables.map((t) => `"${t}"`).join(', ')}`);
    },
    erase: () => eraseShop(prisma, shopId),
  };
}
