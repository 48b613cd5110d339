import { describe, expect, it } from 'vitest';
import { DEFAULT_ADMIN_URL, type LoadResult } from './harness.ts';

/**
 * What the bench smoke tests (*.bench.test.ts) share: the database, tiny load numbers and the
 * checks of a load run. Each test keeps its own scenario checks. TEST_DB=pglite runs on in-memory
 * PGlite; TEST_DB=postgres on a fresh database at TEST_DATABASE_URL.
 */
export const smokeBackend = (): 'postgres' | 'pglite' => (process.env.TEST_DB === 'postgres' ? 'postgres' : 'pglite');

/** The backend and admin URL of a smoke run. */
export const smokeDatabase = () => ({ backend: smokeBackend(), adminUrl: process.env.TEST_DATABASE_URL ?? DEFAULT_ADMIN_URL });

/** Load numbers for correctness only: one second, no warm-up, two connections, autocannon in one worker. */
export const tinyLoad = { duration: 1, warmup: 0, connections: 2, poolSize: 2, workers: 1 };

/**
 * One smoke test: `run` on the smoke database, the result on the expected backend, then the
 * scenario's own `check` (which fails when the scenario breaks).
 */
export function smokeTest<R extends { backend: string }>(
  suite: string,
  title: string,
  run: (database: ReturnType<typeof smokeDatabase>) => Promise<R>,
  check: (result: R) => void,
): void {
  describe(suite, () => {
    it(title, async () => {
      const database = smokeDatabase();
      const result = await run(database);
      expect(result.backend).toBe(database.backend);
      check(result);
    });
  });
}

/** Every target answered under load, with no error, timeout, non-2xx or mismatched body. */
export function expectCleanLoad(results: LoadResult[]): void {
  for (const r of results) {
    expect(r.requests).toBeGreaterThan(0);
    expect({ target: r.target, errors: r.errors, timeouts: r.timeouts, non2xx: r.non2xx, mismatches: r.mismatches }).toEqual({
      target: r.target,
      errors: 0,
      timeouts: 0,
      non2xx: 0,
      mismatches: 0,
    });
  }
}

/** API / raw ratios that were measured (finite, positive). */
export function expectRatios(ratios: number[]): void {
  for (const ratio of ratios) {
    expect(Number.isFinite(ratio)).toBe(true);
    expect(ratio).toBeGreaterThan(0);
  }
}
