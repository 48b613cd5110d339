import { CrmError } from './errors.js';
import { resultErrorClasses } from './generated/error-map.js';
import type { ResultErrorFields, ResultErrorTypename } from './generated/errors.js';
import type { ErrorFieldsFragment } from './generated/graphql.js';
import { requestIdOf } from './transport.js';

export type { ResultErrorFields, ResultErrorTypename };

/** An error member of a mutation result union, as selected by the generated `ErrorFields` fragment. */
export type ResultError = ErrorFieldsFragment;

/** One problem with one input field (`CrmValidationError.issues`). */
export type ValidationIssue = ResultErrorFields<'ValidationError'>['issues'][number];

/** The success member(s) of a mutation result union. */
export type Success<T> = Exclude<T, { __typename: ResultErrorTypename }>;

/** The error member(s) of a mutation result union. */
export type Failure<T> = Extract<T, { __typename: ResultErrorTypename }>;

/**
 * True when a mutation result is one of its error members. Also recognises error types added to
 * the schema after this SDK was generated (any `__typename` ending in `Error` with a `code` and `message`).
 */
export function isResultError<T extends { __typename: string }>(result: T): result is Failure<T> {
  const r = result as { __typename: string; code?: unknown; message?: unknown };
  return r.__typename.endsWith('Error') && typeof r.code === 'string' && typeof r.message === 'string';
}

/**
 * The {@link CrmError} subclass for an error member of a result union (generated from the schema:
 * `Crm` + its `__typename`, with the type's own fields), carrying the call's request id.
 */
export function toCrmError(error: { __typename: string; code: string; message: string; path?: readonly string[] }): CrmError {
  return errorWith(resultErrorClasses as ErrorClasses, error);
}

/** Error classes by `__typename`. */
export type ErrorClasses = Readonly<Record<string, new (message: string, opts: never) => CrmError>>;

function errorWith(classes: ErrorClasses, error: { __typename: string; message: string }): CrmError {
  const { __typename, message, ...fields } = error;
  const Class = classes[__typename] ?? CrmError;
  return new Class(message, { ...fields, requestId: requestIdOf(error) } as never);
}

/**
 * An `unwrap` that knows only the given error classes (others become a plain {@link CrmError}):
 * the storefront entry passes the few its operations can return, so its bundle stays small.
 */
export function unwrapWith(classes: ErrorClasses) {
  return <T extends { __typename: string }>(result: T): Success<T> => {
    if (isResultError(result)) throw errorWith(classes, result as unknown as ResultError);
    return result as Success<T>;
  };
}

/**
 * Returns the success member of a mutation result union, or throws its error member as the
 * generated {@link CrmError} subclass with its fields: `ValidationError` → `CrmValidationError`
 * (`issues`), `InsufficientPointsError` → `CrmInsufficientPointsError` (`balance`),
 * `VersionConflictError` → `CrmVersionConflictError` (`currentVersion`), `ForbiddenError` →
 * `CrmForbiddenError` (a `CrmAuthError`), … Every thrown error carries the call's `requestId`.
 *
 * @example
 * const { customer } = unwrap(await crm.customers.create({ email: 'anna@example.com' }));
 */
export function unwrap<T extends { __typename: string }>(result: T): Success<T> {
  if (isResultError(result)) throw toCrmError(result as unknown as ResultError);
  return result as Success<T>;
}
