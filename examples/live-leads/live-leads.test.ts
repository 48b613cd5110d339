import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../packages/server/src/testing.ts';

const here = dirname(fileURLToPath(import.meta.url));
let t: TestApp;
let url: string;
let keys: { secretKey: string; publishableKey: string };

beforeAll(async () => {
  t = await createTestApp();
  keys = await t.newShop('Live Leads Shop');
  url = `${await t.app.start()}/graphql`;
});
afterAll(() => t.close());

it('shows a lead captured elsewhere as it arrives', async () => {
  // The SDK from source (the `source` export condition), so no build is needed for the test.
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', join(here, 'live-leads.mjs')], {
    cwd: here,
    env: { ...process.env, CRM_URL: url, CRM_SECRET_KEY: keys.secretKey },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const waitFor = async (text: string, ms = 20_000) => {
    const end = Date.now() + ms;
    while (!out.includes(text)) {
      if (Date.now() > end) throw new Error(`timed out waiting for "${text}"; output so far:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  try {
    await waitFor('Watching');
    await new Promise((r) => setTimeout(r, 500));
    const r = await t.gql(keys.publishableKey)('mutation($i: CaptureLeadInput!) { captureLead(input: $i) { __typename } }', {
      i: { email: 'walk-in@example.com', firstName: 'Wanda', lastName: 'Walker' },
    });
    expect(r.data?.captureLead).toEqual({ __typename: 'CaptureLeadPayload' });
    await waitFor('NEW LEAD  Wanda Walker [PROSPECT]');
  } finally {
    child.kill('SIGTERM');
  }
});
