/**
 * The fan-out benchmark's subscribers, in their own process (forked by fanout-harness.ts): real
 * subscribers run elsewhere, and 1,000 WebSocket clients parsing every message would otherwise
 * take CPU from the server being measured. Receipt times use `performance.timeOrigin +
 * performance.now()`, the same clock the harness uses for send times (comparable across
 * processes on one machine).
 *
 * IPC: request {id, op: start | count | collect | stop, arg} -> reply {id, value | error}.
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { serveChild } from './child.ts';

export type PoolStart = { url: string; key: string; subscribers: number; query: string; field: string };
export type PoolResult = { deliveries: number; duplicates: number; outOfOrder: number; latencies: number[]; last: number };
type Receipt = { customerId: string; id: bigint; at: number };

/** Subscribers connecting at once (see start). */
const CONNECT_BATCH = 100;

/** Wall-clock milliseconds with sub-ms resolution, comparable between processes on one machine. */
export const clock = () => performance.timeOrigin + performance.now();

/** N graphql-ws subscribers recording what they receive (used in this process or a child). */
export function subscriberPool() {
  const clients: ReturnType<typeof createClient>[] = [];
  const received: Receipt[][] = [];
  let live = 0;
  let errors: string[] = [];
  return {
    /**
     * Resolves once every client is connected (the server registers the stream right after);
     * rejects when a socket closes before it connected (the server refused it). The clients
     * connect in batches of `CONNECT_BATCH`, each once the one before is connected: 1,000 at once
     * overflowed the server's listen backlog on a loaded machine (SYN retries of 1-30 s) and
     * queued 1,000 key lookups behind the database pool's connect timeout.
     */
    async start(s: PoolStart): Promise<number> {
      for (let from = 0; from < s.subscribers; from += CONNECT_BATCH) {
        const n = Math.min(CONNECT_BATCH, s.subscribers - from);
        await new Promise<void>((resolve, reject) => {
          let connected = 0;
          for (let i = 0; i < n; i++) {
            const mine: Receipt[] = [];
            received.push(mine);
            let up = false;
            const client = createClient({
              url: `${s.url.replace('http', 'ws')}/graphql`,
              webSocketImpl: WebSocket,
              connectionParams: { authorization: `Bearer ${s.key}` },
              retryAttempts: 0,
              on: {
                connected: () => {
                  up = true;
                  live++;
                  if (++connected === n) resolve();
                },
                closed: (e) => {
                  if (!up)
                    reject(
                      new Error(
                        `subscriber socket closed before it connected: ${(e as { code?: number })?.code ?? ''} ${(e as { reason?: string })?.reason ?? ''}`,
                      ),
                    );
                },
              },
            });
            clients.push(client);
            client.subscribe(
              { query: s.query },
              {
                next: (v) => {
                  const e = (v.data as Record<string, { id: string; payload: { customerId: string } }> | undefined)?.[s.field];
                  if (e) mine.push({ customerId: e.payload.customerId, id: BigInt(e.id), at: clock() });
                },
                error: (err) => {
                  errors.push(String((err as Error)?.message ?? JSON.stringify(err)));
                },
                complete: () => {},
              },
            );
          }
        });
      }
      return live;
    },
    count: () => received.reduce((n, r) => n + r.length, 0),
    errors: () => {
      const e = errors;
      errors = [];
      return e;
    },
    collect(sentAt: Record<string, number>): PoolResult {
      const latencies: number[] = [];
      let duplicates = 0;
      let outOfOrder = 0;
      let deliveries = 0;
      let last = 0;
      for (const r of received) {
        const seen = new Set<bigint>();
        for (let i = 0; i < r.length; i++) {
          const d = r[i] as Receipt;
          deliveries++;
          if (seen.has(d.id)) duplicates++;
          seen.add(d.id);
          if (i > 0 && d.id <= (r[i - 1] as Receipt).id) outOfOrder++;
          const t = sentAt[d.customerId];
          if (t != null) latencies.push(d.at - t);
          if (d.at > last) last = d.at;
        }
      }
      latencies.sort((a, b) => a - b);
      return { deliveries, duplicates, outOfOrder, latencies, last };
    },
    async stop() {
      await Promise.all(clients.map((c) => c.dispose()));
    },
  };
}

// Forked by the harness: serve the pool over IPC.
const pool = process.env.FANOUT_CLIENTS_CHILD === '1' ? subscriberPool() : null;
if (pool)
  serveChild(
    'FANOUT_CLIENTS_CHILD',
    {
      start: (s: PoolStart) => pool.start(s),
      count: () => ({ count: pool.count(), errors: pool.errors() }),
      collect: (sentAt: Record<string, number>) => pool.collect(sentAt),
    },
    () => pool.stop(),
  );
