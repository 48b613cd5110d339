import { z } from 'zod';
import type { ScopedDb, ScopedTx } from '../../db/tenant.ts';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../../errors.ts';
import type { PointsAccount, PointsMovement, PointsMovementKind } from '../../generated/prisma/client.ts';
import { parseInput } from '../common/validate.ts';
import { isUuid, type MergeStep } from '../customers/customer.service.ts';
import { emitEvent, gid } from '../events/event.service.ts';
import { getLoyaltySettings, type LoyaltySettings, tierFor } from './loyalty.settings.ts';

/**
 * The points ledger. Every movement is one PointsMovement row with the balance after it, written
 * in the same transaction as the account's balance; `key` (unique per shop) makes each movement
 * idempotent: a second call with the same key returns the first movement. Debits use a
 * conditional update (`balance >= n`), so parallel redemptions never overdraw (the account row
 * serialises them; a CHECK constraint backs it up). The tier follows lifetime earned points; a
 * move is recorded (TierChange) and emitted (TIER_CHANGED).
 */

export class InsufficientPointsError extends AppError {
  readonly balance: number;
  constructor(balance: number, path: string[] = ['input', 'points']) {
    super('INSUFFICIENT_POINTS', `Not enough points (balance ${balance})`, path);
    this.balance = balance;
  }
}

export type MovementInput = {
  customerId: string;
  kind: PointsMovementKind;
  /** Signed: > 0 earns, < 0 spends. */
  points: number;
  key: string;
  reason?: string | null;
  orderId?: string | null;
  interactionId?: string | null;
  expiresAt?: Date | null;
  /** Debits only: take what is there (down to 0) instead of failing (reversals, expiry). */
  partial?: boolean;
  /** Automatic rules: an existing movement with this key is the answer, whatever its amount (e.g. the order changed since). */
  once?: boolean;
};

export type MovementResult = { movement: PointsMovement; account: PointsAccount; replayed: boolean };

const isUniqueViolation = (err: unknown) => (err as { code?: string })?.code === 'P2002';

/** Raises lifetime earned points for earns and positive adjustments; lowers them for reversals. */
const countsForTier = (kind: PointsMovementKind) => kind === 'EARN_ORDER' || kind === 'EARN_ACTION' || kind === 'ADJUST';

async function ensureAccount(t: ScopedTx, customerId: string) {
  return t.pointsAccount.upsert({ where: { customerId }, create: { customerId } as never, update: {} });
}

export async function applyMovement(db: ScopedDb, m: MovementInput, settings?: LoyaltySettings): Promise<MovementResult> {
  const run = () =>
    db.$transaction(async (t) => {
      const existing = await t.pointsMovement.findFirst({ where: { key: m.key } });
      if (existing) return replay(t, existing, m);
      const c = isUuid(m.customerId)
        ? await t.customer.findUnique({ where: { id: m.customerId }, select: { id: true, status: true } })
        : null;
      if (!c || c.status === 'MERGED') throw new NotFoundError('Customer', ['input', 'customerId']);
      let account = await ensureAccount(t, c.id);
      let delta = m.points;
      if (delta < 0) {
        if (m.partial) delta = -Math.min(-delta, account.balance);
        const r = await t.pointsAccount.updateMany({
          where: { customerId: c.id, balance: { gte: -delta } },
          data: { balance: { decrement: -delta }, updatedAt: new Date() },
        });
        if (r.count === 0) {
          const now = await t.pointsAccount.findUnique({ where: { customerId: c.id } });
          throw new InsufficientPointsError(now?.balance ?? 0);
        }
      } else if (delta > 0) {
        await t.pointsAccount.updateMany({ where: { customerId: c.id }, data: { balance: { increment: delta }, updatedAt: new Date() } });
      }
      if (delta !== 0 && countsForTier(m.kind)) {
        await t.pointsAccount.updateMany({ where: { customerId: c.id }, data: { lifetimeEarned: { increment: delta } } });
      }
      account = await t.pointsAccount.findUniqueOrThrow({ where: { customerId: c.id } });
      const movement = await t.pointsMovement.create({
        data: {
          customerId: c.id,
          kind: m.kind,
          points: delta,
          balanceAfter: account.balance,
          reason: m.reason ?? null,
          orderId: m.orderId ?? null,
          interactionId: m.interactionId ?? null,
          key: m.key,
          expiresAt: delta > 0 ? (m.expiresAt ?? null) : null,
        } as never,
      });
      const tiers = (settings ?? (await getLoyaltySettings(t))).tiers;
      const tier = tierFor(tiers, account.lifetimeEarned);
      if (tier !== account.tier) {
        const from = account.tier;
        account = await t.pointsAccount.update({ where: { customerId: c.id }, data: { tier } });
        await t.tierChange.create({ data: { customerId: c.id, fromTier: from, toTier: tier } as never });
        await emitEvent(t, {
          type: 'TIER_CHANGED',
          customerId: c.id,
          payload: { customerId: gid('Customer', c.id), from, to: tier, movementKind: movement.kind },
        });
      }
      return { movement, account, replayed: false };
    });
  try {
    return await run();
  } catch (err) {
    // A concurrent call with the same key won: return its movement.
    if (isUniqueViolation(err)) return run();
    throw err;
  }
}

async function replay(t: ScopedTx, existing: PointsMovement, m: MovementInput): Promise<MovementResult> {
  if (!m.once && (existing.customerId !== m.customerId || existing.kind !== m.kind || (!m.partial && existing.points !== m.points))) {
    throw new ConflictError('This idempotency key was already used for another points movement', ['input', 'idempotencyKey']);
  }
  const account = await t.pointsAccount.findUniqueOrThrow({ where: { customerId: existing.customerId } });
  return { movement: existing, account, replayed: true };
}

// ---------------------------------------------------------------------------------------------
// Operations behind the API

const keySchema = z.string().trim().min(1).max(200);
const reasonSchema = z.string().trim().min(1).max(500);

const redeemSchema = z.object({
  customerId: z.string(),
  points: z.number().int().min(1).max(100_000_000),
  reason: reasonSchema.nullish(),
  idempotencyKey: keySchema,
});
const adjustSchema = z.object({
  customerId: z.string(),
  points: z
    .number()
    .int()
    .min(-100_000_000)
    .max(100_000_000)
    .refine((n) => n !== 0, 'Must not be 0'),
  reason: reasonSchema,
  idempotencyKey: keySchema,
});
const earnSchema = z.object({
  customerId: z.string(),
  points: z.number().int().min(1).max(100_000_000),
  reason: reasonSchema,
  idempotencyKey: keySchema,
  interactionId: z.string().nullish(),
});

const expiresAt = (s: LoyaltySettings, now = new Date()) =>
  s.points.expiryDays == null ? null : new Date(now.getTime() + s.points.expiryDays * 86_400_000);

/** Spends points; InsufficientPointsError when the balance is smaller (nothing is written). */
export async function redeemPoints(db: ScopedDb, input: z.input<typeof redeemSchema>): Promise<MovementResult> {
  const p = parseInput(redeemSchema, input, ['input']);
  return applyMovement(db, {
    customerId: p.customerId,
    kind: 'REDEEM',
    points: -p.points,
    reason: p.reason ?? null,
    key: `redeem:${p.idempotencyKey}`,
  });
}

/** A manual correction with a reason: positive adds (and counts for the tier), negative removes (never below 0). */
export async function adjustPoints(db: ScopedDb, input: z.input<typeof adjustSchema>): Promise<MovementResult> {
  const p = parseInput(adjustSchema, input, ['input']);
  const s = await getLoyaltySettings(db);
  return applyMovement(
    db,
    {
      customerId: p.customerId,
      kind: 'ADJUST',
      points: p.points,
      reason: p.reason,
      key: `adjust:${p.idempotencyKey}`,
      expiresAt: p.points > 0 ? expiresAt(s) : null,
    },
    s,
  );
}

/** Points for an action outside the automatic rules (e.g. a survey answered elsewhere); they expire like earned points. */
export async function earnPoints(db: ScopedDb, input: z.input<typeof earnSchema>): Promise<MovementResult> {
  const p = parseInput(earnSchema, input, ['input']);
  if (p.interactionId) {
    const i = isUuid(p.interactionId) ? await db.interaction.findUnique({ where: { id: p.interactionId } }) : null;
    if (!i || i.deletedAt) throw new NotFoundError('Interaction', ['input', 'interactionId']);
    if (i.customerId !== p.customerId)
      throw ValidationError.field(['input', 'interactionId'], 'The interaction belongs to another customer');
  }
  const s = await getLoyaltySettings(db);
  return applyMovement(
    db,
    {
      customerId: p.customerId,
      kind: 'EARN_ACTION',
      points: p.points,
      reason: p.reason,
      interactionId: p.interactionId ?? null,
      key: `earn:${p.idempotencyKey}`,
      expiresAt: expiresAt(s),
    },
    s,
  );
}

// ---------------------------------------------------------------------------------------------
// Automatic rules (run by the loyalty refresh for new ORDER_RECORDED / INTERACTION_RECORDED events)

/**
 * Points for an order: `points.perCurrencyUnit` per base-currency unit of what the order counts for
 * (`countedTotal`, the one counting rule in orders/order.counting.ts), so competitor purchases,
 * excluded, cancelled and refunded orders earn nothing. The order's movements are kept in line with
 * it: the first earn (EARN_ORDER, once), then adjustments when the counted amount changes (a partial
 * refund takes back its share, a cancellation, refund or exclusion takes back the rest as far as the
 * balance allows, a re-included order earns again). Each adjustment's key carries the number of the
 * order's movements so far: a repeated run computes the same key and is a no-op.
 */
export async function pointsForOrder(db: ScopedDb, s: LoyaltySettings, orderId: string): Promise<void> {
  const o = await db.order.findUnique({
    where: { id: orderId },
    include: { customer: { select: { status: true, sourceReferrerId: true } } },
  });
  if (!o || o.customer.status === 'MERGED') return;
  const live = o.countedTotal != null;
  const target = live ? Math.floor(Number(o.countedTotal) * s.points.perCurrencyUnit) : 0;
  const movements = await db.pointsMovement.findMany({ where: { orderId: o.id }, select: { points: true, key: true, customerId: true } });
  const net = movements.reduce((a, m) => a + m.points, 0);
  if (!movements.length) {
    if (target > 0) {
      await applyMovement(
        db,
        {
          once: true,
          customerId: o.customerId,
          kind: 'EARN_ORDER',
          points: target,
          key: `order:${o.id}`,
          orderId: o.id,
          reason: `Order ${o.externalId}`,
          expiresAt: expiresAt(s, o.placedAt),
        },
        s,
      );
    }
  } else if (net !== target) {
    const delta = target - net;
    await applyMovement(
      db,
      {
        once: true,
        // The account that earned them (orders of a merged duplicate keep their points where they were earned).
        customerId: movements[0]?.customerId ?? o.customerId,
        kind: 'ADJUST',
        points: delta,
        partial: delta < 0,
        key: `order-adjust:${o.id}:${movements.length}`,
        orderId: o.id,
        reason: live
          ? `Order ${o.externalId} now counts ${o.countedTotal?.toFixed(2)}`
          : `Order ${o.externalId} ${o.excluded ? 'excluded' : o.status.toLowerCase()}`,
        expiresAt: delta > 0 ? expiresAt(s, o.placedAt) : null,
      },
      s,
    ).catch((err) => {
      if (!(err instanceof NotFoundError)) throw err;
    });
  }
  const referrer = o.customer.sourceReferrerId;
  if (live && referrer && s.points.referralPurchase > 0) {
    await applyMovement(
      db,
      {
        once: true,
        customerId: referrer,
        kind: 'EARN_ACTION',
        points: s.points.referralPurchase,
        key: `referral:${o.customerId}`,
        reason: 'A referred customer bought',
        expiresAt: expiresAt(s),
      },
      s,
    ).catch((err) => {
      if (!(err instanceof NotFoundError)) throw err;
    });
  }
}

/** Points for an interaction whose type the shop rewards (settings.points.actions); incomplete surveys earn none. */
export async function pointsForInteraction(db: ScopedDb, s: LoyaltySettings, interactionId: string): Promise<void> {
  const i = await db.interaction.findUnique({ where: { id: interactionId } });
  if (!i || i.deletedAt) return;
  const pts = s.points.actions[i.type] ?? 0;
  if (pts <= 0) return;
  if (i.type === 'SURVEY_RESPONSE' && (i.metadata as { completed?: unknown } | null)?.completed === false) return;
  await applyMovement(
    db,
    {
      once: true,
      customerId: i.customerId,
      kind: 'EARN_ACTION',
      points: pts,
      key: `action:${i.id}`,
      interactionId: i.id,
      reason: i.type,
      expiresAt: expiresAt(s, i.occurredAt),
    },
    s,
  ).catch((err) => {
    if (!(err instanceof NotFoundError)) throw err;
  });
}

/**
 * Expires earned points whose time has come, oldest first: for each customer, what expired =
 * (earned with expiresAt ≤ now) − (everything spent, reversed or expired so far), capped at the
 * balance. One EXPIRE movement per customer and run. Returns the customers touched.
 */
export async function expirePoints(db: ScopedDb, now = new Date()): Promise<{ customers: number; points: number }> {
  const due = await db.pointsMovement.groupBy({
    by: ['customerId'],
    where: { points: { gt: 0 }, expiresAt: { lte: now } },
    _sum: { points: true },
  });
  let customers = 0;
  let total = 0;
  for (const d of due) {
    const spent = await db.pointsMovement.aggregate({ where: { customerId: d.customerId, points: { lt: 0 } }, _sum: { points: true } });
    const amount = (d._sum.points ?? 0) + (spent._sum.points ?? 0);
    if (amount <= 0) continue;
    const r = await applyMovement(db, {
      customerId: d.customerId,
      kind: 'EXPIRE',
      points: -amount,
      partial: true,
      key: `expire:${d.customerId}:${now.toISOString()}`,
      reason: 'Earned points expired',
    });
    if (r.movement.points < 0) {
      customers++;
      total -= r.movement.points;
    }
  }
  return { customers, points: total };
}

export type PointsMovementFilter = { kinds?: PointsMovementKind[] | null };

/**
 * Merging customers unites their points: the duplicate's movements move to the survivor, its
 * balance and lifetime points are added to the survivor's account (tier re-evaluated, recorded),
 * and the duplicate's account goes. Runs inside the merge's transaction.
 */
export const mergePoints: MergeStep = async (tx, survivorId, duplicateId) => {
  const dup = await tx.pointsAccount.findUnique({ where: { customerId: duplicateId } });
  if (!dup) return;
  await tx.pointsMovement.updateMany({ where: { customerId: duplicateId }, data: { customerId: survivorId } });
  await tx.tierChange.updateMany({ where: { customerId: duplicateId }, data: { customerId: survivorId } });
  await ensureAccount(tx, survivorId);
  await tx.pointsAccount.updateMany({
    where: { customerId: survivorId },
    data: { balance: { increment: dup.balance }, lifetimeEarned: { increment: dup.lifetimeEarned }, updatedAt: new Date() },
  });
  await tx.pointsAccount.deleteMany({ where: { customerId: duplicateId } });
  const account = await tx.pointsAccount.findUniqueOrThrow({ where: { customerId: survivorId } });
  const tier = tierFor((await getLoyaltySettings(tx)).tiers, account.lifetimeEarned);
  if (tier !== account.tier) {
    await tx.pointsAccount.update({ where: { customerId: survivorId }, data: { tier } });
    await tx.tierChange.create({ data: { customerId: survivorId, fromTier: account.tier, toTier: tier } as never });
  }
};
