import { expect } from 'vitest';
import { expectCleanLoad, expectRatios, smokeTest, tinyLoad } from './smoke.ts';
import { formatTimelineReport, runTimeline } from './timeline-harness.ts';

/** Smoke test of the timeline benchmark with tiny numbers: correctness only, never timings. */
smokeTest(
  'customer-timeline benchmark harness',
  'seeds, verifies the raw baseline equals the API and loads both targets without errors',
  (database) => runTimeline({ events: 200, customers: 20, ...tinyLoad, ...database }),
  (result) => {
    expect(result.events).toBe(200);
    expect(result.seeded.byKind).toEqual({ interaction: 140, order: 40, stage: 10, consent: 10 });
    // The first page mixes all four kinds, so the raw baseline is compared on every node type.
    expect(result.pageKinds).toEqual(['CONSENT_CHANGE', 'INTERACTION', 'ORDER', 'STAGE_CHANGE']);
    expectCleanLoad([result.api, result.raw]);
    expectRatios([result.ratio.rps, result.ratio.p50, result.ratio.p99]);
    expect(result.apiSql.length).toBeGreaterThan(0);
    expect(formatTimelineReport(result)).toContain('API / raw');
  },
);
