import { createHash, randomBytes } from 'node:crypto';
import type { z } from 'zod';
import { inTransaction, type ScopedDb, type ScopedTx } from '../../db/tenant.ts';
import { AlreadyMergedError, ConflictError, NotFoundError, ValidationError, VersionConflictError } from '../../errors.ts';
import { type Consent, type Customer, Prisma } from '../../generated/prisma/client.ts';
import type { ConsentChannel, ConsentLegalBasis, LifecycleStage, StageChangeSource } from '../../generated/prisma/enums.ts';
import { emitEvent, emitEvents, gid } from '../events/event.service.ts';
import { checkManualStage, type ManualStage } from '../lifecycle/lifecycle.service.ts';
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
  const copy = [
    'externalId',
    'firstName',
    'lastName',
    'company',
    'email',
    'phone',
    'jobTitle',
    'occupation',
    'industry',
    'incomeBand',
    'gender',
    'birthDate',
    'maritalStatus',
    'householdNotes',
    'stylePreferences',
    'purchasePurpose',
    'priceSensitivity',
    'personality',
    'preferredChannel',
    'preferredContactTime',
    'contactTolerance',
    'dealLikelihood',
    'expectedPurchaseAt',
    'ownerId',
  ] as const;
  for (const k of copy) {
    const v = p[k];
    if (v !== undefined) d[k] = v === '' ? null : v;
  }
  const lists = ['otherEmails', 'otherPhones', 'productInterests', 'hobbies', 'focusFactors'] as const;
  for (const k of lists) if (p[k] !== undefined) d[k] = [...new Set(p[k] ?? [])];
  if (p.imHandles !== undefined) d.imHandles = p.imHandles ?? [];
  if (p.attributes !== undefined) d.attributes = p.attributes ?? {};
  if (p.location !== undefined) {
    const l = p.location;
    d.country = l?.country ?? null;
    d.region = l?.region ?? null;
    d.city = l?.city ?? null;
    d.postalCode = l?.postalCode ?? null;
    d.addressLine = l?.addressLine ?? null;
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

async function ensureTags(tx: ScopedTx, names: string[]): Promise<string[]> {
  const unique = [...new Set(names)];
  if (!unique.length) return [];
  await tx.tag.createMany({ data: unique.map((name) => ({ name })) as never, skipDuplicates: true });
  const tags = await tx.tag.findMany({ where: { name: { in: unique } }, select: { id: true } });
  return tags.map((t) => t.id);
}

async function recordStage(
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

function uniqueViolation(err: unknown): string[] | null {
  const e = err as { code?: string; meta?: { target?: unknown; driverAdapterError?: { cause?: { constraint?: { fields?: string[] } } } } };
  if (e?.code !== 'P2002') return null;
  const fields =
    e.meta?.driverAdapterError?.cause?.constraint?.fields ?? (Array.isArray(e.meta?.target) ? (e.meta?.target as string[]) : []);
  return fields.map((f) => f.replaceAll('"', ''));
}

/** Runs fn in a transaction and turns unique-index races into ConflictError. */
async function tx<T>(db: ScopedDb, fn: (tx: ScopedTx) => Promise<T>, opts?: { maxWait: number; timeout: number }): Promise<T> {
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
    const facts = { customerId: gid('Customer', customer.id), stage: initialStage, sourceChannel: customer.sourceChannel };
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

async function requireLive(db: ScopedDb | ScopedTx, id: string, path: string[] = ['input', 'id']): Promise<Customer> {
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
  return tx(db, async (t) => {
    const c = await requireLive(t, id);
    const manual = source === 'MANUAL' ? await checkManualStage(t, c.id, stage, { ...opts, reason: why }) : null;
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

/**
 * What an erasure covers, handed to every erase step: the customer, the tombstones of everyone
 * merged into it (their former profiles are its data too), and the identifying strings of all of
 * them (current profile, tombstones and merge snapshots) for redacting free-form copies.
 */
export type Erasure = {
  /** The erased customer's id. */
  customerId: string;
  /** The customer's id and the ids of the tombstones merged into it. */
  customerIds: string[];
  /** Emails, phones, names, external ids, notes... of all of them (non-empty strings, 3+ characters). */
  identifiers: string[];
};

/** Keys of a customer row (or merge snapshot) holding strings that identify the person. */
const IDENTIFYING = [
  'email',
  'phone',
  'externalId',
  'firstName',
  'lastName',
  'company',
  'addressLine',
  'householdNotes',
  'sourceReferrerContact',
  'sourceReferrerName',
  'personality',
  'stylePreferences',
  'purchasePurpose',
] as const;

function identifiersOf(rows: Record<string, unknown>[]): string[] {
  const out = new Set<string>();
  const add = (v: unknown) => {
    if (typeof v === 'string' && v.trim().length >= 3) out.add(v.trim());
  };
  for (const r of rows) {
    for (const k of IDENTIFYING) add(r[k]);
    for (const k of ['otherEmails', 'otherPhones'] as const) if (Array.isArray(r[k])) (r[k] as unknown[]).forEach(add);
    if (Array.isArray(r.imHandles)) for (const h of r.imHandles as { handle?: unknown }[]) add(h?.handle);
    const first = typeof r.firstName === 'string' ? r.firstName : null;
    const last = typeof r.lastName === 'string' ? r.lastName : null;
    if (first && last) add(`${first} ${last}`);
  }
  return [...out];
}

/**
 * Replaces, in a JSON value, every string that contains one of `needles` (case-insensitive) by
 * "[redacted]"; numbers, booleans and other strings (ids, amounts, codes) stay. Irreversible.
 */
export function redactJson(value: unknown, needles: string[]): { value: unknown; changed: boolean } {
  const lower = needles.map((n) => n.toLowerCase());
  let changed = false;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const l = v.toLowerCase();
      if (lower.some((n) => l.includes(n))) {
        changed = true;
        return '[redacted]';
      }
      return v;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  const out = walk(value);
  return { value: out, changed };
}

const ERASE_BATCH = 500;

/**
 * Merges and erasures wait for each other's row locks (`lockForMerge`): a burst of them on the same
 * customers queues, so they get more than Prisma's default 2 s to obtain a connection and 5 s to run.
 */
const LOCKING_TX = { maxWait: 10_000, timeout: 30_000 };

/**
 * Erases a customer (right to erasure) and every copy of their personal data; returns the erased
 * id. In one transaction, with the customer row locked (no merge into it can slip in): the
 * registered erase steps run (see `registerEraseStep`), then the customer's own copies go: merge
 * snapshots of everyone merged into it (and of its own merge, were it a tombstone), the tombstones,
 * event payloads and webhook delivery bodies (strings naming them redacted, ids and amounts kept),
 * idempotency results naming them (deleted: a retry would otherwise replay their data), and the
 * customer row with everything attached by cascade. Emits CUSTOMER_DELETED and CUSTOMER_REDACTED
 * (ids only).
 */
export async function deleteCustomer(db: ScopedDb, id: string): Promise<string> {
  return tx(
    db,
    async (t) => {
      const c = await getCustomer(t, id);
      if (!c) throw new NotFoundError('Customer', ['input', 'id']);
      await lockForMerge(t, [c.id]);
      const tombstones = await t.customer.findMany({ where: { mergedIntoId: c.id } });
      const customerIds = [c.id, ...tombstones.map((x) => x.id)];
      const merges = await t.customerMerge.findMany({
        where: { OR: [{ survivorId: { in: customerIds } }, { mergedId: { in: customerIds } }] },
      });
      const identifiers = identifiersOf([c, ...tombstones, ...merges.map((m) => m.snapshot as Record<string, unknown>)]);
      const erasure: Erasure = { customerId: c.id, customerIds, identifiers };
      for (const step of eraseSteps) await step(t, c.id, erasure);
      await t.customerMerge.deleteMany({ where: { id: { in: merges.map((m) => m.id) } } });
      await redactEventCopies(t, erasure);
      await t.customer.deleteMany({ where: { id: { in: tombstones.map((x) => x.id) } } });
      await t.customer.delete({ where: { id: c.id } });
      const customerGid = gid('Customer', c.id);
      await emitEvents(t, [
        { type: 'CUSTOMER_DELETED', customerId: c.id, payload: { customerId: customerGid } },
        {
          type: 'CUSTOMER_REDACTED',
          customerId: c.id,
          payload: { customerId: customerGid, mergedCustomerIds: tombstones.map((x) => gid('Customer', x.id)) },
        },
      ]);
      return c.id;
    },
    LOCKING_TX,
  );
}

/** Event payloads, webhook delivery bodies and idempotency results that name the erased people. */
async function redactEventCopies(t: ScopedTx, e: Erasure) {
  const needles = [...e.identifiers, ...e.customerIds, ...e.customerIds.map((x) => gid('Customer', x))];
  const personal = e.identifiers;
  // Events about them: ids and facts stay (subscribers may still need to drop what they mirror).
  const events = await t.event.findMany({ where: { customerId: { in: e.customerIds } }, select: { id: true, payload: true } });
  for (const ev of events) {
    const r = redactJson(ev.payload, personal);
    if (r.changed) await t.event.update({ where: { id: ev.id }, data: { payload: r.value as never } });
  }
  // Webhook bodies: copies of the event rows (any event, in case a payload names them without customerId).
  let cursor: string | undefined;
  for (;;) {
    const rows: { id: string; payload: unknown }[] = await t.webhookDelivery.findMany({
      select: { id: true, payload: true, eventId: true },
      orderBy: { id: 'asc' },
      take: ERASE_BATCH,
      ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}),
    });
    for (const d of rows) {
      const r = redactJson(d.payload, personal);
      if (r.changed) await t.webhookDelivery.update({ where: { id: d.id }, data: { payload: r.value as never } });
    }
    if (rows.length < ERASE_BATCH) break;
    cursor = rows[rows.length - 1]?.id;
  }
  // Idempotency results hold the first request's answer; one naming them goes with them.
  cursor = undefined;
  for (;;) {
    const rows: { id: string; result: unknown }[] = await t.idempotencyKey.findMany({
      where: { result: { not: Prisma.AnyNull } },
      select: { id: true, result: true },
      orderBy: { id: 'asc' },
      take: ERASE_BATCH,
      ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}),
    });
    const gone = rows.filter((r) => redactJson(r.result, needles).changed).map((r) => r.id);
    if (gone.length) await t.idempotencyKey.deleteMany({ where: { id: { in: gone } } });
    if (rows.length < ERASE_BATCH) break;
    cursor = rows[rows.length - 1]?.id;
  }
}

/**
 * Steps other modules add to an erasure, run in its transaction before the customer's own copies
 * and rows go (the customer row, and by cascade everything with a foreign key to it, last): e.g.
 * segments write SEGMENT_LEFT for the memberships; a module keeping personal data WITHOUT a foreign
 * key to Customer (an audit log, an export in progress) removes or redacts it here, using
 * `erasure.customerIds` (the customer and the tombstones merged into it) and
 * `erasure.identifiers` (their emails, phones, names, ...) with `redactJson`.
 */
export type EraseStep = (tx: ScopedTx, customerId: string, erasure: Erasure) => Promise<void>;
const eraseSteps: EraseStep[] = [];
export function registerEraseStep(step: EraseStep) {
  eraseSteps.push(step);
}

/**
 * Steps other modules add to a merge (moving their rows from the duplicate to the survivor), run in
 * the merge's transaction. The list, in order, is in modules/registry.ts (the composition root).
 */
export type MergeStep = (tx: ScopedTx, survivorId: string, duplicateId: string) => Promise<void>;
const mergeSteps: MergeStep[] = [];
export function registerMergeStep(step: MergeStep) {
  mergeSteps.push(step);
}

const FILLABLE = [
  'externalId',
  'firstName',
  'lastName',
  'company',
  'jobTitle',
  'occupation',
  'industry',
  'incomeBand',
  'gender',
  'birthDate',
  'maritalStatus',
  'country',
  'region',
  'city',
  'postalCode',
  'addressLine',
  'householdNotes',
  'stylePreferences',
  'purchasePurpose',
  'priceSensitivity',
  'personality',
  'preferredChannel',
  'preferredContactTime',
  'contactTolerance',
  'dealLikelihood',
  'expectedPurchaseAt',
  'ownerId',
  'sourceChannel',
  'sourceCampaign',
  'sourceMedium',
  'sourceContent',
  'sourceReferrerId',
  'sourceReferrerName',
  'sourceReferrerContact',
] as const;

const stageRank = (s: LifecycleStage) => STAGE_ORDER.indexOf(s);

/**
 * Locks both customers of a merge, in one canonical order (by id), so two merges that share a
 * customer serialise instead of deadlocking or both passing their checks: `x into y` and `y into x`
 * sent together, five identical merges, or a chain (A<-B and B<-C at once). The scoped client has
 * no raw SQL (so no `SELECT ... FOR UPDATE`); an UPDATE takes the same row lock (FOR NO KEY UPDATE,
 * which conflicts with itself) and is the version bump the merge does anyway. Under READ COMMITTED
 * the rows read after the locks are the committed state left by whichever merge went first.
 */
async function lockForMerge(t: ScopedTx, ids: string[]) {
  for (const id of [...new Set(ids)].sort()) {
    await t.customer.updateMany({ where: { id }, data: { version: { increment: 1 } } });
  }
}

/** The rows of a merge, checked: both exist in this shop, neither is merged already. */
async function loadMergePair(t: ScopedTx, survivorId: string, duplicateId: string) {
  const load = async (id: string, path: string[]) => {
    const c = await getCustomer(t, id);
    if (!c) throw new NotFoundError('Customer', path);
    if (c.status === 'MERGED') throw new AlreadyMergedError(c.id, c.mergedIntoId, path);
    return c;
  };
  const survivor = await load(survivorId, ['input', 'survivorId']);
  const dup = await load(duplicateId, ['input', 'duplicateId']);
  return { survivor, dup };
}

/** What a merge would do (or did): see `planMerge`. Values are the stored column values. */
export type MergePlan = {
  /** Fields the survivor lacks and takes from the duplicate. */
  filled: { field: string; value: unknown }[];
  /** Fields both have with different values: the survivor's value stays, the duplicate's is kept only in the merge snapshot. */
  conflicts: { field: string; survivorValue: unknown; duplicateValue: unknown }[];
  /** Identifiers of the duplicate the survivor gains as secondary ones. */
  addedEmails: string[];
  addedPhones: string[];
  /** The duplicate's externalId when the survivor has one too (it stays on the tombstone; lookups by it follow the merge). */
  conflictingExternalId: string | null;
  consents: {
    channel: ConsentChannel;
    survivorGranted: boolean | null;
    duplicateGranted: boolean | null;
    resultGranted: boolean;
    conflict: boolean;
  }[];
  points: { survivorBalance: number; duplicateBalance: number; resultBalance: number };
  owner: { survivorOwnerId: string | null; duplicateOwnerId: string | null; resultOwnerId: string | null; conflict: boolean };
  stage: { survivor: LifecycleStage; duplicate: LifecycleStage; result: LifecycleStage };
  /** Rows that move from the duplicate to the survivor, per kind. */
  moves: { kind: string; count: number }[];
};

const same = (a: unknown, b: unknown) =>
  a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : JSON.stringify(a) === JSON.stringify(b);

function mergedStage(survivor: Customer, dup: Customer): LifecycleStage {
  let stage = survivor.stage;
  if (survivor.stage !== 'CHURNED' && dup.stage !== 'CHURNED' && stageRank(dup.stage) > stageRank(survivor.stage)) stage = dup.stage;
  if (survivor.stage === 'CHURNED' && dup.stage !== 'CHURNED') stage = dup.stage;
  return stage;
}

/** Reads what merging `dup` into `survivor` moves and where the two disagree; writes nothing. */
async function planMerge(t: ScopedTx, survivor: Customer, dup: Customer): Promise<MergePlan> {
  const filled: MergePlan['filled'] = [];
  const conflicts: MergePlan['conflicts'] = [];
  for (const k of FILLABLE) {
    if (k === 'externalId' || k === 'ownerId') continue;
    if (survivor[k] == null && dup[k] != null) filled.push({ field: k, value: dup[k] });
    else if (survivor[k] != null && dup[k] != null && !same(survivor[k], dup[k])) {
      conflicts.push({ field: k, survivorValue: survivor[k], duplicateValue: dup[k] });
    }
  }
  const emails = new Set([survivor.email, ...survivor.otherEmails]);
  const phones = new Set([survivor.phone, ...survivor.otherPhones]);
  const addedEmails = [dup.email, ...dup.otherEmails].filter((e): e is string => !!e && !emails.has(e));
  const addedPhones = [dup.phone, ...dup.otherPhones].filter((e): e is string => !!e && !phones.has(e));
  const [sc, dc] = await Promise.all([
    t.consent.findMany({ where: { customerId: survivor.id } }),
    t.consent.findMany({ where: { customerId: dup.id } }),
  ]);
  const channels = [...new Set([...sc, ...dc].map((c) => c.channel))].sort();
  const consents = channels.map((channel) => {
    const s = sc.find((c) => c.channel === channel);
    const d = dc.find((c) => c.channel === channel);
    const result = !s ? d : !d ? s : d.updatedAt > s.updatedAt ? d : s;
    return {
      channel,
      survivorGranted: s?.granted ?? null,
      duplicateGranted: d?.granted ?? null,
      resultGranted: result?.granted ?? false,
      conflict: !!s && !!d && s.granted !== d.granted,
    };
  });
  const [sp, dp] = await Promise.all([
    t.pointsAccount.findUnique({ where: { customerId: survivor.id }, select: { balance: true } }),
    t.pointsAccount.findUnique({ where: { customerId: dup.id }, select: { balance: true } }),
  ]);
  const where = { customerId: dup.id };
  const counts = await Promise.all([
    t.order.count({ where }),
    t.interaction.count({ where }),
    t.followUp.count({ where }),
    t.customerTag.count({ where }),
    t.consentChange.count({ where }),
    t.stageTransition.count({ where }),
    t.pointsMovement.count({ where }),
    t.customer.count({ where: { sourceReferrerId: dup.id, id: { not: survivor.id } } }),
  ]);
  const kinds = ['orders', 'interactions', 'followUps', 'tags', 'consentChanges', 'stageTransitions', 'pointsMovements', 'referrals'];
  return {
    filled,
    conflicts,
    addedEmails,
    addedPhones,
    conflictingExternalId: survivor.externalId && dup.externalId ? dup.externalId : null,
    consents,
    points: {
      survivorBalance: sp?.balance ?? 0,
      duplicateBalance: dp?.balance ?? 0,
      resultBalance: (sp?.balance ?? 0) + (dp?.balance ?? 0),
    },
    owner: {
      survivorOwnerId: survivor.ownerId,
      duplicateOwnerId: dup.ownerId,
      resultOwnerId: survivor.ownerId ?? dup.ownerId,
      conflict: !!survivor.ownerId && !!dup.ownerId && survivor.ownerId !== dup.ownerId,
    },
    stage: { survivor: survivor.stage, duplicate: dup.stage, result: mergedStage(survivor, dup) },
    moves: kinds.map((kind, i) => ({ kind, count: counts[i] ?? 0 })),
  };
}

/**
 * `mergeCustomers(dryRun: true)`: what the merge would move and where the two customers disagree,
 * checked like the merge itself (same errors), without writing anything.
 */
export async function previewMerge(db: ScopedDb, survivorId: string, duplicateId: string): Promise<MergePlan> {
  if (survivorId === duplicateId) throw ValidationError.field(['input', 'duplicateId'], 'Cannot merge a customer into itself');
  return db.$transaction(async (t) => {
    const { survivor, dup } = await loadMergePair(t, survivorId, duplicateId);
    return planMerge(t, survivor, dup);
  });
}

/**
 * Merges `duplicateId` into `survivorId`. The survivor keeps its values and gains the duplicate's
 * where it had none; lists and identifiers are united; tags, consents (newest wins), stage history,
 * consent history, referrals and every registered module's rows move to the survivor. The duplicate
 * stays as a MERGED tombstone pointing at the survivor (lookups by its old identifiers follow it),
 * and a snapshot of it is kept in the merge record (erased with the survivor). Both rows are locked
 * first (`lockForMerge`); a customer already merged is refused with AlreadyMergedError, so
 * concurrent merges leave exactly one consistent outcome and one snapshot per merge.
 */
export async function mergeCustomers(db: ScopedDb, actor: Actor, survivorId: string, duplicateId: string): Promise<Customer> {
  return (await mergeCustomersWithPlan(db, actor, survivorId, duplicateId)).customer;
}

/** `mergeCustomers`, also returning what moved and what conflicted (read under the merge's locks). */
export async function mergeCustomersWithPlan(
  db: ScopedDb,
  actor: Actor,
  survivorId: string,
  duplicateId: string,
): Promise<{ customer: Customer; plan: MergePlan }> {
  if (survivorId === duplicateId) throw ValidationError.field(['input', 'duplicateId'], 'Cannot merge a customer into itself');
  if (!isUuid(survivorId)) throw new NotFoundError('Customer', ['input', 'survivorId']);
  if (!isUuid(duplicateId)) throw new NotFoundError('Customer', ['input', 'duplicateId']);
  return tx(
    db,
    async (t) => {
      await lockForMerge(t, [survivorId, duplicateId]);
      const { survivor, dup } = await loadMergePair(t, survivorId, duplicateId);
      const plan = await planMerge(t, survivor, dup);
      const data: Record<string, unknown> = {};
      for (const k of FILLABLE) {
        if (survivor[k] == null && dup[k] != null && !(k === 'externalId')) data[k] = dup[k];
      }
      if (data.sourceReferrerId === survivor.id) data.sourceReferrerId = undefined;
      const union = <T>(a: T[], b: T[]) => [...new Set([...a, ...b])];
      data.otherEmails = union(
        survivor.otherEmails,
        [dup.email, ...dup.otherEmails].filter((e): e is string => !!e && e !== survivor.email),
      );
      data.otherPhones = union(
        survivor.otherPhones,
        [dup.phone, ...dup.otherPhones].filter((e): e is string => !!e && e !== survivor.phone),
      );
      data.productInterests = union(survivor.productInterests, dup.productInterests);
      data.hobbies = union(survivor.hobbies, dup.hobbies);
      data.focusFactors = union(survivor.focusFactors, dup.focusFactors);
      const handles = [...(survivor.imHandles as object[]), ...(dup.imHandles as object[])];
      data.imHandles = handles.filter((h, i) => handles.findIndex((x) => JSON.stringify(x) === JSON.stringify(h)) === i);
      data.attributes = { ...(dup.attributes as object), ...(survivor.attributes as object) };
      let stage = mergedStage(survivor, dup);

      await t.customerMerge.create({
        data: { survivorId: survivor.id, mergedId: dup.id, snapshot: JSON.parse(JSON.stringify(dup)) } as never,
      });
      // Tags: copy those the survivor lacks, then drop the duplicate's.
      const dupTags = await t.customerTag.findMany({ where: { customerId: dup.id }, select: { tagId: true } });
      if (dupTags.length) {
        await t.customerTag.createMany({
          data: dupTags.map((x) => ({ customerId: survivor.id, tagId: x.tagId })) as never,
          skipDuplicates: true,
        });
        await t.customerTag.deleteMany({ where: { customerId: dup.id } });
      }
      // Consents: the most recent decision per channel wins.
      const dupConsents = await t.consent.findMany({ where: { customerId: dup.id } });
      for (const dc of dupConsents) {
        const sc = await t.consent.findUnique({ where: { customerId_channel: { customerId: survivor.id, channel: dc.channel } } });
        if (!sc) await t.consent.update({ where: { id: dc.id }, data: { customerId: survivor.id } });
        else {
          if (dc.updatedAt > sc.updatedAt)
            await t.consent.update({ where: { id: sc.id }, data: { granted: dc.granted, source: dc.source, updatedAt: dc.updatedAt } });
          await t.consent.delete({ where: { id: dc.id } });
        }
      }
      await t.consentChange.updateMany({ where: { customerId: dup.id }, data: { customerId: survivor.id } });
      await t.stageTransition.updateMany({ where: { customerId: dup.id }, data: { customerId: survivor.id } });
      await t.customer.updateMany({
        where: { sourceReferrerId: dup.id, id: { not: survivor.id } },
        data: { sourceReferrerId: survivor.id },
      });
      await t.customer.updateMany({ where: { mergedIntoId: dup.id }, data: { mergedIntoId: survivor.id } });
      for (const step of mergeSteps) await step(t, survivor.id, dup.id);
      // A step may have moved the survivor forward itself (the merged orders make it a REPEAT buyer):
      // keep the furthest stage, and record the merge's move from where the steps left it.
      const afterSteps = (await t.customer.findUnique({ where: { id: survivor.id }, select: { stage: true } }))?.stage ?? survivor.stage;
      if (afterSteps !== survivor.stage && afterSteps !== 'CHURNED' && (stage === 'CHURNED' || stageRank(afterSteps) > stageRank(stage))) {
        stage = afterSteps;
      }
      await t.customer.update({
        where: { id: dup.id },
        data: { status: 'MERGED', mergedIntoId: survivor.id, sourceReferrerId: null },
      });
      if (stage !== afterSteps) {
        await recordStage(t, survivor.id, afterSteps, stage, 'MERGE', actor, `Merged with ${dup.id}`);
      }
      const merged = await t.customer.update({ where: { id: survivor.id }, data: { ...data, stage } as never });
      const survivorGid = gid('Customer', survivor.id);
      await emitEvent(t, {
        type: 'CUSTOMER_MERGED',
        customerId: survivor.id,
        payload: { customerId: survivorGid, duplicateId: gid('Customer', dup.id), version: merged.version },
      });
      // One STAGE_CHANGED for the merge's net move (order automation in a merge step included).
      if (stage !== survivor.stage) {
        const source = stage === afterSteps ? 'AUTOMATIC' : 'MERGE';
        await emitEvent(t, {
          type: 'STAGE_CHANGED',
          customerId: survivor.id,
          payload: { customerId: survivorGid, from: survivor.stage, to: stage, source },
        });
      }
      return { customer: merged, plan };
    },
    LOCKING_TX,
  );
}
