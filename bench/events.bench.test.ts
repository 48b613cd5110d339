import { expect } from 'vitest';
import { formatEventsReport, runEvents } from './events-harness.ts';
import { expectCleanLoad, smokeTest, tinyLoad } from './smoke.ts';

/** Smoke test of the behaviour-event benchmark with tiny numbers: correctness only, never timings. */
smokeTest(
  'behaviour-events benchmark harness',
  'verifies both targets write the batch, then loads them sustained and at a fixed rate without errors',
  (database) => runEvents({ batch: 5, rate: 20, ...tinyLoad, workers: 0, ...database }),
  (result) => {
    expectCleanLoad([result.api, result.raw, result.beacon, result.apiAtRate, result.rawAtRate]);
    expect(result.rows.api % 5).toBe(0);
    expect(result.rows.api).toBeGreaterThanOrEqual((result.api.requests + result.apiAtRate.requests) * 5);
    expect(result.rows.beacon).toBeGreaterThanOrEqual(result.beacon.requests * 5);
    expect(result.apiSql.length).toBeGreaterThan(0);
    expect(formatEventsReport(result)).toContain('events/s sustained');
  },
);
