import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { loadConfig } from './config.ts';
import { migratePostgres } from './db/database.ts';
import { applyMigrations, migrationsDir, pendingMigrations, readMigrations } from './db/migrate.ts';
import { diffDatabaseToSchema, pgliteEngineAdapter, postgresEngineAdapter } from './db/schema-engine.ts';

/**
 * Migrations without the native schema engine:
 *   pnpm migrate:new <name>   write prisma/migrations/<timestamp>_<name>/migration.sql for the
 *                             difference between the existing migrations and schema.prisma
 *   pnpm migrate:deploy       apply pending migrations (same as `prisma migrate deploy`)
 *   pnpm migrate:status       print pending migrations and the drift from schema.prisma (exit 2 on either)
 * deploy and status use MIGRATION_DATABASE_URL when set (a direct connection, when DATABASE_URL goes
 * through PgBouncer), else DATABASE_URL. Waiting for another run's lock fails after MIGRATION_LOCK_TIMEOUT_MS.
 */
const [cmd, name] = process.argv.slice(2);

async function pgliteWithMigrations() {
  const lite = await PGlite.create('memory://');
  await applyMigrations({ exec: async (s) => void (await lite.exec(s)), query: async (s, p) => (await lite.query(s, p)).rows as never });
  return lite;
}

if (cmd === 'new') {
  if (!name || !/^[a-z0-9_]+$/.test(name)) {
    console.error('usage: pnpm migrate:new <snake_case_name>');
    process.exit(2);
  }
  const lite = await pgliteWithMigrations();
  const sql = await diffDatabaseToSchema(pgliteEngineAdapter(lite));
  await lite.close();
  if (!sql.trim()) {
    console.log('schema.prisma matches the migrations: nothing to write');
  } else {
    // Migrations apply in name order: the new one must sort after every existing one.
    const last = readMigrations().at(-1)?.name.slice(0, 14) ?? '0';
    let stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
    if (stamp <= last) stamp = String(BigInt(last) + 1n);
    const dir = join(migrationsDir, `${stamp}_${name}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'migration.sql'), sql.replace(/^-- CreateSchema\nCREATE SCHEMA IF NOT EXISTS "public";\n\n/, ''));
    console.log(`wrote ${dir}/migration.sql`);
  }
} else if (cmd === 'deploy' || cmd === 'status') {
  const config = loadConfig();
  const url = config.database.migrationUrl ?? config.databaseUrl;
  if (!url) {
    console.error('MIGRATION_DATABASE_URL or DATABASE_URL is required');
    process.exit(2);
  }
  if (cmd === 'deploy') {
    try {
      const ran = await migratePostgres(url, {
        migrationLockTimeoutMs: config.database.migrationLockTimeoutMs,
        connectTimeoutMs: config.database.connectTimeoutMs,
        applicationName: config.database.applicationName,
      });
      console.log(ran.length ? `applied: ${ran.join(', ')}` : 'database is up to date');
    } catch (err) {
      console.error((err as Error).message);
      process.exit(1);
    }
  } else {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const pending = await pendingMigrations({
      exec: async (s) => void (await client.query(s)),
      query: async (s, p) => (await client.query(s, p)).rows as never,
    }).finally(() => client.end());
    if (pending.length) console.log(`pending migrations: ${pending.join(', ')}`);
    const sql = await diffDatabaseToSchema(postgresEngineAdapter(url));
    console.log(sql.trim() ? sql : 'no drift: the database matches schema.prisma');
    process.exitCode = sql.trim() || pending.length ? 2 : 0;
  }
} else {
  console.error('usage: pnpm migrate:new <name> | migrate:deploy | migrate:status');
  process.exit(2);
}
process.exit(process.exitCode ?? 0);
