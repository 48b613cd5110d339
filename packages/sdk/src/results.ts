import { CrmAuthError, CrmConflictError, CrmError, CrmNotFoundError, CrmValidationError, type ValidationIssue } from './errors.js';

/** `__typename`s of the error members of mutation result unions (all implement `interface Error`). */
export type ResultErrorTypename =
  | 'ValidationError'
  | 'NotFoundError'
  | 'ConflictError'
  | 'VersionConflictError'
  | 'ForbiddenError'
  | 'IdempotencyConflictError'
  | 'AlreadyMergedError';

/** An error member of a mutation result union, as selected by the SDK's `ErrorFields` fragment. */
export type ResultError = {
  __typename: ResultErrorTypename;
  code: string;
  message: string;
  path: readonly string[];
  issues?: readonly ValidationIssue[];
  currentVersion?: number;
};

/** The success member(s) of a mutation result union. */
export type Success<T> = Exclude<T, { __typename: ResultErrorTypename }>;

/** The error member(s) of a mutation result union. */
export type Failure<T> = Extract<T, { __typename: ResultErrorTypename }>;

/**
 * True when a mutation result is one of its error members. Also recognises error types added to
 * the schema later (any `__typename` ending in `Error` with a `code` and `message`).
 */
export function isResultError<T extends { __typename: string }>(result: T): result is Failure<T> {
  const r = result as { __typename: string; code?: unknown; message?: unknown };
  return r.__typename.endsWith('Error') && typeof r.code === 'string' && typeof r.message === 'string';
}

/** The {@link CrmError} subclass for an error member of a result union. */
export function toCrmError(error: {
  __typename: string;
  code: string;
  message: string;
  path?: readonly string[];
  issues?: readonly ValidationIssue[];
  currentVersion?: number;
}): CrmError {
  const opts = { code: error.code, path: error.path };
  switch (error.__typename) {
    case 'ValidationError':
      return new CrmValidationError(error.message, { ...opts, issues: error.issues ?? [] });
    case 'NotFoundError':
      return new CrmNotFoundError(error.message, opts);
    case 'ForbiddenError':
      return new CrmAuthError(error.message, opts);
    case 'ConflictError':
    case 'VersionConflictError':
    case 'IdempotencyConflictError':
    case 'AlreadyMergedError':
      return new CrmConflictError(error.message, { ...opts, currentVersion: error.currentVersion });
    default:
      return new CrmError(error.message, opts);
  }
}

/**
 * Returns the success member of a mutation result union, or throws its error member as a
 * {@link CrmError} subclass: `ValidationError` → {@link CrmValidationError} (with `issues`),
 * `NotFoundError` → {@link CrmNotFoundError}, `ForbiddenError` → {@link CrmAuthError},
 * `ConflictError` / `VersionConflictError` / `IdempotencyConflictError` / `AlreadyMergedError` → {@link CrmConflictError}.
 *
 * @example
 * const { customer } = unwrap(await crm.customers.create({ email: 'anna@example.com' }));
 */
export function unwrap<T extends { __typename: string }>(result: T): Success<T> {
  if (isResultError(result)) throw toCrmError(result as unknown as ResultError);
  return result as Success<T>;
}
