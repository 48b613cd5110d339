import { AsyncLocalStorage } from 'node:async_hooks';
import type { SqlDriverAdapter, SqlDriverAdapterFactory, SqlQuery, Transaction } from '@prisma/driver-adapter-utils';

/**
 * Who is changing data, for the audit log (docs/audit.md). A mutation resolver (or a system job)
 * runs inside `withAudit(ctx, fn)`; the driver adapter wrapper below then opens every transaction
 * of that async flow with `set_config('crm.audit', <ctx as JSON>, true)`, so the audit row trigger
 * (`crm_audit_row`, migration 20261127052706_audit_log) writes who/what in the SAME transaction as
 * the change. A write outside an interactive transaction is wrapped in a short one for the same
 * reason. Reads are sent unchanged, and nothing at all happens outside an audit context.
 *
 * Hand-written because it is specific to this product: Prisma has no per-transaction session
 * variables, and the context must reach transactions opened deep inside services.
 */
export type AuditActorKind = 'API_KEY' | 'STAFF' | 'CUSTOMER' | 'PUBLISHABLE_KEY' | 'SYSTEM';

export type AuditContext = {
  kind: AuditActorKind;
  key?: string | null;
  staff?: string | null;
  customer?: string | null;
  job?: string | null;
  /**
   * A bulk import's ImportJob id: the row trigger then records nothing per row; the import writes
   * one IMPORT entry per batch itself (modules/imports/import.sql.ts).
   */
  bulk?: string | null;
  /** The GraphQL mutation (or job) name; mutable: serial mutation fields update it. */
  op: string;
  /**
   * Set by a mutation that wrote its own MUTATION entry in the statement of its write (trackEvents:
   * modules/behaviour); the mutation wrapper (modules/audit) then writes none.
   */
  entryWritten?: boolean;
};

const storage = new AsyncLocalStorage<AuditContext>();

export function withAudit<T>(ctx: AuditContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

export function currentAudit(): AuditContext | undefined {
  return storage.getStore();
}

/**
 * Runs `fn` outside any audit context: its writes go to the database as they are, without the
 * BEGIN / set_config / COMMIT wrapping below. Only for a single statement that changes no audited
 * table (no row trigger reads the context) and records its own MUTATION entry (trackEvents).
 */
export function outsideAuditContext<T>(fn: () => T): T {
  return storage.exit(fn);
}

// Only string literals reach SQL: the JSON of ids and names, quoted (standard_conforming_strings).
// A bulk import's transactions also commit without waiting for the WAL flush (synchronous_commit
// off, for that transaction only): a crash can lose the last batches committed, never half of one,
// and a re-run of the import is safe (docs/import.md); it saves a disk flush per batch. They set
// crm.audit_rows off too: the audit row trigger's WHEN (migration 20261128160000_audit_trigger_when)
// then does not even queue it for their rows (the import writes one IMPORT entry per batch).
const BULK = ", set_config('synchronous_commit', 'off', true), set_config('crm.audit_rows', 'off', true)";
const setConfig = (ctx: AuditContext): SqlQuery => ({
  sql: `SELECT set_config('crm.audit', '${JSON.stringify(ctx).replaceAll("'", "''")}', true)${ctx.bulk ? BULK : ''}`,
  args: [],
  argTypes: [],
});

/** The statement that opens a transaction of the current audit context (none outside one): for transactions on the driver. */
export function auditConfigStatement(): string | null {
  const ctx = storage.getStore();
  return ctx ? setConfig(ctx).sql : null;
}

const WRITE = /^\s*(INSERT|UPDATE|DELETE|MERGE|WITH)\b/i;
const plain = (sql: string): SqlQuery => ({ sql, args: [], argTypes: [] });

async function end(tx: Transaction, ok: boolean) {
  // pg's adapter leaves COMMIT/ROLLBACK to the caller (no phantom query); PGlite's does them itself.
  if (!tx.options.usePhantomQuery) await tx.executeRaw(plain(ok ? 'COMMIT' : 'ROLLBACK'));
  await (ok ? tx.commit() : tx.rollback());
}

const SAVEPOINT_NAME = /^[a-z_][a-z0-9_]*$/i;

/**
 * Savepoints (Prisma's nested `$transaction` on a transaction client; batch mutations run each item
 * in one): the statements pg's adapter sends, also for PGlite's adapter, which has none. RELEASE is
 * not sent: releasing only makes a savepoint unavailable as a rollback point ("no other user
 * visible behavior", PostgreSQL docs), and Prisma names every savepoint of a transaction uniquely,
 * so skipping it saves a round trip per item.
 */
function withSavepoints(tx: Transaction): Transaction {
  const run = (sql: string, name: string) => {
    if (!SAVEPOINT_NAME.test(name)) throw new Error('Invalid savepoint name');
    return tx.executeRaw(plain(`${sql} ${name}`)).then(() => undefined);
  };
  return Object.assign(tx, {
    createSavepoint: (name: string) => run('SAVEPOINT', name),
    rollbackToSavepoint: (name: string) => run('ROLLBACK TO SAVEPOINT', name),
    releaseSavepoint: undefined,
  });
}

function wrapAdapter(adapter: SqlDriverAdapter): SqlDriverAdapter {
  const inTx =
    (method: 'queryRaw' | 'executeRaw') =>
    async (q: SqlQuery): Promise<never> => {
      const ctx = storage.getStore();
      if (!ctx || !WRITE.test(q.sql)) return (adapter[method] as (q: SqlQuery) => Promise<never>).call(adapter, q);
      const tx = await adapter.startTransaction();
      try {
        await tx.executeRaw(setConfig(ctx));
        const r = await (tx[method] as (q: SqlQuery) => Promise<never>).call(tx, q);
        await end(tx, true);
        return r;
      } catch (err) {
        await end(tx, false).catch(() => undefined);
        throw err;
      }
    };
  const overrides: Partial<SqlDriverAdapter> = {
    queryRaw: inTx('queryRaw'),
    executeRaw: inTx('executeRaw'),
    startTransaction: async (isolationLevel) => {
      const tx = withSavepoints(await adapter.startTransaction(isolationLevel));
      const ctx = storage.getStore();
      if (ctx) await tx.executeRaw(setConfig(ctx));
      return tx;
    },
  };
  return new Proxy(adapter, {
    get(target, prop) {
      if (prop in overrides) return overrides[prop as keyof SqlDriverAdapter];
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/** The driver adapter factory with audit context propagation (see above). */
export function auditingAdapter(factory: SqlDriverAdapterFactory): SqlDriverAdapterFactory {
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => wrapAdapter(await factory.connect()),
  };
}
