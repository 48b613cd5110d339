/** Base class of every error the SDK throws. */
export class CrmError extends Error {
  /** Stable machine-readable code, e.g. `UNAUTHENTICATED`, `NETWORK_ERROR`. */
  readonly code: string;
  /** HTTP status, when a response was received. */
  readonly status?: number;
  /** The request id sent as `x-request-id` (quote it when reporting a problem). */
  readonly requestId?: string;
  constructor(message: string, opts: { code: string; status?: number; requestId?: string; cause?: unknown }) {
    super(message, { cause: opts.cause });
    this.name = new.target.name;
    this.code = opts.code;
    this.status = opts.status;
    this.requestId = opts.requestId;
  }
}

/** The server could not be reached, or the request timed out. */
export class CrmNetworkError extends CrmError {}
/** Missing, unknown or revoked key (HTTP 401), or a key not allowed to do this (403). */
export class CrmAuthError extends CrmError {}
/** Too many requests (HTTP 429); `retryAfterMs` tells when to try again. */
export class CrmRateLimitError extends CrmError {
  readonly retryAfterMs?: number;
  constructor(message: string, opts: { status?: number; requestId?: string; retryAfterMs?: number }) {
    super(message, { ...opts, code: 'RATE_LIMITED' });
    this.retryAfterMs = opts.retryAfterMs;
  }
}
/** The server rejected the operation (GraphQL errors in the response). */
export class CrmGraphQLError extends CrmError {
  readonly errors: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
  constructor(message: string, opts: { code: string; status?: number; requestId?: string; errors: CrmGraphQLError['errors'] }) {
    super(message, opts);
    this.errors = opts.errors;
  }
}
