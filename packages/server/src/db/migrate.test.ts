import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminUrl, createTestDatabase, type TestDatabase, testBackend } from '../testing.ts';
import { migratePostgres, openDatabase, PendingMigrationsError } from './database.ts';
import {
  applyMigrations,
  MIGRATION_LOCK_ID,
  MigrationLockTimeoutError,
  migrationsDir,
  pendingMigrations,
  readMigrations,
} from './migrate.ts';
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

/** A fresh, empty PostgreSQL database of this test's own; dropped by the returned function. */
async function emptyPostgres(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `crm_mig_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const u = new URL(adminUrl());
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const a = new pg.Client({ connectionString: adminUrl() });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await a.end();
    },
  };
}

const migrationLocks = (runner: { query: TestDatabase['sql']['query'] }) =>
  // This database's only (advisory locks are per database; other test files migrate theirs meanwhile).
  runner.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = ${MIGRATION_LOCK_ID}
       AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  );

describe('migrations apart from serving', () => {
  it('leaves no migration lock behind (the lock is transaction-scoped)', async () => {
    await applyMigrations(db.sql);
    expect((await migrationLocks(db.sql))[0]?.n).toBe(0);
  });

  it("MIGRATE_ON_START=0 ('check'): an empty database is refused with the pending migrations named; a migrated one opens", async () => {
    const names = readMigrations().map((m) => m.name);
    if (testBackend() === 'pglite') {
      const err = await openDatabase({ dataDir: 'memory://', migrate: 'check' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PendingMigrationsError);
      expect((err as PendingMigrationsError).pending).toEqual(names);
      expect((err as Error).message).toMatch(/MIGRATE_ON_START=0.*migrate:deploy/s);
      return;
    }
    const empty = await emptyPostgres();
    try {
      const err = await openDatabase({ url: empty.url, migrate: 'check', poolSize: 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PendingMigrationsError);
      expect((err as PendingMigrationsError).pending).toEqual(names);
      // Nothing was applied by the refused start.
      const c = new pg.Client({ connectionString: empty.url });
      await c.connect();
      const t = await c.query(`SELECT to_regclass('"_prisma_migrations"') AS t`);
      expect(t.rows[0].t).toBeNull();
      await migratePostgres(empty.url);
      expect(
        await pendingMigrations({ exec: async (s) => void (await c.query(s)), query: async (s, p) => (await c.query(s, p)).rows as never }),
      ).toEqual([]);
      await c.end();
      const opened = await openDatabase({ url: empty.url, migrate: 'check', poolSize: 1 });
      expect(await opened.prisma.shop.count()).toBe(0);
      await opened.close();
    } finally {
      await empty.drop();
    }
  });

  it.skipIf(testBackend() !== 'postgres')('concurrent runs on one empty database apply each migration exactly once', async () => {
    const empty = await emptyPostgres();
    try {
      const results = await Promise.all([1, 2, 3, 4].map(() => migratePostgres(empty.url)));
      expect(results.flat().sort()).toEqual(readMigrations().map((m) => m.name));
      const c = new pg.Client({ connectionString: empty.url });
      await c.connect();
      try {
        const rows = await c.query('SELECT migration_name FROM "_prisma_migrations"');
        expect(rows.rowCount).toBe(readMigrations().length);
        expect((await migrationLocks({ query: async (s) => (await c.query(s)).rows as never }))[0]?.n).toBe(0);
      } finally {
        // Before the database is dropped (which would end it from the server's side).
        await c.end();
      }
    } finally {
      await empty.drop();
    }
  });

  it.skipIf(testBackend() !== 'postgres')(
    'a run waiting for a lock held elsewhere (e.g. a session lock stuck on a pooled connection) fails after the lock timeout with a clear error',
    async () => {
      const holder = new pg.Client({ connectionString: db.url });
      await holder.connect();
      try {
        // What `prisma migrate deploy` or an old server through PgBouncer could leave behind.
        await holder.query(`SELECT pg_advisory_lock(${MIGRATION_LOCK_ID})`);
        const started = Date.now();
        const err = await migratePostgres(db.url as string, { migrationLockTimeoutMs: 300 }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(MigrationLockTimeoutError);
        expect((err as Error).message).toMatch(/another migration run holds it.*pg_locks/s);
        expect(Date.now() - started).toBeLessThan(10_000);
        // Once released, a run goes through.
        await holder.query(`SELECT pg_advisory_unlock(${MIGRATION_LOCK_ID})`);
        expect(await migratePostgres(db.url as string, { migrationLockTimeoutMs: 300 })).toEqual([]);
      } finally {
        await holder.end();
      }
    },
  );
});
