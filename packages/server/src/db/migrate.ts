import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Applies the migrations in prisma/migrations (Prisma Migrate's format) and records them in
 * `_prisma_migrations` exactly as `prisma migrate deploy` does, so either tool can take over a
 * database the other migrated. Used because the native schema engine cannot be downloaded
 * everywhere this runs; the same SQL files are applied to PGlite and PostgreSQL.
 */
export type SqlRunner = {
  /** Runs one or more statements without parameters. */
  exec(sql: string): Promise<void>;
  query<T>(sql: string, params?: unknown[]): Promise<T[]>;
};

export const migrationsDir = join(dirname(fileURLToPath(import.meta.url)), '../../../../prisma/migrations');

export type Migration = { name: string; sql: string; checksum: string };

export function readMigrations(dir = migrationsDir): Migration[] {
  if (!existsSync(dir)) throw new Error(`Migrations folder not found: ${dir}`);
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'migration.sql')))
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

// Prisma Migrate's advisory lock id, so this runner and `prisma migrate deploy` exclude each other.
export const MIGRATION_LOCK_ID = 72707369;

export type MigrateOptions = {
  /** Folder of migrations (default: prisma/migrations). */
  dir?: string;
  /** How long to wait for another migration run's lock before failing (ms; default 60 s, 0 = forever). */
  lockTimeoutMs?: number;
  /** Progress lines for a person waiting (how many migrations are applied). */
  onProgress?: (message: string) => void;
};

/** Another migration run held the migration lock longer than `lockTimeoutMs`. */
export class MigrationLockTimeoutError extends Error {
  constructor(ms: number) {
    super(
      `Timed out after ${ms} ms waiting for the migration lock (advisory lock ${MIGRATION_LOCK_ID}): another migration run holds it. ` +
        `Find the holder with: SELECT pid, state, query FROM pg_stat_activity WHERE pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = ${MIGRATION_LOCK_ID})`,
    );
    this.name = 'MigrationLockTimeoutError';
  }
}

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

type Applied = { migration_name: string; checksum: string; finished_at: unknown };

async function appliedRows(db: SqlRunner): Promise<Map<string, Applied> | null> {
  const [t] = await db.query<{ t: string | null }>(`SELECT to_regclass('"_prisma_migrations"')::text AS t`);
  if (!t?.t) return null;
  const rows = await db.query<Applied>(
    `SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL`,
  );
  return new Map(rows.map((r) => [r.migration_name, r]));
}

/** The first migration not yet applied; throws on a failed or edited one (same rules as prisma migrate deploy). */
function firstPending(migrations: Migration[], applied: Map<string, Applied>): Migration | undefined {
  for (const m of migrations) {
    const prev = applied.get(m.name);
    if (!prev) return m;
    if (!prev.finished_at) throw new Error(`Migration ${m.name} failed earlier; resolve it before continuing`);
    if (prev.checksum !== m.checksum) throw new Error(`Migration ${m.name} was edited after it was applied`);
  }
  return undefined;
}

/**
 * The migrations not yet applied to the database (all of them on an empty one). Throws, like
 * applyMigrations, when an applied migration failed or was edited. One read: safe through a pooler.
 */
export async function pendingMigrations(db: SqlRunner, dir = migrationsDir): Promise<string[]> {
  const migrations = readMigrations(dir);
  const applied = await appliedRows(db);
  if (!applied) return migrations.map((m) => m.name);
  firstPending(migrations, applied);
  return migrations.filter((m) => !applied.has(m.name)).map((m) => m.name);
}

/**
 * Applies pending migrations under Prisma Migrate's lock taken as a TRANSACTION-scoped advisory lock
 * (pg_advisory_xact_lock), after re-reading what is applied. The lock ends with its transaction, so
 * it cannot be left behind on a pooled connection (PgBouncer in transaction mode may run a session
 * lock and its unlock on different server connections) and a crashed run releases it; waiting for it
 * is bounded by `lockTimeoutMs` (lock_timeout).
 *
 * All pending migrations go in one transaction and one round trip (a fresh database gets the whole
 * history at once: the embedded first start depends on it); when that batch fails, they are applied
 * one transaction each, so the error names the migration that failed.
 */
export async function applyMigrations(db: SqlRunner, opts: MigrateOptions | string = {}): Promise<string[]> {
  const { dir = migrationsDir, lockTimeoutMs = 60_000, onProgress } = typeof opts === 'string' ? { dir: opts } : opts;
  const migrations = readMigrations(dir);
  /** Runs `fn` in a transaction holding the migration lock; commits what it returns non-null for. */
  const locked = async <T>(fn: () => Promise<T>): Promise<T> => {
    await db.exec('BEGIN');
    try {
      await db.exec(`SET LOCAL lock_timeout = ${Math.max(0, Math.floor(lockTimeoutMs))}`);
      try {
        await db.exec(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_ID})`);
      } catch (err) {
        if ((err as { code?: string }).code === '55P03' || /lock timeout/i.test((err as Error).message)) {
          throw new MigrationLockTimeoutError(lockTimeoutMs);
        }
        throw err;
      }
      await db.exec(CREATE_TABLE);
      const r = await fn();
      await db.exec('COMMIT');
      return r;
    } catch (err) {
      await db.exec('ROLLBACK').catch(() => undefined);
      throw err;
    }
  };
  // Names and checksums are [A-Za-z0-9_] and hex: safe as literals in the one-round-trip batch.
  const record = (m: Migration) =>
    `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
     VALUES ('${randomUUID()}', '${m.checksum}', '${m.name.replaceAll("'", "''")}', now(), now(), 1);`;
  class BatchFailed extends Error {}
  try {
    return await locked(async () => {
      const applied = (await appliedRows(db)) ?? new Map<string, Applied>();
      firstPending(migrations, applied); // a failed or edited migration stops everything
      const pending = migrations.filter((m) => !applied.has(m.name));
      if (!pending.length) return [];
      onProgress?.(`applying ${pending.length} migration${pending.length === 1 ? '' : 's'}`);
      try {
        await db.exec(pending.flatMap((m) => [m.sql, ';', record(m)]).join('\n'));
      } catch (err) {
        throw new BatchFailed((err as Error).message);
      }
      return pending.map((m) => m.name);
    });
  } catch (err) {
    if (!(err instanceof BatchFailed)) throw err;
  }
  // One of them failed: one transaction each, so the error names the migration.
  const ran: string[] = [];
  for (;;) {
    const m = await locked(async () => {
      const next = firstPending(migrations, (await appliedRows(db)) ?? new Map());
      if (!next) return undefined;
      try {
        await db.exec(next.sql);
        await db.exec(record(next));
      } catch (err) {
        throw new Error(`Migration ${next.name} failed: ${(err as Error).message}`);
      }
      return next;
    });
    if (!m) return ran;
    ran.push(m.name);
  }
}
