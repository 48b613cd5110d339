import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DocumentNode, Kind, type OperationDefinitionNode, parse, print, validate } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../packages/server/src/schema.ts';
import { seedDemo } from '../packages/server/src/seed-demo.ts';
import { createTestApp, globalId, type TestApp } from '../packages/server/src/testing.ts';

/**
 * Every ```graphql block of docs/*.md and README.md runs against a freshly seeded demo shop with
 * the demo secret key and must succeed: no GraphQL error, no typed error in the data. The
 * conventions (variables and {{placeholders}} in a ```json block after the block, the
 * `<!-- doc-test: ... -->` comments) are documented in docs/README.md.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const files = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];

type Block = { file: string; line: number; graphql: string; variables?: string; directive?: string };

/** The ```graphql blocks of a page, each with its ```json variables block and doc-test comment. */
export function extractBlocks(file: string, text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  const fenceEnd = (from: number) => {
    let j = from;
    while (j < lines.length && !/^```\s*$/.test(lines[j]!)) j++;
    return j;
  };
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)/.exec(lines[i]!);
    if (!open) continue;
    const end = fenceEnd(i + 1);
    if (open[1] === 'graphql') {
      let p = i - 1;
      while (p >= 0 && lines[p]!.trim() === '') p--;
      const directive = /^<!--\s*doc-test:\s*(.*?)\s*-->$/.exec(lines[p]?.trim() ?? '')?.[1];
      // Its variables: the next fenced block, when that is a ```json one (prose in between is fine).
      let n = end + 1;
      while (n < lines.length && !lines[n]!.startsWith('```')) n++;
      let variables: string | undefined;
      if (/^```json\s*$/.test(lines[n] ?? '')) variables = lines.slice(n + 1, fenceEnd(n + 1)).join('\n');
      blocks.push({ file, line: i + 1, graphql: lines.slice(i + 1, end).join('\n'), variables, directive });
    }
    i = end;
  }
  return blocks;
}

/** Typed errors a mutation returned: objects in the data with a `code` and a `message`. */
function typedErrors(value: unknown, path: string[] = []): string[] {
  if (Array.isArray(value)) return value.flatMap((v, k) => typedErrors(v, [...path, String(k)]));
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.code === 'string' && typeof o.message === 'string') return [`${path.join('.')}: ${o.code} ${o.message}`];
    return Object.entries(o).flatMap(([k, v]) => typedErrors(v, [...path, k]));
  }
  return [];
}

let t: TestApp;
let keys: { secretKey: string; publishableKey: string };
let tmp: string;
let resolvePlaceholder: (p: string) => Promise<string>;

beforeAll(async () => {
  t = await createTestApp();
  tmp = mkdtempSync(join(tmpdir(), 'crm-doc-examples-'));
  const demo = await seedDemo(t.db.prisma, join(tmp, 'demo-keys.json'));
  keys = demo;
  const shopId = demo.shop.id;
  const db = t.db.prisma;
  const must = <T>(what: string, v: T | null | undefined): T => {
    if (v == null) throw new Error(`doc-test placeholder {{${what}}}: nothing in the demo shop matches`);
    return v;
  };
  resolvePlaceholder = async (p) => {
    const [kind, ...rest] = p.split(':');
    const arg = rest.join(':');
    switch (kind) {
      case 'customer': {
        const where =
          arg === 'buyer'
            ? { stage: { in: ['LOYAL', 'REPEAT'] as ('LOYAL' | 'REPEAT')[] }, orders: { some: {} } }
            : arg === 'prospect'
              ? { stage: 'PROSPECT' as const, ownerId: { not: null } }
              : { email: arg };
        const c = await db.customer.findFirst({ where: { shopId, ...where }, orderBy: { email: 'asc' } });
        return globalId('Customer', must(p, c).id);
      }
      case 'staff':
        return globalId('StaffUser', must(p, await db.staffUser.findFirst({ where: { shopId, email: arg } })).id);
      case 'apiKey':
        return globalId('ApiKey', must(p, await db.apiKey.findFirst({ where: { shopId, name: arg } })).id);
      case 'segment':
        return globalId('Segment', must(p, await db.segment.findFirst({ where: { shopId, name: arg } })).id);
      case 'followUp':
        return globalId(
          'FollowUp',
          must(p, await db.followUp.findFirst({ where: { shopId, status: 'PLANNED' }, orderBy: { dueAt: 'asc' } })).id,
        );
      case 'date':
        return new Date(Date.now() + Number(arg) * 86_400_000).toISOString();
      default:
        throw new Error(`doc-test: unknown placeholder {{${p}}} (see docs/README.md)`);
    }
  };
});

afterAll(async () => {
  await t?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

async function fillPlaceholders(value: unknown): Promise<unknown> {
  if (typeof value === 'string') {
    const m = /^\{\{(.+)\}\}$/.exec(value);
    return m ? resolvePlaceholder(m[1]!) : value;
  }
  if (Array.isArray(value)) return Promise.all(value.map(fillPlaceholders));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await fillPlaceholders(v);
    return out;
  }
  return value;
}

for (const file of files) {
  const blocks = extractBlocks(file, readFileSync(join(root, file), 'utf8'));
  if (!blocks.length) continue;
  describe(file, () => {
    for (const b of blocks) {
      const skip = b.directive?.startsWith('skip');
      it.skipIf(skip)(`${relative(root, join(root, b.file))}:${b.line}`, async () => {
        let doc: DocumentNode;
        try {
          doc = parse(b.graphql);
        } catch (err) {
          throw new Error(`${b.file}:${b.line}: does not parse: ${(err as Error).message}`);
        }
        const fragments = doc.definitions.filter((d) => d.kind === 'FragmentDefinition');
        const operations = doc.definitions.filter((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition');
        const written = (b.variables ? JSON.parse(b.variables) : {}) as Record<string, unknown>;
        const key = b.directive === 'key=publishable' ? keys.publishableKey : keys.secretKey;
        for (const op of operations) {
          const single: DocumentNode = { kind: Kind.DOCUMENT, definitions: [op, ...fragments] };
          const invalid = validate(schema, single);
          expect(
            invalid.map((e) => e.message),
            `${b.file}:${b.line}`,
          ).toEqual([]);
          if (op.operation === 'subscription') continue;
          const declared = new Set((op.variableDefinitions ?? []).map((v) => v.variable.name.value));
          // Resolved per operation, so a placeholder may name what an earlier operation created.
          const vars = (await fillPlaceholders(Object.fromEntries(Object.entries(written).filter(([k]) => declared.has(k))))) as Record<
            string,
            unknown
          >;
          const res = await t.gql(key)(print(single), vars);
          const problems = [...(res.errors ?? []).map((e) => `${e.extensions?.code ?? ''} ${e.message}`), ...typedErrors(res.data)];
          expect(problems, `${b.file}:${b.line} ${op.name?.value ?? op.operation}`).toEqual([]);
        }
      });
    }
  });
}
