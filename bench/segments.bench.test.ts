import { expect } from 'vitest';
import { formatSegments, RULES, runSegments } from './segments-harness.ts';
import { smokeTest } from './smoke.ts';

/** Smoke test of the segments benchmark with tiny numbers: the compiled and hand-written SQL agree; never timings. */
smokeTest(
  'segments benchmark harness',
  'seeds customers and orders, verifies each rule against its hand-written SQL and times both',
  (database) => runSegments({ customers: 400, behaviourEvents: 6000, iterations: 2, warmup: 0, ...database }),
  (r) => {
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
  },
);
