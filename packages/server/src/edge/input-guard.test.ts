import {
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  isUnionType,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forShop } from '../db/tenant.ts';
import * as storefront from '../modules/interactions/storefront.service.ts';
import { schema } from '../schema.ts';
import { createTestApp, globalId, type TestApp } from '../testing.ts';

/**
 * Bad input is a client error and writes nothing: NUL and other invalid characters, deep JSON,
 * deep literals, impossible dates, for every mutation of the schema.
 */
let t: TestApp;
let sk: string;
let shopId: string;
let ownerId: string;

const TABLES = [
  'Customer',
  'Tag',
  'CustomerTag',
  'Consent',
  'ConsentChange',
  'StageTransition',
  'CustomerMerge',
  'Interaction',
  'Order',
  'OrderItem',
  'IdempotencyKey',
  'WebhookEndpoint',
  'WebhookDelivery',
  'Event',
  'FollowUp',
  'LeadAssignment',
  'Segment',
  'SegmentMember',
  'PointsAccount',
  'PointsMovement',
  'ApiKey',
  'StaffUser',
  'Shop',
];
async function rowCounts(): Promise<Record<string, number>> {
  const sql = TABLES.map((n) => `(SELECT count(*)::int FROM "${n}") AS "${n}"`).join(', ');
  const rows = await t.db.prisma.$queryRawUnsafe<Record<string, number>[]>(`SELECT ${sql}`);
  return rows[0]!;
}

const deep = (n: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = { a: v };
  return v;
};

beforeAll(async () => {
  t = await createTestApp({
    rateLimitPerKey: 1_000_000,
    rateLimitPerIp: 1_000_000,
    limits: { ...(await import('../config.ts')).loadConfig({ NODE_ENV: 'test' }).limits, costBucketSize: 10_000_000 },
  });
  const shop = await t.newShop('Edge');
  sk = shop.secretKey;
  shopId = shop.shop.id;
  ownerId = shop.ownerId!;
});
afterAll(() => t.close());

const gql = (q: string, v?: Record<string, unknown>) => t.gql(sk)(q, v, { 'x-crm-staff-id': ownerId });
/** Posts a pre-serialised body (JSON.stringify of 5,000-deep objects overflows the test's stack). */
async function postRaw(body: string) {
  const res = await t.app.yoga.fetch('http://test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${sk}`, 'x-crm-staff-id': ownerId },
    body,
  });
  return { status: res.status, ...((await res.json()) as { errors?: { message: string; extensions?: { code?: string } }[] }) };
}
const codes = (r: { errors?: { extensions?: { code?: string } }[] }) => (r.errors ?? []).map((e) => e.extensions?.code);

describe('one check for every input string', () => {
  const CREATE = `mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { __typename ... on Error { code message path } } }`;

  it('NUL in a variable: VALIDATION_FAILED naming the field, nothing written', async () => {
    const before = await rowCounts();
    const r = await gql(CREATE, { i: { email: 'nul@edge.test', firstName: 'A\u0000B' } });
    expect(codes(r)).toEqual(['VALIDATION_FAILED']);
    expect(r.errors![0]!.message).toMatch(/^i\.firstName: .*U\+0000/);
    expect(await rowCounts()).toEqual(before);
  });

  it('NUL in a literal argument (search), in an attribute key, other control characters and lone surrogates', async () => {
    const search = await gql('{ customers(first: 1, filter: { search: "a\\u0000" }) { totalCount } }');
    expect(codes(search)).toEqual(['VALIDATION_FAILED']);
    expect(search.errors![0]!.message).toContain('filter.search');
    const before = await rowCounts();
    for (const i of [
      { email: 'k@edge.test', attributes: { 'bad\u0000key': 1 } },
      { email: 'k@edge.test', lastName: 'bell\u0007' },
      { email: 'k@edge.test', company: 'x\ud800y' },
      { email: 'k\u0000@edge.test' },
      { email: 'k@edge.test', tags: ['ok', 'n\u0000'] },
    ]) {
      const r = await gql(CREATE, { i });
      expect(codes(r), JSON.stringify(i)).toEqual(['VALIDATION_FAILED']);
    }
    expect(await rowCounts()).toEqual(before);
    // Tabs and line breaks are fine.
    const ok = await gql(CREATE, { i: { email: 'tab@edge.test', firstName: 'A\tB', attributes: { note: 'line\nbreak' } } });
    expect(ok.data?.createCustomer).toMatchObject({ __typename: 'CreateCustomerSuccess' });
  });

  it('JSON nested 5,000 deep (attributes) and 33 deep is refused; 10 deep is accepted', async () => {
    const before = await rowCounts();
    for (const n of [5000, 33]) {
      const attributes = `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
      const r = await postRaw(
        `{"query":${JSON.stringify(CREATE)},"variables":{"i":{"email":"deep${n}@edge.test","attributes":${attributes}}}}`,
      );
      expect(codes(r), String(n)).toEqual(['VALIDATION_FAILED']);
      expect(r.errors![0]!.message).toMatch(/i\.attributes\.a\.a.*Nested too deeply/);
    }
    expect(await rowCounts()).toEqual(before);
    const ok = await gql(CREATE, { i: { email: 'deep10@edge.test', attributes: { x: deep(9) } } });
    expect(ok.errors).toBeUndefined();
  });

  it('a 3,000-deep list literal and a 1,000,000-token document are refused before parsing (client errors, no stack overflow)', async () => {
    const q = `{ customers(first: 1, filter: { tags: ${'['.repeat(3000)}"x"${']'.repeat(3000)} }) { totalCount } }`;
    const r = await gql(q);
    expect(r.status).toBeLessThan(500);
    expect(codes(r)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(r.errors![0]!.message).toMatch(/nests brackets more than 100 deep/);
    const tokens = await gql(`{ ${'__typename '.repeat(1_000_000)}}`.slice(0, 99_000));
    expect(codes(tokens)).toEqual(['GRAPHQL_PARSE_FAILED']);
    expect(tokens.errors![0]!.message).toMatch(/Token limit of 2000 exceeded/);
    const big = await gql(`{ ${'__typename '.repeat(20_000)}}`);
    expect(big.status).toBe(413);
    expect(codes(big)).toEqual(['QUERY_TOO_LARGE']);
    // Under both limits but deeper than the input limit: refused by the input check.
    const q2 = `mutation { createCustomer(input: { email: "l@edge.test", attributes: { a: ${'['.repeat(40)}1${']'.repeat(40)} } }) { __typename } }`;
    expect(codes(await gql(q2))).toEqual(['VALIDATION_FAILED']);
  });

  it("an impossible date in a segment rule ('2026-02-30') is a VALIDATION_FAILED result", async () => {
    const r = await gql(`mutation($i: CreateSegmentInput!) { createSegment(input: $i) { __typename ... on Error { code message } } }`, {
      i: { name: 'Feb', rule: "firstOrderAt > '2026-02-30'" },
    });
    expect(r.errors).toBeUndefined();
    expect(r.data?.createSegment).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION_FAILED' });
  });
});

describe('captureLead is one transaction', () => {
  it('a failure after the customer was written (PostgreSQL refuses the NUL in the message) leaves no customer, consent or event', async () => {
    const db = forShop(t.db.prisma, shopId);
    const before = await rowCounts();
    // Straight to the service, past the GraphQL input check, so the database is what refuses it.
    await expect(
      storefront.captureLead(
        db,
        { via: 'storefront', tokenCustomerId: null },
        {
          email: 'partial@edge.test',
          firstName: 'Part',
          consents: [{ channel: 'EMAIL', granted: true }],
          message: 'hello\u0000world',
        },
      ),
    ).rejects.toThrow();
    expect(await rowCounts()).toEqual(before);
    expect(await db.customer.count({ where: { email: 'partial@edge.test' } })).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// Fuzz: every mutation, every string / number / date / JSON leaf of its arguments.

const HOSTILE: Record<string, unknown[]> = {
  String: ['\u0000', 'a\u0000b', '\ud800', 'x'.repeat(100_001)],
  ID: ['\u0000', 'not-an-id', globalId('Customer', '\u0000'), globalId('Customer', '00000000-0000-0000-0000-000000000000')],
  Int: [2 ** 31, -(2 ** 31) - 1, -1, 0, 1.5],
  Float: [1e308, -1e308, -1, 0],
  Decimal: ['1e400', '-0.000000000001', 'NaN', '\u0000'],
  DateTime: ['2026-02-30T00:00:00Z', '0000-01-01T00:00:00Z', '+275760-09-13T00:00:01Z', 'yesterday'],
  Date: ['2026-02-30', '0000-00-00', '99999-01-01'],
  JSON: [deep(500), { '\u0000': 1 }, ['\u0000'], 'x'.repeat(100_001)],
};

function plausible(type: GraphQLInputType, depth: number): unknown {
  if (isNonNullType(type)) return plausible(type.ofType, depth);
  if (isListType(type)) return [plausible(type.ofType, depth)];
  if (isEnumType(type)) return type.getValues()[0]!.value;
  if (isScalarType(type)) {
    switch (type.name) {
      case 'String':
        return 'fuzz';
      case 'ID':
        return globalId('Customer', '00000000-0000-0000-0000-000000000001');
      case 'Int':
        return 1;
      case 'Float':
        return 1;
      case 'Boolean':
        return true;
      case 'Decimal':
        return '1.00';
      case 'DateTime':
        return new Date().toISOString();
      case 'Date':
        return '2026-01-31';
      case 'JSON':
        return {};
      default:
        return 'fuzz';
    }
  }
  if (isInputObjectType(type)) {
    const out: Record<string, unknown> = {};
    for (const f of Object.values(type.getFields())) {
      if (isNonNullType(f.type) || depth < 2) out[f.name] = plausible(f.type, depth + 1);
    }
    return out;
  }
  return null;
}

type Leaf = { path: string[]; scalar: string };
function leaves(type: GraphQLInputType, path: string[], depth: number, out: Leaf[]) {
  const named = getNamedType(type);
  if (isScalarType(named) && HOSTILE[named.name]) out.push({ path, scalar: named.name });
  else if (isInputObjectType(named) && depth < 3) {
    for (const f of Object.values(named.getFields())) leaves(f.type, [...path, f.name], depth + 1, out);
  }
}

function setAt(root: Record<string, unknown>, arg: GraphQLArgument, path: string[], value: unknown) {
  let cur: unknown = root;
  let type: GraphQLInputType = arg.type;
  const keys = [arg.name, ...path];
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const obj = cur as Record<string, unknown>;
    const named =
      i === 0
        ? type
        : (() => {
            const n = getNamedType(type);
            return isInputObjectType(n) ? n.getFields()[k]!.type : type;
          })();
    type = named;
    const isList = isListType(isNonNullType(named) ? named.ofType : named);
    if (i === keys.length - 1) {
      obj[k] = isList ? [value] : value;
      return;
    }
    if (obj[k] == null || typeof obj[k] !== 'object') obj[k] = plausible(getNamedType(named) as GraphQLInputType, 3) ?? {};
    if (Array.isArray(obj[k])) obj[k] = (obj[k] as unknown[])[0] ?? {};
    cur = obj[k];
  }
}

function selection(field: GraphQLField<unknown, unknown>): string {
  const named = getNamedType(field.type);
  if (isScalarType(named) || isEnumType(named)) return '';
  if (isUnionType(named)) return '{ __typename ... on Error { code } }';
  return '{ __typename }';
}

describe('fuzz: every mutation input', () => {
  it('hostile strings, numbers, dates and JSON never give INTERNAL, and a rejection writes nothing', async () => {
    const mutations = Object.values(schema.getMutationType()!.getFields());
    expect(mutations.length).toBeGreaterThan(30);
    let cases = 0;
    let rejected = 0;
    let before = await rowCounts();
    for (const m of mutations) {
      const varDefs = m.args.map((a) => `$${a.name}: ${a.type.toString()}`).join(', ');
      const call = m.args.map((a) => `${a.name}: $${a.name}`).join(', ');
      const doc = `mutation${varDefs ? `(${varDefs})` : ''} { ${m.name}${call ? `(${call})` : ''} ${selection(m)} }`;
      for (const arg of m.args) {
        const ls: Leaf[] = [];
        leaves(arg.type, [], 0, ls);
        for (const leaf of ls) {
          for (const value of HOSTILE[leaf.scalar]!) {
            const vars: Record<string, unknown> = {};
            for (const a of m.args) if (isNonNullType(a.type) || a === arg) vars[a.name] = plausible(a.type, 0);
            setAt(vars, arg, leaf.path, value);
            const r = await gql(doc, vars);
            cases++;
            const where = `${m.name}(${[arg.name, ...leaf.path].join('.')}) = ${JSON.stringify(value)?.slice(0, 40)}`;
            expect(codes(r), where).not.toContain('INTERNAL');
            expect(r.status, where).toBeLessThan(500);
            const payload = (r.data as Record<string, { __typename?: string; code?: string }> | undefined)?.[m.name];
            const refused = Boolean(r.errors?.length) || Boolean(payload?.code);
            const after = await rowCounts();
            if (refused) {
              rejected++;
              expect(after, `partial write: ${where}`).toEqual(before);
            }
            before = after;
          }
        }
      }
    }
    expect(cases).toBeGreaterThan(300);
    expect(rejected).toBeGreaterThan(cases / 2);
    // Its own bound: the case count grows with every mutation added (about 50 s on a busy 2-core
    // machine at this writing, close to the project's 60 s default).
  }, 300_000);
});
