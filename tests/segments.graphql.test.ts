import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Caller, createTestApp, globalId, rawId, type TestApp } from '../packages/server/src/testing.ts';
import { ok, sleep } from './helpers/crm.ts';

/** Segments through the GraphQL API and the export route: preview, saved segments, members, events, export. */

let t: TestApp;
let sk: Caller;
let pk: Caller;
let secretKey: string;
let publishableKey: string;
let shopId: string;
let other: { sk: string; g: Caller };

const ERR = '... on Error { __typename code message path } ... on ValidationError { issues { path message code } }';
const SEG = 'id name description rule ruleTree ruleVersion memberCount refreshedAt version';
const PREVIEW = `query($rule: String, $tree: SegmentRuleInput, $first: Int, $after: String) {
  previewSegment(rule: $rule, ruleTree: $tree, first: $first, after: $after) { rule ruleTree count endCursor hasNextPage members { id email } } }`;
const CREATE = `mutation($input: CreateSegmentInput!) { createSegment(input: $input) { __typename ... on CreateSegmentSuccess { segment { ${SEG} } } ${ERR} } }`;
const UPDATE = `mutation($input: UpdateSegmentInput!) { updateSegment(input: $input) { __typename ... on UpdateSegmentSuccess { segment { ${SEG} } } ${ERR} } }`;
const DELETE = `mutation($input: SegmentIdInput!) { deleteSegment(input: $input) { __typename ... on DeletedSegment { deletedId } ${ERR} } }`;
const REFRESH = `mutation($input: SegmentIdInput!) { refreshSegment(input: $input) { __typename ... on RefreshSegmentPayload { entered left segment { memberCount } } ${ERR} } }`;
const MEMBERS = `query($id: ID!, $after: String) { segment(id: $id) { memberCount members(first: 2, after: $after) { totalCount
  pageInfo { hasNextPage endCursor } edges { node { id email } } } } }`;

type Res = Record<string, unknown> & {
  __typename: string;
  code?: string;
  path?: string[];
  issues?: { path: string[]; message: string; code: string }[];
};
async function run(g: Caller, q: string, input: unknown): Promise<Res> {
  const r = await g<Record<string, Res>>(q, { input });
  if (r.errors?.length || !r.data) throw new Error(`GraphQL errors (HTTP ${r.status}): ${JSON.stringify(r.errors)}`);
  return Object.values(r.data)[0] as Res;
}
type Seg = { id: string; name: string; rule: string; ruleTree: unknown; memberCount: number; version: number };

const ids: Record<string, string> = {};
async function customer(key: string, input: Record<string, unknown>, g: Caller = sk) {
  const d = await ok<{ createCustomer: { customer: { id: string } } }>(
    g,
    `mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { ... on CreateCustomerSuccess { customer { id } } ... on Error { code message } } }`,
    { input: { email: `${key}@seg.test`, ...input } },
  );
  ids[key] = d.createCustomer.customer.id;
  return ids[key] as string;
}

beforeAll(async () => {
  t = await createTestApp();
  const a = await t.newShop('Segment Shop');
  ({ secretKey, publishableKey } = a);
  shopId = a.shop.id;
  sk = t.gql(secretKey);
  pk = t.gql(publishableKey);
  const b = await t.newShop('Other Shop');
  other = { sk: b.secretKey, g: t.gql(b.secretKey) };
  await customer('ann', { stage: 'LOYAL', tags: ['vip'], firstName: '=HYPERLINK("http://evil")' });
  await customer('ben', { stage: 'LOYAL', firstName: 'Ben, "the" buyer' });
  await customer('cat', { stage: 'PROSPECT', tags: ['vip'] });
  await customer('eve', { stage: 'LOYAL', tags: ['vip'] }, other.g);
});
afterAll(() => t.close());

describe('previewSegment', () => {
  it('evaluates text and tree rules live: count, canonical rule, tree, keyset pages', async () => {
    const p = await ok<{
      previewSegment: { rule: string; count: number; members: { email: string }[]; hasNextPage: boolean; endCursor: string };
    }>(sk, PREVIEW, { rule: "stage in (LOYAL) and (tags contains 'vip' or stage = LOYAL)", first: 1 });
    expect(p.previewSegment).toMatchObject({
      rule: "stage IN (LOYAL) AND (tags CONTAINS 'vip' OR stage = LOYAL)",
      count: 2,
      hasNextPage: true,
    });
    expect(p.previewSegment.members).toHaveLength(1);
    const p2 = await ok<{ previewSegment: { members: { email: string }[]; hasNextPage: boolean } }>(sk, PREVIEW, {
      rule: "stage in (LOYAL) and (tags contains 'vip' or stage = LOYAL)",
      first: 1,
      after: p.previewSegment.endCursor,
    });
    expect(p2.previewSegment.hasNextPage).toBe(false);
    expect([p.previewSegment.members[0]?.email, p2.previewSegment.members[0]?.email].sort()).toEqual(['ann@seg.test', 'ben@seg.test']);
    const tree = {
      and: [
        { condition: { field: 'tags', op: 'CONTAINS', value: 'vip' } },
        { not: { condition: { field: 'stage', op: 'EQ', value: 'PROSPECT' } } },
      ],
    };
    const q = await ok<{ previewSegment: { rule: string; ruleTree: unknown; count: number; members: { email: string }[] } }>(sk, PREVIEW, {
      tree,
    });
    expect(q.previewSegment).toMatchObject({ rule: "tags CONTAINS 'vip' AND NOT stage = PROSPECT", count: 1, ruleTree: tree });
    expect(q.previewSegment.members.map((m) => m.email)).toEqual(['ann@seg.test']); // never eve of the other shop
  });

  it('rule errors: VALIDATION_FAILED with position and field; tree errors at their path; never a 500', async () => {
    const bad = await sk(PREVIEW, { rule: 'stage = LOYAL AND shoe_size > 3' });
    expect(bad.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    expect(bad.errors?.[0]?.message).toBe('rule: Unknown field "shoe_size" at 1:19 (offset 18) [field shoe_size]');
    const both = await sk(PREVIEW, { rule: 'age > 1', tree: { condition: { field: 'age', op: 'GT', value: 1 } } });
    expect(both.errors?.[0]?.message).toMatch(/exactly one of rule/);
    const treeErr = await sk(PREVIEW, { tree: { or: [{ condition: { field: 'age', op: 'CONTAINS', value: 1 } }] } });
    expect(treeErr.errors?.[0]?.message).toMatch(/^ruleTree\.or\.0\.condition\.op: Operator CONTAINS is not allowed/);
    for (const rule of [
      '\'; DROP TABLE "Customer"; --',
      `${'('.repeat(50)}age > 1${')'.repeat(50)}`,
      'x'.repeat(10_001),
      "city = 'a' OR 1=1",
    ]) {
      const r = await sk(PREVIEW, { rule });
      expect(r.status).toBe(200);
      expect(r.errors?.map((e) => e.extensions?.code)).toEqual(['VALIDATION_FAILED']);
    }
    expect((await sk(PREVIEW, { rule: 'age > 1', after: 'garbage' })).errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    expect((await pk(PREVIEW, { rule: 'age > 1' })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const fields = await ok<{ segmentFields: { name: string; operators: string[] }[] }>(sk, '{ segmentFields { name operators } }');
    expect(fields.segmentFields.find((f) => f.name === 'orders.count')?.operators).toContain('BETWEEN');
  });
});

describe('saved segments', () => {
  let seg: Seg;
  it('create (text or tree), duplicate name, update with version, members connection, customer.segments', async () => {
    const c = await run(sk, CREATE, { name: 'VIP', description: 'vip tag', rule: "tags CONTAINS 'vip'" });
    expect(c.__typename).toBe('CreateSegmentSuccess');
    seg = c.segment as Seg;
    expect(seg).toMatchObject({ name: 'VIP', rule: "tags CONTAINS 'vip'", memberCount: 2, version: 1 });
    const dup = await run(sk, CREATE, { name: 'VIP', ruleTree: { condition: { field: 'age', op: 'GT', value: 1 } } });
    expect(dup).toMatchObject({ __typename: 'ConflictError', path: ['input', 'name'] });
    const badRule = await run(sk, CREATE, { name: 'Bad', rule: 'stage = GOLD' });
    expect(badRule).toMatchObject({ __typename: 'ValidationError', path: ['input', 'rule'] });
    expect(badRule.issues?.[0]?.code).toBe('bad_value');
    const loyal = await run(sk, CREATE, { name: 'Loyal', ruleTree: { condition: { field: 'stage', op: 'EQ', value: 'LOYAL' } } });
    expect(loyal.segment).toMatchObject({ rule: 'stage = LOYAL', memberCount: 2 });

    const m1 = await ok<{
      segment: {
        members: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string }; edges: { node: { email: string } }[] };
      };
    }>(sk, MEMBERS, { id: seg.id });
    expect(m1.segment.members.totalCount).toBe(2);
    expect(m1.segment.members.edges.map((e) => e.node.email).sort()).toEqual(['ann@seg.test', 'cat@seg.test']);

    // customer.segments for a list of customers: one batched load, no N+1.
    const Q = '{ customers(first: 50) { edges { node { email segments { name } } } } }';
    await ok(sk, Q);
    t.db.resetQueryCount();
    const list = await ok<{ customers: { edges: { node: { email: string; segments: { name: string }[] } }[] } }>(sk, Q);
    const perCustomerQueries = t.db.queryCount();
    expect(Object.fromEntries(list.customers.edges.map((e) => [e.node.email, e.node.segments.map((s) => s.name)]))).toEqual({
      'ann@seg.test': ['Loyal', 'VIP'],
      'ben@seg.test': ['Loyal'],
      'cat@seg.test': ['VIP'],
    });
    for (let i = 0; i < 5; i++) await customer(`extra${i}`, { tags: ['vip'] });
    await run(sk, REFRESH, { id: seg.id });
    t.db.resetQueryCount();
    await ok(sk, Q);
    expect(t.db.queryCount()).toBe(perCustomerQueries);

    const stale = await run(sk, UPDATE, { id: seg.id, version: 99, name: 'x' });
    expect(stale).toMatchObject({ __typename: 'VersionConflictError', code: 'VERSION_CONFLICT' });
    const u = await run(sk, UPDATE, { id: seg.id, version: 1, rule: "tags CONTAINS 'vip' AND stage = PROSPECT", description: null });
    expect(u.segment).toMatchObject({ version: 2, rule: "tags CONTAINS 'vip' AND stage = PROSPECT", memberCount: 6 });
    expect(await run(pk, REFRESH, { id: seg.id })).toMatchObject({ __typename: 'ForbiddenError' });
  });

  it('a customer whose stage changes: refreshSegment reports it and SEGMENT_ENTERED/LEFT reach the subscription (SSE)', async () => {
    const loyal = (
      await ok<{ segments: { edges: { node: Seg }[] } }>(sk, `{ segments(first: 10) { totalCount edges { node { ${SEG} } } } }`)
    ).segments.edges
      .map((e) => e.node)
      .find((s) => s.name === 'Loyal') as Seg;
    const SUB = `subscription($id: ID!) { segmentMembershipChanged(segmentId: $id) { id type payload customer { email } } }`;
    const res = await t.app.yoga.fetch('http://test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${secretKey}` },
      body: JSON.stringify({ query: SUB, variables: { id: loyal.id } }),
    });
    const got = readSse(res, 2);
    // Shop B subscribing to A's segment id: sees nothing of A's shop.
    const resB = await t.app.yoga.fetch('http://test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${other.sk}` },
      body: JSON.stringify({ query: SUB, variables: { id: loyal.id } }),
    });
    const gotB = readSse(resB, 1, 3000);
    await sleep(300);
    await ok(sk, `mutation($input: SetCustomerStageInput!) { setCustomerStage(input: $input) { __typename } }`, {
      input: { id: ids.cat, stage: 'LOYAL', reason: 'test', force: true },
    });
    await ok(sk, `mutation($input: SetCustomerStageInput!) { setCustomerStage(input: $input) { __typename } }`, {
      input: { id: ids.ben, stage: 'ADVOCATE', reason: 'test', force: true },
    });
    // The background job's work, done now: the outbox is applied to the shop's segments.
    // cat also left 'VIP' (now: vip AND PROSPECT).
    expect(await t.app.segments.tick()).toMatchObject({ entered: 1, left: 2 });
    const events = (await got).map(
      (m) =>
        (m.data as { segmentMembershipChanged: { type: string; payload: Record<string, string>; customer: { email: string } } })
          .segmentMembershipChanged,
    );
    expect(events.map((e) => [e.type, e.customer.email])).toEqual([
      ['SEGMENT_ENTERED', 'cat@seg.test'],
      ['SEGMENT_LEFT', 'ben@seg.test'],
    ]);
    expect(events[0]?.payload).toEqual({ segmentId: loyal.id, customerId: ids.cat, segmentName: 'Loyal' });
    expect(await gotB).toEqual([]);
    const refresh = await run(sk, REFRESH, { id: loyal.id });
    expect(refresh).toMatchObject({ __typename: 'RefreshSegmentPayload', entered: 0, left: 0, segment: { memberCount: 2 } });
  });

  it('delete: gone, and another shop cannot see, change or delete it', async () => {
    const s = (await run(sk, CREATE, { name: 'Temp', rule: 'age > 1' })).segment as Seg;
    expect(await run(other.g, DELETE, { id: s.id })).toMatchObject({ __typename: 'NotFoundError', path: ['input', 'id'] });
    expect(await run(sk, DELETE, { id: s.id })).toEqual({ __typename: 'DeletedSegment', deletedId: s.id });
    expect((await ok<{ segment: null }>(sk, `query($id: ID!) { segment(id: $id) { id } }`, { id: s.id })).segment).toBeNull();
  });
});

async function readSse(res: Response, n: number, ms = 15_000): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const dec = new TextDecoder();
  let buf = '';
  const end = Date.now() + ms;
  while (out.length < n && Date.now() < end) {
    const { value, done } = await Promise.race([
      reader.read(),
      sleep(Math.max(0, end - Date.now())).then(() => ({ value: undefined, done: true })),
    ]);
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i = buf.indexOf('\n\n');
    while (i >= 0) {
      const data = buf
        .slice(0, i)
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trim())
        .join('\n');
      buf = buf.slice(i + 2);
      if (data) out.push(JSON.parse(data));
      i = buf.indexOf('\n\n');
    }
  }
  await reader.cancel().catch(() => undefined);
  return out;
}

describe('export', () => {
  const get = (path: string, key: string | null) =>
    t.app.yoga.fetch(`http://test${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });

  it('streams thousands of members as CSV in chunks, escaped and formula-safe; JSONL too', async () => {
    // 2,500 more members, written directly (the export is what is under test).
    const rows = Array.from({ length: 2500 }, (_, i) => ({
      shopId,
      email: `bulk${i}@seg.test`,
      stage: 'REPEAT' as const,
      firstName: i === 7 ? '+1 cell' : null,
    }));
    await t.db.prisma.customer.createMany({ data: rows });
    const s = (await run(sk, CREATE, { name: 'Repeat buyers', rule: 'stage = REPEAT OR stage = LOYAL' })).segment as Seg;
    expect(s.memberCount).toBe(2502);
    // Archived since the last refresh: no longer exported.
    await t.db.prisma.customer.updateMany({
      where: { shopId, email: 'bulk0@seg.test' },
      data: { status: 'ARCHIVED', archivedAt: new Date() },
    });
    const res = await get(`/segments/${encodeURIComponent(s.id)}/export?format=csv`, secretKey);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="segment-${rawId(s.id)}.csv"`);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let chunks = 0;
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks++;
      text += new TextDecoder().decode(value);
    }
    expect(chunks).toBeGreaterThanOrEqual(3); // one page (1,000 rows) per chunk, read as the client pulls
    const lines = text.split('\r\n').filter(Boolean);
    expect(lines[0]).toBe('id,externalId,email,phone,firstName,lastName,company,stage,country,city,createdAt,enteredAt');
    expect(lines).toHaveLength(2502);
    expect(text).not.toContain('bulk0@seg.test');
    const ann = lines.find((l) => l.includes('ann@seg.test')) as string;
    expect(ann.startsWith(`${ids.ann},,ann@seg.test,,"'=HYPERLINK(""http://evil"")",`)).toBe(true);
    expect(lines.find((l) => l.includes('bulk7@seg.test'))).toContain(",'+1 cell,");
    expect(new Set(lines.slice(1).map((l) => l.split(',')[0])).size).toBe(2501);

    const j = await get(`/segments/${s.id}/export?format=jsonl`, secretKey);
    expect(j.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    const objs = (await j.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; email: string; stage: string });
    expect(objs).toHaveLength(2501);
    expect(objs.every((o) => o.stage === 'REPEAT' || o.stage === 'LOYAL')).toBe(true);
    expect(objs.find((o) => o.email === 'ben@seg.test')).toBeUndefined(); // ben became an ADVOCATE
  });

  it('auth and tenancy: 401 without a key, 403 for a publishable key, 404 for another shop or an unknown id, 400 for a bad format', async () => {
    const s = (await ok<{ segments: { edges: { node: Seg }[] } }>(sk, `{ segments(first: 1) { edges { node { id } } } }`)).segments.edges[0]
      ?.node as Seg;
    expect((await get(`/segments/${s.id}/export`, null)).status).toBe(401);
    expect((await get(`/segments/${s.id}/export`, publishableKey)).status).toBe(403);
    const cross = await get(`/segments/${s.id}/export`, other.sk);
    expect(cross.status).toBe(404);
    expect(await cross.text()).not.toContain('seg.test');
    expect((await get(`/segments/${globalId('Segment', '00000000-0000-0000-0000-000000000000')}/export`, secretKey)).status).toBe(404);
    expect((await get(`/segments/not-an-id/export`, secretKey)).status).toBe(404);
    expect((await get(`/segments/${s.id}/export?format=xml`, secretKey)).status).toBe(400);
  });
});
