// Bundles the SDK's ESM entry for browsers (minified, platform "browser": a Node-only import
// would fail the build) and prints its raw and gzip sizes.
//
//   node scripts/browser-bundle.mjs                   writes dist/browser/crm-sdk.min.js
//   node scripts/browser-bundle.mjs --outfile FILE    writes FILE instead (the storefront test)
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const i = args.indexOf('--outfile');
const outfile = i >= 0 ? resolve(args[i + 1]) : join(root, 'dist/browser/crm-sdk.min.js');

const result = await build({
  entryPoints: [join(root, 'src/index.ts')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  treeShaking: true,
  legalComments: 'none',
  metafile: true,
  write: false,
  logLevel: 'error',
});
const code = result.outputFiles[0].contents;
mkdirSync(dirname(outfile), { recursive: true });
writeFileSync(outfile, code);
writeFileSync(`${outfile}.meta.json`, JSON.stringify(result.metafile));
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(
  `[sdk size] ${relative(process.cwd(), outfile)}: ${kb(code.length)} minified, ${kb(gzipSync(code, { level: 9 }).length)} gzip (ESM browser entry, everything exported)`,
);
