/**
 * The error model. Expected failures are AppError subclasses: mutations return them as typed
 * members of their result union (all implement the GraphQL `Error` interface: message, code,
 * path); queries raise them as GraphQL errors with `extensions.code`. Anything else is masked.
 */
export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'VERSION_CONFLICT'
  | 'FORBIDDEN'
  | 'UNAUTHENTICATED'
  | 'RATE_LIMITED'
  | 'IDEMPOTENCY_CONFLICT'
  | 'INSUFFICIENT_POINTS'
  | 'EXCHANGE_RATE_MISSING'
  | 'EVENTS_EXPIRED'
  | 'QUERY_TOO_COMPLEX'
  | 'UNAVAILABLE'
  | 'ALREADY_MERGED'
  | 'PAYLOAD_TOO_LARGE'
  | 'INTERNAL';

export class AppError extends Error {
  readonly code: ErrorCode;
  /**
   * Input path the error refers to, e.g. ["input", "email"] (the GraphQL `Error.path` field).
   * Not named `path`: graphql-js would take such an error for an already-located one and drop the
   * response path and locations of errors raised from queries.
   */
  readonly inputPath: string[];
  constructor(code: ErrorCode, message: string, path: string[] = []) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.inputPath = path;
  }
}

export type FieldIssue = { path: string[]; message: string; code: string };

export class ValidationError extends AppError {
  readonly issues: FieldIssue[];
  constructor(issues: FieldIssue[], message?: string) {
    const first = issues[0];
    super(
      'VALIDATION_FAILED',
      message ?? (first ? `${first.path.join('.') || 'input'}: ${first.message}` : 'Invalid input'),
      first?.path ?? [],
    );
    this.issues = issues;
  }
  static field(path: string[], message: string, code = 'invalid'): ValidationError {
    return new ValidationError([{ path, message, code }]);
  }
}

export class NotFoundError extends AppError {
  readonly resource: string;
  constructor(resource: string, path: string[] = []) {
    super('NOT_FOUND', `${resource} not found`, path);
    this.resource = resource;
  }
}

export class ConflictError extends AppError {
  constructor(message: string, path: string[] = []) {
    super('CONFLICT', message, path);
  }
}

export class VersionConflictError extends AppError {
  readonly currentVersion: number;
  constructor(currentVersion: number) {
    super('VERSION_CONFLICT', `The record was changed by someone else (current version ${currentVersion}); reload and retry`, [
      'input',
      'version',
    ]);
    this.currentVersion = currentVersion;
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'This key is not allowed to do that') {
    super('FORBIDDEN', message);
  }
}

export class UnauthenticatedError extends AppError {
  constructor(message = 'A valid API key is required (Authorization: Bearer <key>)') {
    super('UNAUTHENTICATED', message);
  }
}

/** The same idempotency key was used earlier with a different input. */
export class IdempotencyConflictError extends AppError {
  constructor(message = 'This idempotency key was already used with a different input') {
    super('IDEMPOTENCY_CONFLICT', message, ['input', 'idempotencyKey']);
  }
}

/** The customer was already merged into another one: it can be neither survivor nor duplicate again. */
export class AlreadyMergedError extends AppError {
  constructor(
    readonly customerId: string,
    readonly mergedIntoId: string | null,
    path: string[] = [],
  ) {
    super('ALREADY_MERGED', 'This customer was already merged into another customer', path);
  }
}

/** Too many requests for a key or client address; retry after `retryAfterSeconds`. */
export class RateLimitedError extends AppError {
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number, message = 'Too many requests; retry later') {
    super('RATE_LIMITED', message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** A subscription resumed from an event older than the shop's retained events (EVENT_RETENTION_DAYS). */
export class EventsExpiredError extends AppError {
  constructor(readonly oldestEventId: bigint) {
    super(
      'EVENTS_EXPIRED',
      `Events after this id are no longer retained (the oldest kept is ${oldestEventId}): resync the data you mirror (queries), then subscribe without \`after\``,
      ['after'],
    );
  }
}

/** The operation is deeper, wider or more complex than the server allows (MAX_QUERY_DEPTH, MAX_QUERY_COMPLEXITY). */
export class QueryTooComplexError extends AppError {
  constructor(
    readonly kind: 'depth' | 'breadth' | 'complexity',
    readonly value: number,
    readonly max: number,
  ) {
    super('QUERY_TOO_COMPLEX', `Query ${kind} ${value} exceeds the maximum ${kind} of ${max}`);
  }
}

/**
 * A dependency cannot serve the request right now (the database is unreachable, or busy: no pooled
 * connection or transaction could start in time). Nothing was changed; retry after `retryAfterSeconds`
 * (HTTP 503 with Retry-After).
 */
export class UnavailableError extends AppError {
  readonly retryAfterSeconds: number;
  constructor(message = 'The service is temporarily unavailable; retry later', retryAfterSeconds = 1) {
    super('UNAVAILABLE', message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** An upload larger than the limit (HTTP 413); nothing of it is kept. */
export class PayloadTooLargeError extends AppError {
  readonly maxBytes: number;
  constructor(maxBytes: number) {
    super('PAYLOAD_TOO_LARGE', `The upload exceeds the limit of ${maxBytes} bytes (IMPORT_MAX_BYTES)`);
    this.maxBytes = maxBytes;
  }
}
