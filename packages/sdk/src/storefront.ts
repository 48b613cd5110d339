/**
 * `@crm/sdk/storefront`: the small client for web pages, with a publishable key (`pk_live_…`):
 * lead capture, tracked interactions and the signed-in customer's own profile. `fetch` only: no
 * WebSocket client, no admin documents (under 3 KB gzip; `pnpm --filter @crm/sdk build` prints
 * the size and fails above the budget).
 *
 * @example
 * import { createStorefrontClient, unwrap, CrmValidationError } from '@crm/sdk/storefront';
 * const crm = createStorefrontClient({ url: 'https://crm.example.com/graphql', apiKey: 'pk_live_…' });
 * unwrap(await crm.leads.capture({ email, consents: [{ channel: 'EMAIL', granted: true }] }));
 */
import { CrmError } from './errors.js';
import {
  CrmConflictError,
  CrmForbiddenError,
  CrmIdempotencyConflictError,
  CrmNotFoundError,
  CrmValidationError,
} from './generated/errors.js';
import {
  type CaptureLeadInput,
  MeDocument,
  type MeQuery,
  StorefrontCaptureLeadDocument,
  type StorefrontCaptureLeadMutation,
  StorefrontTrackInteractionDocument,
  type StorefrontTrackInteractionMutation,
  type TrackInteractionInput,
  UpdateMyProfileDocument,
  type UpdateMyProfileInput,
  type UpdateMyProfileMutation,
} from './generated/graphql.js';
import { unwrapWith } from './results.js';
import { type CrmLogger, type CrmRequestOptions, createTransport, type OperationInfo } from './transport.js';

export { CrmAuthError, CrmError, type CrmErrorOptions, CrmGraphQLError, CrmNetworkError, CrmRateLimitError } from './errors.js';
export type {
  CaptureLeadInput,
  MeQuery,
  MyProfileFieldsFragment,
  StorefrontCaptureLeadMutation,
  StorefrontTrackInteractionMutation,
  TrackInteractionInput,
  UpdateMyProfileInput,
  UpdateMyProfileMutation,
} from './generated/graphql.js';
export {
  type Failure,
  isResultError,
  type ResultErrorFields,
  type ResultErrorTypename,
  type Success,
  type ValidationIssue,
} from './results.js';
// The error members the storefront's operations can return (captureLead, trackInteraction,
// updateMyProfile); the admin client's others (points, merges, money) are not shipped to pages.
export { CrmConflictError, CrmForbiddenError, CrmIdempotencyConflictError, CrmNotFoundError, CrmValidationError };

/**
 * Returns the success member of a result union, or throws its error member as its class
 * ({@link CrmValidationError} with `issues`, {@link CrmNotFoundError}, {@link CrmForbiddenError},
 * {@link CrmConflictError}, {@link CrmIdempotencyConflictError}), carrying the request id.
 */
export const unwrap = unwrapWith({
  ConflictError: CrmConflictError,
  ForbiddenError: CrmForbiddenError,
  IdempotencyConflictError: CrmIdempotencyConflictError,
  NotFoundError: CrmNotFoundError,
  ValidationError: CrmValidationError,
});
export type { CrmLogger, CrmRequestOptions } from './transport.js';

/** Options of {@link createStorefrontClient}. */
export type StorefrontClientOptions = {
  /** The GraphQL endpoint, e.g. `https://crm.example.com/graphql`. */
  url: string;
  /** The shop's publishable key (`pk_live_…`). A secret key (`sk_…`) is refused: it must never reach a browser. */
  apiKey: string;
  /**
   * The signed-in customer's token (for `me`), issued by your backend with `crm.tokens.createCustomerToken`.
   * @default undefined
   */
  customerToken?: string;
  /**
   * Extra headers on every request.
   * @default {}
   */
  headers?: Record<string, string>;
  /**
   * The fetch implementation.
   * @default globalThis.fetch
   */
  fetch?: typeof fetch;
  /**
   * Retries of network errors, timeouts, 429 and 503 (every storefront mutation is idempotent:
   * the SDK sets an `idempotencyKey` before the first attempt).
   * @default 2
   */
  retries?: number;
  /**
   * Per-attempt timeout in milliseconds.
   * @default 5000
   */
  timeoutMs?: number;
  /**
   * Total time for a call (all attempts and waits) in milliseconds.
   * @default 10000
   */
  deadlineMs?: number;
  /**
   * Base of the exponential backoff between retries (full jitter); a `Retry-After` header replaces it.
   * @default 300
   */
  retryDelayMs?: number;
  /**
   * Receives diagnostics (`console` fits); never given keys, tokens or variables.
   * @default undefined (silent)
   */
  logger?: CrmLogger;
};

/** The client {@link createStorefrontClient} returns: the storefront subset of `CrmClient`, same method names. */
export interface StorefrontClient {
  /** Lead capture from storefront forms. */
  readonly leads: {
    /**
     * Creates or updates a PROSPECT from a form (consents, interests, source). Idempotent, retried safely.
     * A referral link's code goes in `input.referralCode`, e.g.
     * `referralCode: new URLSearchParams(location.search).get('ref')` (docs/customers.md "Referral codes").
     * Resolves to the result union: pass it to {@link unwrap}.
     */
    capture(input: CaptureLeadInput, options?: CrmRequestOptions): Promise<StorefrontCaptureLeadMutation['captureLead']>;
  };
  /** Storefront-reported touchpoints. */
  readonly interactions: {
    /** Records an interaction (the customer from the customer token, or by email/phone). Idempotent, retried safely. */
    track(input: TrackInteractionInput, options?: CrmRequestOptions): Promise<StorefrontTrackInteractionMutation['trackInteraction']>;
  };
  /** The signed-in customer's own profile (needs `customerToken`). */
  readonly me: {
    /** The customer named by the token; `null` without a valid token. */
    get(options?: CrmRequestOptions): Promise<MeQuery['me']>;
    /** Updates the own profile (preferred channel, consents with source "self-service", …). */
    update(input: UpdateMyProfileInput, options?: CrmRequestOptions): Promise<UpdateMyProfileMutation['updateMyProfile']>;
  };
}

const storedVisitorId = () => {
  try {
    return localStorage.getItem('crm_vid');
  } catch {}
};

/** Creates the storefront client (publishable key; browsers, workers, Node 20+). */
export function createStorefrontClient(options: StorefrontClientOptions): StorefrontClient {
  if (/^sk_/.test(options.apiKey)) throw new CrmError('Secret key in a storefront: use the publishable key', { code: 'CONFIGURATION' });
  const { execute } = createTransport({
    url: options.url,
    getToken: () => options.apiKey,
    headers: options.customerToken ? { ...options.headers, 'x-customer-token': options.customerToken } : options.headers,
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    retries: options.retries ?? 2,
    timeoutMs: options.timeoutMs ?? 5_000,
    deadlineMs: options.deadlineMs ?? 10_000,
    retryDelayMs: options.retryDelayMs ?? 300,
    maxRetryDelayMs: 30_000,
    logger: options.logger,
  });
  // Generated documents carry their OperationInfo (kind, name, idempotent variables) in __meta__.
  const run = <R, T>(
    doc: { toString(): string; __meta__?: unknown },
    variables: Record<string, unknown>,
    opts: CrmRequestOptions | undefined,
    pick: (r: R) => T,
  ) => execute<R>(doc.toString(), variables, opts ?? {}, doc.__meta__ as OperationInfo).then(pick);
  return {
    leads: {
      // The visitor id @crm/sdk/track keeps: the visitor's behaviour events become the lead's.
      capture: (input, opts) =>
        run(
          StorefrontCaptureLeadDocument,
          { input: { visitorId: storedVisitorId(), ...input } },
          opts,
          (r: StorefrontCaptureLeadMutation) => r.captureLead,
        ),
    },
    interactions: {
      track: (input, opts) =>
        run(StorefrontTrackInteractionDocument, { input }, opts, (r: StorefrontTrackInteractionMutation) => r.trackInteraction),
    },
    me: {
      get: (opts) => run(MeDocument, {}, opts, (r: MeQuery) => r.me),
      update: (input, opts) => run(UpdateMyProfileDocument, { input }, opts, (r: UpdateMyProfileMutation) => r.updateMyProfile),
    },
  };
}
