import { expect } from 'vitest';
import { formatReport, runCustomersList } from './harness.ts';
import { expectCleanLoad, expectRatios, smokeTest, tinyLoad } from './smoke.ts';

/** Smoke test of the benchmark harness with tiny numbers: correctness only, never timings. */
smokeTest(
  'customers-list benchmark harness',
  'seeds, verifies and loads both targets without errors',
  (database) => runCustomersList({ customers: 300, ...tinyLoad, ...database }),
  (result) => {
    expect(result.customers).toBe(300);
    expect(result.seeded).toMatchObject({ customers: 300, staff: 5 });
    expect(result.seeded.tags).toBeGreaterThan(0);
    expect(result.seeded.customerTags).toBeGreaterThan(0);
    expectCleanLoad([result.api, result.raw]);
    expectRatios([result.ratio.rps, result.ratio.p50]);
    expect(result.apiSql.length).toBeGreaterThan(0);
    expect(formatReport(result)).toContain('API / raw');
  },
);
