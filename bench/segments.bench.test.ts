import { describe, expect, it } from 'vitest';
import { DEFAULT_ADMIN_URL } from './harness.ts';
import { formatSegments, RULES, runSegments } from './segments-harness.ts';

/** Smoke test of the segments benchmark with tiny numbers: the compiled and hand-written SQL agree; never timings. */
describe('segments benchmark harness', () => {
  it('seeds customers and orders, verifies each rule against its hand-written SQL and times both', async () => {
    const backend = process.env.TEST_DB === 'postgres' ? 'postgres' : 'pglite';
    const r = await runSegments({
      customers: 400,
      behaviourEvents: 6000,
      iterations: 2,
      warmup: 0,
      backend,
      adminUrl: process.env.TEST_DATABASE_URL ?? DEFAULT_ADMIN_URL,
    });
    expect(r.backend).toBe(backend);
    expect(r.orders).toBeGreaterThan(400);
    expect(r.behaviourEvents).toBe(6000);
    expect(r.rules.map((x) => x.name)).toEqual([...RULES.map((x) => x.name), 'events']);
    // 6,000 events over 400 customers (about 1.3 stitched product views each in 30 days): a few dozen match.
    expect(r.rules.find((x) => x.name === 'events')?.count).toBeGreaterThan(0);
    expect(r.rules.reduce((n, x) => n + x.count, 0)).toBeGreaterThan(0);
    for (const x of r.rules) {
      expect(Number.isFinite(x.ratio.count) && x.ratio.count > 0).toBe(true);
      expect(Number.isFinite(x.ratio.page) && x.ratio.page > 0).toBe(true);
    }
    expect(formatSegments(r)).toContain('API / raw');
  });
});
