import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../packages/server/src/testing.ts';

const run = promisify(execFile);
const script = join(dirname(fileURLToPath(import.meta.url)), 'sync-customers.mjs');
let t: TestApp;
let url: string;
let secretKey: string;

beforeAll(async () => {
  t = await createTestApp();
  secretKey = (await t.newShop('Partner Shop')).secretKey;
  url = `${await t.app.start()}/graphql`;
});
afterAll(() => t.close());

it('syncs customers over plain GraphQL, idempotently, reporting rejected records', async () => {
  const env = { ...process.env, CRM_URL: url, CRM_SECRET_KEY: secretKey };
  const first = await run('node', [script], { env });
  expect(first.stdout).toContain('created=2 updated=0 rejected=1');
  expect(first.stdout).toContain('rejected erp-1003: VALIDATION_FAILED at input.email');
  expect(first.stdout).toContain('synced customers: 2');
  expect(first.stdout).toContain('erp-1002 Omar Haddad <omar@example.com> +442079460958');
  expect(first.stdout).toContain('order erp-o-501: 899.00 EUR -> customer FIRST_PURCHASE');
  expect(first.stdout).toContain('order erp-o-502: 108.90 EUR -> customer FIRST_PURCHASE');
  // KPIs over the last 30 days: both orders, (899.00 + 108.90) / 2 = 503.95, both leads from PARTNER converted.
  expect(first.stdout).toContain('kpis: orders=2 revenue=1007.90 aov=503.95 repurchase=0% churn=n/a');
  expect(first.stdout).toContain('source PARTNER: leads=2 conversions=2');
  expect(first.stdout).toContain('FIRST_PURCHASE=2');
  const second = await run('node', [script], { env });
  expect(second.stdout).toContain('created=0 updated=2 rejected=1');
  expect(second.stdout).toContain('synced customers: 2');
  // Re-running the order sync neither duplicates orders nor moves the stage further.
  expect(second.stdout).toContain('order erp-o-501: 899.00 EUR -> customer FIRST_PURCHASE');
});
