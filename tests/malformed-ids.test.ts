import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDatamodel } from '../packages/server/src/generated/pothos-types.ts';
import { schema } from '../packages/server/src/schema.ts';
import { createTestApp, type TestApp } from '../packages/server/src/testing.ts';
import {
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  getNamedType,
  isAbstractType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
} from '../packages/server/src/testing-graphql.ts';

/**
 * Every argument or input field that takes an id, of every Query, Mutation and Subscription field
 * (found by walking the schema, so new fields are covered), given malformed ids: the answer is a
 * validation error or NOT_FOUND / null, never INTERNAL. Ids are parsed in one place
 * (modules/common/graphql-helpers.ts `decodeGlobalId`, the relay plugin's decodeGlobalID option).
 */

type Ext = { isRelayGlobalID?: boolean; relayGlobalIDFor?: { typename: string }[] | null } | null | undefined;
type Slot = { path: string[]; list: boolean; forType: string | null };

const b64 = (s: string) => Buffer.from(s).toString('base64');
const BAD = (forType: string) => [
  'nope',
  '',
  '%%%',
  b64(`${forType}:nope`),
  b64(`${forType}:`),
  b64(`${forType}:1' OR '1'='1`),
  b64(`Nope:${randomUUID()}`),
  b64(`${forType}:${randomUUID().toUpperCase()}x`),
  'x'.repeat(5000),
];

const MODELS = Object.keys(getDatamodel().datamodel.models);
const isId = (t: GraphQLInputType) => getNamedType(t).name === 'ID';
const required = (f: GraphQLArgument | GraphQLInputField) => isNonNullType(f.type) && f.defaultValue === undefined;

/** Paths of every id argument / input field under `fields` (recursive inputs visited once per path). */
function slots(fields: readonly (GraphQLArgument | GraphQLInputField)[], prefix: string[] = [], seen = new Set<string>()): Slot[] {
  const out: Slot[] = [];
  for (const f of fields) {
    const named = getNamedType(f.type);
    let inner: GraphQLInputType = f.type;
    if (isNonNullType(inner)) inner = inner.ofType;
    if (isId(f.type)) {
      const ext = f.extensions as Ext;
      out.push({ path: [...prefix, f.name], list: isListType(inner), forType: ext?.relayGlobalIDFor?.[0]?.typename ?? null });
    } else if (isInputObjectType(named) && !seen.has(named.name)) {
      out.push(...slots(Object.values(named.getFields()), [...prefix, f.name], new Set([...seen, named.name])));
    }
  }
  return out;
}

function literal(type: GraphQLInputType, ext: Ext, slot: string[] | null, bad: string): string {
  if (isNonNullType(type)) return literal(type.ofType, ext, slot, bad);
  if (slot && slot.length === 0) return isListType(type) ? `[${JSON.stringify(bad)}]` : JSON.stringify(bad);
  if (isListType(type)) return '[]';
  const forType = ext?.relayGlobalIDFor?.[0]?.typename ?? (ext?.isRelayGlobalID ? 'Customer' : undefined);
  if (forType) return JSON.stringify(b64(`${forType}:${forType === 'Event' ? '1' : randomUUID()}`));
  if (isEnumType(type)) return type.getValues()[0]?.name ?? 'null';
  if (isInputObjectType(type)) return `{ ${fieldsText(Object.values(type.getFields()), slot, bad)} }`;
  switch (type.name) {
    case 'Int':
    case 'Float':
      return '1';
    case 'Boolean':
      return 'false';
    case 'DateTime':
      return '"2026-01-01T00:00:00Z"';
    case 'Date':
      return '"2026-01-01"';
    case 'Decimal':
      return '"1"';
    case 'ID':
      return '"1"';
    default:
      return '"x"';
  }
}

function fieldsText(fields: readonly (GraphQLArgument | GraphQLInputField)[], slot: string[] | null, bad: string): string {
  return fields
    .filter((f) => required(f) || slot?.[0] === f.name)
    .map((f) => `${f.name}: ${literal(f.type, f.extensions as Ext, slot?.[0] === f.name ? slot.slice(1) : null, bad)}`)
    .join(', ');
}

const ERROR_IFACE = schema.getType('Error');
function selection(type: GraphQLOutputType): string {
  const named = getNamedType(type);
  if (isLeafType(named)) return '';
  const members = isAbstractType(named) ? schema.getPossibleTypes(named) : isObjectType(named) ? [named] : [];
  const hasError =
    ERROR_IFACE && isInterfaceType(ERROR_IFACE) && members.some((m) => m.getInterfaces().some((i) => i.name === ERROR_IFACE.name));
  return `{ __typename ${hasError ? '... on Error { code }' : ''} }`;
}

let t: TestApp;
let sk = '';
beforeAll(async () => {
  t = await createTestApp({ maxQueryComplexity: 1_000_000, maxQueryDepth: 100 });
  sk = (await t.newShop()).secretKey;
}, 60_000);
afterAll(() => t?.close());

async function answer(root: string, f: GraphQLField<unknown, unknown>, slot: Slot, bad: string): Promise<string> {
  const args = fieldsText(f.args, slot.path, bad);
  const query = `${root} { ${f.name}${args ? `(${args})` : ''} ${selection(f.type)} }`;
  const ac = new AbortController();
  const res = await t.app.yoga.fetch('http://test/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${sk}`,
      ...(root === 'subscription' ? { accept: 'text/event-stream' } : {}),
    },
    body: JSON.stringify({ query }),
    signal: ac.signal,
  });
  if (root !== 'subscription') return res.text();
  // A subscription refuses a bad id when it starts; a good one stays open: read briefly.
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  let text = '';
  const deadline = Date.now() + 300;
  try {
    while (Date.now() < deadline && !/"code"/.test(text)) {
      const c = await Promise.race([reader.read(), new Promise<null>((r) => setTimeout(() => r(null), deadline - Date.now()))]);
      if (!c || c.done) break;
      text += new TextDecoder().decode(c.value);
    }
  } finally {
    ac.abort();
    await reader.cancel().catch(() => undefined);
  }
  return text;
}

const ROOTS: [string, GraphQLObjectType | null | undefined][] = [
  ['query', schema.getQueryType()],
  ['mutation', schema.getMutationType()],
  ['subscription', schema.getSubscriptionType()],
];

describe('malformed ids', () => {
  it('every id argument of every field answers a validation error or NOT_FOUND / null, never INTERNAL', async () => {
    const internal: string[] = [];
    let cases = 0;
    for (const [root, type] of ROOTS) {
      for (const f of Object.values(type?.getFields() ?? {})) {
        for (const slot of slots(f.args)) {
          // Plain ID arguments (parsed by the resolver) get every model's "Type:nope" too.
          const bads = slot.forType ? BAD(slot.forType) : [...BAD('Customer'), ...MODELS.map((m) => b64(`${m}:nope`))];
          await Promise.all(
            bads.map(async (bad) => {
              cases++;
              const body = await answer(root, f, slot, bad);
              if (/INTERNAL/.test(body) || /GRAPHQL_VALIDATION_FAILED/.test(body)) {
                internal.push(`${root} ${f.name}(${slot.path.join('.')}: ${JSON.stringify(bad.slice(0, 40))}): ${body.slice(0, 300)}`);
              }
            }),
          );
        }
      }
    }
    expect(internal).toEqual([]);
    // The walk found the id arguments (a guard against a walk that silently finds nothing).
    expect(cases).toBeGreaterThan(300);
  }, 300_000);
});

describe('malformed cursors', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('every connection of Query and Customer, given a malformed `after`, answers with a validation error, never INTERNAL', async () => {
    const s = await t.newShop();
    const g = t.gql(s.secretKey);
    const created = await g<{ createCustomer: { customer: { id: string } } }>(
      'mutation { createCustomer(input: { firstName: "C" }) { ... on CreateCustomerSuccess { customer { id } } } }',
    );
    const customerId = created.data?.createCustomer.customer.id as string;
    const cursors = [b64('GPC:S:x'), b64('GPC:S:'), b64('GPC:N:1'), b64('nope'), 'nope', '%%%'];
    const withAfter = (f: GraphQLField<unknown, unknown>) =>
      f.args.some((a) => a.name === 'after') && f.args.every((a) => a.name === 'after' || !isNonNullType(a.type));
    const query = schema.getQueryType() as GraphQLObjectType;
    const customer = schema.getType('Customer') as GraphQLObjectType;
    const docs: string[] = [];
    for (const f of Object.values(query.getFields()).filter(withAfter))
      docs.push(`query($c: String) { ${f.name}(after: $c) { __typename } }`);
    for (const f of Object.values(customer.getFields()).filter(withAfter))
      docs.push(`query($c: String) { customer(id: "${customerId}") { ${f.name}(after: $c) { __typename } } }`);
    expect(docs.length).toBeGreaterThan(8);
    for (const doc of docs) {
      for (const c of cursors) {
        const r = await g(doc, { c });
        const codes = (r.errors ?? []).map((e) => e.extensions?.code);
        expect(codes, `${doc} after ${c}`).not.toContain('INTERNAL');
      }
    }
  });
});
