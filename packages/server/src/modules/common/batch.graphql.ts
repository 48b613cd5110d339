import { builder } from '../../builder.ts';
import type { AppError } from '../../errors.ts';
import type { ErrorTypes, ItemOutcome, Upserted } from './batch.ts';

/** A batch's result: per-item outcomes in input order, and whether it was an idempotent replay. */
export type BatchResult<Row> = { outcomes: ItemOutcome<Upserted<Row>>[]; replayed: boolean };

const ERROR_TYPE = Symbol('itemErrorType');

/**
 * An item's error as a plain object with the error's fields: graphql-js raises an Error found in a
 * list as a field error, so the list holds its fields (and the GraphQL type, for resolveType) instead.
 */
function asItemError(err: AppError, errorTypes: ErrorTypes): object {
  const cls = errorTypes[err.code];
  if (!cls) throw new Error(`No GraphQL type for item error ${err.code}`);
  return { ...err, code: err.code, message: err.message, inputPath: err.inputPath, [ERROR_TYPE]: cls.name };
}

/**
 * The result union of one batch item: the single mutation's success payload, or one of the error
 * types the single mutation returns (errorTypes: class by code; their GraphQL types are the
 * classes' object types in common.type.ts / the module).
 */
export function itemResultUnion<Row, Success extends object>(
  name: string,
  success: { name: string },
  errorTypes: ErrorTypes,
  toSuccess: (v: Upserted<Row>) => Success,
) {
  const errorClasses = Object.values(errorTypes);
  const ref = builder.unionType(name, {
    description: `One item's result: ${success.name} or the item's typed error (nothing of that item was written).`,
    types: [success, ...errorClasses] as never,
    resolveType: (v: unknown) => (v && typeof v === 'object' && ERROR_TYPE in v ? (v[ERROR_TYPE] as string) : success.name),
  });
  return { ref, toResult: (o: ItemOutcome<Upserted<Row>>): object => (o.ok ? toSuccess(o.value) : asItemError(o.error, errorTypes)) };
}

// biome-ignore lint/suspicious/noExplicitAny: the object field builder of a BatchResult type
export function batchResultFields<Row>(t: any, union: ReturnType<typeof itemResultUnion<Row, object>>) {
  const count = (r: BatchResult<Row>, f: (o: ItemOutcome<Upserted<Row>>) => boolean) => r.outcomes.filter(f).length;
  return {
    results: t.field({
      type: [union.ref],
      description: 'One per input item, in input order.',
      resolve: (r: BatchResult<Row>) => r.outcomes.map(union.toResult),
    }),
    createdCount: t.int({ resolve: (r: BatchResult<Row>) => count(r, (o) => o.ok && o.value.created) }),
    updatedCount: t.int({ resolve: (r: BatchResult<Row>) => count(r, (o) => o.ok && !o.value.created) }),
    failedCount: t.int({
      description: 'Items with an error (nothing of them written).',
      resolve: (r: BatchResult<Row>) => count(r, (o) => !o.ok),
    }),
    replayed: t.boolean({
      description: 'True when these are the stored results of an earlier request with the same idempotency key (nothing was written now).',
      resolve: (r: BatchResult<Row>) => r.replayed,
    }),
  };
}
