import { existsSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shopBound } from '../packages/server/src/db/shop-bound.ts';
import { createLogger } from '../packages/server/src/logger.ts';
import { importsSettled, importWorkers, startImport } from '../packages/server/src/modules/imports/import.service.ts';
import { createTestApp, rawId, type TestApp, testBackend } from '../packages/server/src/testing.ts';

/**
 * A big import runs in a worker process of its own on PostgreSQL (import.service.ts runInWorker;
 * IMPORT_WORKER_MIN_BYTES, here 0: every upload): the same job, progress, report, audit and event
 * as in the API's thread, its log lines in the API's log, a stop at shutdown, and an honest FAILED
 * when the worker cannot do its job. PGlite's database lives in the API's thread: no worker there.
 */
/** A process's session id (Linux: /proc/<pid>/stat, the fields after the command's closing parenthesis). */
const sessionOf = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').at(-1)?.split(' ')[3];

describe.skipIf(testBackend() !== 'postgres')('imports in a worker process', () => {
  let t: TestApp;
  const logLines: string[] = [];
  beforeAll(async () => {
    t = await createTestApp(
      { imports: { maxBytes: 1 << 20, batchRows: 3, reportRetentionDays: 7, uploadTtlHours: 24, workerMinBytes: 0 } },
      { logLines },
    );
  });
  afterAll(async () => {
    await importsSettled({ stop: true });
    await t?.close();
  });

  const csv = (n: number, bad: number[] = []) =>
    `externalId,email,firstName,tags\n${Array.from({ length: n }, (_, i) => `w${i},${bad.includes(i) ? 'not-an-email' : `w${i}@example.com`},W${i},"a,b"`).join('\n')}\n`;

  async function upload(key: string, body: string) {
    const res = await t.app.yoga.fetch('http://test/imports?kind=customers', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'text/csv' },
      body,
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  }
  /** startImport as the resolver calls it, every upload to a worker (`workerMinBytes: 0`), for a job id. */
  const startDirect = (
    bound: ReturnType<typeof shopBound>,
    logger: ReturnType<typeof createLogger>,
    id: string,
    imports: { workersMax?: number; workerIdleMs?: number; workerNice?: number },
    database = t.db.reopen,
  ) =>
    startImport(
      bound,
      logger,
      { kind: 'API_KEY', key: null, staff: null },
      { id, mapping: 'GENERIC', dryRun: false, rowEvents: false },
      { ...t.config.imports, workerMinBytes: 0, ...imports },
      async () => true,
      database,
    );
  const JOB = 'status rowsRead created updated unchanged rejected error rejections(first: 10) { line field reason }';

  it('imports, reports and audits as in the API thread; its logs reach the API log without personal data', async () => {
    const shop = await t.newShop();
    const id = await upload(shop.secretKey, csv(20, [4, 11]));
    const g = t.gql(shop.secretKey);
    const started = await g<{ startImport: { __typename: string } }>(
      'mutation($i: StartImportInput!) { startImport(input: $i) { __typename } }',
      { i: { uploadId: id, mapping: 'GENERIC' } },
    );
    expect(started.data?.startImport.__typename).toBe('StartImportSuccess');
    await importsSettled();
    const job = (await g<{ importJob: Record<string, unknown> }>(`query($id: ID!) { importJob(id: $id) { ${JOB} } }`, { id })).data
      ?.importJob;
    expect(job).toMatchObject({ status: 'COMPLETED', rowsRead: 20, created: 18, rejected: 2, error: null });
    expect(job?.rejections).toMatchObject([
      { line: 6, field: 'email' },
      { line: 13, field: 'email' },
    ]);
    const shopId = shop.shop.id;
    expect(await t.db.prisma.customer.count({ where: { shopId } })).toBe(18);
    expect(await t.db.prisma.customerTag.count({ where: { shopId } })).toBe(36);
    const events = await t.db.prisma.event.findMany({ where: { shopId } });
    expect(events.map((e) => e.type)).toEqual(['IMPORT_COMPLETED']);
    const audited = await t.db.prisma.auditEntry.findMany({ where: { shopId, operation: 'startImport', action: 'IMPORT' } });
    expect(audited.length).toBeGreaterThan(0);
    expect(audited.every((a) => a.actorKind === 'API_KEY' && a.entityId === rawId(id))).toBe(true);
    expect(logLines.filter((l) => l.includes('"import runs in a worker process"') && l.includes(rawId(id)))).toHaveLength(1);
    const completed = logLines.filter((l) => l.includes('"import completed"'));
    expect(completed.length).toBe(1);
    expect(completed[0]).toContain(shopId);
    expect(logLines.join('\n')).not.toContain('@example.com');
  });

  it('a stop (shutdown) ends the job after its current batch: FAILED, interrupted, rows so far kept', async () => {
    const shop = await t.newShop();
    const id = await upload(shop.secretKey, csv(600));
    const g = t.gql(shop.secretKey);
    await g('mutation($i: StartImportInput!) { startImport(input: $i) { __typename } }', { i: { uploadId: id, mapping: 'GENERIC' } });
    await importsSettled({ stop: true });
    const job = (
      await g<{ importJob: { status: string; error: string; created: number } }>(`query($id: ID!) { importJob(id: $id) { ${JOB} } }`, {
        id,
      })
    ).data?.importJob;
    expect(job?.status).toBe('FAILED');
    expect(job?.error).toMatch(/Interrupted: the server stopped/);
    expect(await t.db.prisma.customer.count({ where: { shopId: shop.shop.id } })).toBe(job?.created);
    expect(job?.created).toBeLessThan(600);
  });

  it('at most IMPORT_WORKERS_MAX workers at once: a further import waits for one; a stop reaches the waiting one too', async () => {
    const shop = await t.newShop();
    const bound = shopBound(t.db.prisma, shop.shop.id);
    const lines: string[] = [];
    const logger = createLogger('info', (l) => lines.push(l));
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const id = rawId(await upload(shop.secretKey, `externalId,email\nm${i}-a,m${i}-a@example.com\nm${i}-b,m${i}-b@example.com\n`));
      ids.push(id);
      await startDirect(bound, logger, id, { workersMax: 1 });
    }
    await importsSettled();
    const jobs = await t.db.prisma.importJob.findMany({ where: { id: { in: ids } } });
    expect(jobs.map((j) => [j.status, j.created])).toEqual([
      ['COMPLETED', 2],
      ['COMPLETED', 2],
      ['COMPLETED', 2],
    ]);
    // One at a time: each worker starts after the previous one's import completed.
    const order = lines
      .map((l) => JSON.parse(l) as { msg: string })
      .filter((l) => /^import (runs in a worker process|completed)$/.test(l.msg));
    expect(order.map((l) => l.msg)).toEqual(Array(3).fill(['import runs in a worker process', 'import completed']).flat());

    // Two more, one worker: the second is still waiting when the stop comes; it ends FAILED too.
    const more: string[] = [];
    for (let i = 0; i < 2; i++) {
      const id = rawId(
        await upload(
          shop.secretKey,
          `externalId,email\n${Array.from({ length: 300 }, (_, k) => `s${i}-${k},s${i}-${k}@example.com`).join('\n')}\n`,
        ),
      );
      more.push(id);
      await startDirect(bound, logger, id, { workersMax: 1 });
    }
    await importsSettled({ stop: true });
    const stopped = await t.db.prisma.importJob.findMany({ where: { id: { in: more } }, orderBy: { createdAt: 'asc' } });
    expect(stopped.map((j) => [j.status, j.error])).toEqual([
      ['FAILED', 'Interrupted: the server stopped; rows written so far stay, a re-run is safe'],
      ['FAILED', 'Interrupted: the server stopped; rows written so far stay, a re-run is safe'],
    ]);
    expect(stopped[1]?.created).toBe(0);
  });

  it('a row the database refuses is rejected alone (its batch rolled back and split on the driver), the rest written', async () => {
    const shop = await t.newShop();
    await t.db.sql.exec(`ALTER TABLE "Customer" ADD CONSTRAINT "test_refused" CHECK ("firstName" IS DISTINCT FROM 'Refused') NOT VALID`);
    try {
      const id = await upload(
        shop.secretKey,
        'externalId,email,firstName,tags\nr1,r1@example.com,Ann,vip\nr2,r2@example.com,Refused,vip\nr3,r3@example.com,Bob,vip\n',
      );
      const g = t.gql(shop.secretKey);
      await g('mutation($i: StartImportInput!) { startImport(input: $i) { __typename } }', { i: { uploadId: id, mapping: 'GENERIC' } });
      await importsSettled();
      const job = (await g<{ importJob: Record<string, unknown> }>(`query($id: ID!) { importJob(id: $id) { ${JOB} } }`, { id })).data
        ?.importJob;
      expect(job).toMatchObject({ status: 'COMPLETED', rowsRead: 3, created: 2, rejected: 1 });
      expect(job?.rejections).toEqual([{ line: 3, field: 'row', reason: 'Conflicts with another record (test_refused)' }]);
      const shopId = shop.shop.id;
      const customers = await t.db.prisma.customer.findMany({
        where: { shopId },
        select: { externalId: true },
        orderBy: { externalId: 'asc' },
      });
      expect(customers.map((c) => c.externalId)).toEqual(['r1', 'r3']);
      // Nothing of the refused row stays: its tag, stage history and batch audit went with its rollback.
      expect(await t.db.prisma.customerTag.count({ where: { shopId } })).toBe(2);
      expect(await t.db.prisma.stageTransition.count({ where: { shopId } })).toBe(2);
      const audited = await t.db.prisma.auditEntry.findMany({ where: { shopId, action: 'IMPORT' } });
      expect(audited.flatMap((a) => (a.changes as { created: { Customer: string[] } }).created.Customer ?? [])).toHaveLength(2);
    } finally {
      await t.db.sql.exec(`ALTER TABLE "Customer" DROP CONSTRAINT "test_refused"`);
    }
  });

  it('workers are kept warm: a big upload starts one, the next import reuses it, a stop ends it', async () => {
    await importsSettled({ stop: true });
    expect(importWorkers()).toEqual({ idle: [], busy: [] });
    const shop = await t.newShop();
    const g = t.gql(shop.secretKey);
    const processOf = (id: string) =>
      logLines
        .map((l) => JSON.parse(l) as { msg: string; importId?: string; pid?: number })
        .find((l) => l.msg === 'import runs in a worker process' && l.importId === rawId(id))?.pid;
    const run = async (id: string) => {
      await g('mutation($i: StartImportInput!) { startImport(input: $i) { __typename } }', { i: { uploadId: id, mapping: 'GENERIC' } });
      await importsSettled();
      return (
        await g<{ importJob: { status: string; created: number } }>('query($id: ID!) { importJob(id: $id) { status created } }', { id })
      ).data?.importJob;
    };
    // The upload (at least IMPORT_WORKER_MIN_BYTES, here 0) started a worker before any import.
    const first = await upload(shop.secretKey, csv(10).replaceAll(',w', ',k'));
    const warm = importWorkers().idle;
    expect(warm).toHaveLength(1);
    // A process of its own, in a session of its own (scheduled apart from the API: import.service.ts).
    expect(warm[0]).not.toBe(process.pid);
    if (existsSync('/proc/self/stat')) expect(sessionOf(warm[0] as number)).not.toBe(sessionOf(process.pid));
    // Background work: it lowered its CPU priority (IMPORT_WORKER_NICE, default 10), its session's
    // too where Linux groups by session.
    await expect.poll(() => getPriority(warm[0]), { timeout: 10_000, interval: 50 }).toBe(10);
    const grouped = '/proc/sys/kernel/sched_autogroup_enabled';
    if (existsSync(grouped) && readFileSync(grouped, 'utf8').trim() === '1')
      expect(readFileSync(`/proc/${warm[0]}/autogroup`, 'utf8')).toMatch(/ nice 10\n?$/);
    expect(await run(first)).toEqual({ status: 'COMPLETED', created: 10 });
    expect(processOf(first)).toBe(warm[0]);
    // It waits for the next import (IMPORT_WORKER_IDLE_MS): a second upload starts no other one.
    expect(importWorkers()).toEqual({ idle: warm, busy: [] });
    const second = await upload(shop.secretKey, 'externalId,email\nk-next,k-next@example.com\n');
    expect(importWorkers().idle).toEqual(warm);
    expect(await run(second)).toEqual({ status: 'COMPLETED', created: 1 });
    expect(processOf(second)).toBe(warm[0]);
    await importsSettled({ stop: true });
    expect(importWorkers()).toEqual({ idle: [], busy: [] });
  });

  it('IMPORT_WORKER_IDLE_MS: a finished worker ends after it (0: at once)', async () => {
    const shop = await t.newShop();
    const bound = shopBound(t.db.prisma, shop.shop.id);
    const logger = createLogger('info', () => undefined);
    const at = async (workerIdleMs: number, workerNice?: number) => {
      const id = rawId(
        await upload(shop.secretKey, `externalId,email\ni${workerIdleMs}-${workerNice},i${workerIdleMs}-${workerNice}@example.com\n`),
      );
      await importsSettled({ stop: true });
      await startDirect(bound, logger, id, { workerIdleMs, workerNice });
      await importsSettled();
      expect((await t.db.prisma.importJob.findFirstOrThrow({ where: { id } })).status).toBe('COMPLETED');
    };
    await at(0);
    expect(importWorkers().idle).toEqual([]);
    await at(300);
    expect(importWorkers().idle).toHaveLength(1);
    expect(getPriority(importWorkers().idle[0])).toBe(10);
    await expect.poll(() => importWorkers().idle, { timeout: 10_000, interval: 100 }).toEqual([]);
    // IMPORT_WORKER_NICE=0: the worker keeps the API's priority.
    await at(60_000, 0);
    expect(importWorkers().idle).toHaveLength(1);
    expect(getPriority(importWorkers().idle[0])).toBe(0);
    await importsSettled({ stop: true });
  });

  it('a worker that cannot reach its database leaves the job FAILED with a retryable reason', async () => {
    const shop = await t.newShop();
    const id = await upload(shop.secretKey, csv(5));
    const bound = shopBound(t.db.prisma, shop.shop.id);
    const lines: string[] = [];
    await startDirect(
      bound,
      createLogger('debug', (l) => lines.push(l)),
      rawId(id),
      {},
      {
        url: 'postgres://postgres@127.0.0.1:1/nowhere',
        connectTimeoutMs: 500,
        migrate: false,
      },
    );
    await importsSettled();
    const job = await t.db.prisma.importJob.findFirstOrThrow({ where: { id: rawId(id) } });
    expect(job).toMatchObject({
      status: 'FAILED',
      created: 0,
      error: 'The import stopped unexpectedly; rows written so far stay, a re-run is safe',
    });
    const events = await t.db.prisma.event.findMany({ where: { shopId: shop.shop.id } });
    expect(events.map((e) => [e.type, (e.payload as { status: string }).status])).toEqual([['IMPORT_COMPLETED', 'FAILED']]);
    expect(lines.some((l) => l.includes('"import worker failed"'))).toBe(true);
  });
});

describe.skipIf(testBackend() !== 'pglite')('imports on the embedded PGlite', () => {
  it('run in the API thread whatever their size (the database lives in this thread)', async () => {
    const logLines: string[] = [];
    const t = await createTestApp(
      { imports: { maxBytes: 1 << 20, batchRows: 3, reportRetentionDays: 7, uploadTtlHours: 24, workerMinBytes: 0 } },
      { logLines },
    );
    try {
      expect(t.db.reopen).toBeUndefined();
      const shop = await t.newShop();
      const res = await t.app.yoga.fetch('http://test/imports?kind=customers', {
        method: 'POST',
        headers: { authorization: `Bearer ${shop.secretKey}`, 'content-type': 'text/csv' },
        body: 'externalId,email\np1,p1@example.com\n',
      });
      const { id } = (await res.json()) as { id: string };
      const g = t.gql(shop.secretKey);
      await g('mutation($i: StartImportInput!) { startImport(input: $i) { __typename } }', { i: { uploadId: id, mapping: 'GENERIC' } });
      await importsSettled();
      const job = (
        await g<{ importJob: { status: string; created: number } }>('query($id: ID!) { importJob(id: $id) { status created } }', { id })
      ).data?.importJob;
      expect(job).toEqual({ status: 'COMPLETED', created: 1 });
      expect(logLines.some((l) => l.includes('"import completed"'))).toBe(true);
      expect(logLines.some((l) => l.includes('"import runs in a worker process"'))).toBe(false);
    } finally {
      await t.close();
    }
  });
});
