import { describe, expect, it } from 'vitest';
import { DEFAULT_ADMIN_URL } from './harness.ts';
import { formatTimelineReport, runTimeline } from './timeline-harness.ts';

/**
 * Smoke test of the timeline benchmark with tiny numbers: correctness only, never timings.
 * TEST_DB=pglite runs on in-memory PGlite; TEST_DB=postgres on a fresh database at TEST_DATABASE_URL.
 */
describe('customer-timeline benchmark harness', () => {
  it('seeds, verifies the raw baseline equals the API and loads both targets without errors', async () => {
    const backend = process.env.TEST_DB === 'postgres' ? 'postgres' : 'pglite';
    const result = await runTimeline({
      events: 200,
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
    expect(result.events).toBe(200);
    expect(result.seeded.byKind).toEqual({ interaction: 140, order: 40, stage: 10, consent: 10 });
    // The first page mixes all four kinds, so the raw baseline is compared on every node type.
    expect(result.pageKinds).toEqual(['CONSENT_CHANGE', 'INTERACTION', 'ORDER', 'STAGE_CHANGE']);
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
    for (const ratio of [result.ratio.rps, result.ratio.p50, result.ratio.p99]) {
      expect(Number.isFinite(ratio)).toBe(true);
      expect(ratio).toBeGreaterThan(0);
    }
    expect(result.apiSql.length).toBeGreaterThan(0);
    expect(formatTimelineReport(result)).toContain('API / raw');
  });
});
