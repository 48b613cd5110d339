import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createShop } from '../packages/server/src/modules/shops/shop.service.ts';
import { createTestDatabase, type TestDatabase, testBackend } from '../packages/server/src/testing.ts';

/**
 * The production recipe of docs/deployment.md: `pnpm build` compiles the server to JavaScript and
 * `node packages/server/dist/main.js` runs it with no TypeScript loader. SIGTERM goes to exactly
 * the PID that command started (what a process manager signals) while a request is in flight:
 * the request still gets its answer and the process exits 0.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const serverDir = join(root, 'packages/server');
const run = promisify(execFile);

let db: TestDatabase | undefined;
let dataDir: string;
let child: ChildProcess | undefined;

beforeAll(async () => {
  await run('pnpm', ['--filter', '@crm/server', 'build'], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
  dataDir = mkdtempSync(join(tmpdir(), 'crm-prod-'));
  if (testBackend() === 'postgres') db = await createTestDatabase();
});

afterAll(async () => {
  if (child?.exitCode === null) child.kill('SIGKILL');
  await db?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/**
 * Whether a process runs (signal 0 checks without signalling; EPERM: it runs as someone else). An
 * ended process its parent has not reaped yet (a zombie, state Z in /proc on Linux) does not.
 */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return true;
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(stat, 'utf8'));
  } catch {
    return false; // gone between the two reads
  }
}

function startProduction(env: Record<string, string> = {}): Promise<{ url: string; output: () => string }> {
  child = spawn(process.execPath, ['--max-semi-space-size=64', 'packages/server/dist/main.js'], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      PORT: '0',
      LOG_LEVEL: 'info',
      CUSTOMER_TOKEN_SECRET: 'a-test-secret-of-at-least-32-characters',
      ...(db?.url ? { DATABASE_URL: db.url } : { DATA_DIR: dataDir }),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d;
      // The structured log line {"msg":"listening","url":"http://…/graphql"} (any key order).
      for (const line of out.split('\n')) {
        let entry: { msg?: string; url?: string } | null = null;
        try {
          entry = line.startsWith('{') ? JSON.parse(line) : null;
        } catch {
          // a line still arriving
        }
        if (entry?.msg === 'listening' && entry.url) resolve({ url: entry.url.replace(/\/graphql$/, ''), output: () => out });
      }
    };
    child!.stdout!.on('data', onData);
    child!.stderr!.on('data', onData);
    child!.on('exit', (code) => reject(new Error(`the server exited with ${code}: ${out}`)));
  });
}

describe('production build', () => {
  it("the package's exports point at files that exist after the build", () => {
    const pkg = JSON.parse(readFileSync(join(serverDir, 'package.json'), 'utf8'));
    const targets: string[] = [pkg.main, pkg.types];
    for (const value of Object.values(pkg.exports as Record<string, string | Record<string, string>>)) {
      targets.push(...(typeof value === 'string' ? [value] : Object.values(value)));
    }
    for (const t of targets) expect(existsSync(join(serverDir, t)), t).toBe(true);
    // No TypeScript left for Node to load at run time.
    expect(readFileSync(join(serverDir, 'dist/main.js'), 'utf8')).not.toMatch(/from '\.[^']*\.ts'/);
  });

  it('SIGTERM to the node process finishes the request in flight, then exits 0', async () => {
    const { url, output } = await startProduction();
    const body = JSON.stringify({ query: '{ __typename }' });
    // A request whose body is still arriving when the signal comes: in flight by any definition.
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.write(body.slice(0, 5));
      setTimeout(() => {
        child!.kill('SIGTERM');
        // The rest of the body after the server began to stop.
        setTimeout(() => req.end(body.slice(5)), 500);
      }, 300);
    });
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    const res = await answer;
    expect(res.status, output()).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ data: { __typename: 'Query' } });
    expect(await exited).toBe(0);
    expect(output()).toContain('"msg":"stopped"');
  });

  it.skipIf(testBackend() !== 'postgres')('an import runs in its worker process from the compiled JavaScript', async () => {
    const shop = await createShop(db!.prisma, { name: 'Worker import' });
    // Idle connections kept (DB_IDLE_TIMEOUT_MS): a worker would not end by itself for lack of work.
    const { url, output } = await startProduction({ IMPORT_WORKER_MIN_BYTES: '0', IMPORT_BATCH_ROWS: '20', DB_IDLE_TIMEOUT_MS: '120000' });
    try {
      const auth = { authorization: `Bearer ${shop.secretKey}` };
      const up = await fetch(`${url}/imports?kind=customers`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'text/csv' },
        body: 'externalId,email\np1,p1@example.com\np2,p2@example.com\n',
      });
      expect(up.status).toBe(201);
      const { id } = (await up.json()) as { id: string };
      const gql = async (query: string) =>
        (await (
          await fetch(`${url}/graphql`, {
            method: 'POST',
            headers: { ...auth, 'content-type': 'application/json' },
            body: JSON.stringify({ query, variables: { i: { uploadId: id, mapping: 'GENERIC' }, id } }),
          })
        ).json()) as { data: { importJob?: { status: string; created: number } } };
      await gql('mutation($i: StartImportInput!) { startImport(input: $i) { __typename } }');
      let job: { status: string; created: number } | undefined;
      for (let i = 0; i < 200 && job?.status !== 'COMPLETED' && job?.status !== 'FAILED'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        job = (await gql('query($id: ID!) { importJob(id: $id) { status created } }')).data.importJob;
      }
      expect(job, output()).toEqual({ status: 'COMPLETED', created: 2 });
      expect(output()).toContain('"msg":"import runs in a worker process"');
      expect(output()).toContain('"msg":"import completed"');

      // The worker waits for the next import (IMPORT_WORKER_IDLE_MS) and runs it. Its API killed
      // outright mid-import (no shutdown to stop it): the worker stops after its current batch,
      // leaves the job FAILED as interrupted with the rows so far, and ends.
      const workerPid = () =>
        output()
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as { msg?: string; pid?: number; importId?: string })
          .filter((l) => l.msg === 'import runs in a worker process')
          .map((l) => l.pid);
      const [pid] = workerPid();
      expect(pid).toBeGreaterThan(0);
      const rows = 6000;
      const big = await fetch(`${url}/imports?kind=customers`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'text/csv' },
        body: `externalId,email\n${Array.from({ length: rows }, (_, i) => `k${i},k${i}@example.com`).join('\n')}\n`,
      });
      expect(big.status).toBe(201);
      const bigId = ((await big.json()) as { id: string }).id;
      await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({
          query: 'mutation($i: StartImportInput!) { startImport(input: $i) { __typename } }',
          variables: { i: { uploadId: bigId, mapping: 'GENERIC' } },
        }),
      });
      const jobRow = () => db!.prisma.importJob.findFirstOrThrow({ where: { shopId: shop.shop.id }, orderBy: { createdAt: 'desc' } });
      await expect.poll(async () => (await jobRow()).created, { timeout: 30_000, interval: 20 }).toBeGreaterThan(0);
      expect(workerPid()).toEqual([pid, pid]);
      expect(alive(pid as number)).toBe(true);
      child?.kill('SIGKILL');
      await new Promise((r) => child?.once('exit', r));
      await expect.poll(() => alive(pid as number), { timeout: 10_000, interval: 50 }).toBe(false);
      const interrupted = await jobRow();
      expect(interrupted).toMatchObject({
        status: 'FAILED',
        error: 'Interrupted: the server stopped; rows written so far stay, a re-run is safe',
      });
      expect(interrupted.created).toBeLessThan(rows);
      expect(await db!.prisma.customer.count({ where: { shopId: shop.shop.id, externalId: { startsWith: 'k' } } })).toBe(
        interrupted.created,
      );
    } finally {
      if (child?.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child?.once('exit', r));
      }
    }
  });
});
