import { randomInt } from 'node:crypto';
import type { ScopedDb, ScopedTx } from '../../db/tenant.ts';
import { NotFoundError } from '../../errors.ts';
import type { Customer } from '../../generated/prisma/client.ts';
import { emitEvent, gid } from '../events/event.service.ts';
import { requireLive, tx } from './customer.service.ts';

/**
 * Referral codes (docs/customers.md "Referral codes"). Each customer can get one code, issued on
 * demand and stable after: 8 characters from a 31-letter alphabet without look-alikes (0/O, 1/I/L),
 * about 8.5 × 10^11 possibilities, random (crypto), unique per shop (a unique index; a collision
 * draws again). The shop's storefront links carry it as `?ref=CODE`; a storefront `captureLead`
 * with `referralCode` records the code's owner as the new lead's referrer. Codes are looked up
 * within the caller's shop only (the scoped client), case-insensitively; a code that is malformed,
 * unknown, or belongs to a customer who is no longer active is ignored without a trace in the
 * answer, so a storefront cannot probe which codes exist.
 */
export const REFERRAL_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
export const REFERRAL_CODE_LENGTH = 8;
const SHAPE = /^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}$/;

export function newReferralCode(): string {
  let s = '';
  for (let i = 0; i < REFERRAL_CODE_LENGTH; i++) s += REFERRAL_ALPHABET[randomInt(REFERRAL_ALPHABET.length)];
  return s;
}

/** A code as typed or carried in a URL -> its canonical form; null when it cannot be a code. */
export function normaliseReferralCode(raw: string | null | undefined): string | null {
  if (typeof raw !== 'string') return null;
  const code = raw.trim().toUpperCase();
  return SHAPE.test(code) ? code : null;
}

const isUnique = (err: unknown) => (err as { code?: string })?.code === 'P2002';

/**
 * The customer's referral code, issued now when they have none (then stable: a second call returns
 * the same code). Emits CUSTOMER_UPDATED with `fields: ['referralCode']` when a code is issued.
 */
export async function issueReferralCode(db: ScopedDb, customerId: string): Promise<Customer> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await tx(db, async (t) => {
        const c = await requireLive(t, customerId);
        if (c.referralCode) return c;
        if (c.status !== 'ACTIVE') throw new NotFoundError('Customer', ['input', 'id']);
        const r = await t.customer.updateMany({
          where: { id: c.id, referralCode: null },
          data: { referralCode: newReferralCode(), version: { increment: 1 } },
        });
        const updated = await t.customer.findUniqueOrThrow({ where: { id: c.id } });
        if (r.count) {
          await emitEvent(t, {
            type: 'CUSTOMER_UPDATED',
            customerId: c.id,
            payload: { customerId: gid('Customer', c.id), version: updated.version, fields: ['referralCode'] },
          });
        }
        return updated;
      });
    } catch (err) {
      // Another customer of the shop drew the same code (or a concurrent call issued one): draw again.
      if (isUnique(err) && attempt < 5) continue;
      throw err;
    }
  }
}

/**
 * The ACTIVE customer a code belongs to in this shop (following merges: a merged duplicate's code
 * credits the survivor), or null. Never throws for a bad code.
 */
export async function referrerByCode(db: ScopedDb | ScopedTx, raw: string | null | undefined): Promise<Customer | null> {
  const code = normaliseReferralCode(raw);
  if (!code) return null;
  let c = await db.customer.findFirst({ where: { referralCode: code } });
  for (let hops = 0; c?.status === 'MERGED' && c.mergedIntoId && hops < 5; hops++) {
    c = await db.customer.findUnique({ where: { id: c.mergedIntoId } });
  }
  return c?.status === 'ACTIVE' ? c : null;
}
