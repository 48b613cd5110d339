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
const LOCK_ID = 72707369;

export async function applyMigrations(db: SqlRunner, dir = migrationsDir, onProgress?: (message: string) => void): Promise<string[]> {
  const migrations = readMigrations(dir);
  await db.exec(`SELECT pg_advisory_lock(${LOCK_ID})`);
  try {
    await db.exec(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`);
    const rows = await db.query<{ migration_name: string; checksum: string; finished_at: unknown }>(
      `SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL`,
    );
    const applied = new Map(rows.map((r) => [r.migration_name, r]));
    const pending: Migration[] = [];
    for (const m of migrations) {
      const prev = applied.get(m.name);
      if (prev) {
        if (!prev.finished_at) throw new Error(`Migration ${m.name} failed earlier; resolve it before continuing`);
        if (prev.checksum !== m.checksum) throw new Error(`Migration ${m.name} was edited after it was applied`);
        continue;
      }
      pending.push(m);
    }
    if (!pending.length) return [];
    onProgress?.(`applying ${pending.length} migration${pending.length === 1 ? '' : 's'}`);
    // All pending migrations in one round trip and one transaction (a fresh database gets the whole
    // history at once); names and checksums are [A-Za-z0-9_] and hex, safe as literals.
    const record = (m: Migration) =>
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
       VALUES ('${randomUUID()}', '${m.checksum}', '${m.name.replaceAll("'", "''")}', now(), now(), 1);`;
    try {
      await db.exec(['BEGIN;', ...pending.flatMap((m) => [m.sql, ';', record(m)]), 'COMMIT;'].join('\n'));
      return pending.map((m) => m.name);
    } catch {
      await db.exec('ROLLBACK').catch(() => undefined);
    }
    // One of them failed: apply them one at a time, so the error names the migration.
    const ran: string[] = [];
    for (const m of pending) {
      await db.exec('BEGIN');
      try {
        await db.exec(m.sql);
        await db.exec(record(m));
        await db.exec('COMMIT');
      } catch (err) {
        await db.exec('ROLLBACK');
        throw new Error(`Migration ${m.name} failed: ${(err as Error).message}`);
      }
      ran.push(m.name);
    }
    return ran;
  } finally {
    await db.exec(`SELECT pg_advisory_unlock(${LOCK_ID})`);
  }
}
