import http from 'node:http';
import https from 'node:https';
import { forShop } from '../../db/tenant.ts';
import type { PrismaClient, WebhookDelivery } from '../../generated/prisma/client.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import type { Logger } from '../../logger.ts';
import { signatureHeader } from './webhook.signing.ts';
import { safeLookup, type TargetPolicy, urlProblem } from './webhook.target.ts';

/**
 * The webhook dispatcher, a background loop independent of API requests (a slow or failing
 * endpoint never blocks the API):
 * 1. fan-out: each active endpoint's new events (id > lastEventId, matching its types) become
 *    delivery rows (unique per endpoint and event, so several instances can run this safely);
 * 2. delivery: due PENDING deliveries are claimed with FOR UPDATE SKIP LOCKED (one instance per
 *    delivery), POSTed with a signature, and marked SUCCEEDED on 2xx, else retried with
 *    exponential backoff and full jitter until `maxAttempts`, then FAILED. At least once.
 * Targets are checked again at delivery (webhook.target.ts): the connection goes to the address
 * that was checked, and redirects are never followed (a 3xx is a failed attempt), so neither DNS
 * rebinding nor a redirect can turn a signed delivery towards an internal address.
 */
export type DispatcherOptions = {
  prisma: PrismaClient;
  logger: Logger;
  /** Which targets may be connected to. @default https only, public addresses only */
  targets?: TargetPolicy;
  /** How often to look for work. @default 1000 */
  intervalMs?: number;
  /** Attempts before a delivery is FAILED. @default 8 */
  maxAttempts?: number;
  /** First retry delay; doubles per attempt, capped at 6 h, with full jitter. @default 30000 */
  baseBackoffMs?: number;
  /** Per-attempt timeout. @default 10000 */
  timeoutMs?: number;
  /** Deliveries in flight at once. @default 8 */
  concurrency?: number;
};

export function backoffMs(attempt: number, base: number, random = Math.random): number {
  const cap = 6 * 60 * 60 * 1000;
  const exp = Math.min(cap, base * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}

export function createDispatcher(opts: DispatcherOptions) {
  const { prisma, logger } = opts;
  const policy: TargetPolicy = opts.targets ?? { allowHttp: false, allowPrivate: false };
  const lookup = safeLookup(policy);
  const maxAttempts = opts.maxAttempts ?? 8;
  const base = opts.baseBackoffMs ?? 30_000;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const concurrency = opts.concurrency ?? 8;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;

  /** One POST to a checked target; resolves to the status code (the body is read and dropped). */
  function post(url: string, body: string, signal: AbortSignal, headers: Record<string, string>): Promise<number> {
    const problem = urlProblem(url, policy);
    if (problem) return Promise.reject(new Error(`Webhook target refused: ${problem}`));
    const u = new URL(url);
    const client = u.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = client.request(
        u,
        { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, lookup, signal, agent: false },
        (res) => {
          res.on('error', reject);
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.resume();
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  async function fanOut() {
    const endpoints = await prisma.webhookEndpoint.findMany({ where: { active: true } });
    for (const ep of endpoints) {
      const db = forShop(prisma, ep.shopId);
      const events = await db.event.findMany({ where: { id: { gt: ep.lastEventId } }, orderBy: { id: 'asc' }, take: 500 });
      if (!events.length) continue;
      const wanted = events.filter((e) => ep.eventTypes.length === 0 || ep.eventTypes.includes(e.type));
      if (wanted.length) {
        await db.webhookDelivery.createMany({
          data: wanted.map((e) => ({
            endpointId: ep.id,
            eventId: e.id,
            eventType: e.type,
            payload: { id: String(e.id), type: e.type, createdAt: e.createdAt.toISOString(), data: e.payload },
          })) as never,
          skipDuplicates: true,
        });
      }
      const last = events[events.length - 1]!.id;
      await db.webhookEndpoint.updateMany({ where: { id: ep.id, lastEventId: { lt: last } }, data: { lastEventId: last } });
    }
  }

  async function claim(limit: number): Promise<WebhookDelivery[]> {
    // System-level claim across shops; each row is then handled with its own shop's scope.
    return prisma.$queryRaw<WebhookDelivery[]>(Prisma.sql`
      UPDATE "WebhookDelivery" SET "nextAttemptAt" = now() + make_interval(secs => ${Math.ceil(timeoutMs / 1000) + 30})
      WHERE id IN (
        SELECT id FROM "WebhookDelivery" WHERE status = 'PENDING' AND "nextAttemptAt" <= now()
        ORDER BY "nextAttemptAt" LIMIT ${limit} FOR UPDATE SKIP LOCKED)
      RETURNING *`);
  }

  async function deliver(d: WebhookDelivery) {
    const db = forShop(prisma, d.shopId);
    const ep = await db.webhookEndpoint.findUnique({ where: { id: d.endpointId } });
    if (!ep) return;
    const body = JSON.stringify(d.payload);
    const attempt = d.attempts + 1;
    let status: number | null = null;
    let error: string | null = null;
    const controller = new AbortController();
    const t = setTimeout(() => controller.abort(), timeoutMs);
    try {
      status = await post(ep.url, body, controller.signal, {
        'content-type': 'application/json',
        'user-agent': 'headless-crm-webhooks/1',
        'x-crm-signature': signatureHeader(ep.secret, body),
        'x-crm-event-id': String(d.eventId),
        'x-crm-event-type': d.eventType,
        'x-crm-delivery-id': d.id,
      });
      if (status >= 300 && status < 400) error = `Redirect not followed (HTTP ${status})`;
      else if (status < 200 || status >= 300) error = `HTTP ${status}`;
    } catch (err) {
      error = controller.signal.aborted ? `Timed out after ${timeoutMs} ms` : String((err as Error).message ?? err).slice(0, 500);
    } finally {
      clearTimeout(t);
    }
    const now = new Date();
    if (!error) {
      await db.webhookDelivery.update({
        where: { id: d.id },
        data: {
          status: 'SUCCEEDED',
          attempts: attempt,
          lastStatusCode: status,
          lastError: null,
          lastAttemptAt: now,
          deliveredAt: now,
          nextAttemptAt: null,
        },
      });
      return;
    }
    const failed = attempt >= maxAttempts;
    await db.webhookDelivery.update({
      where: { id: d.id },
      data: {
        status: failed ? 'FAILED' : 'PENDING',
        attempts: attempt,
        lastStatusCode: status,
        lastError: error,
        lastAttemptAt: now,
        nextAttemptAt: failed ? null : new Date(now.getTime() + backoffMs(attempt, base)),
      },
    });
    logger.warn('webhook delivery failed', { shopId: d.shopId, deliveryId: d.id, attempt, status: status ?? undefined, final: failed });
  }

  /** One round of fan-out and delivery; resolves when the claimed deliveries are done. */
  async function tick() {
    await fanOut();
    for (;;) {
      const batch = await claim(concurrency);
      if (!batch.length) return;
      await Promise.all(
        batch.map((d) => deliver(d).catch((err) => logger.error('webhook delivery crashed', { deliveryId: d.id, error: String(err) }))),
      );
      // A partial batch means the queue is drained (retries wait for the next tick).
      if (stopped || batch.length < concurrency) return;
    }
  }

  const loop = () => {
    if (stopped || running) return;
    running = tick()
      .catch((err) => logger.error('webhook dispatcher error', { error: String(err) }))
      .finally(() => {
        running = null;
      });
  };

  return {
    tick,
    start() {
      stopped = false;
      timer = setInterval(loop, opts.intervalMs ?? 1000);
      timer.unref();
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = null;
      await running;
    },
  };
}
