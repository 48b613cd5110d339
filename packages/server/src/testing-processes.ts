import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';

/**
 * Test helpers for suites that run the server as separate PROCESSES (src/main.ts, as `pnpm serve`
 * runs it) against shared infrastructure: Redis, PgBouncer, several instances, subscribers.
 */
export const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
export const MIGRATE_CLI = fileURLToPath(new URL('./migrate-cli.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, ms = 30_000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await sleep(25);
  }
}

export function reachable(url: string, defaultPort = 6379): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = netConnect(Number(u.port || defaultPort), u.hostname);
    s.setTimeout(2000, () => {
      s.destroy();
      resolve(false);
    });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** A reachable Redis: the configured one, or one started here; null when neither is possible. */
export async function findRedis(): Promise<{ url: string; stop(): Promise<void> } | null> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (await reachable(url)) return { url, stop: async () => {} };
  if (spawnSync('redis-server', ['--version']).status !== 0) return null;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'crm-redis-'));
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: 'ignore',
  });
  const own = `redis://127.0.0.1:${port}`;
  const end = Date.now() + 10_000;
  while (!(await reachable(own))) {
    if (Date.now() > end) {
      proc.kill();
      return null;
    }
    await sleep(100);
  }
  return {
    url: own,
    stop: async () => {
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await Promise.race([gone, sleep(5000)]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A child process's exit, whether or not it already happened. */
function exitOf(proc: ChildProcess): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc.exitCode);
  return new Promise((r) => proc.once('exit', (code) => r(code)));
}

export type Instance = { url: string; proc: ChildProcess; output: string[]; startedMs: number; stop(): Promise<void> };

/** The environment every test instance gets; `env` adds to it or overrides it. */
export function instanceEnv(databaseUrl: string, redisUrl: string | undefined, env: Record<string, string> = {}) {
  return {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: databaseUrl,
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    CUSTOMER_TOKEN_SECRET: 'multi-instance-test-secret-0123456789',
    LOG_LEVEL: 'warn',
    WEBHOOKS: '0',
    LEAD_POOL_INTERVAL_MS: '0',
    RETENTION_FOLLOW_UPS_INTERVAL_MS: '0',
    RATE_LIMIT_PER_IP: '100000',
    RATE_LIMIT_PER_KEY: '100000',
    // Only Redis may ring: no LISTEN, and a poll far beyond the tests' waits.
    EVENT_PG_LISTEN: '0',
    EVENT_POLL_MS: '600000',
    ...env,
  };
}

/** Starts `tsx src/main.ts` with its own environment; resolves once it listens (startedMs: spawn to listening). */
export async function startInstance(
  databaseUrl: string,
  redisUrl: string | undefined,
  env: Record<string, string> = {},
): Promise<Instance> {
  const output: string[] = [];
  const started = Date.now();
  const proc = spawn(process.execPath, ['--import', TSX, MAIN], {
    env: instanceEnv(databaseUrl, redisUrl, env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let url: string | null = null;
  const onData = (b: Buffer) => {
    const s = b.toString();
    output.push(s);
    const m = /Headless CRM API\s+(http:\/\/\S+)\/graphql/.exec(output.join(''));
    if (m) url = m[1] as string;
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', (b: Buffer) => output.push(b.toString()));
  let exited = false;
  proc.once('exit', () => {
    exited = true;
  });
  const end = Date.now() + 90_000;
  while (!url) {
    if (exited || Date.now() > end) {
      proc.kill();
      throw new Error(`server did not start:\n${output.join('').slice(-2000)}`);
    }
    await sleep(50);
  }
  return {
    url,
    proc,
    output,
    startedMs: Date.now() - started,
    stop: async () => {
      if (exited) return;
      const gone = exitOf(proc);
      proc.kill('SIGTERM');
      await Promise.race([gone, sleep(15_000)]);
      if (!exited) proc.kill('SIGKILL');
    },
  };
}

/** Runs `tsx src/main.ts` expecting it to exit (e.g. refusing to start); resolves to its exit code and output. */
export async function runToExit(script: string, env: Record<string, string | undefined>, args: string[] = [], ms = 90_000) {
  const proc = spawn(process.execPath, ['--import', TSX, script, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout?.on('data', (b: Buffer) => {
    output += b.toString();
  });
  proc.stderr?.on('data', (b: Buffer) => {
    output += b.toString();
  });
  const timer = setTimeout(() => proc.kill('SIGKILL'), ms);
  const code = await exitOf(proc);
  clearTimeout(timer);
  return { code, output };
}

/** Posts one GraphQL operation to an instance. */
export async function gqlPost<T = Record<string, unknown>>(url: string, key: string, query: string, variables?: Record<string, unknown>) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
  return { status: res.status, ...body };
}

export type Sub<T> = { events: T[]; errors: unknown[]; client: Client };

/** A graphql-ws subscription on an instance; every `data` value is mapped by `pick` (null: ignored). */
export function subscribe<T>(
  url: string,
  key: string,
  query: string,
  variables: Record<string, unknown>,
  pick: (data: unknown) => T | null,
): Sub<T> {
  const sub: Sub<T> = {
    events: [],
    errors: [],
    client: createClient({
      url: `${url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${key}` },
      retryAttempts: 0,
    }),
  };
  sub.client.subscribe(
    { query, variables },
    {
      next: (v) => {
        if (v.errors) sub.errors.push(...v.errors);
        const e = pick(v.data);
        if (e !== null) sub.events.push(e);
      },
      error: (e) => sub.errors.push(e),
      complete: () => {},
    },
  );
  return sub;
}

/** The pgbouncer binary (Debian installs it in /usr/sbin), or null. */
export function pgbouncerBinary(): string | null {
  for (const bin of ['pgbouncer', '/usr/sbin/pgbouncer', '/usr/local/sbin/pgbouncer']) {
    if (spawnSync(bin, ['--version']).status === 0) return bin;
  }
  return null;
}

export type PgBouncer = { url: string; port: number; log(): string; stop(): Promise<void> };

/**
 * A PgBouncer of the test's own, in transaction pooling mode, on a free port, in front of one
 * database of `directUrl`'s server (trust auth, as the test PostgreSQL). PgBouncer refuses to run as
 * root: as root it runs as the `postgres` user (-u), with its folder owned by that user.
 */
export async function startPgBouncer(bin: string, directUrl: string, opts: { poolSize?: number } = {}): Promise<PgBouncer> {
  const target = new URL(directUrl);
  const dbName = target.pathname.slice(1);
  const user = decodeURIComponent(target.username || 'postgres');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'crm-pgbouncer-'));
  const ini = join(dir, 'pgbouncer.ini');
  writeFileSync(join(dir, 'userlist.txt'), `"${user}" ""\n`);
  writeFileSync(
    ini,
    [
      '[databases]',
      `${dbName} = host=${target.hostname} port=${target.port || 5432} dbname=${dbName} user=${user}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      'pool_mode = transaction',
      'max_client_conn = 1000',
      `default_pool_size = ${opts.poolSize ?? 10}`,
      'server_reset_query =',
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      `pidfile = ${join(dir, 'pgbouncer.pid')}`,
      '',
    ].join('\n'),
  );
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(spawnSync('id', ['-u', 'postgres']).stdout.toString().trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres']).stdout.toString().trim());
    for (const f of [dir, ini, join(dir, 'userlist.txt')]) chownSync(f, uid, gid);
    chmodSync(dir, 0o700);
  }
  const proc = spawn(bin, [...(asRoot ? ['-u', 'postgres'] : []), ini], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout?.on('data', (b: Buffer) => {
    output += b.toString();
  });
  proc.stderr?.on('data', (b: Buffer) => {
    output += b.toString();
  });
  const logFile = join(dir, 'pgbouncer.log');
  const log = () => output + (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const url = `postgresql://${encodeURIComponent(user)}@127.0.0.1:${port}/${dbName}`;
  const end = Date.now() + 15_000;
  while (!(await reachable(url, port))) {
    if (proc.exitCode !== null || Date.now() > end) {
      proc.kill('SIGKILL');
      throw new Error(`pgbouncer did not start:\n${log().slice(-2000)}`);
    }
    await sleep(100);
  }
  return {
    url,
    port,
    log,
    stop: async () => {
      const gone = exitOf(proc);
      proc.kill('SIGINT');
      await Promise.race([gone, sleep(5000)]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
