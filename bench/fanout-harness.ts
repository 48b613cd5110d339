/**
 * Fan-out benchmark harness: N graphql-ws subscribers to `leadCreated` on one instance, then M
 * leads captured through the API (captureLead with a secret key, which returns the customer id). Measures, per delivery,
 * request-start → received latency (the lead's mutation started → the subscriber got the event)
 * and the delivery throughput. Nothing here asserts on timings.
 */
import { randomBytes } from 'node:crypto';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { buildApp } from '../packages/server/src/app.ts';
import { loadConfig } from '../packages/server/src/config.ts';
import { createLogger } from '../packages/server/src/logger.ts';
import { createShop } from '../packages/server/src/modules/shops/shop.service.ts';
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
};

export type FanoutResult = {
  backend: 'postgres' | 'pglite';
  note?: string;
  subscribers: number;
  leads: number;
  expectedDeliveries: number;
  deliveries: number;
  duplicates: number;
  outOfOrder: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  deliveriesPerSecond: number;
  leadsPerSecond: number;
  durationMs: number;
};

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

export async function runFanout(opts: FanoutOptions): Promise<FanoutResult> {
  const bench = await openBenchDatabase({ backend: opts.backend ?? 'auto', adminUrl: opts.adminUrl, poolSize: opts.poolSize ?? 10 });
  const config = loadConfig({
    NODE_ENV: 'production',
    PORT: '0',
    LOG_LEVEL: 'silent',
    RATE_LIMIT_PER_IP: '1000000',
    RATE_LIMIT_PER_KEY: '1000000',
  });
  const app = buildApp({ config, database: bench.db, logger: createLogger('silent'), tokenSecret: randomBytes(32).toString('hex') });
  const clients: ReturnType<typeof createClient>[] = [];
  try {
    const shop = await createShop(bench.db.prisma, { name: `Fanout ${randomBytes(3).toString('hex')}` });
    const base = await app.start();
    const sentAt = new Map<string, number>(); // customer global id -> request start
    const pendingByEmail = new Map<string, number>();
    const received: { customerId: string; id: bigint; at: number }[][] = [];
    let live = 0;
    for (let i = 0; i < opts.subscribers; i++) {
      const mine: { customerId: string; id: bigint; at: number }[] = [];
      received.push(mine);
      const client = createClient({
        url: `${base.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${shop.secretKey}` },
        retryAttempts: 0,
        on: { connected: () => void live++ },
      });
      clients.push(client);
      client.subscribe(
        { query: 'subscription { leadCreated { id payload } }' },
        {
          next: (v) => {
            const e = (v.data as { leadCreated?: { id: string; payload: { customerId: string } } } | undefined)?.leadCreated;
            if (e) mine.push({ customerId: e.payload.customerId, id: BigInt(e.id), at: performance.now() });
          },
          error: () => {},
          complete: () => {},
        },
      );
    }
    // Every subscriber connected and its stream registered with the bus.
    const bus = app.services.events as unknown as { tails: Map<string, { subs: Set<unknown> }> };
    const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
    while ((bus.tails.get(shop.shop.id)?.subs.size ?? 0) < opts.subscribers || live < opts.subscribers) {
      if (Date.now() > deadline) throw new Error(`only ${bus.tails.get(shop.shop.id)?.subs.size ?? 0} subscribers went live`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const t0 = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < opts.leads) {
        const n = next++;
        const email = `lead${n}-${randomBytes(3).toString('hex')}@example.com`;
        pendingByEmail.set(email, performance.now());
        const res = await fetch(`${base}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${shop.secretKey}` },
          body: JSON.stringify({
            query:
              'mutation($i: CaptureLeadInput!) { captureLead(input: $i) { __typename ... on CaptureLeadPayload { customer { id } } } }',
            variables: { i: { email, message: 'hello' } },
          }),
        });
        const body = (await res.json()) as { data?: { captureLead?: { customer?: { id: string } } }; errors?: unknown };
        const id = body.data?.captureLead?.customer?.id;
        if (!id) throw new Error(`captureLead failed: ${JSON.stringify(body)}`);
        sentAt.set(id, pendingByEmail.get(email) as number);
      }
    };
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
    const leadsDone = performance.now();
    const expected = opts.subscribers * opts.leads;
    const count = () => received.reduce((s, r) => s + r.length, 0);
    while (count() < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const latencies: number[] = [];
    let last = t0;
    let duplicates = 0;
    let outOfOrder = 0;
    for (const r of received) {
      const seen = new Set<bigint>();
      for (let i = 0; i < r.length; i++) {
        const d = r[i] as (typeof r)[number];
        if (seen.has(d.id)) duplicates++;
        seen.add(d.id);
        if (i > 0 && d.id <= (r[i - 1] as (typeof r)[number]).id) outOfOrder++;
        const s = sentAt.get(d.customerId);
        if (s != null) latencies.push(d.at - s);
        if (d.at > last) last = d.at;
      }
    }
    latencies.sort((a, b) => a - b);
    const durationMs = last - t0;
    return {
      backend: bench.kind,
      note: bench.note,
      subscribers: opts.subscribers,
      leads: opts.leads,
      expectedDeliveries: expected,
      deliveries: count(),
      duplicates,
      outOfOrder,
      latencyMs: { p50: pct(latencies, 50), p90: pct(latencies, 90), p99: pct(latencies, 99), max: latencies.at(-1) ?? Number.NaN },
      deliveriesPerSecond: count() / (durationMs / 1000),
      leadsPerSecond: opts.leads / ((leadsDone - t0) / 1000),
      durationMs,
    };
  } finally {
    await Promise.all(clients.map((c) => c.dispose()));
    await app.stop();
    await bench.close();
  }
}

export function formatFanout(r: FanoutResult): string {
  const f = (n: number) => n.toFixed(1);
  return [
    `fan-out (${r.backend}${r.note ? `: ${r.note}` : ''}): ${r.subscribers} graphql-ws subscribers to leadCreated, ${r.leads} leads`,
    `  deliveries ${r.deliveries}/${r.expectedDeliveries}  duplicates ${r.duplicates}  out of order ${r.outOfOrder}`,
    `  latency (captureLead request start -> received) p50 ${f(r.latencyMs.p50)} ms  p90 ${f(r.latencyMs.p90)} ms  p99 ${f(r.latencyMs.p99)} ms  max ${f(r.latencyMs.max)} ms`,
    `  ${Math.round(r.deliveriesPerSecond)} deliveries/s  (${f(r.leadsPerSecond)} leads/s captured, ${Math.round(r.durationMs)} ms total)`,
  ].join('\n');
}
