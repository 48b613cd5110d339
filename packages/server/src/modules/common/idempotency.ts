import { createHash } from 'node:crypto';
import type { ScopedDb } from '../../db/tenant.ts';
import { ConflictError, IdempotencyConflictError, ValidationError } from '../../errors.ts';

/**
 * Idempotency keys for create operations a client may retry. The first request with a key claims
 * it (a row unique per shop, operation and key, holding the SHA-256 of the canonical input), runs,
 * and stores its result (ids, JSON). A retry with the same key and input gets that result back and
 * writes nothing; the same key with a different input is an IdempotencyConflictError. Concurrent
 * duplicates race on the unique index: exactly one runs, the others wait for its result. A failed
 * request releases its key (nothing is written, so the client may retry). Keys are kept per shop
 * and operation; a claim left pending by a crashed process is taken over after STALE_MS.
 */
const STALE_MS = 120_000;
const WAIT_MS = 15_000;

/** JSON with sorted keys, Dates as ISO strings, undefined dropped: equal inputs hash equally. */
export function canonicalJson(value: unknown): string {
  const norm = (v: unknown): unknown => {
    if (v instanceof Date) return v.toISOString();
    if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : norm(x)));
    if (v && typeof v === 'object') {
      if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return (v as { toJSON(): unknown }).toJSON();
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
          .map((k) => [k, norm((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(norm(value));
}

export const requestHash = (input: unknown) => createHash('sha256').update(canonicalJson(input)).digest('hex');

const isUniqueViolation = (err: unknown) => (err as { code?: string })?.code === 'P2002';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type Idempotent<R> = { result: R; replayed: boolean };

export async function withIdempotency<R extends object>(
  db: ScopedDb,
  operation: string,
  key: string | null | undefined,
  input: unknown,
  run: () => Promise<R>,
): Promise<Idempotent<R>> {
  if (key == null) return { result: await run(), replayed: false };
  const k = key.trim();
  if (!k || k.length > 200) throw ValidationError.field(['input', 'idempotencyKey'], 'Idempotency key must be 1-200 characters');
  const hash = requestHash(input);
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    let claimId: string | null = null;
    try {
      const row = await db.idempotencyKey.create({ data: { operation, key: k, requestHash: hash } as never });
      claimId = row.id;
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
    if (claimId) {
      try {
        const result = await run();
        await db.idempotencyKey.update({ where: { id: claimId }, data: { result: JSON.parse(JSON.stringify(result)) } });
        return { result, replayed: false };
      } catch (err) {
        await db.idempotencyKey.delete({ where: { id: claimId } }).catch(() => undefined);
        throw err;
      }
    }
    const existing = await db.idempotencyKey.findFirst({ where: { operation, key: k } });
    if (!existing) continue; // released by a failed first request: claim it ourselves
    if (existing.requestHash !== hash) throw new IdempotencyConflictError();
    if (existing.result != null) return { result: existing.result as R, replayed: true };
    if (Date.now() - existing.createdAt.getTime() > STALE_MS) {
      await db.idempotencyKey.deleteMany({ where: { id: existing.id } }).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline) {
      throw new ConflictError('A request with this idempotency key is still in progress; retry later', ['input', 'idempotencyKey']);
    }
    await sleep(25);
  }
}
