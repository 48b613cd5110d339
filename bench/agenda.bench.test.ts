import { expect } from 'vitest';
import { formatAgendaReport, runAgenda } from './agenda-harness.ts';
import { expectCleanLoad, smokeTest, tinyLoad } from './smoke.ts';

/** Smoke test of the agenda benchmark with tiny numbers: correctness only, never timings. */
smokeTest(
  'agenda benchmark harness',
  'seeds, verifies the raw baseline equals the API and loads both targets without errors',
  (database) => runAgenda({ followUps: 200, customers: 20, ...tinyLoad, ...database }),
  (result) => {
    expect(result.seeded.planned).toBe(180);
    expectCleanLoad([result.api, result.raw]);
    expect(result.apiSql.length).toBeGreaterThan(0);
    expect(formatAgendaReport(result)).toContain('API / raw');
  },
);
