import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCrmClient } from '../packages/sdk/src/index.ts';
import { createTestApp, type TestApp } from '../packages/server/src/testing.ts';

/**
 * @crm/sdk as people install it: `pnpm pack`, then
 *  - publint --strict and @arethetypeswrong/cli (node10, node16 CJS/ESM, bundler) on the tarball;
 *  - the tarball's contents (README, LICENSE, no metafile, no source maps) and package.json fields;
 *  - `npm install <tarball>` into a fresh folder outside the workspace, then an ESM TypeScript
 *    script (type-checked with `module: nodenext`, then run), a CJS script, both against a running
 *    server without `graphql` installed (as with --legacy-peer-deps), and a Vite build of a page
 *    that captures a lead in headless Chromium (every host but 127.0.0.1 blocked).
 * Runs once, in the 'slow' project. Needs the npm registry; Chromium parts skip without /usr/bin/chromium.
 */
const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const sdkDir = join(here, '../packages/sdk');
const bin = (name: string) => join(sdkDir, 'node_modules/.bin', name);
const CHROMIUM = '/usr/bin/chromium';

let t: TestApp;
let crmUrl: string;
let keys: { secretKey: string; publishableKey: string };
let work: string;
let tarball: string;
let app: string;

const sh = async (file: string, args: string[], cwd: string, env: Record<string, string> = {}) => {
  try {
    return await run(file, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 32 * 1024 * 1024, timeout: 240_000 });
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${file} ${args.join(' ')} failed:\n${x.stdout ?? ''}\n${x.stderr ?? x.message}`);
  }
};
const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));

beforeAll(async () => {
  t = await createTestApp();
  keys = await t.newShop('Package Shop');
  crmUrl = `${await t.app.start()}/graphql`;
  work = mkdtempSync(join(tmpdir(), 'crm-sdk-consumer-'));
  await sh('pnpm', ['run', 'build'], sdkDir);
  const packDir = join(work, 'pack');
  mkdirSync(packDir);
  await sh('pnpm', ['pack', '--pack-destination', packDir], sdkDir);
  tarball = join(packDir, readdirSync(packDir).find((f) => f.endsWith('.tgz'))!);
  await sh('tar', ['xzf', tarball, '-C', packDir], packDir);
  // The consumer: a fresh npm project outside the workspace.
  app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, version: '1.0.0' }));
  const install = (vite: string) =>
    sh('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball, 'typescript@~5.9.3', '@types/node@^20', vite], app);
  await install('vite@^8').catch(() => install('vite@^7'));
  const installed = (name: string) => JSON.parse(readFileSync(join(app, 'node_modules', name, 'package.json'), 'utf8')).version;
  console.log(
    `[sdk consumer] npm installed @crm/sdk ${installed('@crm/sdk')}, vite ${installed('vite')}, typescript ${installed('typescript')}`,
  );
}, 600_000);

afterAll(async () => {
  await t?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('passes publint --strict and @arethetypeswrong/cli (node10, node16 CJS/ESM, bundler) for every entry', async () => {
    const lint = await sh(bin('publint'), ['--strict', join(dirname(tarball), 'package')], sdkDir);
    expect(lint.stdout).toMatch(/All good/);
    const attw = await sh(bin('attw'), [tarball, '--format', 'json'], sdkDir); // exits non-zero on any problem
    const report = JSON.parse(attw.stdout) as {
      problems?: unknown[] | Record<string, unknown[]>;
      analysis: { entrypoints: Record<string, { resolutions: Record<string, { resolution?: { fileName: string } }> }> };
    };
    const problems = report.problems ?? [];
    expect(Array.isArray(problems) ? problems : Object.values(problems).flat()).toEqual([]);
    const entries = report.analysis.entrypoints;
    expect(Object.keys(entries).sort()).toEqual(['.', './browser', './package.json', './storefront', './track']);
    for (const name of ['.', './storefront', './browser', './track']) {
      for (const kind of ['node10', 'node16-cjs', 'node16-esm', 'bundler']) {
        expect(entries[name]!.resolutions[kind]?.resolution?.fileName, `${name} ${kind}`).toMatch(/\.d\.c?ts$/);
      }
    }
  });

  it('holds README and LICENSE, no metafile or source maps; declares license, repository, engines and graphql', () => {
    const pkgDir = join(dirname(tarball), 'package');
    const list = files(pkgDir).map((f) => relative(pkgDir, f));
    expect(list).toEqual(expect.arrayContaining(['README.md', 'LICENSE', 'package.json', 'dist/index.js', 'dist/storefront.cjs']));
    expect(list.filter((f) => f.endsWith('.map') || f.endsWith('.meta.json') || f.startsWith('src/'))).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
    expect(pkg).toMatchObject({ license: 'MIT', engines: { node: expect.any(String) }, repository: { type: 'git' } });
    expect(pkg.peerDependencies?.graphql).toBeTruthy();
    expect(JSON.stringify(pkg.exports)).not.toContain('source');
    expect(readFileSync(join(pkgDir, 'README.md'), 'utf8')).toMatch(/@crm\/sdk\/storefront/);
  });
});

describe('installed with npm in a fresh project', () => {
  it('an ESM TypeScript script type-checks (nodenext, strict) and runs; a CJS script runs; neither needs graphql at run time', async () => {
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          outDir: 'out',
          skipLibCheck: false,
          types: ['node'],
        },
        files: ['esm.mts'],
      }),
    );
    writeFileSync(
      join(app, 'esm.mts'),
      `import { type CrmClient, CrmError, CrmValidationError, createCrmClient, unwrap } from '@crm/sdk';
import { createStorefrontClient, type StorefrontClient } from '@crm/sdk/storefront';

const crm: CrmClient = createCrmClient({ url: process.env.CRM_URL!, apiKey: process.env.CRM_SECRET_KEY! });
const sf: StorefrontClient = createStorefrontClient({ url: process.env.CRM_URL!, apiKey: process.env.CRM_PUBLISHABLE_KEY! });
const email = \`esm-\${Date.now()}@consumer.test\`;
const { customer } = unwrap(await crm.customers.create({ email, firstName: 'Esm' }));
const name: string | null = customer.firstName; // exact types, not any
// @ts-expect-error an unknown input field is a type error (the types are real)
await crm.customers.get(customer.id, { nope: true });
let issues = 0;
try {
  unwrap(await sf.leads.capture({ email: 'not-an-email' }));
} catch (e) {
  if (e instanceof CrmValidationError) issues = e.issues.length; // narrows: issues is typed
  else if (e instanceof CrmError) throw new Error(e.code);
}
let listed = 0;
for await (const c of crm.customers.list({ first: 50 })) listed += c.id ? 1 : 0;
console.log(JSON.stringify({ name, issues, listed }));
`,
    );
    await sh(join(app, 'node_modules/.bin/tsc'), ['-p', '.'], app);
    // Without graphql installed (npm --legacy-peer-deps, Yarn 1): nothing may load it at run time.
    rmSync(join(app, 'node_modules/graphql'), { recursive: true, force: true });
    const env = { CRM_URL: crmUrl, CRM_SECRET_KEY: keys.secretKey, CRM_PUBLISHABLE_KEY: keys.publishableKey };
    const esm = await sh(process.execPath, ['out/esm.mjs'], app, env);
    expect(JSON.parse(esm.stdout)).toEqual({ name: 'Esm', issues: 1, listed: expect.any(Number) });
    expect(JSON.parse(esm.stdout).listed).toBeGreaterThanOrEqual(1);

    writeFileSync(
      join(app, 'cjs.cjs'),
      `const { createCrmClient, unwrap, CrmAuthError } = require('@crm/sdk');
const { createStorefrontClient } = require('@crm/sdk/storefront');
(async () => {
  const crm = createCrmClient({ url: process.env.CRM_URL, apiKey: process.env.CRM_SECRET_KEY });
  const sf = createStorefrontClient({ url: process.env.CRM_URL, apiKey: process.env.CRM_PUBLISHABLE_KEY });
  const lead = unwrap(await sf.leads.capture({ email: 'cjs-' + Date.now() + '@consumer.test' }));
  const shop = await crm.shop.get();
  const denied = await createCrmClient({ url: process.env.CRM_URL, apiKey: 'sk_live_nope' }).shop.get().catch((e) => e);
  console.log(JSON.stringify({ accepted: lead.accepted, shop: shop.name, auth: denied instanceof CrmAuthError, requestId: typeof denied.requestId }));
})().catch((e) => { console.error(e); process.exit(1); });
`,
    );
    const cjs = await sh(process.execPath, ['cjs.cjs'], app, env);
    expect(JSON.parse(cjs.stdout)).toEqual({ accepted: true, shop: 'Package Shop', auth: true, requestId: 'string' });
  });

  describe.skipIf(!existsSync(CHROMIUM))('a Vite app with @crm/sdk/storefront in headless Chromium', () => {
    let browser: Browser | undefined;
    let site: Server | undefined;
    afterAll(async () => {
      await browser?.close();
      site?.closeAllConnections();
      site?.close();
    });

    it('builds (storefront code only, no graphql-ws) and captures a lead against the running server', async () => {
      const web = join(app, 'web');
      mkdirSync(web, { recursive: true });
      writeFileSync(join(web, 'index.html'), '<!doctype html><p id="status">…</p><script type="module" src="./main.js"></script>');
      writeFileSync(
        join(web, 'main.js'),
        `import { CrmValidationError, createStorefrontClient, unwrap } from '@crm/sdk/storefront';
const params = new URLSearchParams(location.search);
const crm = createStorefrontClient({ url: params.get('crm'), apiKey: params.get('key') });
const status = document.getElementById('status');
unwrap(await crm.leads.capture({ email: params.get('email'), firstName: 'Vite', consents: [{ channel: 'EMAIL', granted: true }] }))
  .accepted ? (status.textContent = 'captured') : (status.textContent = 'not accepted');
try { unwrap(await crm.leads.capture({ email: 'broken' })); } catch (e) { status.dataset.invalid = String(e instanceof CrmValidationError); }
`,
      );
      await sh(join(app, 'node_modules/.bin/vite'), ['build', '--logLevel', 'warn', '--outDir', 'dist', '--emptyOutDir'], web);
      const dist = join(web, 'dist');
      const js = files(dist).filter((f) => f.endsWith('.js'));
      const code = js.map((f) => readFileSync(f, 'utf8')).join('\n');
      expect(code).not.toMatch(/graphql-transport-ws|DeleteCustomer|RedeemPoints/);
      expect(code).toMatch(/StorefrontCaptureLead/);

      site = createServer((req, res) => {
        const path = join(dist, new URL(req.url ?? '/', 'http://x').pathname);
        const file = existsSync(path) && statSync(path).isFile() ? path : join(dist, 'index.html');
        res.writeHead(200, { 'content-type': extname(file) === '.js' ? 'text/javascript' : 'text/html' });
        res.end(readFileSync(file));
      });
      await new Promise<void>((r) => site!.listen(0, '127.0.0.1', r));
      const siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;

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
      const page = await browser.newPage();
      const log: string[] = [];
      page.on('console', (m) => log.push(`console.${m.type()}: ${m.text()}`));
      page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
      // Only the two local servers may be reached.
      await page.route('**/*', (route) => (new URL(route.request().url()).hostname === '127.0.0.1' ? route.continue() : route.abort()));
      const email = `vite-${Date.now()}@consumer.test`;
      await page.goto(
        `${siteUrl}?crm=${encodeURIComponent(crmUrl)}&key=${encodeURIComponent(keys.publishableKey)}&email=${encodeURIComponent(email)}`,
      );
      await page.waitForSelector('#status[data-invalid]', { timeout: 20_000 }).catch(() => {});
      expect(await page.textContent('#status'), log.join('\n')).toBe('captured');
      expect(await page.getAttribute('#status', 'data-invalid')).toBe('true');
      const lead = await createCrmClient({ url: crmUrl, apiKey: keys.secretKey }).customers.getBy({ email });
      expect(lead).toMatchObject({ firstName: 'Vite', stage: 'PROSPECT' });
    });
  });
});
