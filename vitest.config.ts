import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import pg from 'pg';
import { defineConfig } from 'vitest/config';

/**
 * Every test runs twice: on a real PostgreSQL (project "postgres") and on embedded PGlite
 * (project "pglite"). PostgreSQL is used when reachable at TEST_DATABASE_URL or DATABASE_URL (default: the local
 * service); without it the postgres project is skipped with a notice, unless REQUIRE_POSTGRES=1
 * (CI), which makes its absence an error.
 */
// One graphql instance for everything (Pothos and Yoga must share it): the CommonJS build.
const graphqlEntry = createRequire(new URL('./packages/server/package.json', import.meta.url)).resolve('graphql');

const adminUrl = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

async function postgresReachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

export default defineConfig(async () => {
  const hasPg = await postgresReachable();
  if (!hasPg) {
    if (process.env.REQUIRE_POSTGRES === '1') throw new Error(`PostgreSQL is required but not reachable at ${adminUrl}`);
    console.warn(`\n[tests] PostgreSQL not reachable at ${adminUrl}: running on PGlite only.\n`);
  }
  const include = ['packages/*/src/**/*.test.ts', 'tests/**/*.test.ts', 'examples/**/*.test.ts', 'bench/**/*.test.ts'];
  // Slow suites (browsers, poolers, packed-package consumers, several server processes) are named
  // `*.slow.test.ts` and run once, in their own project, on PostgreSQL when it is reachable.
  const slow = ['**/*.slow.test.ts'];
  const exclude = ['**/node_modules/**', ...slow];
  const common = { include, exclude, testTimeout: 60_000, hookTimeout: 120_000, pool: 'forks' as const };
  return {
    resolve: { alias: [{ find: /^graphql$/, replacement: graphqlEntry }] },
    test: {
      // Two test files at a time even on 2 cores (vitest's default is one fewer than the cores, so
      // one): a test file mostly waits on PostgreSQL, PGlite or a child process, and each file's
      // database is its own, so two share the machine without sharing state.
      maxWorkers: Math.max(2, availableParallelism() - 1),
      projects: [
        { extends: true, test: { ...common, name: 'pglite', env: { TEST_DB: 'pglite', TEST_DATABASE_URL: adminUrl } } },
        ...(hasPg
          ? [{ extends: true, test: { ...common, name: 'postgres', env: { TEST_DB: 'postgres', TEST_DATABASE_URL: adminUrl } } }]
          : []),
        {
          extends: true,
          test: {
            include: slow,
            exclude: ['**/node_modules/**'],
            name: 'slow',
            testTimeout: 300_000,
            hookTimeout: 300_000,
            pool: 'forks' as const,
            fileParallelism: false,
            env: { TEST_DB: hasPg ? 'postgres' : 'pglite', TEST_DATABASE_URL: adminUrl },
          },
        },
      ],
    },
  };
});
