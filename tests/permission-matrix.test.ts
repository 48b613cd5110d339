import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signCustomerToken } from '../packages/server/src/modules/auth/api-key.service.ts';
import {
  allows,
  type Caller,
  describeDeclaration,
  expandScopes,
  SCOPES,
  type ScopeDeclaration,
} from '../packages/server/src/modules/auth/auth.policy.ts';
import { schema } from '../packages/server/src/schema.ts';
import { createTestApp, type TestApp } from '../packages/server/src/testing.ts';
import {
  type GraphQLField,
  type GraphQLInputType,
  GraphQLObjectType,
  type GraphQLOutputType,
  GraphQLSchema,
  GraphQLString,
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
import { createCustomer, createStaff } from './helpers/crm.ts';

/**
 * The permission matrix, generated from the schema: for every Query, Mutation and Subscription
 * field and every kind of caller, the expected allow/deny is computed from the field's declared
 * `authScopes` (auth.policy.ts `allows`) and compared with the server's answer (allowed = no
 * UNAUTHENTICATED / FORBIDDEN for that field). A field without a declaration fails the suite.
 * One app and shop for all callers; each caller's requests run concurrently.
 */

type Root = 'query' | 'mutation' | 'subscription';
const ROOTS: [Root, GraphQLObjectType | null | undefined][] = [
  ['query', schema.getQueryType()],
  ['mutation', schema.getMutationType()],
  ['subscription', schema.getSubscriptionType()],
];

const declarationOf = (f: GraphQLField<unknown, unknown>) =>
  (f.extensions as { pothosOptions?: { authScopes?: ScopeDeclaration } } | undefined)?.pothosOptions?.authScopes;

/** Root fields without a static `authScopes` declaration. */
function undeclaredFields(s: GraphQLSchema): string[] {
  const out: string[] = [];
  for (const root of [s.getQueryType(), s.getMutationType(), s.getSubscriptionType()]) {
    for (const f of Object.values(root?.getFields() ?? {})) {
      const d = declarationOf(f);
      if (!d || typeof d !== 'object') out.push(`${root?.name}.${f.name}`);
    }
  }
  return out;
}

/**
 * A valid literal of an input type (required fields only; lists empty). Global ids are well formed
 * ids of the expected type (of no row): malformed ones are refused while arguments are parsed,
 * before authorization (tests/malformed-ids.test.ts covers those).
 */
function literal(
  type: GraphQLInputType,
  extensions?: { isRelayGlobalID?: boolean; relayGlobalIDFor?: { typename: string }[] | null } | null,
): string {
  if (isNonNullType(type)) return literal(type.ofType, extensions);
  const forType = extensions?.relayGlobalIDFor?.[0]?.typename ?? (extensions?.isRelayGlobalID ? 'Customer' : undefined);
  if (forType) return JSON.stringify(Buffer.from(`${forType}:${forType === 'Event' ? '1' : randomUUID()}`).toString('base64'));
  if (isListType(type)) return '[]';
  if (isEnumType(type)) return type.getValues()[0]?.name ?? 'null';
  if (isInputObjectType(type)) {
    const fields = Object.values(type.getFields()).filter((f) => isNonNullType(f.type) && f.defaultValue === undefined);
    return `{ ${fields.map((f) => `${f.name}: ${literal(f.type, f.extensions as never)}`).join(', ')} }`;
  }
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
    default:
      return '"x"';
  }
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

function fieldCall(f: GraphQLField<unknown, unknown>, alias: string): string {
  const args = f.args.filter((a) => isNonNullType(a.type) && a.defaultValue === undefined);
  const argText = args.length ? `(${args.map((a) => `${a.name}: ${literal(a.type, a.extensions as never)}`).join(', ')})` : '';
  return `${alias}: ${f.name}${argText} ${selection(f.type)}`;
}

type Who = { name: string; model: Caller; headers: Record<string, string> };
const DENIED = new Set(['FORBIDDEN', 'UNAUTHENTICATED']);

let t: TestApp;
const callers: Who[] = [];

beforeAll(async () => {
  t = await createTestApp({ maxQueryComplexity: 1_000_000, maxQueryDepth: 100 });
  const s = await t.newShop(undefined, 'owner@matrix.test');
  const g = t.gql(s.secretKey);
  const customer = await createCustomer(g, { email: 'me@matrix.test' });
  const manager = await createStaff(g, { name: 'M', email: 'm@matrix.test', role: 'MANAGER' });
  const agent = await createStaff(g, { name: 'A', email: 'a@matrix.test', role: 'AGENT' });
  const customerRow = Buffer.from(customer.id, 'base64').toString('utf8').split(':')[1] as string;
  const token = signCustomerToken(t.app.services.tokenSecret, s.shop.id, customerRow, 3600);
  const bearer = (k: string) => ({ authorization: `Bearer ${k}` });
  const all = expandScopes(SCOPES);
  callers.push(
    { name: 'anonymous', model: { kind: 'anonymous' }, headers: {} },
    { name: 'publishable', model: { kind: 'publishable', customerId: null }, headers: bearer(s.publishableKey) },
    {
      name: 'publishable + customer token',
      model: { kind: 'publishable', customerId: customerRow },
      headers: { ...bearer(s.publishableKey), 'x-customer-token': token },
    },
    { name: 'secret (system, all scopes)', model: { kind: 'secret', scopes: all, staff: null }, headers: bearer(s.secretKey) },
    {
      name: 'secret + owner',
      model: { kind: 'secret', scopes: all, staff: { id: s.ownerId as string, role: 'OWNER' } },
      headers: { ...bearer(s.secretKey), 'x-crm-staff-id': s.ownerId as string },
    },
    {
      name: 'secret + manager',
      model: { kind: 'secret', scopes: all, staff: { id: manager.id, role: 'MANAGER' } },
      headers: { ...bearer(s.secretKey), 'x-crm-staff-id': manager.id },
    },
    {
      name: 'secret + agent',
      model: { kind: 'secret', scopes: all, staff: { id: agent.id, role: 'AGENT' } },
      headers: { ...bearer(s.secretKey), 'x-crm-staff-id': agent.id },
    },
  );
  // A key per scope set: each fine scope alone, and the legacy broad names.
  const sets: string[][] = [...SCOPES.map((sc) => [sc]), ['customers:read'], ['customers:write'], ['keys:manage'], ['webhooks:manage']];
  for (const scopes of sets) {
    const r = await g<{ createApiKey: { key: string } }>(
      'mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { ... on CreatedApiKey { key } } }',
      { i: { kind: 'SECRET', name: scopes.join('+'), scopes } },
    );
    callers.push({
      name: `secret [${scopes.join(', ')}]`,
      model: { kind: 'secret', scopes: expandScopes(scopes), staff: null },
      headers: bearer(r.data?.createApiKey.key as string),
    });
  }
}, 120_000);
afterAll(() => t?.close());

async function post(headers: Record<string, string>, query: string) {
  const res = await t.app.yoga.fetch('http://test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query }),
  });
  return (await res.json()) as {
    data?: Record<string, { code?: string } | null> | null;
    errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string } }[];
  };
}

/**
 * Was the caller refused this query or mutation field? One request per field: a refused non-null
 * root field stops the rest of a shared document, so fields cannot share one.
 */
async function fieldRefused(who: Who, root: 'query' | 'mutation', f: GraphQLField<unknown, unknown>): Promise<boolean> {
  const body = await post(who.headers, `${root} { ${fieldCall(f, f.name)} }`);
  const unplaced = (body.errors ?? []).filter((e) => !e.path?.length);
  expect(unplaced, `${who.name} ${f.name}: document-level errors`).toEqual([]);
  if ((body.errors ?? []).some((e) => DENIED.has(e.extensions?.code ?? '') && e.path?.[0] === f.name)) return true;
  return DENIED.has(body.data?.[f.name]?.code ?? '');
}

/** A subscription's answer: refused at subscribe time, or a stream that stays open. */
async function subscriptionRefused(who: Who, f: GraphQLField<unknown, unknown>): Promise<boolean> {
  const ac = new AbortController();
  const res = await t.app.yoga.fetch('http://test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...who.headers },
    body: JSON.stringify({ query: `subscription { ${fieldCall(f, f.name)} }` }),
    signal: ac.signal,
  });
  if (!res.body) return false;
  const reader = res.body.getReader();
  let text = '';
  const deadline = Date.now() + 400;
  try {
    while (Date.now() < deadline && !/"code"\s*:/.test(text)) {
      const chunk = await Promise.race([reader.read(), new Promise<null>((r) => setTimeout(() => r(null), deadline - Date.now()))]);
      if (!chunk || chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
    }
  } finally {
    ac.abort();
    await reader.cancel().catch(() => undefined);
  }
  return /"code"\s*:\s*"(FORBIDDEN|UNAUTHENTICATED)"/.test(text);
}

describe('permission matrix', () => {
  it('every Query, Mutation and Subscription field declares authScopes (the check itself catches an undeclared field)', () => {
    expect(undeclaredFields(schema)).toEqual([]);
    const bare = new GraphQLSchema({ query: new GraphQLObjectType({ name: 'Query', fields: { secretThing: { type: GraphQLString } } }) });
    expect(undeclaredFields(bare)).toEqual(['Query.secretThing']);
  });

  it('docs/authorization.md lists every field with its declaration', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', 'docs', 'authorization.md'), 'utf8');
    const rows = new Map(
      [...doc.matchAll(/^\| (Query|Mutation|Subscription) \| `(\w+)` \| (.*) \|$/gm)].map((m) => [`${m[1]}.${m[2]}`, m[3]]),
    );
    const expected = new Map<string, string>();
    for (const [, type] of ROOTS) {
      for (const f of Object.values(type?.getFields() ?? {}))
        expected.set(`${type?.name}.${f.name}`, describeDeclaration(declarationOf(f) ?? {}));
    }
    expect(Object.fromEntries(rows)).toEqual(Object.fromEntries(expected));
  });

  it('each caller is allowed exactly what the declarations say, on every field', async () => {
    const mismatches: string[] = [];
    let checked = 0;
    for (const who of callers) {
      for (const [root, type] of ROOTS) {
        const fields = Object.values(type?.getFields() ?? {});
        const answers = await Promise.all(
          fields.map(
            async (f) => [f.name, root === 'subscription' ? await subscriptionRefused(who, f) : await fieldRefused(who, root, f)] as const,
          ),
        );
        const refused = new Set(answers.filter(([, r]) => r).map(([n]) => n));
        for (const f of fields) {
          const expected = allows(declarationOf(f) ?? {}, who.model);
          const actual = !refused.has(f.name);
          checked++;
          if (expected !== actual)
            mismatches.push(
              `${root} ${f.name} for ${who.name}: declared ${expected ? 'allow' : 'deny'}, server ${actual ? 'allowed' : 'refused'}`,
            );
        }
      }
    }
    expect(mismatches).toEqual([]);
    expect(checked).toBeGreaterThan(callers.length * 80);
  }, 240_000);
});
