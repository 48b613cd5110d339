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
  /** The endpoint the request went to. */
  url?: string;
  /** The WebSocket close code (subscriptions). */
  closeCode?: number;
  /** The close code's name in graphql-ws's `CloseCode`, or the server's close reason (subscriptions). */
  closeReason?: string;
  /** {@link CrmNetworkError}, {@link CrmSubscriptionError}: the system error code of the cause (e.g. `ECONNREFUSED`). */
  causeCode?: string;
  /** {@link CrmNetworkError} (503), {@link CrmRateLimitError}: from `Retry-After`. */
  retryAfterMs?: number;
  /** {@link CrmGraphQLError}: every error of the response. */
  errors?: readonly GraphQLErrorEntry[];
  /** {@link CrmSubscriptionError}: failed connection attempts in a row. */
  attempts?: number;
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
 * | {@link CrmGraphQLError} | any other GraphQL error (e.g. `INTERNAL`, `QUERY_TOO_COMPLEX`) | `extensions.code` |
 * | `Crm<Type>` (generated) | an error member of a mutation result, via `unwrap()`: `CrmValidationError` (`issues`), `CrmNotFoundError`, `CrmConflictError`, `CrmVersionConflictError` (`currentVersion`), `CrmInsufficientPointsError` (`balance`), `CrmForbiddenError` (a `CrmAuthError`), … | the server's code |
 * | {@link CrmSubscriptionError} | a subscription gave up reconnecting, or its connection was closed for good | `closeCode` / `closeReason` |
 */
export class CrmError extends Error {
  /** Stable machine-readable code, e.g. `UNAUTHENTICATED`, `NETWORK_ERROR`, `VALIDATION_FAILED`. */
  declare readonly code: string;
  /** HTTP status, when a response was received. */
  declare readonly status?: number;
  /** The request id (`x-request-id`, as the server echoed or assigned it): quote it when reporting a problem. */
  declare readonly requestId?: string;
  /** The input path the error concerns, e.g. `["input", "email"]` (result-union errors only). */
  declare readonly path?: readonly string[];
  /** The endpoint the request went to. */
  declare readonly url?: string;
  /**
   * The WebSocket close code when a subscription's connection was closed (e.g. 4403 Forbidden,
   * 4500 InternalServerError, 1006 abnormal closure); never in `status`, which is HTTP only.
   */
  declare readonly closeCode?: number;
  /** The close code's name in graphql-ws's `CloseCode` (e.g. `Forbidden`), else the server's close reason. */
  declare readonly closeReason?: string;
  // Fields are `declare`d and set from the options in one place (subclasses only declare theirs):
  // the storefront bundle stays small and every subclass carries exactly what it was given.
  constructor(message: string, { cause, ...fields }: CrmErrorOptions) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
    Object.assign(this, fields);
  }
}

/**
 * The server could not be reached (`NETWORK_ERROR`, with `causeCode` such as `ECONNREFUSED`), an
 * attempt or the whole call timed out (`TIMEOUT`, `DEADLINE_EXCEEDED`), the service is unavailable
 * (`SERVICE_UNAVAILABLE`, HTTP 503, with `retryAfterMs`), or the response was unreadable (`BAD_RESPONSE`).
 */
export class CrmNetworkError extends CrmError {
  /** The system error code of the cause, e.g. `ECONNREFUSED`, `ENOTFOUND`, `ECONNRESET` (Node; browsers give none). */
  declare readonly causeCode?: string;
  /** From the `Retry-After` header of a 503, when the server sent one. */
  declare readonly retryAfterMs?: number;
}

/** Missing, unknown or revoked key (HTTP 401), or a key / customer token not allowed to do this (403 or a `ForbiddenError` result). */
export class CrmAuthError extends CrmError {}

/** Too many requests (HTTP 429) and no retries left; `retryAfterMs` tells when to try again. */
export class CrmRateLimitError extends CrmError {
  /** From the `Retry-After` header, when the server sent one. */
  declare readonly retryAfterMs?: number;
}

/** One GraphQL error as the server returned it. */
export type GraphQLErrorEntry = { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> };

/** The server rejected the operation with GraphQL errors (not an expected, typed result). */
export class CrmGraphQLError extends CrmError {
  /** Every error of the response. */
  declare readonly errors: readonly GraphQLErrorEntry[];
}

/**
 * A subscription ended: the server closed the connection for good (`closeCode`, named by
 * graphql-ws's `CloseCode` in `closeReason`), or the connection could not be re-established after
 * `maxReconnects` attempts (`code: 'RECONNECT_FAILED'`, the last failure in `cause`).
 */
export class CrmSubscriptionError extends CrmError {
  /** Failed connection attempts in a row before giving up (`RECONNECT_FAILED`). */
  declare readonly attempts?: number;
  /** The system error code when the socket could not connect (e.g. `ECONNREFUSED`). */
  declare readonly causeCode?: string;
}
