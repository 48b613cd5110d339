import { z } from 'zod';

/**
 * Money as exact decimal strings with two places ("19.90"), computed in integer cents (BigInt) so
 * nothing is lost to floating point. Columns are Decimal(14,2): at most 12 integer digits.
 */
export const MAX_CENTS = 99_999_999_999_999n;

export function toCents(s: string): bigint {
  const m = /^(\d+)(?:\.(\d{1,2}))?$/.exec(s);
  if (!m) throw new Error(`Not an amount: ${s}`);
  return BigInt(m[1] as string) * 100n + BigInt((m[2] ?? '').padEnd(2, '0'));
}

export function fromCents(c: bigint): string {
  const neg = c < 0n;
  const a = neg ? -c : c;
  return `${neg ? '-' : ''}${a / 100n}.${(a % 100n).toString().padStart(2, '0')}`;
}

/** A non-negative amount with at most two decimals, as cents. */
export const amountSchema = z.string().transform((raw, ctx) => {
  const v = raw.trim();
  if (!/^-?\d+(\.\d+)?$/.test(v)) {
    ctx.addIssue({ code: 'custom', message: 'Not a number: give a decimal string such as "19.90"' });
    return z.NEVER;
  }
  if (v.startsWith('-')) {
    ctx.addIssue({ code: 'custom', message: 'Must not be negative' });
    return z.NEVER;
  }
  if ((v.split('.')[1] ?? '').length > 2) {
    ctx.addIssue({ code: 'custom', message: 'At most 2 decimal places' });
    return z.NEVER;
  }
  const cents = toCents(v);
  if (cents > MAX_CENTS) {
    ctx.addIssue({ code: 'custom', message: 'Amount too large (at most 999999999999.99)' });
    return z.NEVER;
  }
  return cents;
});
