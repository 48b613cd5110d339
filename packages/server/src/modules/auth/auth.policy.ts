import { ForbiddenError } from '../../errors.ts';
import type { Prisma } from '../../generated/prisma/client.ts';
import type { StaffRole } from '../../generated/prisma/enums.ts';

/**
 * The authorization model, in one place. Every Query, Mutation and Subscription field declares
 * `authScopes` (plugin-scope-auth) with the scope names below; the builder grants a request its
 * scopes with `grantedScopes()` from the caller (key kind, key scopes, staff role, shop grants).
 * Declarations are plain objects, so tests and docs read them off the schema
 * (`field.extensions.pothosOptions.authScopes`); all listed scopes must hold (`$any` for a choice).
 * Data-dependent rules ("an agent works only on its own leads") live in `<domain>.policy.ts`.
 */

/** Finer key scopes: read/write per area. */
export const SCOPES = [
  'contacts:read',
  'contacts:write',
  'orders:read',
  'orders:write',
  'followups:read',
  'followups:write',
  'segments:read',
  'segments:write',
  'loyalty:read',
  'loyalty:write',
  'webhooks:read',
  'webhooks:write',
  'staff:read',
  'staff:write',
  'keys:read',
  'keys:write',
] as const;
export type Scope = (typeof SCOPES)[number];

/**
 * The broad scopes of earlier versions keep working: a key holding one has every scope it maps to.
 * `customers:*` covered all customer data (records, orders and interactions, follow-ups, segments, loyalty).
 */
export const LEGACY_SCOPES: Record<string, readonly Scope[]> = {
  'customers:read': ['contacts:read', 'orders:read', 'followups:read', 'segments:read', 'loyalty:read'],
  'customers:write': ['contacts:write', 'orders:write', 'followups:write', 'segments:write', 'loyalty:write'],
  'keys:manage': ['keys:read', 'keys:write'],
  'webhooks:manage': ['webhooks:read', 'webhooks:write'],
};

export const isKnownScope = (s: string) => (SCOPES as readonly string[]).includes(s) || s in LEGACY_SCOPES;

/** A key's stored scope names (fine or legacy) as the set of fine scopes it holds. */
export function expandScopes(stored: Iterable<string>): Set<Scope> {
  const out = new Set<Scope>();
  for (const s of stored) {
    if ((SCOPES as readonly string[]).includes(s)) out.add(s as Scope);
    for (const f of LEGACY_SCOPES[s] ?? []) out.add(f);
  }
  return out;
}

/** The legacy scope names that include a fine scope (for error messages). */
export const legacyNamesOf = (scope: string) =>
  Object.entries(LEGACY_SCOPES)
    .filter(([, v]) => (v as string[]).includes(scope))
    .map(([k]) => k);

/** Staff roles, lowest first. A secret key without x-crm-staff-id acts as the shop's system: above every role. */
export const ROLES = ['AGENT', 'MANAGER', 'OWNER'] as const satisfies readonly StaffRole[];
export const roleRank = (r: StaffRole | 'SYSTEM') => (r === 'SYSTEM' ? ROLES.length : ROLES.indexOf(r));

/**
 * What an agent may do only when the shop grants it (Shop.settings.authorization.agentsMay).
 * Without the grant these need a MANAGER, an OWNER or the shop's system.
 */
export const AGENT_GRANTS = ['MANAGE_STAFF', 'MANAGE_KEYS', 'MANAGE_WEBHOOKS', 'DELETE_CUSTOMERS'] as const;
export type AgentGrant = (typeof AGENT_GRANTS)[number];

/** The scope names fields declare, and the type of each one's parameter. */
export type AuthScopes = {
  /** Anyone, even without a key. */
  public: boolean;
  /** Any valid key of a shop (publishable or secret). */
  shop: boolean;
  /** A publishable key. */
  publishable: boolean;
  /** A publishable key with a customer token (the customer acting on their own profile). */
  customer: boolean;
  /** A secret key. */
  secret: boolean;
  /** A secret key holding this scope (directly or through a legacy name). */
  scope: Scope;
  /** A secret key acting as staff with at least this role, or as the shop's system (no x-crm-staff-id). */
  role: StaffRole;
  /** A secret key naming a staff user (x-crm-staff-id). */
  staff: boolean;
  /** A secret key not acting as an AGENT, or acting as an agent the shop granted this. */
  agentMay: AgentGrant;
};

/** A field's declaration: all listed scopes must hold; `$any`/`$all` nest. */
export type ScopeDeclaration = {
  [K in keyof AuthScopes]?: AuthScopes[K];
} & { $any?: ScopeDeclaration; $all?: ScopeDeclaration };

export type StaffActor = { id: string; role: StaffRole };

/** The caller, as far as authorization is concerned. */
export type Caller =
  | { kind: 'anonymous' }
  | { kind: 'publishable'; customerId: string | null }
  | { kind: 'secret'; scopes: ReadonlySet<Scope>; staff: StaffActor | null };

/**
 * Who acts, for data-dependent rules: AGENTs see and act on their own leads (customers they own),
 * follow-ups (assigned to them) and the lead pool; OWNERs, MANAGERs and the shop's SYSTEM (a secret
 * key without x-crm-staff-id) on everything.
 */
export type Access = { staffId: string | null; role: StaffRole | 'SYSTEM' };
export const SYSTEM: Access = { staffId: null, role: 'SYSTEM' };
export const isManager = (a: Access) => a.role !== 'AGENT';

/** The acting role: the staff user's, or SYSTEM for a secret key without x-crm-staff-id. */
export const actingRole = (c: Extract<Caller, { kind: 'secret' }>): StaffRole | 'SYSTEM' => c.staff?.role ?? 'SYSTEM';

type Granted = {
  [K in keyof AuthScopes]: AuthScopes[K] extends boolean ? boolean : (param: AuthScopes[K]) => boolean | Promise<boolean>;
};

/** The scopes a caller holds. `agentGrants` loads the shop's grants to agents (only asked for agents). */
export function grantedScopes(caller: Caller, agentGrants: () => Promise<readonly AgentGrant[]> | readonly AgentGrant[]): Granted {
  const secret = caller.kind === 'secret' ? caller : null;
  return {
    public: true,
    shop: caller.kind !== 'anonymous',
    publishable: caller.kind === 'publishable',
    customer: caller.kind === 'publishable' && caller.customerId != null,
    secret: secret != null,
    staff: secret?.staff != null,
    scope: (s) => secret?.scopes.has(s) ?? false,
    role: (r) => (secret ? roleRank(actingRole(secret)) >= roleRank(r) : false),
    agentMay: (g) => {
      if (!secret) return false;
      if (actingRole(secret) !== 'AGENT') return true;
      const grants = agentGrants();
      return Array.isArray(grants) ? grants.includes(g) : (grants as Promise<readonly AgentGrant[]>).then((l) => l.includes(g));
    },
  };
}

/** Reads the shop's grants to agents from its settings JSON (invalid or missing: none). */
export function agentGrantsFrom(settings: Prisma.JsonValue | undefined | null): AgentGrant[] {
  const auth =
    settings && typeof settings === 'object' && !Array.isArray(settings) ? (settings as Record<string, unknown>).authorization : null;
  const list = auth && typeof auth === 'object' && !Array.isArray(auth) ? (auth as Record<string, unknown>).agentsMay : null;
  return Array.isArray(list) ? list.filter((g): g is AgentGrant => (AGENT_GRANTS as readonly string[]).includes(g)) : [];
}

/** Evaluates a declaration for a caller, synchronously (tests and docs; the server uses the plugin). */
export function allows(
  decl: ScopeDeclaration,
  caller: Caller,
  agentGrants: readonly AgentGrant[] = [],
  strategy: 'all' | 'any' = 'all',
): boolean {
  const g = grantedScopes(caller, () => agentGrants);
  const results = Object.entries(decl).map(([k, v]) => {
    if (k === '$any') return allows(v as ScopeDeclaration, caller, agentGrants, 'any');
    if (k === '$all') return allows(v as ScopeDeclaration, caller, agentGrants, 'all');
    const granted = g[k as keyof Granted];
    if (typeof granted === 'function') return (granted as (p: unknown) => boolean)(v) === true;
    return v === true ? granted === true : v === false;
  });
  return strategy === 'all' ? results.every(Boolean) : results.some(Boolean);
}

/** One sentence on what a denied declaration needs (the FORBIDDEN message). */
export function describeRequirement(scope: string, parameter: unknown): string {
  switch (scope) {
    case 'scope': {
      const legacy = legacyNamesOf(String(parameter));
      return `This key lacks the scope ${parameter}${legacy.length ? ` (included in ${legacy.join(', ')})` : ''}`;
    }
    case 'role':
      return `Only staff with role ${parameter} or above (or a secret key without x-crm-staff-id) may do that`;
    case 'agentMay':
      return `Agents may not do that unless the shop grants ${parameter}; ask an owner or manager`;
    case 'staff':
      return 'This acts for a staff user: send x-crm-staff-id';
    case 'secret':
      return 'A secret key is required';
    case 'customer':
      return 'A publishable key with an x-customer-token is required';
    case 'publishable':
      return 'A publishable key is required';
    default:
      return 'This key is not allowed to do that';
  }
}

// ---------------------------------------------------------------------------------------------
// Data-dependent rules of the auth domain (who may grant what): the field declarations decide who
// may call staff and key mutations at all; these decide what a permitted caller may give.

/** Nobody grants a role above their own (a manager cannot create or promote owners; an agent only agents). */
export function assertMayGrantRole(actor: Access, role: StaffRole) {
  if (roleRank(role) > roleRank(actor.role)) {
    throw new ForbiddenError(`You cannot grant the role ${role}: it is above your own (${actor.role})`);
  }
}

/** Nobody changes a staff user whose role is above their own (an agent cannot demote or deactivate an owner). */
export function assertMayChangeStaff(actor: Access, target: { id: string; role: StaffRole }, patch: { role?: StaffRole | null }) {
  if (roleRank(target.role) > roleRank(actor.role)) {
    throw new ForbiddenError(`You cannot change a staff user with the role ${target.role}: it is above your own (${actor.role})`);
  }
  if (patch.role != null) assertMayGrantRole(actor, patch.role);
}

/** Nobody grants a key scope they do not hold (publishable keys hold none). */
export function assertMayGrantScopes(held: ReadonlySet<Scope>, requested: Iterable<string>) {
  const missing = [...expandScopes(requested)].filter((s) => !held.has(s));
  if (missing.length) {
    throw new ForbiddenError(`You cannot grant scopes your own key does not hold: ${missing.join(', ')}`);
  }
}

/** A declaration in words, as docs/authorization.md lists it (e.g. "orders:write; MANAGER+"). */
export function describeDeclaration(decl: ScopeDeclaration): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(decl)) {
    if (k === '$any')
      parts.push(
        `any of (${describeDeclaration(v as ScopeDeclaration)
          .split('; ')
          .join(' or ')})`,
      );
    else if (k === '$all') parts.push(describeDeclaration(v as ScopeDeclaration));
    else if (k === 'scope') parts.push(String(v));
    else if (k === 'role') parts.push(`${v}+`);
    else if (k === 'agentMay') parts.push(`agents only with ${v}`);
    else if (k === 'staff') parts.push('named staff user');
    else if (k === 'customer') parts.push('customer token');
    else if (k === 'public') parts.push('anyone');
    else if (k === 'shop') parts.push('any key');
    else parts.push(`${k} key`);
  }
  return parts.join('; ');
}
