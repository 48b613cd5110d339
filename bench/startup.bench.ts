import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';

/**
 * First start and restart of `pnpm start` on the embedded database: from spawning the process to
 * a healthy server whose demo shop answers with its 40 customers. The command is the one
 * `pnpm start` runs (node with tsx as an --import loader, in packages/server), in a new data
 * folder, then again in the same folder. Raw baselines measured in the same run: PGlite's own
 * initdb of an empty folder (what every first start paid before the prepared template) and a
 * bare PGlite reopen.
 *
 *   pnpm --filter @crm/bench startup     (STARTUP_RUNS=3 by default; STARTUP_ENTRY=<file under
 *   packages/server> measures another entry, e.g. an older copy of src/main.ts, for a before/after)
 */
const here = dirname(fileURLToPath(import.meta.url));
const serverDir = join(here, '../packages/server');
const runs = Number(process.env.STARTUP_RUNS ?? 3);

type Started = { ms: number; lines: string[] };

async function startOnce(dataDir: string): Promise<Started> {
  const t0 = performance.now();
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', '--max-semi-space-size=64', process.env.STARTUP_ENTRY ?? 'src/main.ts', '--seed-demo'],
    {
      cwd: serverDir,
      env: { ...process.env, DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  try {
    const { url, key } = await new Promise<{ url: string; key: string }>((resolve, reject) => {
      const onData = (d: Buffer) => {
        out += d;
        const u = /Health\s+(http:\/\/\S+)\/health/.exec(out);
        const k = /Secret key\s+(\S+)/.exec(out);
        if (u && k) resolve({ url: u[1]!, key: k[1]! });
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.on('exit', (code) => reject(new Error(`the server exited with ${code}:\n${out}`)));
    });
    const health = await fetch(`${url}/health`);
    if (!health.ok) throw new Error(`/health answered ${health.status}`);
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: '{ customers(first: 1) { totalCount } }' }),
    });
    const body = (await res.json()) as { data?: { customers: { totalCount: number } } };
    if (body.data?.customers.totalCount !== 40) throw new Error(`demo data missing: ${JSON.stringify(body)}`);
    const ms = performance.now() - t0;
    return { ms, lines: out.split('\n').filter((l) => l.includes('elapsedMs')) };
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}

async function rawInitdb(dir: string): Promise<number> {
  const t0 = performance.now();
  const lite = await PGlite.create(dir);
  await lite.query('SELECT 1');
  const ms = performance.now() - t0;
  await lite.close();
  return ms;
}

async function rawReopen(dir: string): Promise<number> {
  const t0 = performance.now();
  const lite = await PGlite.create(dir);
  await lite.query('SELECT 1');
  const ms = performance.now() - t0;
  await lite.close();
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

const first: number[] = [];
const restart: number[] = [];
const initdb: number[] = [];
const reopen: number[] = [];
let phases: string[] = [];
for (let i = 0; i < runs; i++) {
  const dir = mkdtempSync(join(tmpdir(), 'crm-startup-'));
  try {
    const a = await startOnce(join(dir, 'data'));
    first.push(a.ms);
    phases = a.lines;
    restart.push((await startOnce(join(dir, 'data'))).ms);
    initdb.push(await rawInitdb(join(dir, 'raw')));
    reopen.push(await rawReopen(join(dir, 'raw')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`[startup] run ${i + 1}/${runs}: first start ${s(first.at(-1)!)}, restart ${s(restart.at(-1)!)}`);
}
console.log('[startup] phases of the last first start (ms since the process began its work):');
for (const l of phases) {
  const m = /"msg":"([^"]+)".*"elapsedMs":(\d+)/.exec(l);
  if (m) console.log(`[startup]   ${m[2]!.padStart(6)}  ${m[1]}`);
}
const f = median(first);
const r = median(restart);
const b = median(initdb);
const o = median(reopen);
console.log(
  `[startup] median of ${runs}: first start ${s(f)} (${(f / b).toFixed(2)}x a bare PGlite initdb of ${s(b)}), ` +
    `restart ${s(r)} (${(r / o).toFixed(2)}x a bare PGlite reopen of ${s(o)})`,
);
