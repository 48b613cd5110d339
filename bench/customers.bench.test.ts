import { describe, expect, it } from 'vitest';
import { DEFAULT_ADMIN_URL, formatReport, runCustomersList } from './harness.ts';

/**
 * Smoke test of the benchmark harness with tiny numbers: correctness only, never timings.
 * TEST_DB=pglite runs on in-memory PGlite; TEST_DB=postgres on a fresh database at TEST_DATABASE_URL.
 */
describe('customers-list benchmark harness', () => {
  it('seeds, verifies and loads both targets without errors', async () => {
    const backend = process.env.TEST_DB === 'postgres' ? 'postgres' : 'pglite';
    const result = await runCustomersList({
      customers: 300,
      duration: 1,
      warmup: 0,
      connections: 2,
      poolSize: 2,
      workers: 1,
      backend,
      adminUrl: process.env.TEST_DATABASE_URL ?? DEFAULT_ADMIN_URL,
    });
    expect(result.backend).toBe(backend);
    expect(result.customers).toBe(300);
    expect(result.seeded).toMatchObject({ customers: 300, staff: 5 });
    expect(result.seeded.tags).toBeGreaterThan(0);
    expect(result.seeded.customerTags).toBeGreaterThan(0);
    for (const r of [result.api, result.raw]) {
      expect(r.requests).toBeGreaterThan(0);
      expect({ target: r.target, errors: r.errors, timeouts: r.timeouts, non2xx: r.non2xx, mismatches: r.mismatches }).toEqual({
        target: r.target,
        errors: 0,
        timeouts: 0,
        non2xx: 0,
        mismatches: 0,
      });
    }
    for (const ratio of [result.ratio.rps, result.ratio.p50]) {
      expect(Number.isFinite(ratio)).toBe(true);
      expect(ratio).toBeGreaterThan(0);
    }
    expect(result.apiSql.length).toBeGreaterThan(0);
    expect(formatReport(result)).toContain('API / raw');
  });
});
