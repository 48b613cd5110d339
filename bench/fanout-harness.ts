/**
 * Fan-out benchmark harness: N graphql-ws subscribers to `leadCreated` on one instance, then M
 * leads captured through the API (captureLead with a secret key, which returns the customer id). Measures, per delivery,
 * request-start → received latency (the lead's mutation started → the subscriber got the event)
 * and the delivery throughput. Nothing here asserts on timings.
 *
 * The subscribers run in a separate process by default (`clients: 'process'`, fanout-clients.ts),
 * as real subscribers would: in the server's process their message parsing competes with the
 * server for one event loop. `clients: 'inline'` keeps them in the server's process (the original
 * set-up) for comparison. Both sides timestamp with performance.timeOrigin + performance.now().
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { buildApp } from '../packages/server/src/app.ts';
import { createLogger } from '../packages/server/src/logger.ts';
import { createShop } from '../packages/server/src/modules/shops/shop.service.ts';
import { forkChild, semiSpaceFlag } from './child.ts';
import { clock, type PoolResult, type PoolStart, subscriberPool } from './fanout-clients.ts';
import { captureLeads, fanoutConfig, type LeadRun, type WriterRun } from './fanout-writer.ts';
import { openBenchDatabase } from './harness.ts';

export type FanoutOptions = {
  subscribers: number;
  leads: number;
  /** Leads in flight at once. */
  concurrency: number;
  backend?: 'auto' | 'postgres' | 'pglite';
  adminUrl?: string;
  poolSize?: number;
  timeoutMs?: number;
  /** Where the subscribers run: a child process (default) or the server's own process. */
  clients?: 'process' | 'inline';
  /**
   * Where the captureLead mutations are served: by the subscribers' server itself ('same',
   * default), or by a second API instance in its own process on the same PostgreSQL database
   * ('instance'; the events reach the subscribers' instance through the outbox's NOTIFY), so that
   * the server's CPU per delivery is the delivery path alone. PostgreSQL only.
   */
  writer?: 'same' | 'instance';
  /** Write a V8 CPU profile of the server's process from the first lead to the last delivery to this file (.cpuprofile). */
  profile?: string;
};

export type FanoutResult = {
  backend: 'postgres' | 'pglite';
  note?: string;
  clients: 'process' | 'inline';
  writer: 'same' | 'instance';
  subscribers: number;
  leads: number;
  expectedDeliveries: number;
  deliveries: number;
  duplicates: number;
  outOfOrder: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** The captureLead requests themselves (request start -> response read), part of the latency above. */
  mutationMs: { p50: number; p99: number };
  deliveriesPerSecond: number;
  leadsPerSecond: number;
  /**
   * CPU time (user + system) of the subscribers' server process per delivery, µs, from the first
   * lead to the last delivery: with `writer: 'same'` the lead mutations included, with
   * `writer: 'instance'` the delivery path alone; with `clients: 'inline'` the subscribers too.
   * Less sensitive to other load on the machine than the latencies.
   */
  cpuUsPerDelivery: number;
  /** With `writer: 'instance'`: CPU time of the writer instance's process per lead, µs (its HTTP client included). */
  writerCpuUsPerLead?: number;
  durationMs: number;
};

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

export async function runFanout(opts: FanoutOptions): Promise<FanoutResult> {
  const bench = await openBenchDatabase({ backend: opts.backend ?? 'auto', adminUrl: opts.adminUrl, poolSize: opts.poolSize ?? 10 });
  const config = fanoutConfig();
  const app = buildApp({ config, database: bench.db, logger: createLogger('silent'), tokenSecret: randomBytes(32).toString('hex') });
  const mode = opts.clients ?? 'process';
  const writerMode = opts.writer ?? 'same';
  if (writerMode === 'instance' && !bench.url) {
    await bench.close();
    throw new Error('writer: instance needs PostgreSQL (a second instance cannot share an in-memory PGlite)');
  }
  const pool = mode === 'inline' ? inlinePool() : await childPool();
  let writer: Awaited<ReturnType<typeof writerInstance>> | undefined;
  try {
    if (writerMode === 'instance') writer = await writerInstance(bench.url as string, opts.poolSize ?? 10);
    const shop = await createShop(bench.db.prisma, { name: `Fanout ${randomBytes(3).toString('hex')}` });
    const base = await app.start();
    // Every subscriber connected and its stream registered with the bus.
    const connecting = pool.start({
      url: base,
      key: shop.secretKey,
      subscribers: opts.subscribers,
      query: 'subscription { leadCreated { id payload } }',
      field: 'leadCreated',
    });
    const bus = app.services.events as unknown as { tails: Map<string, { subs: Set<unknown> }> };
    const timeoutMs = opts.timeoutMs ?? 300_000;
    let deadline = Date.now() + timeoutMs;
    const live = () => bus.tails.get(shop.shop.id)?.subs.size ?? 0;
    // The timer is cleared once connected: left running, it rejected later in a long round (a
    // loaded machine) and ended the process with "subscribers did not connect".
    let connectTimer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        connecting,
        new Promise((_r, reject) => {
          connectTimer = setTimeout(() => reject(new Error('subscribers did not connect')), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(connectTimer);
    }
    while (live() < opts.subscribers) {
      if (Date.now() > deadline) throw new Error(`only ${live()} subscribers went live`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const profiler = opts.profile ? await startProfile() : undefined;
    const t0 = clock();
    const cpu0 = process.cpuUsage();
    let run: LeadRun;
    let writerCpuUs: number | undefined;
    if (writer) {
      const w = await writer.run({ key: shop.secretKey, leads: opts.leads, concurrency: opts.concurrency });
      run = w;
      writerCpuUs = w.cpuUs;
    } else run = await captureLeads(base, shop.secretKey, opts.leads, opts.concurrency);
    const { sentAt, mutationMs } = run;
    const leadsDone = run.doneAt;
    deadline = Date.now() + timeoutMs; // for the deliveries, from the last lead's response
    const expected = opts.subscribers * opts.leads;
    for (;;) {
      const { count, errors } = await pool.count();
      if (errors.length) throw new Error(`subscriber error: ${errors[0]}`);
      if (count >= expected || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const cpu = process.cpuUsage(cpu0);
    if (profiler && opts.profile) await profiler.stop(opts.profile);
    const r = await pool.collect(sentAt);
    const lat = r.latencies;
    const durationMs = Math.max(r.last, t0) - t0;
    return {
      backend: bench.kind,
      note: bench.note,
      clients: mode,
      writer: writerMode,
      subscribers: opts.subscribers,
      leads: opts.leads,
      expectedDeliveries: expected,
      deliveries: r.deliveries,
      duplicates: r.duplicates,
      outOfOrder: r.outOfOrder,
      latencyMs: { p50: pct(lat, 50), p90: pct(lat, 90), p99: pct(lat, 99), max: lat.at(-1) ?? Number.NaN },
      mutationMs: (() => {
        const m = [...mutationMs].sort((a, b) => a - b);
        return { p50: pct(m, 50), p99: pct(m, 99) };
      })(),
      deliveriesPerSecond: r.deliveries / (durationMs / 1000),
      leadsPerSecond: opts.leads / ((leadsDone - t0) / 1000),
      cpuUsPerDelivery: (cpu.user + cpu.system) / Math.max(1, r.deliveries),
      ...(writerCpuUs != null ? { writerCpuUsPerLead: writerCpuUs / opts.leads } : {}),
      durationMs,
    };
  } finally {
    await writer?.stop();
    await pool.stop();
    await app.stop();
    await bench.close();
  }
}

type Pool = {
  start(s: PoolStart): Promise<number>;
  count(): Promise<{ count: number; errors: string[] }>;
  collect(sentAt: Record<string, number>): Promise<PoolResult>;
  stop(): Promise<void>;
};

function inlinePool(): Pool {
  const p = subscriberPool();
  return {
    start: (s) => p.start(s),
    count: async () => ({ count: p.count(), errors: p.errors() }),
    collect: async (sentAt) => p.collect(sentAt),
    stop: () => p.stop(),
  };
}

/** The subscribers in a forked Node process (tsx loader), driven over IPC. */
async function childPool(): Promise<Pool> {
  const child = await forkChild('./fanout-clients.ts', 'FANOUT_CLIENTS_CHILD');
  return {
    start: (s) => child.call<number>('start', s),
    count: () => child.call('count'),
    collect: (sentAt) => child.call<PoolResult>('collect', sentAt),
    stop: () => child.stop(),
  };
}

/** A second API instance on the bench database, in a forked process, that serves and sends the leads (fanout-writer.ts). */
async function writerInstance(url: string, poolSize: number) {
  // The server's young-generation size for the writer instance too (the bench's own flag, when given).
  const child = await forkChild('./fanout-writer.ts', 'FANOUT_WRITER_CHILD', semiSpaceFlag());
  try {
    await child.call('start', { url, poolSize });
  } catch (e) {
    await child.stop();
    throw e;
  }
  return {
    run: (arg: { key: string; leads: number; concurrency: number }) => child.call<WriterRun>('run', arg),
    stop: () => child.stop(),
  };
}

/** A V8 CPU profile of this process through the inspector (the window the CPU figure covers, not the set-up). */
async function startProfile() {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop(file: string) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

export function formatFanout(r: FanoutResult): string {
  const f = (n: number) => n.toFixed(1);
  return [
    `fan-out (${r.backend}${r.note ? `: ${r.note}` : ''}): ${r.subscribers} graphql-ws subscribers to leadCreated, ${r.leads} leads`,
    `  subscribers run ${r.clients === 'process' ? 'in a separate process (not competing with the server for its event loop)' : 'inside the server process (they share its event loop)'}`,
    `  deliveries ${r.deliveries}/${r.expectedDeliveries}  duplicates ${r.duplicates}  out of order ${r.outOfOrder}`,
    `  latency (captureLead request start -> received) p50 ${f(r.latencyMs.p50)} ms  p90 ${f(r.latencyMs.p90)} ms  p99 ${f(r.latencyMs.p99)} ms  max ${f(r.latencyMs.max)} ms`,
    `  (of which the captureLead request itself: p50 ${f(r.mutationMs.p50)} ms  p99 ${f(r.mutationMs.p99)} ms)`,
    `  ${Math.round(r.deliveriesPerSecond)} deliveries/s  (${f(r.leadsPerSecond)} leads/s captured, ${Math.round(r.durationMs)} ms total)`,
    r.writer === 'instance'
      ? `  server process CPU ${f(r.cpuUsPerDelivery)} µs per delivery: the delivery path alone (leads captured on a second instance, ${f((r.writerCpuUsPerLead ?? Number.NaN) / 1000)} ms CPU per lead there${r.clients === 'inline' ? '; subscribers included' : ''})`
      : `  server process CPU ${f(r.cpuUsPerDelivery)} µs per delivery (lead mutations included${r.clients === 'inline' ? ', subscribers too' : ''})`,
  ].join('\n');
}
