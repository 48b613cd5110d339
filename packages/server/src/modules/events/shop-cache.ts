import { LRUCache } from 'lru-cache';
import type { EventBus } from './event-bus.ts';

/**
 * A short-lived per-process cache of values that belong to one shop (API keys, counts, responses):
 * an entry lives at most `ttlMs` and everything a shop holds is dropped at once when the event bus
 * reports that events of the shop were committed (by this instance or, through the doorbells, any
 * other). Built on lru-cache (size bound and expiry); what is specific here is the per-shop
 * generation: invalidating a shop bumps its generation, which is part of every key, so the shop's
 * old entries are never read again (and age out of the LRU) without scanning the cache.
 * Keys of different shops never meet: the shop id is the first part of every key.
 */
export class ShopCache<V extends {}> {
  private readonly lru: LRUCache<string, V>;
  private readonly generations = new Map<string, number>();
  private readonly maxShops: number;

  constructor(opts: { ttlMs: number; max: number; maxShops?: number }) {
    this.lru = new LRUCache<string, V>({ max: opts.max, ttl: opts.ttlMs, ttlAutopurge: false });
    this.maxShops = opts.maxShops ?? 100_000;
  }

  /** The shop's current generation (changes on every invalidation of the shop). */
  generation(shopId: string): number {
    return this.generations.get(shopId) ?? 0;
  }

  private key(shopId: string, key: string) {
    return `${shopId}\u0000${this.generation(shopId)}\u0000${key}`;
  }

  get(shopId: string, key: string): V | undefined {
    return this.lru.get(this.key(shopId, key));
  }

  set(shopId: string, key: string, value: V): void {
    this.lru.set(this.key(shopId, key), value);
  }

  /** The cached value, else `load()`'s (cached unless the shop was invalidated while it loaded). */
  async getOrLoad(shopId: string, key: string, load: () => Promise<V>): Promise<V> {
    const k = this.key(shopId, key);
    const hit = this.lru.get(k);
    if (hit !== undefined) return hit;
    const value = await load();
    // Invalidated while loading: the value may predate the change; return it, do not keep it.
    if (this.key(shopId, key) === k) this.lru.set(k, value);
    return value;
  }

  /** Drops everything cached for the shop. */
  invalidate(shopId: string): void {
    if (!this.generations.has(shopId) && this.generations.size >= this.maxShops) {
      // Forgetting generations could resurrect entries: start over instead.
      this.generations.clear();
      this.lru.clear();
    }
    this.generations.set(shopId, (this.generations.get(shopId) ?? 0) + 1);
  }

  clear(): void {
    this.lru.clear();
  }

  /**
   * Invalidates the shop whenever the bus reports committed events of it (`doorbellOnly`: only
   * those heard through the doorbells, not this instance's own mutations); returns the unsubscribe.
   */
  follow(bus: EventBus, opts: { doorbellOnly?: boolean } = {}): () => void {
    return bus.onShopChange((shopId, source) => {
      if (!opts.doorbellOnly || source === 'doorbell') this.invalidate(shopId);
    });
  }
}
