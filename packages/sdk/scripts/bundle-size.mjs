// Bundles an SDK entry the way a web app's bundler would (ESM, platform "browser": a Node-only
// import fails the build; minified; tree-shaken) and measures it. Used by browser-bundle.mjs (the
// build) and by tests/sdk-package.test.ts (the budget).
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Gzip budget of the storefront entry in bytes (3 KiB). */
export const STOREFRONT_BUDGET = 3 * 1024;

/** Gzip budget of the behaviour tracker entry (@crm/sdk/track) in bytes (1.5 KiB). */
export const TRACK_BUDGET = 1536;

/** The entries by audience: file, and whether it may pull in graphql-ws (WebSocket subscriptions). */
export const entries = {
  storefront: { file: 'src/storefront.ts' },
  track: { file: 'src/track.ts' },
  main: { file: 'src/index.ts' },
};

/** Bundles `src/<entry>` (or `stdin` contents resolved from src/) and returns the code with its sizes. */
export async function bundle({ file, contents }) {
  const result = await build({
    ...(contents ? { stdin: { contents, resolveDir: join(root, 'src'), loader: 'ts' } } : { entryPoints: [join(root, file)] }),
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
  return {
    code,
    text: result.outputFiles[0].text,
    bytes: code.length,
    gzip: gzipSync(code, { level: 9 }).length,
    inputs: Object.keys(result.metafile.inputs),
  };
}

export const kib = (n) => `${(n / 1024).toFixed(2)} KiB`;
