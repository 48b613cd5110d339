import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase, testBackend } from '../testing.ts';
import { applyMigrations, migrationsDir, readMigrations } from './migrate.ts';
import { diffDatabaseToSchema, pgliteEngineAdapter, postgresEngineAdapter } from './schema-engine.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.close());

describe('migrations', () => {
  it('records every migration the way prisma migrate deploy does', async () => {
    const rows = await db.sql.query<{ migration_name: string; checksum: string; finished_at: Date | null; applied_steps_count: number }>(
      'SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name',
    );
    const files = readMigrations();
    expect(rows.map((r) => r.migration_name)).toEqual(files.map((f) => f.name));
    expect(rows.map((r) => r.checksum)).toEqual(files.map((f) => f.checksum));
    expect(rows.every((r) => r.finished_at !== null && r.applied_steps_count === 1)).toBe(true);
  });

  it('is idempotent: a second run applies nothing', async () => {
    expect(await applyMigrations(db.sql)).toEqual([]);
  });

  it('the migrated database matches schema.prisma (no drift), checked by Prisma’s schema engine', async () => {
    let drift: string;
    if (testBackend() === 'postgres') {
      drift = await diffDatabaseToSchema(postgresEngineAdapter(db.url as string));
    } else {
      // The engine needs its own connection: migrate a second in-memory PGlite the same way.
      const lite = await PGlite.create('memory://');
      await applyMigrations({
        exec: async (s) => void (await lite.exec(s)),
        query: async (s, p) => (await lite.query(s, p)).rows as never,
      });
      drift = await diffDatabaseToSchema(pgliteEngineAdapter(lite));
      await lite.close();
    }
    expect(drift).toBe('');
  });

  it('detects drift: a database missing a column is reported', async () => {
    const lite = await PGlite.create('memory://');
    await applyMigrations({ exec: async (s) => void (await lite.exec(s)), query: async (s, p) => (await lite.query(s, p)).rows as never });
    await lite.exec('ALTER TABLE "Customer" DROP COLUMN "householdNotes"');
    const drift = await diffDatabaseToSchema(pgliteEngineAdapter(lite));
    await lite.close();
    expect(drift).toContain('householdNotes');
  });

  it('refuses a migration edited after it was applied, and rolls back a failing one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crm-migrations-'));
    try {
      for (const m of readMigrations()) {
        mkdirSync(join(dir, m.name));
        writeFileSync(join(dir, m.name, 'migration.sql'), m.sql);
      }
      const lite = await PGlite.create('memory://');
      const runner = {
        exec: async (s: string) => void (await lite.exec(s)),
        query: async (s: string, p?: unknown[]) => (await lite.query(s, p)).rows as never,
      };
      await applyMigrations(runner, dir);
      // A broken new migration: nothing of it stays, and it is not recorded.
      mkdirSync(join(dir, '99990101000000_broken'));
      writeFileSync(join(dir, '99990101000000_broken', 'migration.sql'), 'CREATE TABLE "Half" (id int);\nSELECT * FROM "NoSuchTable";');
      await expect(applyMigrations(runner, dir)).rejects.toThrow(/99990101000000_broken failed/);
      const half = await lite.query(`SELECT to_regclass('"Half"') AS t`);
      expect((half.rows[0] as { t: unknown }).t).toBeNull();
      rmSync(join(dir, '99990101000000_broken'), { recursive: true });
      // Editing an applied migration is refused.
      const first = readMigrations(dir)[0]!;
      writeFileSync(join(dir, first.name, 'migration.sql'), `${readFileSync(join(dir, first.name, 'migration.sql'), 'utf8')}\n-- edited`);
      await expect(applyMigrations(runner, dir)).rejects.toThrow(/edited after it was applied/);
      await lite.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps migrations in Prisma Migrate’s layout', () => {
    expect(readFileSync(join(migrationsDir, 'migration_lock.toml'), 'utf8')).toContain('provider = "postgresql"');
    for (const m of readMigrations()) expect(m.name).toMatch(/^\d{14}_[a-z0-9_]+$/);
  });
});
