/**
 * The fan-out benchmark's lead writer: `captureLeads` sends the leads through the API (captureLead
 * with a secret key) with a given number in flight. The harness calls it in the server's own
 * process (`writer: 'same'`, mutations and deliveries on one instance), or forks this file as a
 * second API instance on the same PostgreSQL database (`writer: 'instance'`): the mutations are then
 * served there, their events reach the subscribers' instance through the outbox and its NOTIFY
 * like any other instance's, and the subscribers' server spends CPU on the delivery path alone.
 *
 * IPC (child): request {id, op: start | run | stop, arg} -> reply {id, value | error}.
 */
import { randomBytes } from 'node:crypto';
import { buildApp } from '../packages/server/src/app.ts';
import { loadConfig } from '../packages/server/src/config.ts';
import { openDatabase } from '../packages/server/src/db/database.ts';
import { createLogger } from '../packages/server/src/logger.ts';
import { serveChild } from './child.ts';
import { clock } from './fanout-clients.ts';

/** The configuration both instances of the bench run with: production, silent, no rate limits in the way. */
export const fanoutConfig = () =>
  loadConfig({
    NODE_ENV: 'production',
    PORT: '0',
    LOG_LEVEL: 'silent',
    RATE_LIMIT_PER_IP: '1000000',
    RATE_LIMIT_PER_KEY: '1000000',
    COST_BUCKET_SIZE: '1000000000',
    COST_RESTORE_RATE: '1000000000',
    RATE_LIMIT_ANONYMOUS_PER_IP: '1000000000',
  });

export type LeadRun = {
  /** customer global id -> request start (clock()). */
  sentAt: Record<string, number>;
  /** Each captureLead request, start -> response read, ms. */
  mutationMs: number[];
  /** clock() when the last response was read. */
  doneAt: number;
};

export type WriterRun = LeadRun & {
  /** CPU time (user + system) of the writer's process during the run, µs (its HTTP client included). */
  cpuUs: number;
};

/** `leads` captureLead requests against `base`, `concurrency` in flight at a time. */
export async function captureLeads(base: string, key: string, leads: number, concurrency: number): Promise<LeadRun> {
  const sentAt: Record<string, number> = {};
  const mutationMs: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < leads) {
      const n = next++;
      const email = `lead${n}-${randomBytes(3).toString('hex')}@example.com`;
      const started = clock();
      const res = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({
          query: 'mutation($i: CaptureLeadInput!) { captureLead(input: $i) { __typename ... on CaptureLeadPayload { customer { id } } } }',
          variables: { i: { email, message: 'hello' } },
        }),
      });
      const body = (await res.json()) as { data?: { captureLead?: { customer?: { id: string } } }; errors?: unknown };
      const id = body.data?.captureLead?.customer?.id;
      if (!id) throw new Error(`captureLead failed: ${JSON.stringify(body)}`);
      sentAt[id] = started;
      mutationMs.push(clock() - started);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { sentAt, mutationMs, doneAt: clock() };
}

// Forked by the harness: a second API instance on the bench database, sending the leads to itself.
let stopInstance: (() => Promise<void>) | undefined;
let instanceBase = '';
serveChild(
  'FANOUT_WRITER_CHILD',
  {
    async start({ url, poolSize }: { url: string; poolSize: number }) {
      // The subscribers' instance migrated the database already.
      const database = await openDatabase({ url, poolSize, migrate: false });
      const app = buildApp({
        config: fanoutConfig(),
        database,
        logger: createLogger('silent'),
        tokenSecret: randomBytes(32).toString('hex'),
      });
      instanceBase = await app.start();
      stopInstance = async () => {
        await app.stop();
        await database.close();
      };
    },
    async run({ key, leads, concurrency }: { key: string; leads: number; concurrency: number }) {
      const cpu0 = process.cpuUsage();
      const run = await captureLeads(instanceBase, key, leads, concurrency);
      const cpu = process.cpuUsage(cpu0);
      return { ...run, cpuUs: cpu.user + cpu.system } satisfies WriterRun;
    },
  },
  async () => {
    await stopInstance?.();
  },
);
