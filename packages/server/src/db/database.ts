import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import type { Config } from '../config.ts';
import { UnavailableError } from '../errors.ts';
import { PrismaClient } from '../generated/prisma/client.ts';
import { auditConfigStatement, auditingAdapter } from './audit-context.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { applyMigrations, pendingMigrations, type SqlRunner } from './migrate.ts';
import { loadTemplate } from './pglite-template.ts';

export type Database = {
  kind: 'postgres' | 'pglite';
  /** The unscoped client: only for auth, shop administration and tests. Modules use `forShop`. */
  prisma: PrismaClient;
  /** Runs SQL outside Prisma (migrations, bench seeding, drift checks). */
  sql: SqlRunner;
  /**
   * One statement straight on the driver (pg / PGlite), bypassing Prisma's raw-query layer, with
   * the driver's own value types; counted like Prisma's. Only through `tenantRows` (db/tenant-sql.ts).
   */
  driverQuery<T>(sql: string, params: unknown[]): Promise<T[]>;
  /** SQL statements sent so far (for N+1 tests); reset with `resetQueryCount`. */
  queryCount(): number;
  resetQueryCount(): void;
  /**
   * LISTENs on a notification channel (PostgreSQL: one dedicated connection per call that
   * reconnects by itself; PGlite: the embedded instance). Resolves to an unlisten function.
   */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
  /**
   * PostgreSQL: the options this database was opened with (no callbacks, no migrations), to open
   * another client on it in a worker process (imports: import.worker.ts); absent on PGlite, whose
   * database lives in this thread.
   */
  reopen?: DatabaseOptions;
  /**
   * PostgreSQL: one transaction straight on a pooled connection (BEGIN, the audit context as
   * Prisma's transactions set it, `fn`'s statements, COMMIT; ROLLBACK when `fn` throws), bypassing
   * Prisma for statements with a large parameter (an import batch: see ShopBound.driverTransaction);
   * absent on PGlite. Only through `shopBound`.
   */
  driverTransaction?<T>(
    fn: (query: <R>(text: string, params: unknown[]) => Promise<R[]>) => Promise<T>,
    opts?: { timeout?: number },
  ): Promise<T>;
  /** PostgreSQL: the connection pool's counters (metrics); absent on PGlite. */
  pool?: { readonly totalCount: number; readonly idleCount: number; readonly waitingCount: number };
};

export type DatabaseOptions = {
  /** PostgreSQL URL; without it an embedded PGlite is used. */
  url?: string;
  /** Folder for PGlite data; `memory://` keeps it in memory. */
  dataDir?: string;
  /**
   * true (default): apply pending migrations before serving; 'check': apply nothing and throw
   * PendingMigrationsError when any are pending (MIGRATE_ON_START=0); false: neither.
   */
  migrate?: boolean | 'check';
  /** A direct URL for migrations when `url` goes through a pooler (default: `url`). */
  migrationUrl?: string;
  /** Longest wait for another run's migration lock (ms). */
  migrationLockTimeoutMs?: number;
  /** Log every SQL statement (tests, debugging). */
  onQuery?: (sql: string) => void;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** Longest wait to connect or to get a connection from a full pool (ms; default 10 s, 0 = forever). */
  connectTimeoutMs?: number;
  /** Idle pooled connections close after this long (ms; default 10 s, 0 = never). */
  idleTimeoutMs?: number;
  /** statement_timeout sent when connecting (ms; 0 or unset: the server's own). */
  statementTimeoutMs?: number;
  /** `driverQuery` statements as named prepared statements (default true; see preparedQuery). */
  preparedStatements?: boolean;
  /** application_name of every connection (pg_stat_activity). */
  applicationName?: string;
  /** Interactive transactions: longest wait to start one and longest run (ms; Prisma's defaults 2 s / 5 s). */
  txMaxWaitMs?: number;
  txTimeoutMs?: number;
  /** Called when an idle pooled connection fails (it is discarded either way). */
  onPoolError?: (err: Error) => void;
  /** Progress lines for a person waiting (creating the embedded database, applying migrations). */
  onProgress?: (message: string) => void;
};

/** The start found migrations not yet applied while told not to apply them (MIGRATE_ON_START=0). */
export class PendingMigrationsError extends Error {
  constructor(readonly pending: string[]) {
    super(
      `The database is missing ${pending.length} migration(s) (${pending.join(', ')}) and MIGRATE_ON_START=0: ` +
        'refusing to serve. Apply them first with `pnpm migrate:deploy` (it uses MIGRATION_DATABASE_URL, else DATABASE_URL), ' +
        'or start once with MIGRATE_ON_START=1.',
    );
    this.name = 'PendingMigrationsError';
  }
}

/** The database options a server process uses, from its configuration. */
export function databaseOptions(config: Config, dataDir: string): DatabaseOptions {
  const d = config.database;
  return {
    url: config.databaseUrl,
    dataDir,
    migrate: d.migrateOnStart ? true : 'check',
    migrationUrl: d.migrationUrl,
    migrationLockTimeoutMs: d.migrationLockTimeoutMs,
    poolSize: d.poolSize,
    connectTimeoutMs: d.connectTimeoutMs,
    idleTimeoutMs: d.idleTimeoutMs,
    statementTimeoutMs: d.statementTimeoutMs,
    preparedStatements: d.preparedStatements,
    applicationName: d.applicationName,
    txMaxWaitMs: d.txMaxWaitMs,
    txTimeoutMs: d.txTimeoutMs,
  };
}

/** Connection settings shared by the pool, the LISTEN connections and the migration connection. */
function connectionConfig(url: string, opts: DatabaseOptions): pg.ClientConfig {
  return {
    connectionString: url,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
    ...(opts.applicationName ? { application_name: opts.applicationName } : {}),
    ...(opts.statementTimeoutMs ? { statement_timeout: opts.statementTimeoutMs } : {}),
  };
}

/** Applies pending migrations on ONE connection of its own (`migrationUrl` or `url`), then closes it. */
export async function migratePostgres(
  url: string,
  opts: Pick<DatabaseOptions, 'migrationLockTimeoutMs' | 'applicationName' | 'connectTimeoutMs' | 'onProgress'> = {},
) {
  const client = new pg.Client({
    ...connectionConfig(url, { connectTimeoutMs: opts.connectTimeoutMs }),
    application_name: `${opts.applicationName ?? 'crm'}-migrate`.slice(0, 63),
  });
  await client.connect();
  try {
    return await applyMigrations(
      {
        exec: async (s) => {
          await client.query(s);
        },
        query: async <T>(s: string, p?: unknown[]) => (await client.query(s, p)).rows as T[],
      },
      { lockTimeoutMs: opts.migrationLockTimeoutMs, onProgress: opts.onProgress },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Statement texts per process that get a name (preparedQuery). */
const PREPARED_SHAPES = 64;

/** Codes of a pooler that does not keep a connection's prepared statements: no such statement, or one of that name already there. */
const POOLER_LOST_STATEMENT = new Set(['26000', '42P05']);

/**
 * `driverQuery` on a pg pool with named (server-side prepared) statements: PostgreSQL parses and
 * plans each statement text once per connection and reuses the plan, instead of parsing and
 * planning every request's statement anew. Measured on the compiled `customer + last 20 orders`
 * read: parse 0.25 ms + bind (planning) 0.49 ms + execute 0.25 ms of PostgreSQL time per request
 * unnamed; PostGraphile, which prepares its statements, spends 0.19 ms (bench/README.md).
 * Hand-written because pg only prepares what it is given a name for and keeps every name for a
 * connection's life; what is specific here:
 *   - at most `max` distinct texts per process get a name (the first seen; the rest run unnamed), so
 *     arbitrary query shapes cannot grow every connection's statement cache without limit (a
 *     compiled read's plan keeps about 230 KB of the backend's memory: 64 shapes are ~15 MB per
 *     connection at most, and an idle connection closes after DB_IDLE_TIMEOUT_MS);
 *   - a pooler that does not keep prepared statements (PgBouncer before 1.21 in transaction mode)
 *     answers 26000 / 42P05: the statement runs again unnamed (nothing ran) and naming stops for the
 *     process;
 *   - a plan invalidated in a way PostgreSQL refuses to replan ("cached plan must not change result
 *     type", after a migration changed a table under it): run unnamed, and later statements get new
 *     names.
 */
function preparedQuery(pool: pg.Pool, enabled: boolean, max = PREPARED_SHAPES) {
  let on = enabled;
  let generation = 0;
  const names = new Map<string, string>();
  const unnamed = async <T>(text: string, values: unknown[]) => (await pool.query(text, values)).rows as T[];
  return async <T>(text: string, values: unknown[]): Promise<T[]> => {
    if (!on) return unnamed<T>(text, values);
    let name = names.get(text);
    if (name === undefined && names.size < max) {
      name = `crm${generation}_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
      names.set(text, name);
    }
    if (name === undefined) return unnamed<T>(text, values);
    try {
      return (await pool.query({ name, text, values })).rows as T[];
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      if (typeof code === 'string' && POOLER_LOST_STATEMENT.has(code)) {
        on = false;
        names.clear();
        return unnamed<T>(text, values);
      }
      if (code === '0A000' && /cached plan/i.test(String((err as Error).message))) {
        generation++;
        names.clear();
        return unnamed<T>(text, values);
      }
      throw err;
    }
  };
}

/**
 * `Database.driverTransaction` on a pg pool. Hand-written: Prisma's interactive transaction copies
 * each large parameter through its query layer (measured: an import batch's 0.6 MB of JSON cost
 * 10 ms more CPU and 10-20 ms more time per batch than on the driver). `timeout` bounds each
 * statement and lock wait (`statement_timeout` / `lock_timeout` for this transaction only), so a
 * batch blocked on another session's lock fails, retryable, instead of holding the import (and a
 * shutdown) forever; the wait for a pooled connection is the pool's own (DB_CONNECT_TIMEOUT_MS).
 * A connection whose ROLLBACK failed is discarded, not returned to the pool.
 */
function poolTransaction(pool: pg.Pool): NonNullable<Database['driverTransaction']> {
  return async (fn, opts = {}) => {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      if (opts.timeout) {
        const ms = `${Math.floor(opts.timeout)}ms`;
        await client.query("SELECT set_config('statement_timeout', $1, true), set_config('lock_timeout', $1, true)", [ms]);
      }
      const audit = auditConfigStatement();
      if (audit) await client.query(audit);
      const r = await fn(async <R>(text: string, params: unknown[]) => (await client.query(text, params)).rows as R[]);
      await client.query('COMMIT');
      return r;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: Error) => {
        broken = e;
      });
      throw err;
    } finally {
      client.release(broken);
    }
  };
}

/** Wraps a client with query counting and a close that releases the driver too. */
function withClient(
  kind: Database['kind'],
  sql: SqlRunner,
  adapter: SqlDriverAdapterFactory,
  closeDriver: () => Promise<void>,
  listen: Database['listen'],
  onQuery?: (sql: string) => void,
  tx?: { maxWait?: number; timeout?: number },
  driver: <T>(text: string, params: unknown[]) => Promise<T[]> = (text, params) => sql.query(text, params),
): Database {
  let count = 0;
  const prisma = new PrismaClient({
    adapter: auditingAdapter(adapter),
    log: [{ emit: 'event', level: 'query' } as const],
    ...(tx?.maxWait || tx?.timeout ? { transactionOptions: { maxWait: tx.maxWait, timeout: tx.timeout } } : {}),
  });
  prisma.$on('query', (e) => {
    count++;
    onQuery?.(e.query);
  });
  return {
    kind,
    prisma,
    sql,
    driverQuery: <T>(text: string, params: unknown[]) => {
      count++;
      onQuery?.(text);
      return driver<T>(text, params);
    },
    queryCount: () => count,
    resetQueryCount: () => {
      count = 0;
    },
    listen,
    close: async () => {
      await prisma.$disconnect();
      await closeDriver();
    },
  };
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  const tx = { maxWait: opts.txMaxWaitMs, timeout: opts.txTimeoutMs };
  if (opts.url) {
    const url = opts.url;
    // Migrations first, on a connection of their own (a direct URL when serving goes through a pooler).
    if (opts.migrate === true || opts.migrate === undefined) await migratePostgres(opts.migrationUrl ?? url, opts);
    const pool = new pg.Pool({
      ...connectionConfig(url, opts),
      max: opts.poolSize ?? 10,
      idleTimeoutMillis: opts.idleTimeoutMs ?? 10_000,
    });
    // An idle client losing its connection (database restart, failover) must not crash the
    // process: the pool drops it and the next query opens a new one.
    pool.on('error', (err) => opts.onPoolError?.(err));
    const sql: SqlRunner = {
      exec: async (s) => {
        await pool.query(s);
      },
      query: async <T>(s: string, p?: unknown[]) => (await pool.query(s, p)).rows as T[],
    };
    if (opts.migrate === 'check') {
      const pending = await pendingMigrations(sql).catch(async (err) => {
        await pool.end();
        throw err;
      });
      if (pending.length) {
        await pool.end();
        throw new PendingMigrationsError(pending);
      }
    }
    const db = withClient(
      'postgres',
      sql,
      new PrismaPg(pool),
      () => pool.end(),
      (ch, fn) => pgListen(connectionConfig(url, opts), ch, fn, opts.onPoolError),
      opts.onQuery,
      tx,
      preparedQuery(pool, opts.preparedStatements !== false),
    );
    // What a second client of this database needs (no callbacks; no migration credentials or lock).
    const { onQuery: _q, onPoolError: _e, onProgress: _p, migrationUrl: _m, migrationLockTimeoutMs: _l, dataDir: _d, ...plain } = opts;
    return Object.assign(db, { pool, reopen: { ...plain, migrate: false as const }, driverTransaction: poolTransaction(pool) });
  }
  const dataDir = opts.dataDir ?? './.data';
  const inMemory = dataDir.startsWith('memory://');
  if (!inMemory) mkdirSync(dataDir, { recursive: true });
  // One process per folder (see data-dir-lock.ts): released when this database is closed.
  const unlock = inMemory ? () => {} : lockDataDir(dataDir);
  // A new cluster starts from the prepared template instead of running initdb (see pglite-template.ts).
  const fresh = inMemory || !existsSync(join(dataDir, 'PG_VERSION'));
  if (fresh && !inMemory) opts.onProgress?.(`creating the embedded database in ${dataDir}`);
  const lite = await PGlite.create(
    dataDir,
    fresh ? { loadDataDir: await loadTemplate(opts.migrate === false || opts.migrate === 'check' ? 'empty' : 'migrated') } : {},
  );
  const sql: SqlRunner = {
    exec: async (s) => {
      await lite.exec(s);
    },
    query: async <T>(s: string, p?: unknown[]) => (await lite.query<T>(s, p)).rows,
  };
  try {
    if (opts.migrate === true || opts.migrate === undefined) {
      await applyMigrations(sql, { lockTimeoutMs: opts.migrationLockTimeoutMs, onProgress: opts.onProgress });
    }
    if (opts.migrate === 'check') {
      const pending = await pendingMigrations(sql);
      if (pending.length) throw new PendingMigrationsError(pending);
    }
  } catch (err) {
    await lite.close().catch(() => undefined);
    unlock();
    throw err;
  }
  const listen: Database['listen'] = async (channel, onNotify) => {
    const unlisten = await lite.listen(channel, onNotify);
    return async () => {
      if (!lite.closed) await unlisten();
    };
  };
  const close = async () => {
    try {
      await lite.close();
    } finally {
      unlock();
    }
  };
  return withClient('pglite', sql, new PrismaPGlite(lite), close, listen, opts.onQuery, tx);
}

/** A dedicated connection LISTENing on `channel`; reconnects (after 1 s) when it drops or cannot connect. */
async function pgListen(config: pg.ClientConfig, channel: string, onNotify: (payload: string) => void, onError?: (err: Error) => void) {
  let client: pg.Client | null = null;
  let stopped = false;
  let retry: NodeJS.Timeout | null = null;
  const connect = async (): Promise<void> => {
    const c = new pg.Client(config);
    c.on('notification', (m) => {
      if (m.channel === channel) onNotify(m.payload ?? '');
    });
    const reconnect = (err?: Error) => {
      if (err) onError?.(err);
      if (stopped || client !== c) return;
      client = null;
      c.end().catch(() => undefined);
      retry = setTimeout(() => void connect().catch(() => reconnect()), 1000);
    };
    c.on('error', reconnect);
    c.on('end', () => reconnect());
    client = c;
    await c.connect();
    await c.query(`LISTEN "${channel.replaceAll('"', '')}"`);
  };
  // A failed first attempt retries like a dropped connection (the caller polls meanwhile).
  await connect().catch((err: Error) => {
    onError?.(err);
    if (client) client.emit('end');
  });
  return async () => {
    stopped = true;
    if (retry) clearTimeout(retry);
    const c = client;
    client = null;
    await c?.end().catch(() => undefined);
  };
}

/**
 * The database was too busy to take the request: an interactive transaction could not start within
 * DB_TX_MAX_WAIT_MS (Prisma P2028 "Unable to start a transaction in the given time"), or no pooled
 * connection was free within DB_CONNECT_TIMEOUT_MS (node-postgres's pool timeout, which Prisma passes
 * through unwrapped). Nothing was written: an honest, retryable UNAVAILABLE. Null for anything else.
 */
export function busyDatabaseError(err: unknown): UnavailableError | null {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message = '' } = e as { code?: unknown; message?: string };
    if ((code === 'P2028' && /start a transaction/i.test(message)) || code === 'P2024') {
      return new UnavailableError('The database is busy: a transaction could not start in time; retry shortly', 1);
    }
    if (/timeout exceeded when trying to connect|connection terminated due to connection timeout/i.test(message)) {
      return new UnavailableError('The database is busy: no connection was free in time; retry shortly', 1);
    }
  }
  return null;
}
