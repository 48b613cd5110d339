import type { Config } from './config.ts';
import type { StaffRole } from './generated/prisma/enums.ts';
import { ApiKeyCache } from './modules/auth/api-key.service.ts';
import type { EventBus } from './modules/events/event-bus.ts';
import { ShopCache } from './modules/events/shop-cache.ts';

/**
 * The process's short-lived read caches, each per shop and dropped for a shop whenever the event
 * bus reports committed events of it (see docs/performance.md for what each one may serve stale):
 *   - apiKeys: the key lookup every request starts with (API_KEY_CACHE_MS, default 30 s);
 *   - staff: the acting staff user of `x-crm-staff-id` (its id and role; active ones only) and
 *   - settings: the shop's settings (time zone, agent grants, ...), both with API_KEY_CACHE_MS: they
 *     are the rest of "who is calling and what may they do", read by every request that acts as
 *     staff; STAFF_USER_UPDATED and SETTINGS_UPDATED events drop them on every instance;
 *   - counts: `totalCount` of lists per shop and filter (COUNT_CACHE_MS, default 5 s);
 *   - responses: whole answers to read queries (RESPONSE_CACHE_MS, default 0: off; response-cache.ts).
 * A TTL of 0 switches a cache off.
 */
export type ReadCaches = {
  apiKeys?: ApiKeyCache;
  staff?: ShopCache<{ id: string; role: StaffRole }>;
  settings?: ShopCache<{ settings: Record<string, unknown> }>;
  counts?: ShopCache<{ n: number }>;
  responses?: ShopCache<{ body: { data?: unknown; errors?: readonly unknown[] } }>;
};

export function createReadCaches(config: Config, bus: EventBus): ReadCaches {
  const caches: ReadCaches = {};
  if (config.caches.apiKeyMs > 0) {
    caches.apiKeys = new ApiKeyCache({ ttlMs: config.caches.apiKeyMs });
    caches.apiKeys.follow(bus);
    // Every event of the shop drops them (this instance's mutations included, right after they ran).
    caches.staff = new ShopCache({ ttlMs: config.caches.apiKeyMs, max: 10_000 });
    caches.staff.follow(bus);
    caches.settings = new ShopCache({ ttlMs: config.caches.apiKeyMs, max: 10_000 });
    caches.settings.follow(bus);
  }
  if (config.caches.countMs > 0) {
    caches.counts = new ShopCache<{ n: number }>({ ttlMs: config.caches.countMs, max: 10_000 });
    caches.counts.follow(bus);
  }
  if (config.caches.responseMs > 0) {
    caches.responses = new ShopCache({ ttlMs: config.caches.responseMs, max: 10_000 });
    caches.responses.follow(bus);
  }
  return caches;
}

/**
 * A list's total: from the count cache (key: the list's name and its filter) when it is on, else
 * counted now.
 */
export async function cachedCount(
  caches: ReadCaches | undefined,
  shopId: string,
  key: string,
  count: () => Promise<number>,
): Promise<number> {
  const counts = caches?.counts;
  if (!counts) return count();
  return (await counts.getOrLoad(shopId, key, async () => ({ n: await count() }))).n;
}
