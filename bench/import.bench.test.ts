import { describe, expect, it } from 'vitest';
import { DEFAULT_ADMIN_URL } from './harness.ts';
import { formatImportReport, runImportBench } from './import-harness.ts';

/**
 * Smoke test of the import benchmark with tiny numbers: correctness only, never timings.
 * TEST_DB=pglite runs on in-memory PGlite; TEST_DB=postgres on a fresh database at TEST_DATABASE_URL.
 */
describe('import benchmark harness', () => {
  it('imports customers and orders through the API, verifies them, runs the raw baseline and reports', async () => {
    const backend = process.env.TEST_DB === 'postgres' ? 'postgres' : 'pglite';
    const r = await runImportBench({
      customers: 60,
      orders: 120,
      samples: 5,
      backend,
      adminUrl: process.env.TEST_DATABASE_URL ?? DEFAULT_ADMIN_URL,
    });
    expect(r.backend).toBe(backend);
    expect(r.verified).toMatchObject({ customers: 60, orders: 120, orderItems: 120 });
    expect(r.importMs.total).toBeGreaterThan(0);
    expect(r.rawMs.total).toBeGreaterThan(0);
    expect(formatImportReport(r)).toContain('import / raw');
  });
});
