import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
// @ts-expect-error a plain .mjs build script without types
import { bundle, entries, STOREFRONT_BUDGET, TRACK_BUDGET } from '../packages/sdk/scripts/bundle-size.mjs';

/**
 * The SDK as a package, without packing it (the packed tarball is checked by
 * sdk-package.slow.test.ts): the storefront entry's size budget and contents, and the README's
 * TypeScript examples type-checking against the SDK's types.
 */
const here = dirname(fileURLToPath(import.meta.url));
const sdk = join(here, '../packages/sdk');

type Bundle = { gzip: number; text: string; inputs: string[] };

describe('@crm/sdk/storefront bundle', () => {
  it(`is under ${STOREFRONT_BUDGET} bytes gzip, holds only fetch and the storefront documents`, async () => {
    const storefront: Bundle = await bundle(entries.storefront);
    const main: Bundle = await bundle(entries.main);
    console.log(`[sdk size] storefront ${storefront.gzip} B gzip; main ${main.gzip} B gzip`);
    expect(storefront.gzip).toBeLessThanOrEqual(STOREFRONT_BUDGET);
    expect(storefront.inputs.filter((f) => f.includes('node_modules'))).toEqual([]);
    expect(storefront.text).not.toMatch(/graphql-transport-ws|WebSocket/);
    for (const op of ['DeleteCustomer', 'RedeemPoints', 'ListWebhookDeliveries', 'CreateApiKey']) expect(storefront.text).not.toContain(op);
    for (const op of ['StorefrontCaptureLead', 'StorefrontTrackInteraction', 'query Me', 'UpdateMyProfile'])
      expect(storefront.text).toContain(op);
    // The main entry is the one with subscriptions.
    expect(main.inputs.some((f) => f.includes('graphql-ws'))).toBe(true);
    expect(main.inputs.some((f) => /node_modules\/graphql\//.test(f))).toBe(false);
  });
});

describe('@crm/sdk/track bundle', () => {
  it(`is under ${TRACK_BUDGET} bytes gzip and holds no GraphQL client`, async () => {
    const track: Bundle = await bundle(entries.track);
    console.log(`[sdk size] track ${track.gzip} B gzip`);
    expect(track.gzip).toBeLessThanOrEqual(TRACK_BUDGET);
    expect(track.inputs).toEqual(['src/track.ts'].map((f) => expect.stringContaining(f)));
    expect(track.text).toContain('sendBeacon');
    expect(track.text).not.toMatch(/graphql-transport-ws|WebSocket|StorefrontCaptureLead/);
  });
});

describe('README', () => {
  it('every ```ts example type-checks (strict) against the SDK', () => {
    const readme = readFileSync(join(sdk, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    expect(blocks.some((b) => b.includes("req.headers['x-crm-signature']"))).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'sdk-readme-'));
    try {
      const files = blocks.map((code, i) => {
        const f = join(dir, `example-${i}.ts`);
        writeFileSync(f, `${code}\nexport {};\n`);
        return f;
      });
      const program = ts.createProgram(files, {
        strict: true,
        noEmit: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        moduleResolution: ts.ModuleResolutionKind.Bundler,
        lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
        types: ['node', 'ws'],
        typeRoots: [join(here, '../node_modules/@types')],
        baseUrl: dir,
        paths: {
          '@crm/sdk': [join(sdk, 'src/index.ts')],
          '@crm/sdk/storefront': [join(sdk, 'src/storefront.ts')],
          '@crm/sdk/track': [join(sdk, 'src/track.ts')],
          ws: [join(here, '../node_modules/@types/ws')],
        },
        skipLibCheck: true,
      });
      const problems = ts
        .getPreEmitDiagnostics(program)
        .map(
          (d) =>
            `${d.file ? `${d.file.fileName.replace(dir, 'README')}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1} ` : ''}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
        );
      expect(problems).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
