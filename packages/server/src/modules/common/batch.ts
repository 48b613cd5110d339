import { inSavepoint, inTransaction, type ScopedDb, type ScopedTx } from '../../db/tenant.ts';
import { AppError, ConflictError, ValidationError } from '../../errors.ts';
import { collectEvents, type EmitEvent, emitEvents } from '../events/event.service.ts';
import { withIdempotency } from './idempotency.ts';

/**
 * Batch mutations for syncs (upsertCustomers, upsertOrders): up to BATCH_MAX items, each run by the
 * single mutation's service, in input order, in ONE transaction with one savepoint per item. An
 * item that fails is rolled back to its savepoint (nothing of it stays) and reported as its typed
 * error; the others go on. The items' events are collected (collectEvents) and inserted with one
 * emitEvents after the last item, so the shop's event lock is taken last, as in every transaction.
 * An optional idempotency key covers the whole batch: a replay returns the stored per-item results.
 */
export const BATCH_MAX = 500;

/** Longest run of one batch's transaction: 500 items take ~15 s on PostgreSQL and ~50 s on PGlite on a busy 2-core machine. */
const BATCH_TIMEOUT_MS = 300_000;

export type ItemOutcome<R> = { ok: true; value: R } | { ok: false; error: AppError };

/** An error class a batch item may report (its GraphQL type is the class's object type). */
// biome-ignore lint/suspicious/noExplicitAny: error classes have different constructors
export type ErrorClass = abstract new (...args: any[]) => AppError;

/** The error classes a batch's items may report, by code. */
export type ErrorTypes = Partial<Record<AppError['code'], ErrorClass>>;

const isUniqueViolation = (err: unknown) => (err as { code?: string })?.code === 'P2002';

/** The item's error with its paths under input.items.<index> (["input","email"] -> ["input","items","3","email"]). */
export function atItem(err: AppError, index: number): AppError {
  const move = (path: string[]) => ['input', 'items', String(index), ...(path[0] === 'input' ? path.slice(1) : path)];
  if (err instanceof ValidationError) return new ValidationError(err.issues.map((i) => ({ ...i, path: move(i.path) })));
  const copy = Object.assign(Object.create(Object.getPrototypeOf(err)) as AppError, err, { inputPath: move(err.inputPath) });
  Object.defineProperty(copy, 'message', { value: err.message, enumerable: false, writable: true, configurable: true });
  return copy;
}

export function checkBatchSize(items: unknown[]) {
  if (items.length > BATCH_MAX) {
    throw ValidationError.field(['input', 'items'], `At most ${BATCH_MAX} items per batch (got ${items.length})`, 'too_many');
  }
}

/**
 * Runs `runItem` for every item in one transaction of `db`, each in its own savepoint. Errors of
 * the classes in `errorTypes` become that item's outcome; a database error (e.g. a unique index
 * race with another request) retries the item once in a fresh savepoint, then a unique violation is
 * a ConflictError; anything else fails the whole batch (nothing is written).
 */
export async function runBatch<I, R>(
  db: ScopedDb,
  items: I[],
  errorTypes: ErrorTypes,
  runItem: (t: ScopedTx, item: I, index: number) => Promise<R>,
): Promise<ItemOutcome<R>[]> {
  checkBatchSize(items);
  const expected = (err: unknown): err is AppError => {
    const cls = err instanceof AppError ? errorTypes[err.code] : undefined;
    return !!cls && err instanceof cls;
  };
  return inTransaction(
    db,
    async (t) => {
      const outcomes: ItemOutcome<R>[] = [];
      const events: EmitEvent[] = [];
      for (const [index, item] of items.entries()) {
        const attempt = () => inSavepoint(t, (sp) => collectEvents(sp, () => runItem(sp, item, index)));
        let outcome: ItemOutcome<R> | null = null;
        let failure: unknown = null;
        for (let tries = 0; tries < 2 && !outcome; tries++) {
          try {
            const done = await attempt();
            events.push(...done.events);
            outcome = { ok: true, value: done.result };
          } catch (err) {
            failure = err;
            if (err instanceof AppError) break; // expected errors are not retried
          }
        }
        if (!outcome) {
          if (expected(failure)) outcome = { ok: false, error: atItem(failure, index) };
          else if (isUniqueViolation(failure)) {
            outcome = { ok: false, error: atItem(new ConflictError('Another record already has this value', ['input']), index) };
          } else throw failure;
        }
        outcomes.push(outcome);
      }
      await emitEvents(t, events);
      return outcomes;
    },
    { timeout: BATCH_TIMEOUT_MS },
  );
}

/** An item upserted: its row id and whether it was created. */
export type Upserted<Row> = { row: Row; created: boolean };
type StoredItem = { id: string; created: boolean } | { error: Record<string, unknown> };

function storeError(err: AppError): Record<string, unknown> {
  return JSON.parse(JSON.stringify({ ...err, message: err.message }));
}

function restoreError(json: Record<string, unknown>, errorTypes: ErrorTypes): AppError {
  const cls = errorTypes[json.code as AppError['code']];
  if (!cls) return new ConflictError(String(json.message ?? 'Stored error'), (json.inputPath as string[]) ?? []);
  const err = Object.assign(Object.create(cls.prototype) as AppError, json);
  Object.defineProperty(err, 'message', { value: String(json.message), enumerable: false, writable: true, configurable: true });
  return err;
}

/**
 * runBatch under an idempotency key (modules/common/idempotency.ts) for upserts: the stored result
 * is each item's row id and `created`, or its error; a replay reloads the rows (`load`, one query)
 * and rebuilds the errors, writing nothing. A row gone since (erased) is that item's NotFoundError.
 */
export async function idempotentBatch<Row extends { id: string }>(
  db: ScopedDb,
  operation: string,
  key: string | null | undefined,
  input: unknown,
  errorTypes: ErrorTypes,
  run: () => Promise<ItemOutcome<Upserted<Row>>[]>,
  load: (ids: string[]) => Promise<Row[]>,
  notFound: () => AppError,
): Promise<{ outcomes: ItemOutcome<Upserted<Row>>[]; replayed: boolean }> {
  let live: ItemOutcome<Upserted<Row>>[] | null = null;
  const { result, replayed } = await withIdempotency(db, operation, key, input, async () => {
    live = await run();
    return {
      items: live.map((o): StoredItem => (o.ok ? { id: o.value.row.id, created: o.value.created } : { error: storeError(o.error) })),
    };
  });
  if (live && !replayed) return { outcomes: live, replayed: false };
  const stored = result.items;
  const ids = stored.flatMap((s) => ('id' in s ? [s.id] : []));
  const rows = new Map((ids.length ? await load(ids) : []).map((r) => [r.id, r]));
  const outcomes = stored.map((s, index): ItemOutcome<Upserted<Row>> => {
    if ('error' in s) return { ok: false, error: restoreError(s.error, errorTypes) };
    const row = rows.get(s.id);
    return row ? { ok: true, value: { row, created: s.created } } : { ok: false, error: atItem(notFound(), index) };
  });
  return { outcomes, replayed: true };
}
