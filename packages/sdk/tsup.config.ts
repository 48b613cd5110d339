import { defineConfig } from 'tsup';

// Three entries by audience: `index` (servers and partners: everything, graphql-ws), `storefront`
// (publishable key, fetch only) and `track` (behaviour events, no GraphQL client). Source maps only with SDK_SOURCEMAP=1 (they doubled the tarball);
// no metafile.
export default defineConfig({
  entry: ['src/index.ts', 'src/storefront.ts', 'src/track.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: process.env.SDK_SOURCEMAP === '1',
  treeshake: true,
  // Self-contained entries: the storefront file holds only its four documents, not a shared chunk of all of them.
  splitting: false,
  target: 'es2022',
  platform: 'neutral',
  external: ['graphql-ws', 'graphql-ws/client'],
});
