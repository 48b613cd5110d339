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

/** Connection fields of the schema: a relay connection type (edges, pageInfo) with `after` / `before`. */
const isConnectionField = (f: GraphQLField<unknown, unknown>) => {
  const ret = getNamedType(f.type);
  return (
    isObjectType(ret) && !!ret.getFields().edges && !!ret.getFields().pageInfo && f.args.some((a) => ['after', 'before'].includes(a.name))
  );
};

/**
 * A selection path from Query to a field of `target` ("customer(id: ...) { points {" ...), through
 * fields whose required arguments are all ids (filled from `ids`, or a well-formed id of the type).
 */
function pathTo(target: string, ids: Record<string, string>): string[] | null {
  const query = schema.getQueryType() as GraphQLObjectType;
  if (target === query.name) return [];
  const queue: { type: GraphQLObjectType; path: string[] }[] = [{ type: query, path: [] }];
  const seen = new Set([query.name]);
  while (queue.length) {
    const { type, path } = queue.shift() as { type: GraphQLObjectType; path: string[] };
    if (path.length >= 3) continue;
    for (const f of Object.values(type.getFields())) {
      const ret = getNamedType(f.type);
      if (!isObjectType(ret) || seen.has(ret.name)) continue;
      const args: string[] = [];
      let fillable = true;
      for (const a of f.args.filter((x) => isNonNullType(x.type) && x.defaultValue === undefined)) {
        const forType = (a.extensions as Ext)?.relayGlobalIDFor?.[0]?.typename;
        if (!isId(a.type) || !forType) fillable = false;
        else args.push(`${a.name}: ${JSON.stringify(ids[forType] ?? b64(`${forType}:${randomUUID()}`))}`);
      }
      if (!fillable) continue;
      seen.add(ret.name);
      const next = [...path, `${f.name}${args.length ? `(${args.join(', ')})` : ''} {`];
      if (ret.name === target) return next;
      queue.push({ type: ret, path: next });
    }
  }
  return null;
}

describe('malformed cursors', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('every cursor argument of every connection, given a malformed cursor, answers VALIDATION_FAILED naming the argument, before any SQL', async () => {
    const s = await t.newShop();
    const g = t.gql(s.secretKey);
    const created = await g<{ createCustomer: { customer: { id: string } } }>(
      'mutation { createCustomer(input: { firstName: "C" }) { ... on CreateCustomerSuccess { customer { id } } } }',
    );
    const customerId = created.data?.createCustomer.customer.id as string;
    const uuid = randomUUID();
    // Malformed for every connection: wrong tag or payload for uuid-keyed (GPC:S:<uuid>) and
    // BigInt-keyed (GPC:I:<n>) Prisma cursors, and for the timeline's own keyset cursor.
    const cursors = [
      b64('GPC:S:x'),
      b64('GPC:S:'),
      b64(`GPC:S:${uuid}x`),
      b64(`GPC:S:1' OR '1'='1`),
      b64('GPC:N:1'),
      b64('GPC:I:x'),
      b64('GPC:I:99999999999999999999'),
      b64(`GPC:T:["S:${uuid}"]`),
      b64('nope'),
      b64(JSON.stringify(['2026-01-01T00:00:00.000Z', 'order', 'x'])),
      'nope',
      '%%%',
      '',
      'x'.repeat(5000),
    ];
    const docs: { coord: string; arg: string; doc: (arg: string, rest?: string) => string }[] = [];
    const unreachable: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__') || type === schema.getSubscriptionType()) continue;
      for (const f of Object.values(type.getFields()).filter(isConnectionField)) {
        const coord = `${type.name}.${f.name}`;
        const path = pathTo(type.name, { Customer: customerId });
        if (!path) {
          unreachable.push(coord);
          continue;
        }
        if (f.args.some(required)) unreachable.push(coord);
        for (const a of f.args.filter((x) => x.name === 'after' || x.name === 'before')) {
          docs.push({
            coord,
            arg: a.name,
            doc: (arg, rest = '__typename') =>
              `query($c: String) { ${path.join(' ')} ${f.name}(${arg}: $c) { ${rest} } ${'}'.repeat(path.length)} }`,
          });
        }
      }
    }
    expect(unreachable).toEqual([]);
    // The walk found the connections (Query, Customer, Segment, CustomerPoints) and both arguments.
    expect(new Set(docs.map((d) => d.coord)).size).toBeGreaterThanOrEqual(17);
    expect(docs.filter((d) => d.arg === 'before').length).toBeGreaterThanOrEqual(17);

    const wrong: string[] = [];
    // No SQL for a refused cursor: the same statements as a request that reads nothing (the key lookup).
    await g('{ __typename }');
    t.db.resetQueryCount();
    await g('{ __typename }');
    const baseline = t.db.queryCount();
    for (const d of docs) {
      for (const c of cursors) {
        t.db.resetQueryCount();
        const r = await g(d.doc(d.arg), { c });
        const statements = t.db.queryCount();
        const codes = (r.errors ?? []).map((e) => e.extensions?.code);
        const names = (r.errors ?? []).every((e) => e.message.startsWith(`${d.arg}: `));
        if (codes.join() !== 'VALIDATION_FAILED' || !names || statements !== baseline) {
          wrong.push(
            `${d.coord}(${d.arg}: ${JSON.stringify(c.slice(0, 40))}): ${statements} statements, ${JSON.stringify(r.errors).slice(0, 200)}`,
          );
        }
      }
    }
    expect(wrong).toEqual([]);

    // A variable named like a property every object inherits, left to its default: still checked.
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      const r = await g(`query($${name}: String = "${b64('GPC:S:nope')}") { customers(first: 1, after: $${name}) { __typename } }`);
      expect(
        (r.errors ?? []).map((e) => e.extensions?.code),
        name,
      ).toEqual(['VALIDATION_FAILED']);
    }

    // previewSegment is not a connection: its member cursor is decoded by its resolver, as strictly.
    for (const id of ['-'.repeat(36), 'a'.repeat(36), `${uuid}`.replace(/-/g, 'g')]) {
      const c = Buffer.from(JSON.stringify(['2026-01-01T00:00:00.000Z', id])).toString('base64url');
      const r = await g('query($c: String) { previewSegment(rule: "stage = LEAD", after: $c) { count } }', { c });
      expect(
        (r.errors ?? []).map((e) => e.extensions?.code),
        id,
      ).toEqual(['VALIDATION_FAILED']);
    }

    // Valid cursors still pass: each connection's own endCursor, where it has a row, pages on.
    const paged: string[] = [];
    for (const d of docs.filter((x) => x.arg === 'after')) {
      const first = await g(d.doc('after', 'pageInfo { endCursor }').replace('(after: $c)', '(first: 1, after: $c)'), { c: null });
      expect(first.errors, d.coord).toBeUndefined();
      const page = JSON.stringify(first.data).match(/"endCursor":"([^"]+)"/);
      if (!page) continue;
      const next = await g(d.doc('after', 'pageInfo { endCursor }'), { c: page[1] });
      expect(next.errors, `${d.coord} after its own endCursor`).toBeUndefined();
      paged.push(d.coord);
    }
    // A uuid-keyed (customers), a BigInt-keyed (auditLog) and a nested (Customer.*) Prisma cursor at least.
    expect(paged).toEqual(expect.arrayContaining(['Query.customers', 'Query.auditLog', 'Customer.stageHistory']));
  });
});
