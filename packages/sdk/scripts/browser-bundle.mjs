// Builds the single-file browser bundles of @crm/sdk/storefront (dist/browser/crm-sdk.min.js, for
// pages without a bundler) and @crm/sdk/track (dist/browser/crm-track.min.js) and prints the gzip size of each entry; fails when the storefront entry
// is over its budget (3 KiB gzip). No metafile is written.
//
//   node scripts/browser-bundle.mjs                   writes dist/browser/crm-sdk.min.js
//   node scripts/browser-bundle.mjs --outfile FILE    writes FILE instead, and the tracker next to it (the storefront example's test)
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { bundle, entries, kib, root, STOREFRONT_BUDGET, TRACK_BUDGET } from './bundle-size.mjs';

const args = process.argv.slice(2);
const i = args.indexOf('--outfile');
const outfile = i >= 0 ? resolve(args[i + 1]) : join(root, 'dist/browser/crm-sdk.min.js');

const storefront = await bundle(entries.storefront);
mkdirSync(dirname(outfile), { recursive: true });
writeFileSync(outfile, storefront.code);
const track = await bundle(entries.track);
writeFileSync(join(dirname(outfile), 'crm-track.min.js'), track.code);
const main = await bundle(entries.main);
console.log(
  `[sdk size] @crm/sdk/storefront: ${kib(storefront.bytes)} minified, ${kib(storefront.gzip)} gzip (${storefront.gzip} bytes; budget ${STOREFRONT_BUDGET}) -> ${relative(process.cwd(), outfile)}`,
);
console.log(
  `[sdk size] @crm/sdk/track: ${kib(track.bytes)} minified, ${kib(track.gzip)} gzip (${track.gzip} bytes; budget ${TRACK_BUDGET})`,
);
console.log(`[sdk size] @crm/sdk (everything, with graphql-ws): ${kib(main.bytes)} minified, ${kib(main.gzip)} gzip`);
if (storefront.gzip > STOREFRONT_BUDGET) {
  console.error(`[sdk size] @crm/sdk/storefront is ${storefront.gzip} bytes gzip, over its ${STOREFRONT_BUDGET}-byte budget`);
  process.exit(1);
}
if (track.gzip > TRACK_BUDGET) {
  console.error(`[sdk size] @crm/sdk/track is ${track.gzip} bytes gzip, over its ${TRACK_BUDGET}-byte budget`);
  process.exit(1);
}
