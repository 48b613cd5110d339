import { describe, expect, it } from 'vitest';
import { formatAgendaReport, runAgenda } from './agenda-harness.ts';
import { DEFAULT_ADMIN_URL } from './harness.ts';

/**
 * Smoke test of the agenda benchmark with tiny numbers: correctness only, never timings.
 * TEST_DB=pglite runs on in-memory PGlite; TEST_DB=postgres on a fresh database at TEST_DATABASE_URL.
 */
describe('agenda benchmark harness', () => {
  it('seeds, verifies the raw baseline equals the API and loads both targets without errors', async () => {
    const backend = process.env.TEST_DB === 'postgres' ? 'postgres' : 'pglite';
    const result = await runAgenda({
      followUps: 200,
      customers: 20,
      duration: 1,
      warmup: 0,
      connections: 2,
      poolSize: 2,
      workers: 1,
      backend,
      adminUrl: process.env.TEST_DATABASE_URL ?? DEFAULT_ADMIN_URL,
    });
    expect(result.backend).toBe(backend);
    expect(result.seeded.planned).toBe(180);
    for (const r of [result.api, result.raw]) {
      expect(r.requests).toBeGreaterThan(0);
      expect({ errors: r.errors, timeouts: r.timeouts, non2xx: r.non2xx, mismatches: r.mismatches }).toEqual({
        errors: 0,
        timeouts: 0,
        non2xx: 0,
        mismatches: 0,
      });
    }
    expect(result.apiSql.length).toBeGreaterThan(0);
    expect(formatAgendaReport(result)).toContain('API / raw');
  });
});
