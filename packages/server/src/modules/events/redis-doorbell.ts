import { Redis } from 'ioredis';
import type { Config } from '../../config.ts';
import type { Logger } from '../../logger.ts';
import type { Doorbell } from './event-bus.ts';

/**
 * The Redis doorbell (REDIS_URL set): Redis pub/sub channel `crm_events`, message = shop id.
 *
 * The outbox trigger cannot reach Redis, so the instance that commits rings it: after each
 * mutation it executed (its transactions have committed by then) it publishes the caller's shop
 * id; every instance, itself included, is subscribed and pulls that shop's new events from the
 * Event table. PostgreSQL LISTEN stays on as well (all instances share one database) and the
 * bus's safety poll covers writes made outside the API (CLI, scripts) and lost messages, so Redis
 * is a second, independent bell: losing it (or its messages) delays delivery, never loses events.
 */
export const REDIS_CHANNEL = 'crm_events';

export function redisDoorbell(url: string, logger: Logger): Doorbell {
  const opts = { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false } as const;
  let pub: Redis | null = null;
  let pubReady: Promise<unknown> | null = null;
  let closed = false;
  const client = () => {
    const c = new Redis(url, opts);
    c.on('error', (err) => logger.warn('redis doorbell', { error: String(err) }));
    return c;
  };
  return {
    name: 'redis',
    async start(ring) {
      closed = false;
      const sub = client();
      try {
        await sub.connect();
        await sub.subscribe(REDIS_CHANNEL);
      } catch (err) {
        sub.disconnect();
        throw err;
      }
      sub.on('message', (channel: string, shopId: string) => {
        if (channel === REDIS_CHANNEL) ring(shopId);
      });
      return async () => {
        closed = true;
        sub.disconnect();
        pub?.disconnect();
        pub = null;
      };
    },
    // Publishing does not wait for a subscriber: an instance serving only mutations rings too.
    publish(shopId) {
      if (closed) return;
      if (!pub) {
        pub = client();
        pubReady = pub.connect().catch(() => undefined);
      }
      const p = pub;
      void pubReady?.then(() => p.publish(REDIS_CHANNEL, shopId)).catch(() => undefined);
    },
    async close() {
      closed = true;
      pub?.disconnect();
      pub = null;
    },
  };
}

/** The extra doorbells this configuration asks for (Redis when REDIS_URL is set). */
export function eventDoorbells(config: Pick<Config, 'redisUrl'>, logger: Logger): Doorbell[] {
  return config.redisUrl ? [redisDoorbell(config.redisUrl, logger)] : [];
}
