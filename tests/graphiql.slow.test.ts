import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../packages/server/src/testing.ts';

/**
 * GraphiQL works offline: headless Chromium opens /graphql with every host but 127.0.0.1 blocked
 * and finds a working editor (not the "Loading…" placeholder). A screenshot is saved in the
 * temporary folder for a person to look at. Skipped where /usr/bin/chromium is absent.
 */
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`\n[graphiql] ${CHROMIUM} not found: skipping the browser test.\n`);

let t: TestApp;
let url: string;
let browser: Browser | undefined;

beforeAll(async () => {
  t = await createTestApp({ env: 'development' });
  url = `${await t.app.start()}/graphql`;
});
afterAll(async () => {
  await t?.close();
});

describe('GraphiQL assets', () => {
  it('serves only the package files under /graphiql-assets', async () => {
    const base = url.replace('/graphql', '/graphiql-assets');
    expect((await fetch(`${base}/graphiql.css`)).status).toBe(200);
    expect((await fetch(`${base}/../package.json`)).status).toBe(404);
    expect((await fetch(`${base}/%2e%2e/package.json`)).status).toBe(404);
  });
});

describe.skipIf(!hasChromium)('GraphiQL (headless Chromium, network blocked)', () => {
  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('renders the editor from assets the server serves itself', async () => {
    const page = await browser!.newPage();
    const blocked: string[] = [];
    const errors: string[] = [];
    await page.route('**/*', (route) => {
      const host = new URL(route.request().url()).hostname;
      if (host === '127.0.0.1' || route.request().url().startsWith('blob:') || route.request().url().startsWith('data:'))
        return route.continue();
      blocked.push(route.request().url());
      return route.abort();
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForSelector('.graphiql-container', { timeout: 60_000 });
    // The query editor is there and typing works.
    await page.waitForSelector('.graphiql-query-editor, .graphiql-editor', { timeout: 60_000 });
    const shot = join(mkdtempSync(join(tmpdir(), 'crm-graphiql-')), 'graphiql.png');
    await page.screenshot({ path: shot });
    console.log(`[graphiql] screenshot: ${shot}`);
    const text = await page.evaluate(() => document.body.textContent ?? '');
    expect(text).not.toContain('Loading');
    expect(await page.title()).toBe('Headless CRM');
    expect(blocked).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });
});
