import { describe, expect, it } from 'vitest';
import { formatEventsReport, runEvents } from './events-harness.ts';
import { DEFAULT_ADMIN_URL } from './harness.ts';

/**
 * Smoke test of the behaviour-event benchmark with tiny numbers: correctness only, never timings.
 * TEST_DB=pglite runs on in-memory PGlite; TEST_DB=postgres on a fresh database at TEST_DATABASE_URL.
 */
describe('behaviour-events benchmark harness', () => {
  it('verifies both targets write the batch, then loads them sustained and at a fixed rate without errors', async () => {
    const backend = process.env.TEST_DB === 'postgres' ? 'postgres' : 'pglite';
    const result = await runEvents({
      batch: 5,
      rate: 20,
      duration: 1,
      warmup: 0,
      connections: 2,
      poolSize: 2,
      workers: 0,
      backend,
      adminUrl: process.env.TEST_DATABASE_URL ?? DEFAULT_ADMIN_URL,
    });
    expect(result.backend).toBe(backend);
    for (const r of [result.api, result.raw, result.beacon, result.apiAtRate, result.rawAtRate]) {
      expect(r.requests).toBeGreaterThan(0);
      expect({ errors: r.errors, timeouts: r.timeouts, non2xx: r.non2xx, mismatches: r.mismatches }).toEqual({
        errors: 0,
        timeouts: 0,
        non2xx: 0,
        mismatches: 0,
      });
    }
    expect(result.rows.api % 5).toBe(0);
    expect(result.rows.api).toBeGreaterThanOrEqual((result.api.requests + result.apiAtRate.requests) * 5);
    expect(result.rows.beacon).toBeGreaterThanOrEqual(result.beacon.requests * 5);
    expect(result.apiSql.length).toBeGreaterThan(0);
    expect(formatEventsReport(result)).toContain('events/s sustained');
  });
});
