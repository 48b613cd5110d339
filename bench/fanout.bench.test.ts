import { describe, expect, it } from 'vitest';
import { runFanout } from './fanout-harness.ts';
import { smokeDatabase } from './smoke.ts';

/** Smoke test of the fan-out benchmark with tiny numbers: every subscriber gets every lead, in order, once. */
describe('subscription fan-out benchmark harness', () => {
  it.each(['process', 'inline'] as const)(
    'delivers every lead to every subscriber exactly once, in order (subscribers: %s)',
    async (clients) => {
      const database = smokeDatabase();
      const r = await runFanout({ subscribers: 20, leads: 5, concurrency: 2, ...database, poolSize: 3, clients });
      expect(r.clients).toBe(clients);
      expect(r.backend).toBe(database.backend);
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
