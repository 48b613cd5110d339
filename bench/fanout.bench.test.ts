import { describe, expect, it } from 'vitest';
import { runFanout } from './fanout-harness.ts';
import { smokeBackend, smokeDatabase } from './smoke.ts';

/** Smoke test of the fan-out benchmark with tiny numbers: every subscriber gets every lead, in order, once. */
describe('subscription fan-out benchmark harness', () => {
  it.each(['process', 'inline'] as const)(
    'delivers every lead to every subscriber exactly once, in order (subscribers: %s)',
    async (clients) => {
      const database = smokeDatabase();
      const r = await runFanout({ subscribers: 20, leads: 5, concurrency: 2, ...database, poolSize: 3, clients });
      expect(r.clients).toBe(clients);
      expect(r.writer).toBe('same');
      expect(r.backend).toBe(database.backend);
      expect({ deliveries: r.deliveries, duplicates: r.duplicates, outOfOrder: r.outOfOrder }).toEqual({
        deliveries: 100,
        duplicates: 0,
        outOfOrder: 0,
      });
      expect(Number.isFinite(r.latencyMs.p99)).toBe(true);
      expect(r.cpuUsPerDelivery).toBeGreaterThan(0);
      expect(r.writerCpuUsPerLead).toBeUndefined();
    },
  );

  // A second instance shares the database through PostgreSQL; an in-memory PGlite is one process's.
  it.skipIf(smokeBackend() !== 'postgres')(
    'with the leads captured on a second instance, still delivers every lead once, in order, and reports both CPU figures',
    async () => {
      const r = await runFanout({ subscribers: 20, leads: 5, concurrency: 2, ...smokeDatabase(), poolSize: 3, writer: 'instance' });
      expect(r.writer).toBe('instance');
      expect({ deliveries: r.deliveries, duplicates: r.duplicates, outOfOrder: r.outOfOrder }).toEqual({
        deliveries: 100,
        duplicates: 0,
        outOfOrder: 0,
      });
      expect(r.cpuUsPerDelivery).toBeGreaterThan(0);
      expect(r.writerCpuUsPerLead).toBeGreaterThan(0);
    },
  );

  it.skipIf(smokeBackend() !== 'pglite')('refuses a second instance on an in-memory PGlite (nothing to share)', async () => {
    await expect(
      runFanout({ subscribers: 2, leads: 1, concurrency: 1, ...smokeDatabase(), poolSize: 2, writer: 'instance' }),
    ).rejects.toThrow(/needs PostgreSQL/);
  });
});
