import { describe, expect, it } from 'vitest';
import { runFanout } from './fanout-harness.ts';
import { DEFAULT_ADMIN_URL } from './harness.ts';

/** Smoke test of the fan-out benchmark with tiny numbers: every subscriber gets every lead, in order, once. */
describe('subscription fan-out benchmark harness', () => {
  it.each(['process', 'inline'] as const)(
    'delivers every lead to every subscriber exactly once, in order (subscribers: %s)',
    async (clients) => {
      const backend = process.env.TEST_DB === 'postgres' ? 'postgres' : 'pglite';
      const r = await runFanout({
        subscribers: 20,
        leads: 5,
        concurrency: 2,
        backend,
        adminUrl: process.env.TEST_DATABASE_URL ?? DEFAULT_ADMIN_URL,
        poolSize: 3,
        clients,
      });
      expect(r.clients).toBe(clients);
      expect(r.backend).toBe(backend);
      expect({ deliveries: r.deliveries, duplicates: r.duplicates, outOfOrder: r.outOfOrder }).toEqual({
        deliveries: 100,
        duplicates: 0,
        outOfOrder: 0,
      });
      expect(Number.isFinite(r.latencyMs.p99)).toBe(true);
      expect(r.cpuUsPerDelivery).toBeGreaterThan(0);
    },
  );
});
