import { randomUUID } from 'node:crypto';
import type { Config } from './config.ts';
import type { Database, DatabaseOptions } from './db/database.ts';
import { type ShopBound, shopBound } from './db/shop-bound.ts';
import type { ScopedDb } from './db/tenant.ts';
import { type TenantSql, tenantDriverWriteStatement, tenantRows } from './db/tenant-sql.ts';
import { UnauthenticatedError } from './errors.ts';
import type { Prisma } from './generated/prisma/client.ts';
import type { Logger } from './logger.ts';
import { type ApiKeyCache, findActiveKey, touchKey, verifyCustomerToken } from './modules/auth/api-key.service.ts';
import { type AgentGrant, agentGrantsFrom, expandScopes, type Scope, type StaffActor } from './modules/auth/auth.policy.ts';
import type { EventBus } from './modules/events/event-bus.ts';
import { readShopSettings } from './modules/shops/shop-settings.ts';
import type { ReadCaches } from './read-caches.ts';

export type { StaffActor };

/**
 * Who calls. `scopes` of a secret key are the fine scopes it holds (legacy names expanded);
 * `keyScopes` the names stored on the key. Authorization is declared on the fields (auth.policy.ts).
 */
export type Viewer =
  | { kind: 'anonymous' }
  | { kind: 'secret'; shopId: string; keyId: string; scopes: ReadonlySet<Scope>; keyScopes: string[]; staff: StaffActor | null }
  | {
      kind: 'publishable';
      shopId: string;
      keyId: string;
      customerId: string | null;
      /** Browser origins allowed to use the key (empty: any). */
      allowedOrigins?: readonly string[];
    };

const NO_SHOP = '00000000-0000-0000-0000-000000000000';

export type Services = {
  database: Database;
  config: Config;
  logger: Logger;
  tokenSecret: string;
  /** The process's event fan-out (subscriptions). */
  events: EventBus;
  /** Short-lived read caches invalidated through the event bus (absent: every read goes to the database). */
  caches?: ReadCaches;
};

export type Context = {
  requestId: string;
  viewer: Viewer;
  services: Services;
  /** Tenant-scoped client of the viewer's shop (anonymous callers get one scoped to no shop). */
  db: ScopedDb;
  /** Raw SQL reads bound to the viewer's shop (db/tenant-sql.ts): rows of other shops never come back. */
  sql: TenantSql;
  /** `sql` on the driver itself (db/tenant-sql.ts `tenantRows`): the compiled read path's door. */
  rows: TenantSql;
  /**
   * One set-based write statement on the driver itself, bound to the viewer's shop (db/tenant-sql.ts
   * `tenantDriverWriteStatement`): for large parameters (an upload's chunks).
   */
  driverWrite: ReturnType<typeof tenantDriverWriteStatement>;
  /**
   * PostgreSQL: the options of this database for an import worker process's own client (a big import,
   * modules/imports/import.worker.ts, which binds it to the job's shop); absent on PGlite.
   */
  workerDatabase?: DatabaseOptions;
  /**
   * The viewer's shop as one object (`db`, `sql` and shop-bound transactions with raw reads and
   * set-based writes): for services that run set-based SQL in their own transactions (loyalty,
   * segments). Modules never see the unscoped client.
   */
  shop: ShopBound;
  /** The caller's IP address (X-Forwarded-For first hop with TRUST_PROXY=1, else the socket's); null when unknown. */
  clientIp: string | null;
  /** The shop's settings (Shop.settings, every section as stored): once per request, from the settings cache when it is on. */
  shopSettings(): Promise<Record<string, unknown>>;
  /** What the shop lets its agents do (Shop.settings.authorization.agentsMay); loaded once per request, when asked. */
  agentGrants(): Promise<readonly AgentGrant[]>;
  /** The caller's User-Agent header (consent proof for browser calls); null when absent. */
  userAgent: string | null;
};

/** Builds a context from already-resolved credentials (tests use this directly, without HTTP). */
export function createContextInner(
  services: Services,
  viewer: Viewer,
  requestId: string = randomUUID(),
  clientIp: string | null = null,
  userAgent: string | null = null,
): Context {
  const shopId = viewer.kind === 'anonymous' ? NO_SHOP : viewer.shopId;
  const shop = shopBound(services.database.prisma, shopId, services.database);
  const db = shop.db;
  let grants: Promise<readonly AgentGrant[]> | null = null;
  let settings: Promise<Record<string, unknown>> | null = null;
  // Frozen: the cached value is shared by every request of the shop.
  const readSettings = () => readShopSettings(db).then((s) => Object.freeze({ settings: deepFreeze(s) }));
  const settingsCache = services.caches?.settings;
  const loadSettings = async () =>
    (viewer.kind !== 'anonymous' && settingsCache ? await settingsCache.getOrLoad(shopId, '', readSettings) : await readSettings())
      .settings;
  const shopSettings = () => {
    settings ??= loadSettings();
    return settings;
  };
  return {
    requestId,
    viewer,
    services,
    db,
    sql: shop.sql,
    rows: tenantRows((text, params) => services.database.driverQuery(text, params), shopId),
    driverWrite: tenantDriverWriteStatement((text, params) => services.database.driverQuery(text, params), shopId),
    workerDatabase: services.database.reopen,
    shop,
    clientIp,
    shopSettings,
    agentGrants: () => {
      grants ??= shopSettings().then((s) => agentGrantsFrom(s as Prisma.JsonObject));
      return grants;
    },
    userAgent,
  };
}

/** The client address: the first X-Forwarded-For hop when the proxy is trusted, else the socket's. */
export function clientIpOf(trustProxy: boolean, forwardedFor: string | null | undefined, socketAddress: string | null | undefined) {
  if (trustProxy && forwardedFor) {
    const first = forwardedFor.split(',')[0]?.trim();
    if (first) return first.slice(0, 64);
  }
  return socketAddress ?? null;
}

export type Credentials = { apiKey?: string | null; staffId?: string | null; customerToken?: string | null };

/** Reads credentials from headers: `Authorization: Bearer <key>` (or `x-api-key`), `x-crm-staff-id`, `x-customer-token`. */
export function credentialsFromHeaders(get: (name: string) => string | null | undefined): Credentials {
  const auth = get('authorization');
  const bearer = auth?.match(/^Bearer\s+(\S+)$/i)?.[1];
  return {
    apiKey: bearer ?? get('x-api-key') ?? null,
    staffId: get('x-crm-staff-id') ?? null,
    customerToken: get('x-customer-token') ?? null,
  };
}

/** Freezes a JSON value all the way down (cached settings are shared by requests). */
function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v as object)) deepFreeze(x);
  }
  return v;
}

/** x-crm-staff-id takes the StaffUser id the API hands out (a global id) or the raw row id. */
function staffRowId(value: string): string | null {
  const isRowId = (v: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v);
  if (isRowId(value)) return value;
  const [type, id] = Buffer.from(value, 'base64').toString('utf8').split(':');
  return type === 'StaffUser' && id && isRowId(id) ? id : null;
}

/** Resolves credentials to a Viewer. Invalid credentials throw UnauthenticatedError (never silently anonymous). */
export async function resolveViewer(services: Services, creds: Credentials): Promise<Viewer> {
  if (!creds.apiKey) return { kind: 'anonymous' };
  const prisma = services.database.prisma;
  const keys: ApiKeyCache | undefined = services.caches?.apiKeys;
  const key = keys ? await keys.find(prisma, creds.apiKey) : await findActiveKey(prisma, creds.apiKey);
  if (!key) throw new UnauthenticatedError('Unknown or revoked API key');
  void touchKey(prisma, key);
  if (key.kind === 'PUBLISHABLE') {
    let customerId: string | null = null;
    if (creds.customerToken) {
      const t = verifyCustomerToken(services.tokenSecret, creds.customerToken);
      if (!t || t.shopId !== key.shopId) throw new UnauthenticatedError('Invalid or expired customer token');
      customerId = t.customerId;
    }
    return { kind: 'publishable', shopId: key.shopId, keyId: key.id, customerId, allowedOrigins: key.allowedOrigins };
  }
  let staff: StaffActor | null = null;
  if (creds.staffId) {
    const staffId = staffRowId(creds.staffId);
    const load = async () => {
      const s = await prisma.staffUser.findFirst({ where: { id: staffId as string, shopId: key.shopId, active: true } });
      // Unknown or inactive: never cached (a thrown load keeps nothing).
      if (!s) throw new UnauthenticatedError('Unknown or inactive staff user in x-crm-staff-id');
      // Frozen: the cached actor is shared by every request naming it.
      return Object.freeze({ id: s.id, role: s.role });
    };
    if (!staffId) throw new UnauthenticatedError('Unknown or inactive staff user in x-crm-staff-id');
    const cached = services.caches?.staff;
    staff = cached ? await cached.getOrLoad(key.shopId, staffId, load) : await load();
  }
  return { kind: 'secret', shopId: key.shopId, keyId: key.id, scopes: expandScopes(key.scopes), keyScopes: key.scopes, staff };
}

/**
 * The caller's shop. Fields declare who may call them (`authScopes`), so an anonymous caller never
 * reaches a resolver that asks; this only narrows the type.
 */
export function shopIdOf(ctx: Context): string {
  if (ctx.viewer.kind === 'anonymous') throw new UnauthenticatedError();
  return ctx.viewer.shopId;
}
