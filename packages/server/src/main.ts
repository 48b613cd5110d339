import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';
import { DataDirLockedError } from './db/data-dir-lock.ts';
import { databaseOptions, openDatabase, PendingMigrationsError } from './db/database.ts';
import { MigrationLockTimeoutError } from './db/migrate.ts';
import { createLogger } from './logger.ts';
import { seedDemo } from './seed-demo.ts';

/**
 * CLI entry: `tsx src/main.ts [--seed-demo]`. Without DATABASE_URL an embedded PGlite database is
 * kept in DATA_DIR (default ./.data, relative to packages/server where `pnpm start` runs) and migrated on start. With --seed-demo, a demo shop with
 * customers is created on first start and its API keys are printed.
 */
const config = loadConfig();
const logger = createLogger(config.logLevel);

function tokenSecret(): string {
  if (config.customerTokenSecret) return config.customerTokenSecret;
  if (config.databaseUrl) {
    logger.warn('CUSTOMER_TOKEN_SECRET is not set: customer tokens will not survive a restart');
    return randomBytes(32).toString('hex');
  }
  // Embedded mode: keep a generated secret beside the data so tokens survive restarts.
  mkdirSync(config.dataDir, { recursive: true });
  const file = join(config.dataDir, 'customer-token-secret');
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

const started = performance.now();
// Progress for the person waiting on a first start (creating the embedded database, migrating, seeding).
const progress = (message: string) => logger.info(message, { elapsedMs: Math.round(performance.now() - started) });
const database = await openDatabase({
  ...databaseOptions(config, join(config.dataDir, 'pglite')),
  onPoolError: (err) => logger.warn('database connection lost', { error: err.message }),
  onProgress: progress,
}).catch((err: unknown) => {
  // Another process owns the embedded folder (say who), pending migrations with MIGRATE_ON_START=0,
  // or another run holding the migration lock too long: say so without a stack trace and exit
  // non-zero instead of serving an out-of-date schema (or hanging).
  if (err instanceof DataDirLockedError || err instanceof PendingMigrationsError || err instanceof MigrationLockTimeoutError) {
    logger.error('refusing to start', { reason: err.message });
    process.stderr.write(`\n  ${err.message}\n\n`);
    process.exit(1);
  }
  throw err;
});
progress(`database ready (${database.kind})`);
const app = buildApp({ config, database, logger, tokenSecret: tokenSecret() });

let demo: Awaited<ReturnType<typeof seedDemo>> | null = null;
if (process.argv.includes('--seed-demo')) demo = await seedDemo(database.prisma, join(config.dataDir, 'demo-keys.json'), progress);

const url = await app.start();
progress('ready');
const lines = [
  '',
  `  Headless CRM API   ${url}/graphql${config.env === 'development' ? '   (GraphiQL: open it in a browser)' : ''}`,
  `  Health             ${url}/health`,
  `  Database           ${database.kind === 'pglite' ? `embedded PGlite in ${resolve(config.dataDir)}` : 'PostgreSQL (DATABASE_URL)'}`,
];
if (demo) {
  lines.push(
    `  Demo shop          ${demo.shop.name} (${demo.shop.slug})`,
    `  Secret key         ${demo.secretKey}`,
    `  Publishable key    ${demo.publishableKey}`,
    '',
    `  Try: curl -s ${url}/graphql -H 'content-type: application/json' \\`,
    `         -H 'authorization: Bearer ${demo.secretKey}' \\`,
    `         -d '{"query":"{ customers(first: 3) { totalCount edges { node { displayName stage } } } }"}'`,
  );
}
process.stdout.write(`${lines.join('\n')}\n\n`);

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, async () => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal: sig });
    await app.stop();
    await database.close();
    process.exit(0);
  });
}
