import { expect } from 'vitest';
import { formatImportReport, runImportBench } from './import-harness.ts';
import { smokeTest } from './smoke.ts';

/** Smoke test of the import benchmark with tiny numbers: correctness only, never timings. */
smokeTest(
  'import benchmark harness',
  'imports customers and orders through the API, verifies them, runs the raw baseline and reports',
  (database) => runImportBench({ customers: 60, orders: 120, samples: 5, ...database }),
  (r) => {
    expect(r.verified).toMatchObject({ customers: 60, orders: 120, orderItems: 120 });
    expect(r.importMs.total).toBeGreaterThan(0);
    expect(r.rawMs.total).toBeGreaterThan(0);
    expect(formatImportReport(r)).toContain('import / raw');
  },
);
