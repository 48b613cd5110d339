import { expect } from 'vitest';
import { formatLoyaltyReport, runLoyalty } from './loyalty-harness.ts';
import { smokeTest } from './smoke.ts';

/** Smoke test of the loyalty benchmark with tiny numbers: correctness only, never timings. */
smokeTest(
  'loyalty benchmark harness',
  'seeds orders, interactions and referrals, recomputes through the module and raw, and reports',
  (database) => runLoyalty({ customers: 200, interactions: 2000, rounds: 1, ...database }),
  (r) => {
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
  },
);
