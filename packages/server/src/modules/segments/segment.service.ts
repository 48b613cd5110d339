import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import { type ShopBound, shopBound } from '../../db/shop-bound.ts';
import { ConflictError, NotFoundError, ValidationError, VersionConflictError } from '../../errors.ts';
import { Prisma, type PrismaClient, type Segment } from '../../generated/prisma/client.ts';
import type { Logger } from '../../logger.ts';
import { periodic } from '../../periodic.ts';
import type { EraseStep } from '../customers/customer.service.ts';
import { emitEvent } from '../events/event.service.ts';
import { countMatching, decodeMemberCursor, diffSql, encodeMemberCursor, pageMatching } from './segment.compile.ts';
import { parseRule, printRule, type Rule } from './segment.rule.ts';

/**
 * Saved segments and their materialised membership.
 *
 * `refreshSegment` recomputes one segment set-based in ONE transaction: it takes an advisory lock
 * on the segment (instances and concurrent calls serialise; a restart loses nothing because the
 * membership and the event cursor are in the database), computes the diff between the compiled
 * rule and SegmentMember in one statement, inserts the entering rows, deletes the leaving ones
 * and writes one SEGMENT_ENTERED / SEGMENT_LEFT event per row, all in that transaction.
 * `refreshChanged` is the incremental path: it reads the shop's outbox after each segment's
 * `lastEventId` and re-evaluates only the customers those events concern.
 */
export const RULE_VERSION = 1;
export const segmentGid = (id: string) => encodeGlobalID('Segment', id);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A Segment global id (or raw row id) -> row id; null when it is neither. */
export function segmentRowId(s: string): string | null {
  if (UUID.test(s)) return s.toLowerCase();
  try {
    const { typename, id } = decodeGlobalID(s);
    return typename === 'Segment' && UUID.test(id) ? id.toLowerCase() : null;
  } catch {
    return null;
  }
}
const SEGMENT_EVENTS = ['SEGMENT_ENTERED', 'SEGMENT_LEFT'];
const CHUNK = 5000;

export type SegmentInput = { name?: string | null; description?: string | null; rule?: Rule | null };

function checkName(name: string | null | undefined, path: string[]): string {
  const n = (name ?? '').trim();
  if (!n || n.length > 120) throw ValidationError.field(path, 'A name of 1 to 120 characters is required');
  return n;
}
function checkDescription(d: string | null | undefined, path: string[]) {
  if (d && d.length > 2000) throw ValidationError.field(path, 'At most 2000 characters');
  return d ?? null;
}

async function uniqueName<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002')
      throw new ConflictError('A segment with this name already exists', ['input', 'name']);
    throw e;
  }
}

export async function createSegment(shop: ShopBound, input: SegmentInput & { rule: Rule }) {
  const db = shop.db;
  const name = checkName(input.name, ['input', 'name']);
  const segment = await uniqueName(() =>
    db.segment.create({
      data: {
        name,
        description: checkDescription(input.description, ['input', 'description']),
        rule: printRule(input.rule),
        ruleVersion: RULE_VERSION,
      } as never,
    }),
  );
  // The first materialisation is the baseline: nobody "entered", so no events.
  await refreshSegment(shop, segment.id, { emit: false });
  return db.segment.findUniqueOrThrow({ where: { id: segment.id } });
}

export async function updateSegment(shop: ShopBound, input: SegmentInput & { id: string; version?: number | null }) {
  const db = shop.db;
  const current = await db.segment.findFirst({ where: { id: input.id } });
  if (!current) throw new NotFoundError('Segment', ['input', 'id']);
  if (input.version != null && input.version !== current.version) throw new VersionConflictError(current.version);
  const data: Prisma.SegmentUpdateInput = { version: { increment: 1 } };
  if (input.name !== undefined) data.name = checkName(input.name, ['input', 'name']);
  if (input.description !== undefined) data.description = checkDescription(input.description, ['input', 'description']);
  const newRule = input.rule ? printRule(input.rule) : null;
  if (newRule !== null && newRule !== current.rule) {
    data.rule = newRule;
    data.ruleVersion = RULE_VERSION;
  }
  const res = await uniqueName(() => db.segment.updateMany({ where: { id: current.id, version: current.version }, data }));
  if (res.count !== 1) {
    const now = await db.segment.findFirst({ where: { id: current.id } });
    if (!now) throw new NotFoundError('Segment', ['input', 'id']);
    throw new VersionConflictError(now.version);
  }
  // A new rule: members who no longer match leave, new ones enter (with events).
  if (data.rule) await refreshSegment(shop, current.id, { emit: true });
  return db.segment.findUniqueOrThrow({ where: { id: current.id } });
}

export async function deleteSegment(shop: ShopBound, id: string) {
  const res = await shop.db.segment.deleteMany({ where: { id } });
  if (res.count !== 1) throw new NotFoundError('Segment', ['input', 'id']);
  return { deletedId: segmentGid(id) };
}

export type Preview = { rule: Rule; count: number; memberIds: string[]; endCursor: string | null; hasNextPage: boolean };

export async function previewSegment(
  shop: Pick<ShopBound, 'sql'>,
  rule: Rule,
  opts: { first: number; after?: string | null; now?: Date },
): Promise<Preview> {
  if (opts.first < 0 || opts.first > 100) throw ValidationError.field(['first'], 'Between 0 and 100');
  const sql = shop.sql;
  const now = opts.now ?? new Date();
  const after = opts.after ? decodeMemberCursor(opts.after) : null;
  const [count, page] = await Promise.all([countMatching(sql, rule, now), pageMatching(sql, rule, now, { first: opts.first, after })]);
  const last = page.keys.at(-1);
  return {
    rule,
    count,
    memberIds: page.keys.map((k) => k.id),
    endCursor: last ? encodeMemberCursor(last) : null,
    hasNextPage: page.hasNextPage,
  };
}

export type RefreshResult = { segment: Segment; entered: number; left: number };

/**
 * Recomputes a saved segment (all customers, or only `onlyCustomers`) in one transaction; see the
 * module comment. `uptoEventId`: the outbox position the caller has taken into account.
 */
export async function refreshSegment(
  shop: ShopBound,
  segmentId: string,
  opts: { emit: boolean; onlyCustomers?: string[] | null; uptoEventId?: bigint; now?: Date; quiet?: ReadonlySet<string> },
): Promise<RefreshResult | null> {
  const now = opts.now ?? new Date();
  const shopId = shop.shopId;
  return shop.transaction(
    async ({ db: tx, sql }) => {
      // Raw SQL through the tenant door (reads); model operations on the scoped transaction client.
      await sql(
        (shop) => Prisma.sql`SELECT ${shop} AS "shopId", true AS locked
        FROM (SELECT pg_advisory_xact_lock(hashtextextended(${`segment:${segmentId}`}, 0))) l`,
      );
      const seg = await tx.segment.findFirst({ where: { id: segmentId } });
      if (!seg) return null;
      const latest = opts.uptoEventId ?? (await tx.event.findFirst({ orderBy: { id: 'desc' }, select: { id: true } }))?.id ?? 0n;
      const rule = parseRule(seg.rule);
      const only = opts.onlyCustomers ?? null;
      const diff = only && !only.length ? [] : await sql<{ customerId: string; entered: boolean }>(diffSql(rule, now, seg.id, only));
      const entered = diff.filter((d) => d.entered).map((d) => d.customerId);
      const left = diff.filter((d) => !d.entered).map((d) => d.customerId);
      for (let i = 0; i < entered.length; i += CHUNK) {
        await tx.segmentMember.createMany({
          data: entered.slice(i, i + CHUNK).map((customerId) => ({ shopId, segmentId: seg.id, customerId, enteredAt: now })),
          skipDuplicates: true,
        });
      }
      for (let i = 0; i < left.length; i += CHUNK) {
        await tx.segmentMember.deleteMany({ where: { segmentId: seg.id, customerId: { in: left.slice(i, i + CHUNK) } } });
      }
      // Recounted every time: erased customers leave by cascade, without a diff row.
      const memberCount = await tx.segmentMember.count({ where: { segmentId: seg.id } });
      const updated = await tx.segment.update({
        where: { id: seg.id },
        data: { memberCount, refreshedAt: now, lastEventId: latest > seg.lastEventId ? latest : seg.lastEventId, updatedAt: seg.updatedAt },
      });
      if (opts.emit) {
        // The outbox, last in the transaction (the first event insert takes the shop's event lock).
        const segmentId = segmentGid(seg.id);
        // `quiet`: an import's own customers (no per-row events; common/quiet.ts).
        const loud = (c: string) => !opts.quiet?.has(c);
        const events = [
          ...entered.filter(loud).map((c) => ({ type: 'SEGMENT_ENTERED', c })),
          ...left.filter(loud).map((c) => ({ type: 'SEGMENT_LEFT', c })),
        ].map(({ type, c }) => ({
          shopId,
          type,
          customerId: c,
          payload: { segmentId, customerId: encodeGlobalID('Customer', c), segmentName: seg.name },
        }));
        for (let i = 0; i < events.length; i += CHUNK) await tx.event.createMany({ data: events.slice(i, i + CHUNK) });
      }
      return { segment: updated, entered: entered.length, left: left.length };
    },
    { timeout: 120_000, maxWait: 30_000 },
  );
}

/** A CUSTOMER_MERGED event also concerns the merged duplicate (payload.duplicateId). */
function customersOf(e: { customerId: string | null; payload: unknown }): string[] {
  const out = e.customerId ? [e.customerId] : [];
  const dup = (e.payload as { duplicateId?: unknown } | null)?.duplicateId;
  if (typeof dup === 'string') {
    try {
      const { typename, id } = decodeGlobalID(dup);
      if (typename === 'Customer') out.push(id);
    } catch {
      // not a global id
    }
  }
  return out;
}

/**
 * Incremental refresh of a shop's saved segments from its outbox: customers named by events after
 * each segment's cursor are re-evaluated (entered / left events for those that changed).
 */
export async function refreshChanged(shop: ShopBound, now = new Date(), batch = 5000) {
  let entered = 0;
  let left = 0;
  const segments = await shop.db.segment.findMany({ select: { id: true, lastEventId: true } });
  if (!segments.length) return { entered, left };
  let from = segments[0]?.lastEventId ?? 0n;
  for (const s of segments) if (s.lastEventId < from) from = s.lastEventId;
  const events = await shop.db.event.findMany({
    where: { id: { gt: from } },
    orderBy: { id: 'asc' },
    take: batch,
    select: { id: true, type: true, customerId: true, payload: true },
  });
  const upto = events.at(-1)?.id;
  if (upto === undefined) return { entered, left };
  // A referred customer's change (e.g. their first order) also concerns their referrer (referrals.count, referredBuyers.count).
  const named = [...new Set(events.flatMap(customersOf))];
  const referrerOf = new Map<string, string>();
  if (named.length) {
    const rows = await shop.db.customer.findMany({
      where: { id: { in: named }, sourceReferrerId: { not: null } },
      select: { id: true, sourceReferrerId: true },
    });
    for (const r of rows) if (r.sourceReferrerId) referrerOf.set(r.id, r.sourceReferrerId);
  }
  for (const s of segments) {
    if (s.lastEventId >= upto) continue;
    const ids = new Set<string>();
    for (const e of events) {
      if (e.id <= s.lastEventId || SEGMENT_EVENTS.includes(e.type)) continue;
      for (const c of customersOf(e)) {
        ids.add(c);
        const ref = referrerOf.get(c);
        if (ref) ids.add(ref);
      }
    }
    if (!ids.size) {
      await shop.db.segment.updateMany({ where: { id: s.id, lastEventId: { lt: upto } }, data: { lastEventId: upto } });
      continue;
    }
    const r = await refreshSegment(shop, s.id, { emit: true, onlyCustomers: [...ids], uptoEventId: upto, now });
    entered += r?.entered ?? 0;
    left += r?.left ?? 0;
  }
  return { entered, left };
}

/**
 * The background refresher: every `intervalMs` the incremental pass for every shop with saved
 * segments, and a full refresh of segments not refreshed for `fullRefreshMs` (relative dates move
 * with time). 0 turns either off (tests drive `tick()` themselves).
 */
export function createSegmentScheduler(opts: { prisma: PrismaClient; logger: Logger; intervalMs: number; fullRefreshMs: number }) {
  async function tick(now = new Date()) {
    let entered = 0;
    let left = 0;
    const shops = await opts.prisma.segment.findMany({ distinct: ['shopId'], select: { shopId: true } });
    for (const { shopId } of shops) {
      try {
        const shop = shopBound(opts.prisma, shopId);
        const r = await refreshChanged(shop, now);
        entered += r.entered;
        left += r.left;
        if (opts.fullRefreshMs > 0) {
          const stale = await shop.db.segment.findMany({
            where: { OR: [{ refreshedAt: null }, { refreshedAt: { lt: new Date(now.getTime() - opts.fullRefreshMs) } }] },
            select: { id: true },
          });
          for (const s of stale) {
            const f = await refreshSegment(shop, s.id, { emit: true, now });
            entered += f?.entered ?? 0;
            left += f?.left ?? 0;
          }
        }
      } catch (err) {
        opts.logger.error('segment refresh failed', { shopId, error: String(err) });
      }
    }
    return { entered, left };
  }
  return { tick, ...periodic({ name: 'segment refresh', intervalMs: opts.intervalMs, logger: opts.logger }, () => tick()) };
}

// Erasure: the memberships go by cascade with the customer; say so to subscribers (SEGMENT_LEFT,
// in the erasure's transaction) and keep memberCount right without waiting for a refresh.
export const eraseSegmentMemberships: EraseStep = async (t, customerId) => {
  const rows = await t.segmentMember.findMany({
    where: { customerId },
    select: { segment: { select: { id: true, name: true, updatedAt: true } } },
  });
  for (const { segment: seg } of rows) {
    await t.segment.update({ where: { id: seg.id }, data: { memberCount: { decrement: 1 }, updatedAt: seg.updatedAt } });
    await emitEvent(t, {
      type: 'SEGMENT_LEFT',
      customerId,
      payload: { segmentId: segmentGid(seg.id), customerId: encodeGlobalID('Customer', customerId), segmentName: seg.name },
    });
  }
};
