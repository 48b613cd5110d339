import { createHash, randomBytes } from 'node:crypto';
import type { z } from 'zod';
import { inTransaction, type ScopedDb, type ScopedTx } from '../../db/tenant.ts';
import { ConflictError, NotFoundError, ValidationError, VersionConflictError } from '../../errors.ts';
import type { Consent, Customer, Prisma } from '../../generated/prisma/client.ts';
import type { ConsentChannel, ConsentLegalBasis, LifecycleStage, StageChangeSource } from '../../generated/prisma/enums.ts';
import { emitEvent, emitEvents, gid } from '../events/event.service.ts';
import { checkManualStage, customRuleMatch, type ManualStage } from '../lifecycle/lifecycle.service.ts';
import { LOCATION_COLUMNS, PROFILE_COLUMNS } from './customer.columns.ts';
import {
  normalizeEmail,
  normalizePhone,
  type Profile,
  type ProfileInput,
  profileSchema,
  reasonSchema,
  tagListSchema,
} from './customer.schema.ts';

/** Who performs a change: the acting staff user (if any) and how it came about. */
export type Actor = {
  staffId: string | null;
  /** Where the change comes from: 'api', 'lead-form', 'import', ... (LEAD_CAPTURED's `origin`). */
  source?: string;
  /** A storefront lead form: the created customer is a lead whatever its stage. */
  lead?: boolean;
  /** The visitor's browser, when the change comes from one (publishable key): proof for consents. */
  browser?: { ip: string | null; userAgent: string | null } | null;
};

/**
 * A consent decision with its proof: the wording shown (or a versioned consent text id), where it
 * was captured (`source`: form, import, staff, api; `sourceUrl`: the form's page), the legal
 * basis, and (from a browser) IP and user agent. `doubleOptIn` on a grant: the consent waits for
 * `confirmConsent` with the token of the CONSENT_CONFIRMATION_REQUESTED event (until then it is
 * stored as not granted, so no outbound feature counts it).
 */
export type ConsentInput = {
  channel: ConsentChannel;
  granted: boolean;
  source?: string | null;
  wording?: string | null;
  textVersion?: string | null;
  legalBasis?: ConsentLegalBasis | null;
  sourceUrl?: string | null;
  doubleOptIn?: boolean | null;
  ip?: string | null;
  userAgent?: string | null;
};

/** A double opt-in asked for: the token goes out once, in the CONSENT_CONFIRMATION_REQUESTED event. */
export type PendingConfirmation = { channel: ConsentChannel; token: string; expiresAt: Date };

export const CONFIRMATION_TTL_MS = 7 * 24 * 3600_000;
const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex');

export type CreateCustomerInput = ProfileInput & {
  stage?: LifecycleStage | null;
  tags?: string[] | null;
  consents?: ConsentInput[] | null;
};

export type UpdateCustomerInput = ProfileInput & { consents?: ConsentInput[] | null };

export const STAGE_ORDER: LifecycleStage[] = [
  'SUSPECT',
  'PROSPECT',
  'FIRST_PURCHASE',
  'REPEAT',
  'LOYAL',
  'ADVOCATE',
  'STRATEGIC',
  'PARTNER',
];

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string) => UUID_RE.test(s);

function parse<S extends z.ZodType>(schema: S, value: unknown, path: string[]): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new ValidationError(r.error.issues.map((i) => ({ path: [...path, ...i.path.map(String)], message: i.message, code: i.code })));
}

/** Maps validated profile input to Prisma column data (undefined = untouched, null = cleared). */
function toColumns(p: Profile): Prisma.CustomerUncheckedUpdateInput {
  const d: Record<string, unknown> = {};
  for (const k of PROFILE_COLUMNS) {
    const v = p[k];
    if (v !== undefined) d[k] = v === '' ? null : v;
  }
  const lists = ['otherEmails', 'otherPhones', 'productInterests', 'hobbies', 'focusFactors'] as const;
  for (const k of lists) if (p[k] !== undefined) d[k] = [...new Set(p[k] ?? [])];
  if (p.imHandles !== undefined) d.imHandles = p.imHandles ?? [];
  if (p.attributes !== undefined) d.attributes = p.attributes ?? {};
  if (p.location !== undefined) {
    const l = p.location;
    for (const k of LOCATION_COLUMNS) d[k] = l?.[k] ?? null;
  }
  if (p.source !== undefined) {
    const s = p.source;
    d.sourceChannel = s?.channel ?? null;
    d.sourceCampaign = s?.campaign ?? null;
    d.sourceMedium = s?.medium ?? null;
    d.sourceContent = s?.content ?? null;
    d.sourceReferrerId = s?.referrerCustomerId ?? null;
    d.sourceReferrerName = s?.referrerName ?? null;
    d.sourceReferrerContact = s?.referrerContact ?? null;
  }
  return d as Prisma.CustomerUncheckedUpdateInput;
}

/** Checks references (owner, referrer) exist in this shop and identifiers are not taken. */
async function checkReferencesAndUniques(tx: ScopedTx, p: Profile, selfId: string | null) {
  if (p.ownerId) {
    const owner = isUuid(p.ownerId) ? await tx.staffUser.findUnique({ where: { id: p.ownerId } }) : null;
    if (!owner) throw new NotFoundError('Staff user', ['input', 'ownerId']);
    if (!owner.active) throw ValidationError.field(['input', 'ownerId'], 'Staff user is inactive');
  }
  const ref = p.source?.referrerCustomerId;
  if (ref) {
    if (ref === selfId) throw ValidationError.field(['input', 'source', 'referrerCustomerId'], 'A customer cannot refer themselves');
    const c = isUuid(ref) ? await tx.customer.findUnique({ where: { id: ref }, select: { id: true } }) : null;
    if (!c) throw new NotFoundError('Referrer customer', ['input', 'source', 'referrerCustomerId']);
  }
  const checks: [keyof Profile, Prisma.CustomerWhereInput][] = [];
  if (p.email) checks.push(['email', { email: p.email }]);
  if (p.phone) checks.push(['phone', { phone: p.phone }]);
  if (p.externalId) checks.push(['externalId', { externalId: p.externalId }]);
  for (const [field, where] of checks) {
    const other = await tx.customer.findFirst({ where: { ...where, ...(selfId ? { id: { not: selfId } } : {}) }, select: { id: true } });
    if (other) throw new ConflictError(`Another customer already has this ${field}`, ['input', field]);
  }
}

const clip = (v: string | null | undefined, n: number) => (v == null ? null : v.slice(0, n));

async function recordConsents(
  tx: ScopedTx,
  customerId: string,
  consents: ConsentInput[],
  defaultSource: string,
  browser?: Actor['browser'],
): Promise<PendingConfirmation[]> {
  const seen = new Set<string>();
  const pending: PendingConfirmation[] = [];
  for (const [i, c] of consents.entries()) {
    if (seen.has(c.channel)) throw ValidationError.field(['input', 'consents', String(i), 'channel'], 'Channel given twice');
    seen.add(c.channel);
    const source = (c.source ?? defaultSource).slice(0, 100);
    const ask = c.granted && c.doubleOptIn === true;
    const current = await tx.consent.findUnique({ where: { customerId_channel: { customerId, channel: c.channel } } });
    // Unchanged decisions are not recorded again (a confirmed grant needs no new confirmation).
    if (current && current.granted === c.granted && !current.pendingConfirmation) continue;
    if (ask && current?.pendingConfirmation) continue; // already waiting for the link
    const now = new Date();
    const proof = {
      wording: clip(c.wording, 5000),
      textVersion: clip(c.textVersion, 100),
      legalBasis: c.legalBasis ?? 'CONSENT',
      sourceUrl: clip(c.sourceUrl, 2000),
      ip: clip(c.ip ?? browser?.ip, 64),
      userAgent: clip(c.userAgent ?? browser?.userAgent, 500),
    };
    const token = ask ? randomBytes(24).toString('base64url') : null;
    const expiresAt = new Date(now.getTime() + CONFIRMATION_TTL_MS);
    const state = {
      granted: ask ? false : c.granted,
      source,
      updatedAt: now,
      ...proof,
      pendingConfirmation: ask,
      confirmationTokenHash: token ? tokenHash(token) : null,
      confirmationExpiresAt: token ? expiresAt : null,
      confirmedAt: null,
    };
    await tx.consent.upsert({
      where: { customerId_channel: { customerId, channel: c.channel } },
      create: { customerId, channel: c.channel, ...state } as never,
      update: state,
    });
    await tx.consentChange.create({
      data: { customerId, channel: c.channel, granted: state.granted, pending: ask, source, changedAt: now, ...proof } as never,
    });
    if (token) pending.push({ channel: c.channel, token, expiresAt });
  }
  return pending;
}

const confirmationEvents = (customerId: string, pending: PendingConfirmation[]) =>
  pending.map((p) => ({
    type: 'CONSENT_CONFIRMATION_REQUESTED' as const,
    customerId,
    payload: { customerId: gid('Customer', customerId), channel: p.channel, token: p.token, expiresAt: p.expiresAt.toISOString() },
  }));

/**
 * Double opt-in: the token from the confirmation link grants the consent it was issued for (once,
 * before it expires). The confirmation is recorded with the browser's IP and user agent.
 */
export async function confirmConsent(db: ScopedDb, token: string, browser?: Actor['browser']): Promise<Consent> {
  const t0 = token.trim();
  if (!t0 || t0.length > 200) throw ValidationError.field(['input', 'token'], 'Not a confirmation token');
  return tx(db, async (t) => {
    const c = await t.consent.findUnique({ where: { confirmationTokenHash: tokenHash(t0) } });
    if (!c?.pendingConfirmation) throw new NotFoundError('Consent confirmation', ['input', 'token']);
    if (c.confirmationExpiresAt && c.confirmationExpiresAt < new Date()) {
      throw ValidationError.field(['input', 'token'], 'The confirmation link has expired; ask for consent again', 'expired');
    }
    const now = new Date();
    const updated = await t.consent.update({
      where: { id: c.id },
      data: {
        granted: true,
        pendingConfirmation: false,
        confirmationTokenHash: null,
        confirmationExpiresAt: null,
        confirmedAt: now,
        updatedAt: now,
      },
    });
    await t.consentChange.create({
      data: {
        customerId: c.customerId,
        channel: c.channel,
        granted: true,
        source: 'double-opt-in',
        changedAt: now,
        confirmedAt: now,
        wording: c.wording,
        textVersion: c.textVersion,
        legalBasis: c.legalBasis,
        sourceUrl: c.sourceUrl,
        ip: clip(browser?.ip, 64),
        userAgent: clip(browser?.userAgent, 500),
      } as never,
    });
    const cur = await t.customer.findUnique({ where: { id: c.customerId }, select: { version: true } });
    await emitEvent(t, {
      type: 'CUSTOMER_UPDATED',
      customerId: c.customerId,
      payload: { customerId: gid('Customer', c.customerId), version: cur?.version ?? 0, fields: ['consents'] },
    });
    return updated;
  });
}

/** Tag ids by name a batch already holds in its transaction (customer.batch.ts), per item's savepoint client. */
const knownTags = new WeakMap<object, Map<string, string>>();

/** Runs fn with `known` (tag name -> id) as the tags of `tx`: ensureTags adds what it finds to it. */
export async function withKnownTags<T>(tx: ScopedTx, known: Map<string, string>, fn: () => Promise<T>): Promise<T> {
  knownTags.set(tx, known);
  try {
    return await fn();
  } finally {
    knownTags.delete(tx);
  }
}

async function ensureTags(tx: ScopedTx, names: string[]): Promise<string[]> {
  const unique = [...new Set(names)];
  if (!unique.length) return [];
  const known = knownTags.get(tx);
  if (known && unique.every((n) => known.has(n))) return unique.map((n) => known.get(n) as string);
  await tx.tag.createMany({ data: unique.map((name) => ({ name })) as never, skipDuplicates: true });
  const tags = await tx.tag.findMany({ where: { name: { in: unique } }, select: { id: true, name: true } });
  for (const t of tags) known?.set(t.name, t.id);
  return tags.map((t) => t.id);
}

/** @internal */
export async function recordStage(
  tx: ScopedTx,
  customerId: string,
  from: LifecycleStage | null,
  to: LifecycleStage,
  source: StageChangeSource,
  actor: Actor,
  reason: string | null,
) {
  await tx.stageTransition.create({
    data: { customerId, fromStage: from, toStage: to, source, reason, actorStaffId: actor.staffId } as never,
  });
}

/** @internal */
export function uniqueViolation(err: unknown): string[] | null {
  const e = err as { code?: string; meta?: { target?: unknown; driverAdapterError?: { cause?: { constraint?: { fields?: string[] } } } } };
  if (e?.code !== 'P2002') return null;
  const fields =
    e.meta?.driverAdapterError?.cause?.constraint?.fields ?? (Array.isArray(e.meta?.target) ? (e.meta?.target as string[]) : []);
  return fields.map((f) => f.replaceAll('"', ''));
}

/** Runs fn in a transaction and turns unique-index races into ConflictError. */
/** @internal */
export async function tx<T>(db: ScopedDb, fn: (tx: ScopedTx) => Promise<T>, opts?: { maxWait: number; timeout: number }): Promise<T> {
  try {
    return await inTransaction(db, fn, opts);
  } catch (err) {
    const fields = uniqueViolation(err);
    if (fields) {
      const field = fields.find((f) => f !== 'shopId') ?? 'input';
      throw new ConflictError(`Another record already has this ${field}`, ['input', field]);
    }
    throw err;
  }
}

export async function createCustomer(db: ScopedDb, actor: Actor, input: CreateCustomerInput): Promise<Customer> {
  const { stage, tags, consents, ...profileInput } = input;
  const p = parse(profileSchema, profileInput, ['input']);
  const tagNames = parse(tagListSchema, tags ?? [], ['input', 'tags']);
  const initialStage: LifecycleStage = stage ?? 'PROSPECT';
  return tx(db, async (t) => {
    await checkReferencesAndUniques(t, p, null);
    const customer = await t.customer.create({ data: { ...toColumns(p), stage: initialStage } as never });
    await recordStage(t, customer.id, null, initialStage, actor.source === 'import' ? 'IMPORT' : 'MANUAL', actor, 'Created');
    const tagIds = await ensureTags(t, tagNames);
    if (tagIds.length) {
      await t.customerTag.createMany({ data: tagIds.map((tagId) => ({ customerId: customer.id, tagId })) as never });
    }
    const pending = consents?.length ? await recordConsents(t, customer.id, consents, actor.source ?? 'api', actor.browser) : [];
    const facts = {
      customerId: gid('Customer', customer.id),
      stage: initialStage,
      sourceChannel: customer.sourceChannel,
      // Who referred them (e.g. a storefront lead carrying a referral code), when it is a customer.
      ...(customer.sourceReferrerId ? { referrerId: gid('Customer', customer.sourceReferrerId) } : {}),
    };
    // Every new lead is LEAD_CAPTURED, whoever created it (a storefront form, a rep, a partner's
    // sync, an import): sales teams watch one stream. `origin` says where it came from.
    const isNewLead = actor.lead || initialStage === 'SUSPECT' || initialStage === 'PROSPECT';
    await emitEvents(t, [
      { type: 'CUSTOMER_CREATED', customerId: customer.id, payload: facts },
      ...(isNewLead
        ? [{ type: 'LEAD_CAPTURED' as const, customerId: customer.id, payload: { ...facts, origin: actor.source ?? 'api' } }]
        : []),
      ...confirmationEvents(customer.id, pending),
    ]);
    return customer;
  });
}

/** Loads a customer of this shop, following merges when `followMerges` is set. */
export async function getCustomer(db: ScopedDb | ScopedTx, id: string, followMerges = false): Promise<Customer | null> {
  if (!isUuid(id)) return null;
  let c = await db.customer.findUnique({ where: { id } });
  for (let hops = 0; followMerges && c?.status === 'MERGED' && c.mergedIntoId && hops < 5; hops++) {
    c = await db.customer.findUnique({ where: { id: c.mergedIntoId } });
  }
  return c;
}

/** @internal For customer.erase.ts and customer.merge.ts. */
export async function requireLive(db: ScopedDb | ScopedTx, id: string, path: string[] = ['input', 'id']): Promise<Customer> {
  const c = await getCustomer(db, id);
  if (!c || c.status === 'MERGED') throw new NotFoundError('Customer', path);
  return c;
}

export type Lookup = { email?: string | null; phone?: string | null; externalId?: string | null };

/** Finds a customer by one identifier (primary or secondary email/phone), following merges. */
export async function findCustomerBy(db: ScopedDb | ScopedTx, by: Lookup): Promise<Customer | null> {
  const given = (['email', 'phone', 'externalId'] as const).filter((k) => by[k] != null);
  if (given.length !== 1) throw ValidationError.field([], 'Give exactly one of email, phone, externalId');
  let where: Prisma.CustomerWhereInput;
  if (by.email != null) {
    const e = normalizeEmail(by.email);
    if (!e) throw ValidationError.field(['email'], 'Not a valid email address');
    where = { OR: [{ email: e }, { otherEmails: { has: e } }] };
  } else if (by.phone != null) {
    const p = normalizePhone(by.phone);
    if (!p) throw ValidationError.field(['phone'], 'Not a valid phone number (use international format)');
    where = { OR: [{ phone: p }, { otherPhones: { has: p } }] };
  } else {
    where = { externalId: String(by.externalId) };
  }
  const found = await db.customer.findMany({ where, orderBy: [{ status: 'asc' }, { createdAt: 'asc' }], take: 2 });
  const best = found.find((c) => c.status !== 'MERGED') ?? found[0];
  if (!best) return null;
  return best.status === 'MERGED' ? getCustomer(db, best.id, true) : best;
}

export async function updateCustomer(
  db: ScopedDb,
  actor: Actor,
  id: string,
  expectedVersion: number | null,
  input: UpdateCustomerInput,
): Promise<Customer> {
  const { consents, ...profileInput } = input;
  const p = parse(profileSchema, profileInput, ['input']);
  return tx(db, async (t) => {
    const current = await requireLive(t, id);
    if (expectedVersion != null && current.version !== expectedVersion) throw new VersionConflictError(current.version);
    await checkReferencesAndUniques(t, p, current.id);
    // With a version, the write only lands if nobody changed the row since; without one, the
    // row lock serialises concurrent writers (last write wins, as asked).
    const res = await t.customer.updateMany({
      where: { id: current.id, ...(expectedVersion != null ? { version: expectedVersion } : {}) },
      data: { ...toColumns(p), version: { increment: 1 } } as never,
    });
    if (res.count !== 1) {
      const now = await t.customer.findUnique({ where: { id: current.id }, select: { version: true } });
      throw new VersionConflictError(now?.version ?? current.version);
    }
    const pending = consents?.length ? await recordConsents(t, current.id, consents, actor.source ?? 'api', actor.browser) : [];
    const updated = (await t.customer.findUnique({ where: { id: current.id } })) as Customer;
    const fields = [...Object.keys(toColumns(p)), ...(consents?.length ? ['consents'] : [])];
    await emitEvents(t, [
      {
        type: 'CUSTOMER_UPDATED',
        customerId: current.id,
        payload: { customerId: gid('Customer', current.id), version: updated.version, fields },
      },
      ...confirmationEvents(current.id, pending),
    ]);
    return updated;
  });
}

export type UpsertResult = { customer: Customer; created: boolean };

/**
 * Creates or updates by identity: externalId first, then email, then phone (whichever the input
 * carries). Only fields present in the input change on update; tags are added, never removed.
 */
export async function upsertCustomer(db: ScopedDb, actor: Actor, input: CreateCustomerInput): Promise<UpsertResult> {
  const p = parse(profileSchema, { ...input, stage: undefined, tags: undefined, consents: undefined }, ['input']);
  const attempt = async (): Promise<UpsertResult> => {
    let existing: Customer | null = null;
    if (p.externalId) existing = await findCustomerBy(db, { externalId: p.externalId });
    if (!existing && p.email) existing = await findCustomerBy(db, { email: p.email });
    if (!existing && p.phone) existing = await findCustomerBy(db, { phone: p.phone });
    if (!existing) return { customer: await createCustomer(db, actor, input), created: true };
    const { stage: _s, tags, ...rest } = input;
    // Identifiers already held by the found customer elsewhere (secondary) are not re-assigned.
    const patch: UpdateCustomerInput = { ...rest };
    if (p.email && existing.email && existing.email !== p.email) {
      patch.email = undefined;
      patch.otherEmails = [...new Set([...existing.otherEmails, p.email])];
    }
    if (p.phone && existing.phone && existing.phone !== p.phone) {
      patch.phone = undefined;
      patch.otherPhones = [...new Set([...existing.otherPhones, p.phone])];
    }
    const customer = await updateCustomer(db, actor, existing.id, null, patch);
    if (tags?.length) await tagCustomer(db, customer.id, tags);
    return { customer, created: false };
  };
  try {
    return await attempt();
  } catch (err) {
    // A concurrent upsert created the same identity between our lookup and insert: retry as update.
    if (err instanceof ConflictError) return attempt();
    throw err;
  }
}

/**
 * Moves the customer to `stage`. A MANUAL move is checked against the facts (modules/lifecycle):
 * LOYAL / ADVOCATE / STRATEGIC need facts that support them unless `force` with a reason (recorded),
 * PARTNER needs a partner kind; the facts' signature is stored so the automatic ladder respects the
 * move until a fact changes.
 */
export async function setStage(
  db: ScopedDb,
  actor: Actor,
  id: string,
  stage: LifecycleStage,
  reason?: string | null,
  source: StageChangeSource = 'MANUAL',
  opts: Omit<ManualStage, 'reason'> = {},
): Promise<Customer> {
  const why = parse(reasonSchema, reason, ['input', 'reason']) ?? null;
  const matched = source === 'MANUAL' ? await customRuleMatch(db, opts.sql, id, stage) : null;
  return tx(db, async (t) => {
    const c = await requireLive(t, id);
    const manual = source === 'MANUAL' ? await checkManualStage(t, c.id, stage, { ...opts, sql: null, matched, reason: why }) : null;
    if (c.stage === stage && (!manual || manual.partnerKind === c.partnerKind)) return c;
    if (c.stage !== stage) {
      const recorded = manual?.reasonNote ? `${why} (${manual.reasonNote})` : why;
      await recordStage(t, c.id, c.stage, stage, source, actor, recorded);
    }
    const lifecycle = manual
      ? { partnerKind: manual.partnerKind, stageFactsAtManual: manual.stageFactsAtManual }
      : stage === 'PARTNER'
        ? {}
        : { partnerKind: null };
    await t.customer.update({ where: { id: c.id }, data: { stage, ...lifecycle, version: { increment: 1 } } });
    const updated = (await t.customer.findUnique({ where: { id: c.id } })) as Customer;
    if (c.stage !== stage) {
      await emitEvent(t, {
        type: 'STAGE_CHANGED',
        customerId: c.id,
        payload: { customerId: gid('Customer', c.id), from: c.stage, to: stage, source },
      });
    }
    return updated;
  });
}

export async function tagCustomer(db: ScopedDb, id: string, tags: string[]): Promise<Customer> {
  const names = parse(tagListSchema.min(1, 'Give at least one tag'), tags, ['input', 'tags']);
  return tx(db, async (t) => {
    const c = await requireLive(t, id);
    const tagIds = await ensureTags(t, names);
    const added = await t.customerTag.createMany({
      data: tagIds.map((tagId) => ({ customerId: c.id, tagId })) as never,
      skipDuplicates: true,
    });
    if (added.count) {
      await emitEvent(t, {
        type: 'CUSTOMER_UPDATED',
        customerId: c.id,
        payload: { customerId: gid('Customer', c.id), version: c.version, fields: ['tags'], tagsAdded: names },
      });
    }
    return c;
  });
}

export async function untagCustomer(db: ScopedDb, id: string, tags: string[]): Promise<Customer> {
  const names = parse(tagListSchema.min(1, 'Give at least one tag'), tags, ['input', 'tags']);
  return tx(db, async (t) => {
    const c = await requireLive(t, id);
    const removed = await t.customerTag.deleteMany({ where: { customerId: c.id, tag: { name: { in: names } } } });
    if (removed.count) {
      await emitEvent(t, {
        type: 'CUSTOMER_UPDATED',
        customerId: c.id,
        payload: { customerId: gid('Customer', c.id), version: c.version, fields: ['tags'], tagsRemoved: names },
      });
    }
    return c;
  });
}

export async function archiveCustomer(db: ScopedDb, id: string, archived: boolean): Promise<Customer> {
  return tx(db, async (t) => {
    const c = await requireLive(t, id);
    if ((c.status === 'ARCHIVED') === archived) return c;
    const updated = await t.customer.update({
      where: { id: c.id },
      data: { status: archived ? 'ARCHIVED' : 'ACTIVE', archivedAt: archived ? new Date() : null, version: { increment: 1 } },
    });
    await emitEvent(t, {
      type: 'CUSTOMER_UPDATED',
      customerId: c.id,
      payload: { customerId: gid('Customer', c.id), version: updated.version, fields: ['status'], status: updated.status },
    });
    return updated;
  });
}

// Erasure and merging live in their own files (one role each); importers keep using this module.
export * from './customer.erase.ts';
export * from './customer.merge.ts';
