import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ScopedDb } from '../../db/tenant.ts';
import { ForbiddenError, NotFoundError, ValidationError } from '../../errors.ts';
import type { ApiKey, PrismaClient } from '../../generated/prisma/client.ts';
import { getCustomer } from '../customers/customer.service.ts';
import { emitEvent, gid } from '../events/event.service.ts';
import { ShopCache } from '../events/shop-cache.ts';
import { assertMayGrantScopes, isKnownScope, LEGACY_SCOPES, SCOPES, type Scope } from './auth.policy.ts';

/**
 * API keys. `pk_` keys are publishable (browser-safe: capture leads, track interactions, and read
 * or update the one customer named by a customer token); `sk_` keys are secret (server/partner:
 * whatever their scopes allow). The plain key is returned once; only its SHA-256 is stored.
 */
export { SCOPES, type Scope } from './auth.policy.ts';

export type KeyKind = 'PUBLISHABLE' | 'SECRET';

export function hashKey(plain: string): string {
  return createHash('sha256').update(plain).digest('hex');
}

export function generateKey(kind: KeyKind): { plain: string; prefix: string; hash: string } {
  const plain = `${kind === 'SECRET' ? 'sk' : 'pk'}_live_${randomBytes(24).toString('base64url')}`;
  return { plain, prefix: plain.slice(0, 12), hash: hashKey(plain) };
}

export type CreateKeyInput = { kind: KeyKind; name: string; scopes?: string[] | null; allowedOrigins?: string[] | null };

/** A browser origin as sent in the Origin header: http(s)://host[:port], nothing else. */
export function normalizeOrigin(value: string): string | null {
  try {
    const u = new URL(value);
    if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.username || u.password) return null;
    if (u.pathname !== '/' || u.search || u.hash || value.replace(/\/$/, '') !== u.origin) return null;
    return u.origin;
  } catch {
    return null;
  }
}

export function validateOrigins(kind: KeyKind, origins: string[] | null | undefined): string[] {
  if (!origins?.length) return [];
  if (kind !== 'PUBLISHABLE') throw ValidationError.field(['input', 'allowedOrigins'], 'Only publishable keys are used from browsers');
  if (origins.length > 20) throw ValidationError.field(['input', 'allowedOrigins'], 'At most 20 origins');
  return [
    ...new Set(
      origins.map((o, i) => {
        const n = normalizeOrigin(o.trim());
        if (!n)
          throw ValidationError.field(['input', 'allowedOrigins', String(i)], 'Must be an origin like https://shop.example (no path)');
        return n;
      }),
    ),
  ];
}

/**
 * The scopes stored on a new key: the given names (fine or legacy, see auth.policy.ts), or by
 * default every scope the creator holds (`held`; all scopes for the shop's own set-up).
 */
export function validateScopes(kind: KeyKind, scopes: string[] | null | undefined, held: ReadonlySet<Scope> = new Set(SCOPES)): string[] {
  if (kind === 'PUBLISHABLE') return [];
  if (!scopes || scopes.length === 0) return SCOPES.filter((s) => held.has(s));
  const unknown = scopes.filter((s) => !isKnownScope(s));
  if (unknown.length) {
    throw ValidationError.field(
      ['input', 'scopes'],
      `Unknown scope(s): ${unknown.join(', ')}. Known: ${SCOPES.join(', ')} (and the broader ${Object.keys(LEGACY_SCOPES).join(', ')})`,
    );
  }
  return [...new Set(scopes)];
}

/**
 * Creates a key for the shop the db is scoped to. Returns the stored row and the plain key.
 * `held`: the creating key's scopes; nobody grants a scope above their own.
 */
export async function createApiKey(
  db: ScopedDb,
  input: CreateKeyInput,
  held: ReadonlySet<Scope> = new Set(SCOPES),
): Promise<{ apiKey: ApiKey; plainKey: string }> {
  const name = input.name.trim();
  if (!name || name.length > 100) throw ValidationError.field(['input', 'name'], 'Name must be 1-100 characters');
  const scopes = validateScopes(input.kind, input.scopes, held);
  assertMayGrantScopes(held, scopes);
  const allowedOrigins = validateOrigins(input.kind, input.allowedOrigins);
  const k = generateKey(input.kind);
  const apiKey = await db.apiKey.create({
    data: { kind: input.kind, name, scopes, allowedOrigins, prefix: k.prefix, hash: k.hash } as never,
  });
  return { apiKey, plainKey: k.plain };
}

/** Looks up an active key by its plain value (unscoped: this is how the shop is found). */
export async function findActiveKey(prisma: PrismaClient, plain: string) {
  if (!KEY_FORMAT.test(plain)) return null;
  return findByHash(prisma, hashKey(plain));
}

/**
 * Active keys by hash, kept a short while (every request starts with this lookup). A revoke writes
 * an API_KEY_REVOKED event and drops the shop's keys here at once (revokeApiKey's resolver); every
 * instance drops them when the outbox doorbell of the shop rings (any committed event of the shop:
 * a doorbell does not say which). This instance's other mutations leave them (a key changes only
 * by a revoke). `ttlMs` bounds an entry's life when a doorbell is missed. Unknown and revoked keys
 * are not cached.
 */
export class ApiKeyCache {
  private readonly keys: ShopCache<ApiKey>;
  /** A key's shop never changes: hash -> shopId, so that the lookup knows which shop to ask. */
  private readonly shopOf = new Map<string, string>();
  constructor(readonly opts: { ttlMs: number; max?: number }) {
    this.keys = new ShopCache<ApiKey>({ ttlMs: opts.ttlMs, max: opts.max ?? 10_000 });
  }

  async find(prisma: PrismaClient, plain: string): Promise<ApiKey | null> {
    if (!KEY_FORMAT.test(plain)) return null;
    const hash = hashKey(plain);
    const shopId = this.shopOf.get(hash);
    const hit = shopId ? this.keys.get(shopId, hash) : undefined;
    if (hit) return hit;
    const gen = shopId ? this.keys.generation(shopId) : -1;
    const key = await findByHash(prisma, hash);
    if (!key) return null;
    if (this.shopOf.size >= (this.opts.max ?? 10_000)) this.shopOf.clear();
    this.shopOf.set(hash, key.shopId);
    // Not kept when the shop was invalidated while the row was read (it may predate a revoke).
    if (gen === -1 || gen === this.keys.generation(key.shopId)) this.keys.set(key.shopId, hash, key);
    return key;
  }

  invalidate(shopId: string) {
    this.keys.invalidate(shopId);
  }

  /** Follows the bus: a shop's committed events drop its cached keys. */
  follow(bus: Parameters<ShopCache<ApiKey>['follow']>[0]) {
    return this.keys.follow(bus, { doorbellOnly: true });
  }
}

const KEY_FORMAT = /^(pk|sk)_live_[A-Za-z0-9_-]{20,64}$/;

async function findByHash(prisma: PrismaClient, hash: string) {
  const key = await prisma.apiKey.findUnique({ where: { hash } });
  if (!key || key.revokedAt) return null;
  return key;
}

const LAST_USED_GRANULARITY_MS = 60_000;
/** Records last use, at most once a minute per key, without delaying the request. */
export function touchKey(prisma: PrismaClient, key: ApiKey, now = new Date()): Promise<unknown> {
  if (key.lastUsedAt && now.getTime() - key.lastUsedAt.getTime() < LAST_USED_GRANULARITY_MS) return Promise.resolve();
  key.lastUsedAt = now;
  return prisma.apiKey.update({ where: { id: key.id }, data: { lastUsedAt: now } }).catch(() => undefined);
}

/**
 * Customer tokens: issued by a shop's backend (secret key) for one of its customers, then used by
 * the browser alongside the publishable key to read/update that customer's own profile.
 * Format: base64url(payload).base64url(hmac). Payload: shop id, customer id, expiry (epoch s).
 */
export function signCustomerToken(secret: string, shopId: string, customerId: string, ttlSeconds: number): string {
  const payload = Buffer.from(JSON.stringify({ s: shopId, c: customerId, e: Math.floor(Date.now() / 1000) + ttlSeconds })).toString(
    'base64url',
  );
  const mac = createHmac('sha256', secret).update(payload).digest('base64url');
  return `ct_${payload}.${mac}`;
}

export function verifyCustomerToken(secret: string, token: string): { shopId: string; customerId: string } | null {
  if (!token.startsWith('ct_')) return null;
  const [payload, mac] = token.slice(3).split('.');
  if (!payload || !mac) return null;
  const expected = createHmac('sha256', secret).update(payload).digest();
  const given = Buffer.from(mac, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  try {
    const p = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { s: string; c: string; e: number };
    if (typeof p.e !== 'number' || p.e < Date.now() / 1000) return null;
    return { shopId: p.s, customerId: p.c };
  } catch {
    return null;
  }
}

/**
 * Revokes a key of the shop at once (idempotent). A key cannot revoke itself. The API_KEY_REVOKED
 * event commits with the revocation: every instance drops the shop's cached keys on it.
 */
export async function revokeApiKey(db: ScopedDb, id: string, callerKeyId: string | null): Promise<ApiKey> {
  if (callerKeyId === id) throw new ForbiddenError('A key cannot revoke itself');
  const key = await db.apiKey.findFirst({ where: { id } });
  if (!key) throw new NotFoundError('API key', ['input', 'id']);
  if (key.revokedAt) return key;
  return db.$transaction(async (tx) => {
    const revoked = await tx.apiKey.update({ where: { id }, data: { revokedAt: new Date() } });
    await emitEvent(tx, { type: 'API_KEY_REVOKED', payload: { apiKeyId: gid('ApiKey', id) } });
    return revoked;
  });
}

/** Issues a customer token (for the storefront's "my profile") valid 60..86400 seconds. */
export async function issueCustomerToken(db: ScopedDb, secret: string, shopId: string, customerId: string, ttlSeconds: number) {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 60 || ttlSeconds > 86400) {
    throw ValidationError.field(['input', 'ttlSeconds'], 'Between 60 and 86400');
  }
  const c = await getCustomer(db, customerId, true);
  if (!c) throw new NotFoundError('Customer', ['input', 'customerId']);
  return { token: signCustomerToken(secret, shopId, c.id, ttlSeconds), expiresAt: new Date(Date.now() + ttlSeconds * 1000) };
}
