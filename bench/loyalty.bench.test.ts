import { describe, expect, it } from 'vitest';
import { DEFAULT_ADMIN_URL } from './harness.ts';
import { formatLoyaltyReport, runLoyalty } from './loyalty-harness.ts';

/**
 * Smoke test of the loyalty benchmark with tiny numbers: correctness only, never timings.
 * TEST_DB=pglite runs on in-memory PGlite; TEST_DB=postgres on a fresh database at TEST_DATABASE_URL.
 */
describe('loyalty benchmark harness', () => {
  it('seeds orders, interactions and referrals, recomputes through the module and raw, and reports', async () => {
    const backend = process.env.TEST_DB === 'postgres' ? 'postgres' : 'pglite';
    const r = await runLoyalty({
      customers: 200,
      interactions: 2000,
      rounds: 1,
      backend,
      adminUrl: process.env.TEST_DATABASE_URL ?? DEFAULT_ADMIN_URL,
    });
    expect(r.backend).toBe(backend);
    expect(r.seeded).toMatchObject({ customers: 200, interactions: 2000, referrals: 20 });
    expect(r.seeded.orders).toBeGreaterThan(200);
    expect(r.seeded.orderItems).toBe(r.seeded.orders);
    expect(r.metrics.rows).toBe(200);
    expect(r.metrics.high + r.metrics.medium + r.metrics.low).toBe(200);
    expect(r.recompute.moduleMs).toHaveLength(1);
    expect(r.recompute.rawMs).toHaveLength(1);
    expect(r.satisfaction.answers).toBeGreaterThan(0);
    expect(formatLoyaltyReport(r)).toContain('satisfactionIndex');
    expect(formatLoyaltyReport(r)).toContain('module / raw');
  });
});
