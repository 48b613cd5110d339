// A tiny static server for the storefront example: index.html, app.js, the @crm/sdk browser
// bundle as /sdk.js, the @crm/sdk/track bundle as /track.js and the configuration as /config.js (CRM URL and publishable key).
//
//   pnpm --filter @crm/sdk build
//   CRM_URL=http://127.0.0.1:4000/graphql CRM_PUBLISHABLE_KEY=pk_live_... node examples/storefront/serve.mjs
//
// Options (environment or --flag value): CRM_URL / --crm-url, CRM_PUBLISHABLE_KEY /
// --publishable-key, PORT / --port (default 8080; 0 picks a free one), HOST (default 127.0.0.1),
// SDK_BUNDLE (default packages/sdk/dist/browser/crm-sdk.min.js; the tracker, crm-track.min.js, is
// taken from the same directory).
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const crmUrl = arg('crm-url') ?? process.env.CRM_URL ?? 'http://127.0.0.1:4000/graphql';
const publishableKey = arg('publishable-key') ?? process.env.CRM_PUBLISHABLE_KEY;
const port = Number(arg('port') ?? process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
const sdkBundle = resolve(process.env.SDK_BUNDLE ?? join(here, '../../packages/sdk/dist/browser/crm-sdk.min.js'));

if (!publishableKey?.startsWith('pk_')) {
  console.error('Set CRM_PUBLISHABLE_KEY (a publishable pk_… key: never put a secret key in a web page).');
  process.exit(2);
}
if (!existsSync(sdkBundle)) {
  console.error(`SDK bundle not found at ${sdkBundle}: run \`pnpm --filter @crm/sdk build\` (or set SDK_BUNDLE).`);
  process.exit(2);
}

const js = 'text/javascript; charset=utf-8';
const routes = {
  '/': () => ['text/html; charset=utf-8', readFileSync(join(here, 'index.html'))],
  '/index.html': () => ['text/html; charset=utf-8', readFileSync(join(here, 'index.html'))],
  '/app.js': () => [js, readFileSync(join(here, 'app.js'))],
  '/sdk.js': () => [js, readFileSync(sdkBundle)],
  '/track.js': () => [js, readFileSync(join(dirname(sdkBundle), 'crm-track.min.js'))],
  '/config.js': () => [js, `export default ${JSON.stringify({ crmUrl, publishableKey })};\n`],
};

const server = createServer((req, res) => {
  if (req.url === '/favicon.ico') {
    res.writeHead(204).end();
    return;
  }
  const route = routes[new URL(req.url ?? '/', 'http://x').pathname];
  if (req.method !== 'GET' || !route) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
    return;
  }
  const [type, body] = route();
  res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }).end(body);
});
server.listen(port, host, () => {
  console.log(`storefront on http://${host}:${server.address().port}/ (CRM ${crmUrl})`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
