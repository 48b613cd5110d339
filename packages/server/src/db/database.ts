import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from '../generated/prisma/client.ts';
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

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  let count = 0;
  const log = [{ emit: 'event', level: 'query' }] as const;
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
    const prisma = new PrismaClient({ adapter: new PrismaPg(pool), log: [...log] });
    prisma.$on('query', (e) => {
      count++;
      opts.onQuery?.(e.query);
    });
    return {
      kind: 'postgres',
      prisma,
      sql,
      queryCount: () => count,
      resetQueryCount: () => {
        count = 0;
      },
      close: async () => {
        await prisma.$disconnect();
        await pool.end();
      },
    };
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
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(lite), log: [...log] });
  prisma.$on('query', (e) => {
    count++;
    opts.onQuery?.(e.query);
  });
  return {
    kind: 'pglite',
    prisma,
    sql,
    queryCount: () => count,
    resetQueryCount: () => {
      count = 0;
    },
    close: async () => {
      await prisma.$disconnect();
      await lite.close();
    },
  };
}
