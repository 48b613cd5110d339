import { describe, expect, it } from 'vitest';
import { formatPeerReport, runPeer } from './peer-harness.ts';

/**
 * Smoke test of the peer comparison with tiny numbers: correctness only, never timings. Needs
 * PostgreSQL (PostGraphile cannot serve PGlite) and spawns three servers (API, raw, PostGraphile).
 */
describe.skipIf(process.env.TEST_DB !== 'postgres')('peer comparison (PostGraphile) harness', () => {
  it('seeds, verifies the three targets agree on every query and loads them without errors', async () => {
    const result = await runPeer({
      customers: 120,
      events: 80,
      rounds: 1,
      duration: 1,
      warmup: 0,
      connections: 1,
      poolSize: 2,
      workers: 0,
      adminUrl: process.env.TEST_DATABASE_URL,
    });
    expect(result.seeded).toMatchObject({ customers: 120, consents: 240, events: 80 });
    expect(result.queries.map((q) => q.query)).toEqual(['customers', 'customersCount', 'customerOrders', 'timeline']);
    for (const q of result.queries) {
      expect(q.rows).toBeGreaterThan(0);
      expect(q.targets.map((t) => t.target)).toEqual(['raw', 'postgraphile', 'api']);
      for (const t of q.targets) {
        expect(t.requests).toBeGreaterThan(0);
        expect(t.cpuUs).toBeGreaterThan(0);
        expect({ errors: t.errors, non2xx: t.non2xx, mismatches: t.mismatches }).toEqual({ errors: 0, non2xx: 0, mismatches: 0 });
      }
    }
    expect(formatPeerReport(result)).toContain('api/peer req/s');
  });
});
