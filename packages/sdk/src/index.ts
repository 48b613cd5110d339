/**
 * @crm/sdk: a typed client for the headless CRM GraphQL API (browsers and Node 20+).
 *
 * @example
 * import { createCrmClient, unwrap, paginate } from '@crm/sdk';
 * const crm = createCrmClient({ url: 'https://crm.example.com/graphql', apiKey: process.env.CRM_SECRET_KEY! });
 */
export {
  type CrmBatchOptions,
  type CrmClient,
  type CrmClientBaseOptions,
  type CrmClientOptions,
  type CrmCredentials,
  type CrmDocument,
  createCrmClient,
  type RequestArgs,
} from './client.js';
export {
  CrmAuthError,
  CrmError,
  type CrmErrorOptions,
  CrmGraphQLError,
  CrmNetworkError,
  CrmRateLimitError,
  CrmSubscriptionError,
  type GraphQLErrorEntry,
} from './errors.js';
// One class per `Error` implementation of the schema (generated), e.g. CrmValidationError.
export * from './generated/errors.js';
// Typed documents (for `crm.request`), fragment, operation, input and enum types.
export * from './generated/graphql.js';
export { idempotentInputTypes } from './generated/idempotency.js';
export { type Connection, type PagePromise, type PaginateOptions, paginate } from './paginate.js';
export {
  type Failure,
  isResultError,
  type ResultError,
  type ResultErrorFields,
  type ResultErrorTypename,
  type Success,
  toCrmError,
  unwrap,
  type ValidationIssue,
} from './results.js';
export type { SegmentExportOptions } from './segment-export.js';
export type { CrmSubscriptionOptions, SubscribeOptions, SubscriptionState } from './subscriptions.js';
export { type CrmLogger, type CrmRequestOptions, newIdempotencyKey, requestIdOf } from './transport.js';
export {
  CrmWebhookSignatureError,
  type VerifiedWebhook,
  type VerifyWebhookOptions,
  verifyWebhookSignature,
  type WebhookSignatureFailure,
} from './webhooks.js';
