/** Options every {@link CrmError} takes. */
export type CrmErrorOptions = {
  /** Stable machine-readable code. */
  code: string;
  /** HTTP status, when a response was received. */
  status?: number;
  /** The request id sent as `x-request-id`. */
  requestId?: string;
  /** Input path the error concerns (result-union errors). */
  path?: readonly string[];
  /** The underlying error. */
  cause?: unknown;
};

/**
 * Base class of every error the SDK throws. Check `instanceof` a subclass, or `code`:
 *
 * | class | when | `code` |
 * |---|---|---|
 * | {@link CrmNetworkError} | server unreachable, timeout, unreadable response | `NETWORK_ERROR`, `TIMEOUT`, `BAD_RESPONSE` |
 * | {@link CrmAuthError} | bad/revoked key (401), key or customer token not allowed (403, `ForbiddenError`) | `UNAUTHENTICATED`, `FORBIDDEN` |
 * | {@link CrmRateLimitError} | HTTP 429 after the retries | `RATE_LIMITED` |
 * | {@link CrmValidationError} | `ValidationError` result (via {@link unwrap}) | `VALIDATION_FAILED` |
 * | {@link CrmNotFoundError} | `NotFoundError` result | `NOT_FOUND` |
 * | {@link CrmConflictError} | `ConflictError`, `VersionConflictError`, `IdempotencyConflictError`, `AlreadyMergedError` results | server's code |
 * | {@link CrmGraphQLError} | any other GraphQL error (e.g. `INTERNAL`, `QUERY_TOO_COMPLEX`) | `extensions.code` |
 */
export class CrmError extends Error {
  /** Stable machine-readable code, e.g. `UNAUTHENTICATED`, `NETWORK_ERROR`, `VALIDATION_FAILED`. */
  readonly code: string;
  /** HTTP status, when a response was received. */
  readonly status?: number;
  /** The request id sent as `x-request-id` (quote it when reporting a problem). */
  readonly requestId?: string;
  /** The input path the error concerns, e.g. `["input", "email"]` (result-union errors only). */
  readonly path?: readonly string[];
  constructor(message: string, opts: CrmErrorOptions) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = opts.code;
    this.status = opts.status;
    this.requestId = opts.requestId;
    this.path = opts.path;
  }
}

/** The server could not be reached, the request timed out (`code: 'TIMEOUT'`), or the response was unreadable. */
export class CrmNetworkError extends CrmError {}

/** Missing, unknown or revoked key (HTTP 401), or a key / customer token not allowed to do this (403 or a `ForbiddenError` result). */
export class CrmAuthError extends CrmError {}

/** Too many requests (HTTP 429) and no retries left; `retryAfterMs` tells when to try again. */
export class CrmRateLimitError extends CrmError {
  /** From the `Retry-After` header, when the server sent one. */
  readonly retryAfterMs?: number;
  constructor(message: string, opts: Omit<CrmErrorOptions, 'code'> & { code?: string; retryAfterMs?: number }) {
    super(message, { ...opts, code: opts.code ?? 'RATE_LIMITED' });
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** One GraphQL error as the server returned it. */
export type GraphQLErrorEntry = { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> };

/** The server rejected the operation with GraphQL errors (not an expected, typed result). */
export class CrmGraphQLError extends CrmError {
  /** Every error of the response. */
  readonly errors: readonly GraphQLErrorEntry[];
  constructor(message: string, opts: CrmErrorOptions & { errors: readonly GraphQLErrorEntry[] }) {
    super(message, opts);
    this.errors = opts.errors;
  }
}

/** One problem with one input field. */
export type ValidationIssue = { path: readonly string[]; message: string; code: string };

/** A `ValidationError` result: nothing was written; `issues` lists every problem. */
export class CrmValidationError extends CrmError {
  /** Every problem found, each with the input path it concerns. */
  readonly issues: readonly ValidationIssue[];
  constructor(message: string, opts: CrmErrorOptions & { issues: readonly ValidationIssue[] }) {
    super(message, opts);
    this.issues = opts.issues;
  }
}

/** A `NotFoundError` result: the referenced record is not in this shop. */
export class CrmNotFoundError extends CrmError {}

/**
 * A `ConflictError` (e.g. email taken), `VersionConflictError` (`currentVersion` set: someone
 * changed the record since you read it) or `IdempotencyConflictError` result.
 */
export class CrmConflictError extends CrmError {
  /** The record's current version (`VersionConflictError` only). */
  readonly currentVersion?: number;
  constructor(message: string, opts: CrmErrorOptions & { currentVersion?: number }) {
    super(message, opts);
    this.currentVersion = opts.currentVersion;
  }
}
