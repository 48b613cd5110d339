import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from '../generated/prisma/client.ts';
import { auditingAdapter } from './audit-context.ts';
import { applyMigrations, type SqlRunner } from './migrate.ts';

export type Database = {
  kind: 'postgres' | 'pglite';
  /** The unscoped client: only for auth, shop administration and tests. Modules use `forShop`. */
  prisma: PrismaClient;
  /** Runs SQL outside Prisma (migrations, bench seeding, drift checks). */
  sql: SqlRunner;
  /** SQL statements sent so far (for N+1 tests); reset with `resetQueryCount`. */
  queryCount(): number;
  resetQueryCount(): void;
  /**
   * LISTENs on a notification channel (PostgreSQL: one dedicated connection per call that
   * reconnects by itself; PGlite: the embedded instance). Resolves to an unlisten function.
   */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
};

export type DatabaseOptions = {
  /** PostgreSQL URL; without it an embedded PGlite is used. */
  url?: string;
  /** Folder for PGlite data; `memory://` keeps it in memory. */
  dataDir?: string;
  migrate?: boolean;
  /** Log every SQL statement (tests, debugging). */
  onQuery?: (sql: string) => void;
  poolSize?: number;
  /** Called when an idle pooled connection fails (it is discarded either way). */
  onPoolError?: (err: Error) => void;
};

/** Wraps a client with query counting and a close that releases the driver too. */
function withClient(
  kind: Database['kind'],
  sql: SqlRunner,
  adapter: SqlDriverAdapterFactory,
  closeDriver: () => Promise<void>,
  listen: Database['listen'],
  onQuery?: (sql: string) => void,
): Database {
  let count = 0;
  const prisma = new PrismaClient({ adapter: auditingAdapter(adapter), log: [{ emit: 'event', level: 'query' } as const] });
  prisma.$on('query', (e) => {
    count++;
    onQuery?.(e.query);
  });
  return {
    kind,
    prisma,
    sql,
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
  if (opts.url) {
    const pool = new pg.Pool({ connectionString: opts.url, max: opts.poolSize ?? 10 });
    // An idle client losing its connection (database restart, failover) must not crash the
    // process: the pool drops it and the next query opens a new one.
    pool.on('error', (err) => opts.onPoolError?.(err));
    const sql: SqlRunner = {
      exec: async (s) => {
        await pool.query(s);
      },
      query: async <T>(s: string, p?: unknown[]) => (await pool.query(s, p)).rows as T[],
    };
    if (opts.migrate !== false) {
      // One connection for the whole run: the advisory lock is per session.
      const client = await pool.connect();
      try {
        await applyMigrations({
          exec: async (s) => {
            await client.query(s);
          },
          query: async <T>(s: string, p?: unknown[]) => (await client.query(s, p)).rows as T[],
        });
      } finally {
        client.release();
      }
    }
    const url = opts.url;
    return withClient(
      'postgres',
      sql,
      new PrismaPg(pool),
      () => pool.end(),
      (ch, fn) => pgListen(url, ch, fn, opts.onPoolError),
      opts.onQuery,
    );
  }
  const dataDir = opts.dataDir ?? './.data';
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true });
  const lite = await PGlite.create(dataDir);
  const sql: SqlRunner = {
    exec: async (s) => {
      await lite.exec(s);
    },
    query: async <T>(s: string, p?: unknown[]) => (await lite.query<T>(s, p)).rows,
  };
  if (opts.migrate !== false) await applyMigrations(sql);
  const listen: Database['listen'] = async (channel, onNotify) => {
    const unlisten = await lite.listen(channel, onNotify);
    return async () => {
      if (!lite.closed) await unlisten();
    };
  };
  return withClient('pglite', sql, new PrismaPGlite(lite), () => lite.close(), listen, opts.onQuery);
}

/** A dedicated connection LISTENing on `channel`; reconnects (after 1 s) when it drops or cannot connect. */
async function pgListen(url: string, channel: string, onNotify: (payload: string) => void, onError?: (err: Error) => void) {
  let client: pg.Client | null = null;
  let stopped = false;
  let retry: NodeJS.Timeout | null = null;
  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url });
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
