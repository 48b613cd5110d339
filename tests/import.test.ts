import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importsSettled } from '../packages/server/src/modules/imports/import.service.ts';
import type { CreatedShop } from '../packages/server/src/modules/shops/shop.service.ts';
import { createTestApp, globalId, rawId, type TestApp } from '../packages/server/src/testing.ts';

/**
 * Bulk import end to end (docs/import.md): the upload endpoint, startImport / importJob, the
 * Shopify mappings on fixture exports, rejected rows with line numbers (also as the CSV report),
 * dry runs, idempotent re-runs, derived state (stage, loyalty, base-currency amounts), the size
 * limit, who may import, tenant isolation and the one IMPORT_COMPLETED event.
 */
const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', 'import', name), 'utf8');
const CUSTOMERS = fixture('shopify-customers.csv');
const ORDERS = fixture('shopify-orders.csv');

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ imports: { maxBytes: 64_000, batchRows: 2, reportRetentionDays: 7, uploadTtlHours: 24 } });
});
afterAll(() => t?.close());

type Job = {
  id: string;
  kind: string;
  status: string;
  dryRun: boolean;
  rowsRead: number;
  created: number;
  updated: number;
  unchanged: number;
  rejected: number;
  error: string | null;
  reportPath: string;
  rejections: { line: number; field: string; reason: string; value: string | null }[];
};
const JOB =
  'id kind status dryRun rowsRead created updated unchanged rejected error reportPath rejections(first: 50) { line field reason value }';

async function upload(key: string, kind: string, body: string, format = 'csv') {
  return t.app.yoga.fetch(`http://test/imports?kind=${kind}&format=${format}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': format === 'csv' ? 'text/csv' : 'application/x-ndjson' },
    body,
  });
}

/** Uploads, starts and waits for an import; returns the finished job. */
async function runImport(
  shop: CreatedShop,
  kind: string,
  body: string,
  opts: { dryRun?: boolean; mapping?: string; format?: string; rowEvents?: boolean } = {},
) {
  const res = await upload(shop.secretKey, kind, body, opts.format);
  expect(res.status).toBe(201);
  const { id } = (await res.json()) as { id: string };
  const g = t.gql(shop.secretKey);
  const started = await g<{ startImport: { __typename: string; importJob?: Job; message?: string } }>(
    `mutation($i: StartImportInput!) { startImport(input: $i) { __typename ... on StartImportSuccess { importJob { ${JOB} } } ... on Error { message } } }`,
    {
      i: { uploadId: id, mapping: opts.mapping ?? 'SHOPIFY', dryRun: opts.dryRun ?? false, ...(opts.rowEvents ? { rowEvents: true } : {}) },
    },
  );
  expect(started.data?.startImport.__typename, JSON.stringify(started)).toBe('StartImportSuccess');
  await importsSettled();
  const r = await g<{ importJob: Job }>(`query($id: ID!) { importJob(id: $id) { ${JOB} } }`, { id });
  return r.data?.importJob as Job;
}

const counts = (j: Job) => ({ rowsRead: j.rowsRead, created: j.created, updated: j.updated, unchanged: j.unchanged, rejected: j.rejected });

describe('importing a Shopify customers export', () => {
  let shop: CreatedShop;
  beforeAll(async () => {
    shop = await t.newShop();
  });

  it('a dry run validates and reports, and writes nothing', async () => {
    const job = await runImport(shop, 'customers', CUSTOMERS, { dryRun: true });
    expect(job).toMatchObject({ status: 'COMPLETED', dryRun: true });
    expect(counts(job)).toEqual({ rowsRead: 5, created: 2, updated: 0, unchanged: 0, rejected: 3 });
    expect(await t.db.prisma.customer.count({ where: { shopId: shop.shop.id } })).toBe(0);
    expect(await t.db.prisma.event.count({ where: { shopId: shop.shop.id } })).toBe(0);
    expect(await t.db.prisma.importChunk.count({ where: { shopId: shop.shop.id } })).toBe(0);
  });

  it('creates customers with facets, tags and consents with proof; rejects bad rows with their line, field and reason', async () => {
    const job = await runImport(shop, 'customers', CUSTOMERS);
    expect(job.status).toBe('COMPLETED');
    expect(counts(job)).toEqual({ rowsRead: 5, created: 2, updated: 0, unchanged: 0, rejected: 3 });
    expect(job.rejections.map((r) => [r.line, r.field])).toEqual([
      [4, 'email'],
      [5, 'email'],
      [6, 'consentEmail'],
    ]);
    expect(job.rejections[1]?.reason).toBe('The same email as line 2');
    const ada = await t.db.prisma.customer.findFirstOrThrow({
      where: { shopId: shop.shop.id, email: 'ada@example.com' },
      include: { tags: { include: { tag: true } }, consents: true, consentChanges: true, stageTransitions: true },
    });
    expect(ada).toMatchObject({
      externalId: '7001',
      firstName: 'Ada',
      lastName: 'Lovelace',
      company: 'Analytical Ltd',
      phone: '+442071234567',
      country: 'GB',
      city: 'London',
      addressLine: '12 Engine Street, Flat 2',
      attributes: { note: 'Prefers email, not phone', taxExempt: 'no' },
      stage: 'PROSPECT',
    });
    expect(ada.tags.map((x) => x.tag.name).sort()).toEqual(['newsletter', 'vip']);
    expect(ada.consents.map((c) => [c.channel, c.granted, c.source]).sort()).toEqual([
      ['EMAIL', true, 'import'],
      ['SMS', false, 'import'],
    ]);
    expect(ada.consents[0]?.wording).toContain('Shopify');
    expect(ada.consentChanges).toHaveLength(2);
    expect(ada.stageTransitions).toMatchObject([{ toStage: 'PROSPECT', source: 'IMPORT' }]);
    // The report, as CSV.
    const report = await t.app.yoga.fetch(`http://test${job.reportPath}`, { headers: { authorization: `Bearer ${shop.secretKey}` } });
    expect(report.status).toBe(200);
    expect(report.headers.get('content-type')).toContain('text/csv');
    const lines = (await report.text()).trim().split('\n');
    expect(lines[0]).toBe('line,field,reason,value');
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 2).join(','))).toEqual(['4,email', '5,email', '6,consentEmail']);
    // The upload is gone; one IMPORT_COMPLETED, no per-row events.
    expect(await t.db.prisma.importChunk.count({ where: { shopId: shop.shop.id } })).toBe(0);
    const events = await t.db.prisma.event.findMany({ where: { shopId: shop.shop.id } });
    expect(events.map((e) => e.type)).toEqual(['IMPORT_COMPLETED']);
    expect(events[0]?.payload).toMatchObject({ kind: 'CUSTOMERS', status: 'COMPLETED', created: 2, rejected: 3 });
    // Audited as the import, with the key that started it: one IMPORT entry per batch naming the
    // records it created (no entry per row, no values copied).
    expect(await t.db.prisma.auditEntry.count({ where: { shopId: shop.shop.id, operation: 'startImport', entityType: 'Customer' } })).toBe(
      0,
    );
    const audited = await t.db.prisma.auditEntry.findMany({ where: { shopId: shop.shop.id, operation: 'startImport', action: 'IMPORT' } });
    expect(audited.length).toBeGreaterThan(0);
    expect(
      audited.every((a) => a.actorKind === 'API_KEY' && a.actorKeyId && a.entityType === 'ImportJob' && a.entityId === rawId(job.id)),
    ).toBe(true);
    const createdIds = audited.flatMap((a) => (a.changes as { created: { Customer: string[] } }).created.Customer);
    const ids = (await t.db.prisma.customer.findMany({ where: { shopId: shop.shop.id }, select: { id: true } })).map((c) => c.id);
    expect(createdIds.sort()).toEqual(ids.sort());
    expect(JSON.stringify(audited.map((a) => a.changes))).not.toContain('ada@example.com');
    // importProgress (here over SSE): the state now; a finished import ends the stream.
    const sse = await t.app.yoga.fetch('http://test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${shop.secretKey}` },
      body: JSON.stringify({
        query: 'subscription($id: ID!) { importProgress(id: $id) { status created rejected bytesRead bytes } }',
        variables: { id: job.id },
      }),
    });
    const text = await sse.text();
    const data = text
      .split('\n')
      .filter((l) => l.startsWith('data:') && l.length > 6)
      .map((l) => JSON.parse(l.slice(5)) as { data: { importProgress: Record<string, unknown> } });
    expect(data.map((d) => d.data.importProgress)).toEqual([
      { status: 'COMPLETED', created: 2, rejected: 3, bytesRead: CUSTOMERS.length, bytes: CUSTOMERS.length },
    ]);
    expect(text).toContain('event: complete');
  });

  it('a re-run changes nothing and duplicates nothing', async () => {
    const job = await runImport(shop, 'customers', CUSTOMERS);
    expect(counts(job)).toEqual({ rowsRead: 5, created: 0, updated: 0, unchanged: 2, rejected: 3 });
    expect(await t.db.prisma.customer.count({ where: { shopId: shop.shop.id } })).toBe(2);
    expect(await t.db.prisma.consentChange.count({ where: { shopId: shop.shop.id } })).toBe(4);
    const changed = CUSTOMERS.replace('Analytical Ltd', 'Difference Engines Ltd');
    const again = await runImport(shop, 'customers', changed);
    expect(counts(again)).toEqual({ rowsRead: 5, created: 0, updated: 1, unchanged: 1, rejected: 3 });
    const ada = await t.db.prisma.customer.findFirstOrThrow({ where: { shopId: shop.shop.id, externalId: '7001' } });
    expect(ada).toMatchObject({ company: 'Difference Engines Ltd', version: 2 });
    expect((await t.db.prisma.event.findMany({ where: { shopId: shop.shop.id } })).map((e) => e.type)).toEqual([
      'IMPORT_COMPLETED',
      'IMPORT_COMPLETED',
      'IMPORT_COMPLETED',
    ]);
  });

  it('imports orders with their items, base-currency amounts, guest customers, stage and loyalty', async () => {
    const job = await runImport(shop, 'orders', ORDERS);
    expect(job.status).toBe('COMPLETED');
    expect(counts(job)).toEqual({ rowsRead: 5, created: 2, updated: 0, unchanged: 0, rejected: 3 });
    expect(job.rejections.map((r) => [r.line, r.field])).toEqual([
      [4, 'currency'],
      [6, 'placedAt'],
      [7, 'itemUnitPrice'],
    ]);
    const order = await t.db.prisma.order.findFirstOrThrow({
      where: { shopId: shop.shop.id, externalId: '5001' },
      include: { items: { orderBy: { position: 'asc' } }, customer: true },
    });
    expect(order.customer.externalId).toBe('7001');
    expect(order).toMatchObject({ status: 'FULFILLED', channel: 'OWN_STORE', currency: 'EUR' });
    expect(order.total.toFixed(2)).toBe('124.00');
    expect(order.countedTotal?.toFixed(2)).toBe('124.00');
    expect(order.placedAt.toISOString()).toBe('2025-01-15T09:23:45.000Z');
    expect(order.items.map((i) => [i.name, i.quantity, i.unitPrice.toFixed(2), i.sku])).toEqual([
      ['Silk scarf', 2, '50.00', 'SCARF-1'],
      ['Gift wrap', 1, '0.00', 'WRAP'],
    ]);
    const refunded = await t.db.prisma.order.findFirstOrThrow({
      where: { shopId: shop.shop.id, externalId: '5003' },
      include: { customer: true },
    });
    expect(refunded).toMatchObject({ status: 'REFUNDED', channel: 'OFFLINE', countedTotal: null });
    expect(refunded.customer).toMatchObject({ email: 'walk.in@example.com', firstName: 'Walk', lastName: 'In', phone: '+4930123457' });
    // Derived state, recomputed once at the end.
    const ada = await t.db.prisma.customer.findFirstOrThrow({
      where: { shopId: shop.shop.id, externalId: '7001' },
      include: { metrics: true },
    });
    // A first purchase in January 2025 and nothing since: the ladder moved Ada on (churned by now).
    expect(ada.stage).not.toBe('PROSPECT');
    expect(ada.metrics?.frequency).toBe(1);
    expect(ada.metrics?.lifetimeValue.toFixed(2)).toBe('124.00');
    // Dormant since then: HIGH churn risk, stored but not emitted one event per customer (no
    // rowEvents): the import's IMPORT_COMPLETED stands for its rows.
    expect(ada.metrics?.churnRisk).toBe('HIGH');
    const types = (await t.db.prisma.event.findMany({ where: { shopId: shop.shop.id } })).map((e) => e.type);
    expect(types.filter((x) => x !== 'IMPORT_COMPLETED')).toEqual([]);
    // Again: nothing changes.
    const again = await runImport(shop, 'orders', ORDERS);
    expect(counts(again)).toEqual({ rowsRead: 5, created: 0, updated: 0, unchanged: 2, rejected: 3 });
    expect(await t.db.prisma.order.count({ where: { shopId: shop.shop.id } })).toBe(2);
    expect(await t.db.prisma.orderItem.count({ where: { shopId: shop.shop.id } })).toBe(3);
  });

  it("converts orders to the base currency: the row's own rate, else the shop's, else 1 in the base currency", async () => {
    const fx = await t.newShop();
    const g = t.gql(fx.secretKey);
    const set = await g('mutation($input: SetExchangeRateInput!) { setExchangeRate(input: $input) { __typename } }', {
      input: { currency: 'USD', rate: '0.9' },
    });
    expect(set.errors).toBeUndefined();
    const job = await runImport(
      fx,
      'orders',
      [
        'externalId,customerExternalId,placedAt,currency,exchangeRate,itemName,itemQuantity,itemUnitPrice',
        'fx-1,fx-c,2025-03-01T10:00:00Z,USD,,Lamp,1,100.00',
        'fx-2,fx-c,2025-03-02T10:00:00Z,USD,0.5,Lamp,1,100.00',
        'fx-3,fx-c,2025-03-03T10:00:00Z,EUR,,Lamp,1,100.00',
      ].join('\n'),
      { mapping: 'GENERIC' },
    );
    expect(counts(job)).toEqual({ rowsRead: 3, created: 3, updated: 0, unchanged: 0, rejected: 0 });
    const orders = await t.db.prisma.order.findMany({ where: { shopId: fx.shop.id }, orderBy: { externalId: 'asc' } });
    expect(orders.map((o) => [o.externalId, o.exchangeRate?.toString(), o.countedTotal?.toFixed(2)])).toEqual([
      ['fx-1', '0.9', '90.00'],
      ['fx-2', '0.5', '50.00'],
      ['fx-3', '1', '100.00'],
    ]);
  });

  it("an import without per-row events keeps its own customers quiet, not the shop's other customers", async () => {
    // A bought recently (import 1): LOW churn risk. Time passes (the order moved back by hand). A
    // later import of an unrelated customer recomputes the whole shop: A's crossing into HIGH is
    // announced as by any recompute; the imported customer's own changes stay quiet.
    const other = await t.newShop();
    const today = new Date().toISOString().slice(0, 10);
    const first = await runImport(
      other,
      'orders',
      `externalId,customerExternalId,placedAt,currency,itemName,itemQuantity,itemUnitPrice\nq-1,dormant-1,${today}T10:00:00Z,EUR,Lamp,1,80.00\n`,
      { mapping: 'GENERIC' },
    );
    expect(first.status).toBe('COMPLETED');
    const a = await t.db.prisma.customer.findFirstOrThrow({
      where: { shopId: other.shop.id, externalId: 'dormant-1' },
      include: { metrics: true },
    });
    expect(a.metrics?.churnRisk).not.toBe('HIGH');
    await t.db.prisma.order.updateMany({
      where: { shopId: other.shop.id, externalId: 'q-1' },
      data: { placedAt: new Date('2024-01-10T10:00:00Z') },
    });
    const second = await runImport(other, 'customers', 'externalId,email\nnew-1,new-1@example.com\n', { mapping: 'GENERIC' });
    expect(second.status).toBe('COMPLETED');
    const events = await t.db.prisma.event.findMany({ where: { shopId: other.shop.id, type: { not: 'IMPORT_COMPLETED' } } });
    expect(events.map((e) => [e.type, e.customerId])).toEqual([['CHURN_RISK_RAISED', a.id]]);
  });

  it('orders with per-row events when asked: the recompute emits the crossings into HIGH churn risk too', async () => {
    const other = await t.newShop();
    const job = await runImport(other, 'orders', ORDERS, { rowEvents: true });
    expect(job.status).toBe('COMPLETED');
    const events = await t.db.prisma.event.findMany({ where: { shopId: other.shop.id }, orderBy: { id: 'asc' } });
    const ada = await t.db.prisma.customer.findFirstOrThrow({
      where: { shopId: other.shop.id, email: 'ada@example.com' },
      include: { metrics: true },
    });
    expect(ada.metrics?.churnRisk).toBe('HIGH');
    const churn = events.filter((e) => e.type === 'CHURN_RISK_RAISED');
    expect(churn.map((e) => e.customerId)).toContain(ada.id);
    expect(events.filter((e) => e.type === 'ORDER_RECORDED')).toHaveLength(2);
    expect(events.filter((e) => e.type === 'IMPORT_COMPLETED')).toHaveLength(1);
  });

  it('generic JSONL with per-row events when asked', async () => {
    const other = await t.newShop();
    const body = [
      JSON.stringify({
        externalId: 'g-1',
        email: 'gen@example.com',
        firstName: 'Gen',
        tags: ['a', 'b'],
        consentEmail: true,
        stage: 'suspect',
      }),
      '{not json',
      JSON.stringify({ email: 'gen2@example.com', gender: 'female', birthDate: '1990-05-01', attributes: { shoeSize: 38 } }),
    ].join('\n');
    const res = await upload(other.secretKey, 'customers', body, 'jsonl');
    const { id } = (await res.json()) as { id: string };
    const g = t.gql(other.secretKey);
    await g(`mutation($i: StartImportInput!) { startImport(input: $i) { __typename } }`, {
      i: { uploadId: id, mapping: 'GENERIC', rowEvents: true },
    });
    await importsSettled();
    const job = (await g<{ importJob: Job }>(`query($id: ID!) { importJob(id: $id) { ${JOB} } }`, { id })).data?.importJob as Job;
    expect(counts(job)).toEqual({ rowsRead: 3, created: 2, updated: 0, unchanged: 0, rejected: 1 });
    expect(job.rejections).toMatchObject([{ line: 2, field: 'line', reason: 'Not valid JSON' }]);
    const types = (await t.db.prisma.event.findMany({ where: { shopId: other.shop.id }, orderBy: { id: 'asc' } })).map((e) => e.type);
    expect(types.filter((x) => x === 'CUSTOMER_CREATED')).toHaveLength(2);
    expect(types.filter((x) => x === 'LEAD_CAPTURED')).toHaveLength(2);
    expect(types.filter((x) => x === 'IMPORT_COMPLETED')).toHaveLength(1);
    const gen2 = await t.db.prisma.customer.findFirstOrThrow({ where: { shopId: other.shop.id, email: 'gen2@example.com' } });
    expect(gen2).toMatchObject({ gender: 'FEMALE', attributes: { shoeSize: 38 } });
  });
});

describe('rejected lines across many batches', () => {
  it('reports every rejected line once and writes every other line', async () => {
    // Batches of 2 rows (this app's batchRows): bad lines found while reading (an invalid email, a
    // repeated externalId) and while matching a batch against the stored customers (an email held by
    // a customer with another externalId), spread over the file; each is reported exactly once, with
    // its line, and every other line is written.
    const shop = await t.newShop();
    expect(
      counts(await runImport(shop, 'customers', 'externalId,email,firstName\npre-1,pre@example.com,Pre\n', { mapping: 'GENERIC' })),
    ).toMatchObject({ created: 1, rejected: 0 });
    const lines = ['externalId,email,firstName'];
    const bad: number[] = [];
    let lastGood = '';
    for (let i = 0; i < 40; i++) {
      const line = i + 2;
      if (i % 3 === 0) {
        lines.push(`r${i},not-an-email-${i},Bad`);
        bad.push(line);
      } else if (i % 7 === 0) {
        lines.push(`${lastGood},dup${i}@example.com,Dup`); // an externalId of an earlier line of the file
        bad.push(line);
      } else if (i === 20) {
        lines.push(`r${i},pre@example.com,Clash`); // pre@example.com belongs to pre-1: refused at the batch
        bad.push(line);
      } else {
        lines.push(`r${i},p${i}@example.com,P${i}`);
        lastGood = `r${i}`;
      }
    }
    const job = await runImport(shop, 'customers', `${lines.join('\n')}\n`, { mapping: 'GENERIC' });
    expect(job.status).toBe('COMPLETED');
    expect(counts(job)).toEqual({ rowsRead: 40, created: 40 - bad.length, updated: 0, unchanged: 0, rejected: bad.length });
    // One reason per bad line here: the report holds each line exactly once.
    expect(job.rejections.map((r) => r.line).sort((a, b) => a - b)).toEqual(bad);
    expect(job.rejections.find((r) => r.line === 22)).toMatchObject({ field: 'externalId', value: 'r20' });
    expect(await t.db.prisma.customer.count({ where: { shopId: shop.shop.id } })).toBe(1 + 40 - bad.length);
  });
});

describe('the rejected-rows report over many pages', () => {
  it('downloads every rejection once, in (line, id) order, across pages that split a line', async () => {
    // 4,500 rejections, three per line: the report's pages of 2,000 end inside a line, so the keyset
    // must carry on within it (the rows stored directly: an import rejecting them takes minutes).
    const shop = await t.newShop();
    const job = await runImport(shop, 'customers', 'externalId,email,firstName\nx-1,x@example.com,X\n', { mapping: 'GENERIC' });
    await t.db.prisma.$executeRaw`INSERT INTO "ImportRejection" ("shopId", "jobId", line, field, reason, value)
      SELECT ${shop.shop.id}::uuid, ${rawId(job.id)}::uuid, 2 + (g / 3), 'f' || (g % 3), 'Bad', 'v' || g
      FROM generate_series(0, 4499) g ORDER BY random()`;
    const res = await t.app.yoga.fetch(`http://test/imports/${encodeURIComponent(job.id)}/rejections`, {
      headers: { authorization: `Bearer ${shop.secretKey}` },
    });
    expect(res.status).toBe(200);
    const rows = (await res.text()).trim().split('\n').slice(1);
    expect(rows).toHaveLength(4500);
    const stored = await t.db.prisma.importRejection.findMany({
      where: { jobId: rawId(job.id) },
      orderBy: [{ line: 'asc' }, { id: 'asc' }],
      select: { line: true, field: true, value: true },
    });
    expect(rows).toEqual(stored.map((r) => `${r.line},${r.field},Bad,${r.value}`));
  });
});

describe('importing interactions', () => {
  let shop: CreatedShop;
  const HEADER = 'externalId,customerExternalId,customerEmail,kind,channel,direction,occurredAt,summary,notes,sentiment';
  const LINES = [
    'i-1,c1,,inquiry,email,inbound,2026-01-10T10:00:00Z,Asked about sizes,Wants a 38,positive',
    ',,b@example.com,visit,in_store,,2026-02-01T15:00:00Z,Store visit,,',
    'i-3,nobody,,message,sms,,2026-01-05T09:00:00Z,Hello,,',
    'i-4,c1,,teleport,email,,2026-01-05T09:00:00Z,Beam me up,,',
    'i-1,c2,,inquiry,email,,2026-01-10T10:00:00Z,Again,,',
    ',,b@example.com,visit,in_store,,2026-02-01T15:00:00Z,Store visit,,',
  ];
  const FILE = `${HEADER}\n${LINES.join('\n')}\n`;
  beforeAll(async () => {
    shop = await t.newShop();
    const customers = 'externalId,email,firstName\nc1,a@example.com,Ann\nc2,b@example.com,Bo\n';
    expect(counts(await runImport(shop, 'customers', customers, { mapping: 'GENERIC' }))).toMatchObject({ created: 2, rejected: 0 });
  });
  const stored = () =>
    t.db.prisma.interaction.findMany({ where: { shopId: shop.shop.id }, orderBy: { occurredAt: 'asc' }, include: { customer: true } });

  it('a dry run validates and reports, and writes nothing', async () => {
    const job = await runImport(shop, 'interactions', FILE, { mapping: 'GENERIC', dryRun: true });
    expect(job).toMatchObject({ kind: 'INTERACTIONS', status: 'COMPLETED', dryRun: true });
    expect(counts(job)).toEqual({ rowsRead: 6, created: 2, updated: 0, unchanged: 0, rejected: 4 });
    expect(await stored()).toHaveLength(0);
  });

  it('creates interactions for customers found by externalId or email; rejects bad rows with line, field and reason', async () => {
    const job = await runImport(shop, 'interactions', FILE, { mapping: 'GENERIC' });
    expect(counts(job)).toEqual({ rowsRead: 6, created: 2, updated: 0, unchanged: 0, rejected: 4 });
    // In line order, although line 4's reason (no such customer) is found after the others' (batch time).
    expect(job.rejections.map((r) => [r.line, r.field])).toEqual([
      [4, 'customerExternalId'],
      [5, 'type'],
      [6, 'externalId'],
      [7, 'row'],
    ]);
    expect(job.rejections[0]?.reason).toContain('No customer');
    expect(job.rejections[2]?.reason).toBe('The same externalId as line 2');
    expect(job.rejections[3]?.reason).toContain('line 3');
    const rows = await stored();
    expect(
      rows.map((r) => [r.customer.externalId, r.externalId, r.type, r.channel, r.direction, r.subject, r.body, r.sentiment, r.source]),
    ).toEqual([
      ['c1', 'i-1', 'INQUIRY', 'EMAIL', 'INBOUND', 'Asked about sizes', 'Wants a 38', 'POSITIVE', 'import'],
      ['c2', null, 'VISIT', 'IN_STORE', 'INBOUND', 'Store visit', null, null, 'import'],
    ]);
    expect(rows[0]?.occurredAt.toISOString()).toBe('2026-01-10T10:00:00.000Z');
    // The source system's id is part of the API too (a partner reconciling its records).
    const read = await t.gql(shop.secretKey)<{ node: { externalId: string | null; source: string } }>(
      'query($id: ID!) { node(id: $id) { ... on Interaction { externalId source } } }',
      { id: globalId('Interaction', rows[0]?.id as string) },
    );
    expect(read.data?.node).toEqual({ externalId: 'i-1', source: 'import' });
    // One IMPORT_COMPLETED, no per-row events; audited as one IMPORT entry per batch.
    const events = await t.db.prisma.event.findMany({ where: { shopId: shop.shop.id, type: { not: 'IMPORT_COMPLETED' } } });
    expect(events).toHaveLength(0);
    const done = await t.db.prisma.event.findMany({ where: { shopId: shop.shop.id, type: 'IMPORT_COMPLETED' }, orderBy: { id: 'asc' } });
    expect(done.at(-1)?.payload).toMatchObject({ kind: 'INTERACTIONS', created: 2, rejected: 4 });
    const audited = await t.db.prisma.auditEntry.findMany({ where: { shopId: shop.shop.id, action: 'IMPORT', entityId: rawId(job.id) } });
    expect(audited.flatMap((a) => (a.changes as { created: { Interaction: string[] } }).created.Interaction).sort()).toEqual(
      rows.map((r) => r.id).sort(),
    );
    expect(await t.db.prisma.auditEntry.count({ where: { shopId: shop.shop.id, entityType: 'Interaction' } })).toBe(0);
  });

  it('a re-run duplicates nothing (by externalId, else the same customer, time, type, channel, direction and subject); a change updates', async () => {
    expect(counts(await runImport(shop, 'interactions', FILE, { mapping: 'GENERIC' }))).toEqual({
      rowsRead: 6,
      created: 0,
      updated: 0,
      unchanged: 2,
      rejected: 4,
    });
    const changed = FILE.replace('Wants a 38', 'Wants a 39');
    expect(counts(await runImport(shop, 'interactions', changed, { mapping: 'GENERIC' }))).toEqual({
      rowsRead: 6,
      created: 0,
      updated: 1,
      unchanged: 1,
      rejected: 4,
    });
    const rows = await stored();
    expect(rows.map((r) => r.body)).toEqual(['Wants a 39', null]);
    // JSONL, with the API's field names.
    const jsonl = `${JSON.stringify({ customerEmail: 'a@example.com', type: 'COMPLAINT', channel: 'PHONE', direction: 'OUTBOUND', occurredAt: '2026-03-01T08:00:00Z', subject: 'Late parcel', body: 'Called back' })}\n`;
    expect(counts(await runImport(shop, 'interactions', jsonl, { mapping: 'GENERIC', format: 'jsonl' }))).toMatchObject({
      created: 1,
      rejected: 0,
    });
    expect((await stored()).at(-1)).toMatchObject({
      type: 'COMPLAINT',
      direction: 'OUTBOUND',
      subject: 'Late parcel',
      body: 'Called back',
    });
  });

  it('needs orders:write to import and orders:read to read the job (also through node); GENERIC mapping only', async () => {
    const g = t.gql(shop.secretKey);
    const key = async (scopes: string[]) =>
      (
        await g<{ createApiKey: { key: string } }>(
          'mutation($s: [String!]!) { createApiKey(input: { kind: SECRET, name: "k", scopes: $s }) { ... on CreatedApiKey { key } } }',
          { s: scopes },
        )
      ).data?.createApiKey.key as string;
    const contactsOnly = await key(['contacts:write', 'contacts:read']);
    expect((await upload(contactsOnly, 'interactions', FILE)).status).toBe(403);
    const up = (await (await upload(shop.secretKey, 'interactions', FILE)).json()) as { id: string };
    const start = 'mutation($i: StartImportInput!) { startImport(input: $i) { __typename ... on Error { code message } } }';
    const refused = await t.gql(contactsOnly)<{ startImport: { __typename: string } }>(start, {
      i: { uploadId: up.id, mapping: 'GENERIC' },
    });
    expect(refused.data?.startImport.__typename).toBe('ForbiddenError');
    const shopify = await g<{ startImport: { __typename: string } }>(start, { i: { uploadId: up.id, mapping: 'SHOPIFY' } });
    expect(shopify.data?.startImport.__typename).toBe('ValidationError');
    const viaNode = 'query($id: ID!) { node(id: $id) { id ... on ImportJob { kind } } }';
    const byContacts = await t.gql(contactsOnly)<{ node: unknown }>(viaNode, { id: up.id });
    expect(byContacts.data?.node ?? null).toBeNull();
    expect(byContacts.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(
      (await t.gql(contactsOnly)<{ importJob: unknown }>('query($id: ID!) { importJob(id: $id) { id } }', { id: up.id })).data?.importJob,
    ).toBeNull();
    const ordersRead = await key(['orders:read']);
    expect((await t.gql(ordersRead)<{ node: { kind: string } }>(viaNode, { id: up.id })).data?.node?.kind).toBe('INTERACTIONS');
  });
});

describe('limits and access', () => {
  it('refuses an upload over IMPORT_MAX_BYTES with 413 PAYLOAD_TOO_LARGE and keeps nothing', async () => {
    const shop = await t.newShop();
    const big = `${CUSTOMERS}${'x'.repeat(70_000)}`;
    const res = await upload(shop.secretKey, 'customers', big);
    expect(res.status).toBe(413);
    const body = (await res.json()) as { errors: { extensions: { code: string; maxBytes: number } }[] };
    expect(body.errors[0]?.extensions).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', maxBytes: 64_000 });
    // Streamed without a length: refused the same way.
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode('y'.repeat(10_000)));
        c.close();
      },
    });
    const res2 = await t.app.yoga.fetch('http://test/imports?kind=customers', {
      method: 'POST',
      headers: { authorization: `Bearer ${shop.secretKey}` },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res2.status).toBe(413);
    expect(await t.db.prisma.importJob.count({ where: { shopId: shop.shop.id } })).toBe(0);
    expect(await t.db.prisma.importChunk.count({ where: { shopId: shop.shop.id } })).toBe(0);
  });

  it('needs a secret key with the write scope of the kind', async () => {
    const shop = await t.newShop();
    expect((await upload(shop.publishableKey, 'customers', CUSTOMERS)).status).toBe(403);
    expect((await t.app.yoga.fetch('http://test/imports?kind=customers', { method: 'POST', body: CUSTOMERS })).status).toBe(401);
    const g = t.gql(shop.secretKey);
    const created = await g<{ createApiKey: { key: string } }>(
      `mutation { createApiKey(input: { kind: SECRET, name: "contacts only", scopes: ["contacts:write", "contacts:read"] }) { ... on CreatedApiKey { key } } }`,
    );
    const contactsOnly = created.data?.createApiKey.key as string;
    expect((await upload(contactsOnly, 'orders', ORDERS)).status).toBe(403);
    const ordersUpload = (await (await upload(shop.secretKey, 'orders', ORDERS)).json()) as { id: string };
    const start = `mutation($i: StartImportInput!) { startImport(input: $i) { __typename ... on Error { code } } }`;
    const refused = await t.gql(contactsOnly)<{ startImport: { __typename: string } }>(start, {
      i: { uploadId: ordersUpload.id, mapping: 'SHOPIFY' },
    });
    expect(refused.data?.startImport.__typename).toBe('ForbiddenError');
    const byPk = await t.gql(shop.publishableKey)<{ startImport: { __typename: string } }>(start, {
      i: { uploadId: ordersUpload.id, mapping: 'SHOPIFY' },
    });
    expect(byPk.data?.startImport.__typename).toBe('ForbiddenError');
    const pkRead = await t.gql(shop.publishableKey)('query($id: ID!) { importJob(id: $id) { id } }', { id: ordersUpload.id });
    expect(pkRead.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // The job's kind decides also through node(id): a contacts-only key does not read an order import.
    const viaNode = 'query($id: ID!) { node(id: $id) { id ... on ImportJob { kind rejections { line value } } } }';
    const nodeByContacts = await t.gql(contactsOnly)<{ node: unknown }>(viaNode, { id: ordersUpload.id });
    expect(nodeByContacts.data?.node ?? null).toBeNull();
    expect(nodeByContacts.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const nodeByOwner = await g<{ node: { kind: string } | null }>(viaNode, { id: ordersUpload.id });
    expect(nodeByOwner.data?.node?.kind).toBe('ORDERS');
    // Another shop sees nothing of it and cannot start it.
    const other = await t.newShop();
    const og = t.gql(other.secretKey);
    expect(
      (await og<{ importJob: unknown }>('query($id: ID!) { importJob(id: $id) { id } }', { id: ordersUpload.id })).data?.importJob,
    ).toBeNull();
    const foreign = await og<{ startImport: { __typename: string } }>(start, { i: { uploadId: ordersUpload.id, mapping: 'SHOPIFY' } });
    expect(foreign.data?.startImport.__typename).toBe('NotFoundError');
    const report = await t.app.yoga.fetch(`http://test/imports/${encodeURIComponent(ordersUpload.id)}/rejections`, {
      headers: { authorization: `Bearer ${other.secretKey}` },
    });
    expect(report.status).toBe(404);
    // Started once only.
    const ok = await g<{ startImport: { __typename: string } }>(start, {
      i: { uploadId: ordersUpload.id, mapping: 'SHOPIFY', dryRun: true },
    });
    expect(ok.data?.startImport.__typename).toBe('StartImportSuccess');
    const twice = await g<{ startImport: { __typename: string } }>(start, { i: { uploadId: ordersUpload.id, mapping: 'SHOPIFY' } });
    expect(twice.data?.startImport.__typename).toBe('ConflictError');
    await importsSettled();
    expect(rawId(ordersUpload.id)).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('pnpm crm import', () => {
  it('uploads, shows progress, and saves the rejected rows next to the file', async () => {
    const { mkdtempSync, writeFileSync, readFileSync: read } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { importCommand } = await import('../packages/server/src/import-cli.ts');
    const shop = await t.newShop();
    const url = await t.app.start();
    const dir = mkdtempSync(join(tmpdir(), 'crm-import-'));
    writeFileSync(join(dir, 'customers.csv'), CUSTOMERS);
    const logs: string[] = [];
    const progress: string[] = [];
    const code = await importCommand(
      ['customers.csv', '--kind', 'customers', '--mapping', 'shopify', '--poll-ms', '20'],
      { CRM_URL: `${url}/graphql`, CRM_SECRET_KEY: shop.secretKey, INIT_CWD: dir },
      { log: (s) => logs.push(s), progress: (s) => progress.push(s) },
    );
    expect(code, logs.join('\n')).toBe(0);
    expect(progress.at(-1)).toMatch(/\[#+\] 100%/);
    expect(logs.join('\n')).toContain('Import completed: 5 rows read, 2 created, 0 updated, 0 unchanged, 3 rejected.');
    const reportFile = join(dir, 'customers.rejected.csv');
    expect(logs.at(-1)).toBe(`Rejected rows (line, field, reason): ${reportFile}`);
    expect(read(reportFile, 'utf8').split('\n')[0]).toBe('line,field,reason,value');
    // Without a key: a hint, no upload.
    const noKey: string[] = [];
    expect(
      await importCommand(
        ['customers.csv', '--kind', 'customers', '--mapping', 'shopify'],
        { INIT_CWD: dir },
        { log: (s) => noKey.push(s), progress: () => {} },
      ),
    ).toBe(2);
    expect(noKey[0]).toContain('CRM_SECRET_KEY');
  });
});

describe('an upload stored in several chunks', () => {
  it('reads back every row whole, multi-byte characters cut at chunk and slice boundaries included', async () => {
    // Its own app: the suite's 64,000-byte limit is below one stored chunk (256 KiB).
    const big = await createTestApp({ imports: { maxBytes: 1 << 20, batchRows: 500, reportRetentionDays: 7, uploadTtlHours: 24 } });
    try {
      const shop = await big.newShop();
      // 3- and 4-byte characters throughout, so the chunk boundaries (wherever the request's pieces
      // end) and the parser's 16 KiB slices fall inside characters and inside rows.
      const name = (i: number) => `${'日本語'.repeat(20)}${i}😀`;
      const n = 3000;
      const text = `externalId,email,firstName,lastName\n${Array.from({ length: n }, (_, i) => `m${i},m${i}@example.com,${name(i)},Ünïcødé-${i}`).join('\n')}\n`;
      const bytes = new TextEncoder().encode(text);
      expect(bytes.byteLength).toBeGreaterThan(2.5 * (256 << 10));
      // Sent in pieces of an odd size, as a network delivers them.
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          for (let at = 0; at < bytes.byteLength; at += 7001) c.enqueue(bytes.subarray(at, at + 7001));
          c.close();
        },
      });
      const res = await big.app.yoga.fetch('http://test/imports?kind=customers', {
        method: 'POST',
        headers: { authorization: `Bearer ${shop.secretKey}`, 'content-type': 'text/csv' },
        body: stream,
        duplex: 'half',
      } as RequestInit);
      expect(res.status).toBe(201);
      const { id, bytes: stored } = (await res.json()) as { id: string; bytes: number };
      expect(stored).toBe(bytes.byteLength);
      expect(await big.db.prisma.importChunk.count({ where: { shopId: shop.shop.id } })).toBeGreaterThanOrEqual(3);
      const g = big.gql(shop.secretKey);
      await g('mutation($i: StartImportInput!) { startImport(input: $i) { __typename } }', { i: { uploadId: id, mapping: 'GENERIC' } });
      await importsSettled();
      const job = (await g<{ importJob: Job }>(`query($id: ID!) { importJob(id: $id) { ${JOB} } }`, { id })).data?.importJob as Job;
      expect(counts(job)).toEqual({ rowsRead: n, created: n, updated: 0, unchanged: 0, rejected: 0 });
      const rows = await big.db.prisma.customer.findMany({
        where: { shopId: shop.shop.id },
        select: { externalId: true, firstName: true, lastName: true },
      });
      expect(rows.length).toBe(n);
      for (const r of rows) {
        const i = Number(r.externalId?.slice(1));
        expect([r.firstName, r.lastName]).toEqual([name(i), `Ünïcødé-${i}`]);
      }
    } finally {
      await big.close();
    }
  });
});
