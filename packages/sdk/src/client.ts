import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
import { CrmAuthError, CrmError } from './errors.js';
import {
  AdjustPointsDocument,
  type AdjustPointsInput,
  type AdjustPointsMutation,
  AgendaDocument,
  type AgendaQuery,
  type AgendaQueryVariables,
  ArchiveCustomerDocument,
  type ArchiveCustomerMutation,
  AssignLeadDocument,
  type AssignLeadMutation,
  AuditLogDocument,
  type AuditLogFilter,
  type AuditLogQuery,
  type AuditLogQueryVariables,
  AuthorizationSettingsDocument,
  type AuthorizationSettingsQuery,
  AutoAssignLeadsDocument,
  type AutoAssignLeadsMutation,
  type BehaviourEventInput,
  CancelFollowUpDocument,
  type CancelFollowUpMutation,
  CaptureLeadDocument,
  type CaptureLeadInput,
  type CaptureLeadMutation,
  ChurnRiskRaisedDocument,
  type ChurnRiskRaisedSubscription,
  ClaimLeadDocument,
  type ClaimLeadMutation,
  CompleteFollowUpDocument,
  type CompleteFollowUpInput,
  type CompleteFollowUpMutation,
  ConfirmConsentDocument,
  type ConfirmConsentMutation,
  CreateApiKeyDocument,
  type CreateApiKeyInput,
  type CreateApiKeyMutation,
  CreateCustomerDocument,
  type CreateCustomerInput,
  type CreateCustomerMutation,
  CreateCustomerTokenDocument,
  type CreateCustomerTokenInput,
  type CreateCustomerTokenMutation,
  CreateFollowUpDocument,
  type CreateFollowUpInput,
  type CreateFollowUpMutation,
  CreateHolidayDocument,
  type CreateHolidayInput,
  type CreateHolidayMutation,
  CreateSegmentDocument,
  type CreateSegmentInput,
  type CreateSegmentMutation,
  CreateStaffUserDocument,
  type CreateStaffUserInput,
  type CreateStaffUserMutation,
  CreateWebhookEndpointDocument,
  type CreateWebhookEndpointInput,
  type CreateWebhookEndpointMutation,
  CustomerContactBudgetDocument,
  type CustomerContactBudgetQuery,
  CustomerDataExportDocument,
  CustomerFollowUpsDocument,
  type CustomerFollowUpsQuery,
  type CustomerFollowUpsQueryVariables,
  CustomerLoyaltyDocument,
  type CustomerLoyaltyQuery,
  CustomerPointsDocument,
  type CustomerPointsQuery,
  type CustomerPointsQueryVariables,
  CustomerSatisfactionDocument,
  type CustomerSatisfactionQuery,
  CustomerTimelineDocument,
  type CustomerTimelineQuery,
  type CustomerTimelineQueryVariables,
  CustomerUpdatedDocument,
  type CustomerUpdatedSubscription,
  DeleteCustomerDocument,
  type DeleteCustomerMutation,
  DeleteHolidayDocument,
  type DeleteHolidayMutation,
  DeleteInteractionDocument,
  type DeleteInteractionMutation,
  DeleteSegmentDocument,
  type DeleteSegmentMutation,
  DeleteWebhookEndpointDocument,
  type DeleteWebhookEndpointMutation,
  EarnPointsDocument,
  type EarnPointsInput,
  type EarnPointsMutation,
  EventsDocument,
  type EventsSubscription,
  type EventType,
  ExchangeRatesDocument,
  type ExchangeRatesQuery,
  ExpirePointsDocument,
  type ExpirePointsMutation,
  FollowUpDueDocument,
  type FollowUpDueSubscription,
  FollowUpSettingsDocument,
  type FollowUpSettingsQuery,
  GenerateRetentionFollowUpsDocument,
  type GenerateRetentionFollowUpsInput,
  type GenerateRetentionFollowUpsMutation,
  GetCustomerByDocument,
  type GetCustomerByQuery,
  type GetCustomerByQueryVariables,
  GetCustomerDocument,
  type GetCustomerQuery,
  GetFollowUpDocument,
  type GetFollowUpQuery,
  GetImportJobDocument,
  type GetImportJobQuery,
  GetOrderDocument,
  type GetOrderQuery,
  GetSegmentDocument,
  type GetSegmentQuery,
  HolidaysDocument,
  type HolidaysQuery,
  IdentifyVisitorDocument,
  type IdentifyVisitorInput,
  type IdentifyVisitorMutation,
  ImportProgressDocument,
  type ImportProgressSubscription,
  InteractionRecordedDocument,
  type InteractionRecordedSubscription,
  IssueMyReferralCodeDocument,
  type IssueMyReferralCodeMutation,
  IssueReferralCodeDocument,
  type IssueReferralCodeMutation,
  LeadCreatedDocument,
  type LeadCreatedSubscription,
  LeadLossKpisDocument,
  type LeadLossKpisQuery,
  LeadPoolDocument,
  type LeadPoolQuery,
  type LeadPoolQueryVariables,
  LifecycleSettingsDocument,
  type LifecycleSettingsQuery,
  ListApiKeysDocument,
  type ListApiKeysQuery,
  ListCustomersDocument,
  type ListCustomersQuery,
  type ListCustomersQueryVariables,
  ListInteractionsDocument,
  type ListInteractionsQuery,
  type ListInteractionsQueryVariables,
  ListOrdersDocument,
  type ListOrdersQuery,
  type ListOrdersQueryVariables,
  ListSegmentsDocument,
  type ListSegmentsQuery,
  type ListSegmentsQueryVariables,
  ListStaffUsersDocument,
  type ListStaffUsersQuery,
  ListTagsDocument,
  type ListTagsQuery,
  ListWebhookDeliveriesDocument,
  type ListWebhookDeliveriesQuery,
  type ListWebhookDeliveriesQueryVariables,
  ListWebhookEndpointsDocument,
  type ListWebhookEndpointsQuery,
  LoyaltyIndicatorDiagnosisDocument,
  type LoyaltyIndicatorDiagnosisQuery,
  LoyaltySettingsDocument,
  type LoyaltySettingsQuery,
  MarkLeadLostDocument,
  type MarkLeadLostInput,
  type MarkLeadLostMutation,
  MeDocument,
  type MeQuery,
  MergeCustomersDocument,
  type MergeCustomersInput,
  type MergeCustomersMutation,
  MyDataExportDocument,
  PreviewSegmentDocument,
  type PreviewSegmentQuery,
  type PreviewSegmentQueryVariables,
  RecomputeLoyaltyDocument,
  type RecomputeLoyaltyMutation,
  RecordInteractionDocument,
  type RecordInteractionInput,
  type RecordInteractionMutation,
  RedactShopDocument,
  type RedactShopMutation,
  RedeemPointsDocument,
  type RedeemPointsInput,
  type RedeemPointsMutation,
  RedeliverWebhookDocument,
  type RedeliverWebhookMutation,
  RefreshSegmentDocument,
  type RefreshSegmentMutation,
  ReopenLeadDocument,
  type ReopenLeadInput,
  type ReopenLeadMutation,
  ResolveFollowUpDoubtDocument,
  type ResolveFollowUpDoubtMutation,
  ReturnStaleLeadsDocument,
  type ReturnStaleLeadsMutation,
  RevokeApiKeyDocument,
  type RevokeApiKeyMutation,
  RotateWebhookSecretDocument,
  type RotateWebhookSecretMutation,
  SatisfactionIndexDocument,
  type SatisfactionIndexQuery,
  SegmentFieldsDocument,
  type SegmentFieldsQuery,
  SegmentMembersDocument,
  SegmentMembershipChangedDocument,
  type SegmentMembershipChangedSubscription,
  type SegmentMembersQuery,
  type SegmentMembersQueryVariables,
  SetBaseCurrencyDocument,
  type SetBaseCurrencyMutation,
  SetCustomerStageDocument,
  type SetCustomerStageInput,
  type SetCustomerStageMutation,
  SetExchangeRateDocument,
  type SetExchangeRateInput,
  type SetExchangeRateMutation,
  SetOrderExcludedDocument,
  type SetOrderExcludedInput,
  type SetOrderExcludedMutation,
  ShopDocument,
  ShopKpisDocument,
  type ShopKpisQuery,
  type ShopQuery,
  SkipFollowUpDocument,
  type SkipFollowUpMutation,
  StartImportDocument,
  type StartImportInput,
  type StartImportMutation,
  SuggestNextFollowUpDocument,
  type SuggestNextFollowUpQuery,
  TagCustomerDocument,
  type TagCustomerMutation,
  TierChangedDocument,
  type TierChangedSubscription,
  TrackEventsDocument,
  type TrackEventsMutation,
  TrackInteractionDocument,
  type TrackInteractionInput,
  type TrackInteractionMutation,
  UnarchiveCustomerDocument,
  type UnarchiveCustomerMutation,
  UntagCustomerDocument,
  type UntagCustomerMutation,
  UpdateAuthorizationSettingsDocument,
  type UpdateAuthorizationSettingsInput,
  type UpdateAuthorizationSettingsMutation,
  UpdateCadenceSettingsDocument,
  type UpdateCadenceSettingsInput,
  type UpdateCadenceSettingsMutation,
  UpdateCustomerDocument,
  type UpdateCustomerInput,
  type UpdateCustomerMutation,
  UpdateFollowUpDocument,
  type UpdateFollowUpInput,
  type UpdateFollowUpMutation,
  UpdateHolidayDocument,
  type UpdateHolidayInput,
  type UpdateHolidayMutation,
  UpdateInteractionDocument,
  type UpdateInteractionInput,
  type UpdateInteractionMutation,
  UpdateLeadPoolSettingsDocument,
  type UpdateLeadPoolSettingsInput,
  type UpdateLeadPoolSettingsMutation,
  UpdateLifecycleSettingsDocument,
  type UpdateLifecycleSettingsInput,
  type UpdateLifecycleSettingsMutation,
  UpdateLoyaltySettingsDocument,
  type UpdateLoyaltySettingsInput,
  type UpdateLoyaltySettingsMutation,
  UpdateMyProfileDocument,
  type UpdateMyProfileInput,
  type UpdateMyProfileMutation,
  UpdateSegmentDocument,
  type UpdateSegmentInput,
  type UpdateSegmentMutation,
  UpdateStaffUserDocument,
  type UpdateStaffUserInput,
  type UpdateStaffUserMutation,
  UpdateWebhookEndpointDocument,
  type UpdateWebhookEndpointInput,
  type UpdateWebhookEndpointMutation,
  UpsertCustomerDocument,
  type UpsertCustomerInput,
  type UpsertCustomerMutation,
  UpsertCustomersDocument,
  type UpsertCustomersItemInput,
  type UpsertCustomersMutation,
  UpsertOrderDocument,
  type UpsertOrderInput,
  type UpsertOrderMutation,
  UpsertOrdersDocument,
  type UpsertOrdersMutation,
  ViewerDocument,
  type ViewerQuery,
  WeakestIndicatorsDocument,
  type WeakestIndicatorsQuery,
} from './generated/graphql.js';
import { operationInfo } from './operation-info.js';
import { listPages, type PagePromise, paginate } from './paginate.js';
import { exportSegment, type SegmentExportOptions } from './segment-export.js';
import { type CrmSubscriptionOptions, createSubscriber, type SubscribeOptions } from './subscriptions.js';
import { type CrmLogger, type CrmRequestOptions, createTransport } from './transport.js';

/** How the client authenticates: a fixed key, or a function returning one per request. */
export type CrmCredentials =
  | {
      /** A publishable (`pk_live_…`, browser) or secret (`sk_live_…`, server) key, sent as `Authorization: Bearer`. */
      apiKey: string;
      getToken?: never;
    }
  | {
      apiKey?: never;
      /** Returns the key to send, called before every attempt (e.g. to read it from a vault or rotate it). */
      getToken: () => string | Promise<string>;
    };

/** Options of {@link createCrmClient} (besides `apiKey` or `getToken`). */
export type CrmClientBaseOptions = {
  /** The GraphQL endpoint, e.g. `https://crm.example.com/graphql`. */
  url: string;
  /**
   * Customer token for the storefront's "my profile" area (`crm.me`), sent as `x-customer-token`
   * with a publishable key. Your backend issues it with `crm.tokens.createCustomerToken`.
   * @default undefined
   */
  customerToken?: string;
  /**
   * Acting staff user id (secret keys only), sent as `x-crm-staff-id`; stage changes and other
   * records then name that person.
   * @default undefined
   */
  staffId?: string;
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
   * How many times to retry a failed call. Retried: network errors, timeouts, HTTP 429 and 503,
   * for queries and for mutations whose input takes an `idempotencyKey` (the SDK sets one before
   * the first attempt and sends the same on every retry). Other mutations are never retried.
   * @default 2
   */
  retries?: number;
  /**
   * Per-attempt timeout in milliseconds; a timeout is a {@link CrmNetworkError} with code `TIMEOUT`
   * (retried like a network error while the deadline allows).
   * @default 5000
   */
  timeoutMs?: number;
  /**
   * Total time for a call in milliseconds: every attempt and every wait between them. When it
   * passes, the call fails with a {@link CrmNetworkError} (code `DEADLINE_EXCEEDED`, or the last
   * attempt's error when a retry wait would not fit). Fit for a checkout form; raise it for batch jobs.
   * @default 10000
   */
  deadlineMs?: number;
  /**
   * Base of the exponential backoff (full jitter: a random delay up to `retryDelayMs * 2^attempt`,
   * at most `maxRetryDelayMs`). A `Retry-After` header replaces it.
   * @default 300
   */
  retryDelayMs?: number;
  /**
   * Longest wait before a retry; a `Retry-After` longer than this is not waited for (the error is thrown).
   * @default 30000
   */
  maxRetryDelayMs?: number;
  /**
   * Receives diagnostics (attempts at `debug`, retries at `warn`); `console` fits. Never given keys,
   * tokens or variables.
   * @default undefined (silent)
   */
  logger?: CrmLogger;
  /**
   * Turns a `DocumentNode` without source text (e.g. a TypedDocumentNode built by codegen in AST
   * mode) into a query string; pass `print` from `graphql`. Strings, TypedDocumentStrings and
   * documents parsed from source (`gql`, `parse`) need nothing.
   * @default undefined
   */
  print?: (document: never) => string;
};

/** Options of {@link createCrmClient}. */
export type CrmClientOptions = CrmClientBaseOptions & CrmCredentials & CrmSubscriptionOptions;

/** `[variables?, options?]` when every variable is optional, else `[variables, options?]`. */
export type RequestArgs<V> = {} extends V ? [variables?: V, options?: CrmRequestOptions] : [variables: V, options?: CrmRequestOptions];

/** A GraphQL document `request` accepts: a string, a TypedDocumentString or a (Typed)DocumentNode. */
export type CrmDocument<R = unknown, V = Record<string, unknown>> =
  | string
  | (DocumentTypeDecoration<R, V> & (string | String | { kind: 'Document'; loc?: { source: { body: string } } }));

function documentText(document: unknown, print?: (d: never) => string): string {
  if (typeof document === 'string') return document;
  if (document instanceof String) return document.toString();
  const d = document as { kind?: string; loc?: { source?: { body?: string } } };
  if (d && d.kind === 'Document') {
    if (print) return print(document as never);
    if (d.loc?.source?.body) return d.loc.source.body;
  }
  throw new CrmError('Cannot send this document: pass a string, a TypedDocumentString, or set options.print (graphql print)', {
    code: 'CONFIGURATION',
  });
}

type SegmentMembers = NonNullable<SegmentMembersQuery['segment']>['members'];
/** Options of a batch call (`upsertMany`): the request options and the batch's idempotency key (set when missing). */
export type CrmBatchOptions = CrmRequestOptions & { idempotencyKey?: string };

/** An input whose `idempotencyKey` the SDK sets when missing (so its retries are safe). */
export type Keyed<T extends { idempotencyKey: string }> = Omit<T, 'idempotencyKey'> & { idempotencyKey?: string };

/**
 * The client {@link createCrmClient} returns: frozen, safe to share, grouped by domain. Query
 * methods resolve to the data (`null` when not found) and throw a {@link CrmError} subclass on
 * failure; mutation methods resolve to the result union (switch on `__typename`, or `unwrap()` it);
 * list methods return a {@link PagePromise} (the first page, and an async iterable over every node).
 */
export interface CrmClient {
  /**
   * Runs any query or mutation: a generated document (typed result and variables), a
   * TypedDocumentNode, or a string. Throws a {@link CrmError} subclass on failure; retried as
   * described for `retries`.
   *
   * @example
   * const { customer } = await crm.request(GetCustomerDocument, { id });
   * const data = await crm.request<{ shop: { name: string } }>('{ shop { name } }');
   */
  request<R, V>(document: DocumentTypeDecoration<R, V> & object, ...args: RequestArgs<V>): Promise<R>;
  /** Runs a query or mutation given as text; `R` is the data type you expect. */
  request<R = unknown, V extends Record<string, unknown> = Record<string, unknown>>(
    document: string,
    variables?: V,
    options?: CrmRequestOptions,
  ): Promise<R>;
  /** Customers: lookups, lists, the timeline and every customer mutation. */
  readonly customers: CrmCustomersApi;
  /** The shop's tags. */
  readonly tags: CrmTagsApi;
  /** The signed-in customer's own profile (publishable key + `customerToken`). */
  readonly me: CrmMeApi;
  /** API keys (`keys:manage`). */
  readonly keys: CrmKeysApi;
  /** Staff users (sales reps, agents). */
  readonly staff: CrmStaffApi;
  /** Customer tokens for the storefront's "my profile" area (secret key). */
  readonly tokens: CrmTokensApi;
  /** The caller's shop and key. */
  readonly shop: CrmShopApi;
  /** Touchpoints with customers (record/update/delete with a secret key; track from a storefront). */
  readonly interactions: CrmInteractionsApi;
  /** Storefront lead capture (publishable key) and the lead pool: pool, claim, assign, autoAssign, returnStale (secret key). */
  readonly leads: CrmLeadsApi;
  /** Storefront behaviour events (page and product views, searches, carts, checkouts). */
  readonly behaviour: CrmBehaviourApi;
  /** Follow-ups, the agenda, the cadence engine's suggestions, retention follow-ups and their settings. */
  readonly followUps: CrmFollowUpsApi;
  /** Orders synced from commerce platforms. */
  readonly orders: CrmOrdersApi;
  /** The shop's base currency and exchange rates (docs/money.md). */
  readonly money: CrmMoneyApi;
  /** The audit log: who changed what, when, through which mutation (docs/audit.md). */
  readonly audit: CrmAuditApi;
  /** Webhook endpoints and their delivery log (`webhooks:manage`). */
  readonly webhooks: CrmWebhooksApi;
  /** Real-time events over graphql-ws as async iterables, with reconnect and resume. */
  readonly subscriptions: CrmSubscriptionsApi;
  /** Saved segments (rules over live data): preview, members, refresh, export, membership events. */
  readonly segments: CrmSegmentsApi;
  /** Loyalty scores, churn warnings, shop KPIs, points and tiers. */
  readonly loyalty: CrmLoyaltyApi;
  /** Bulk imports of uploaded files (POST /imports; docs/import.md): start, progress, rejected rows. */
  readonly imports: CrmImportsApi;
  /** Closes the subscription connection (HTTP calls need no closing). */
  close(): Promise<void>;
}

/** Bulk imports of uploaded files (POST /imports; docs/import.md). */
export interface CrmImportsApi {
  /** Runs an uploaded file (the `id` POST /imports answered) in the background, optionally as a dry run. */
  start(input: StartImportInput, opts?: CrmRequestOptions): Promise<StartImportMutation['startImport']>;
  /** An import with its progress and first rejected rows; `null` when not in this shop. */
  get(id: string, options?: { rejections?: number } & CrmRequestOptions): Promise<GetImportJobQuery['importJob']>;
  /** The import's progress until it is COMPLETED or FAILED. */
  progress(id: string, opts?: SubscribeOptions): AsyncIterable<ImportProgressSubscription['importProgress']>;
}

/** Customers: lookups, lists, the timeline and every customer mutation. */
export interface CrmCustomersApi {
  /** A customer by id (a merged duplicate's id resolves to the survivor); `null` when not in this shop. */
  get(id: string, opts?: CrmRequestOptions): Promise<GetCustomerQuery['customer']>;
  /** Everything held about the customer as one JSON document (data access request; records CUSTOMER_DATA_REQUESTED; streamed: GET /customers/{id}/export). */
  dataExport(id: string, opts?: CrmRequestOptions): Promise<Record<string, unknown>>;
  /** A customer by exactly one of `email`, `phone` (international format) or `externalId`; secondary emails/phones match too. */
  getBy(by: GetCustomerByQueryVariables, opts?: CrmRequestOptions): Promise<GetCustomerByQuery['customerBy']>;
  /** A page of customers (Relay connection, at most 100 per page); use with {@link paginate} for all. */
  list(variables?: ListCustomersQueryVariables, opts?: CrmRequestOptions): PagePromise<ListCustomersQuery['customers']>;
  /** A page of the customer's timeline (interactions, orders, stage and consent changes, newest first); `null` when not in this shop. */
  timeline(
    id: string,
    variables?: Omit<CustomerTimelineQueryVariables, 'id'>,
    opts?: CrmRequestOptions,
  ): PagePromise<NonNullable<CustomerTimelineQuery['customer']>['timeline'] | null>;
  /** Creates a customer (emails lower-cased, phones to E.164); a taken email/phone/externalId is a `ConflictError`. */
  create(input: CreateCustomerInput, opts?: CrmRequestOptions): Promise<CreateCustomerMutation['createCustomer']>;
  /** Changes the given fields (`null` clears); pass `version` to get a `VersionConflictError` instead of overwriting. */
  update(input: UpdateCustomerInput, opts?: CrmRequestOptions): Promise<UpdateCustomerMutation['updateCustomer']>;
  /** Creates or updates the customer matched by externalId, then email, then phone (`created` tells which). */
  upsert(input: UpsertCustomerInput, opts?: CrmRequestOptions): Promise<UpsertCustomerMutation['upsertCustomer']>;
  /**
   * `upsert` for up to 500 customers in one request (syncs): `results` per item in input order, each
   * the customer (`created` or updated) or that item's typed error (which wrote nothing). More than
   * 500 is a `ValidationError`. Retried safely: the batch's `idempotencyKey` (set when missing) makes
   * a retry return the stored results (`replayed`).
   */
  upsertMany(items: UpsertCustomersItemInput[], opts?: CrmBatchOptions): Promise<UpsertCustomersMutation['upsertCustomers']>;
  /** Merges `duplicateId` into `survivorId`; the duplicate stays as a MERGED tombstone. */
  merge(input: MergeCustomersInput, opts?: CrmRequestOptions): Promise<MergeCustomersMutation['mergeCustomers']>;
  /** Moves the customer to a lifecycle stage by hand (recorded with `reason`). */
  setStage(input: SetCustomerStageInput, opts?: CrmRequestOptions): Promise<SetCustomerStageMutation['setCustomerStage']>;
  /**
   * The customer's referral code (issued on the first call, the same after): links are your storefront URL with `?ref=CODE`;
   * a storefront `captureLead` carrying it credits this customer as the referrer.
   */
  issueReferralCode(id: string, opts?: CrmRequestOptions): Promise<IssueReferralCodeMutation['issueReferralCode']>;
  /** Adds tags by name (created when new). */
  tag(id: string, tags: string[], opts?: CrmRequestOptions): Promise<TagCustomerMutation['tagCustomer']>;
  /** Removes tags by name. */
  untag(id: string, tags: string[], opts?: CrmRequestOptions): Promise<UntagCustomerMutation['untagCustomer']>;
  /** Hides the customer from default lists. */
  archive(id: string, opts?: CrmRequestOptions): Promise<ArchiveCustomerMutation['archiveCustomer']>;
  /** Returns an archived customer to default lists. */
  unarchive(id: string, opts?: CrmRequestOptions): Promise<UnarchiveCustomerMutation['unarchiveCustomer']>;
  /** Erases the customer and everything attached (right to erasure). Irreversible. */
  delete(id: string, opts?: CrmRequestOptions): Promise<DeleteCustomerMutation['deleteCustomer']>;
}

/** The shop's tags. */
export interface CrmTagsApi {
  /** All tags of the shop, by name. */
  list(opts?: CrmRequestOptions): Promise<ListTagsQuery['tags']>;
}

/** The signed-in customer's own profile (publishable key + `customerToken`). */
export interface CrmMeApi {
  /** The customer named by `customerToken` (publishable key); `null` without a valid token. */
  get(opts?: CrmRequestOptions): Promise<MeQuery['me']>;
  /** Double opt-in: confirms the consent the token (from the CONSENT_CONFIRMATION_REQUESTED link) was issued for. */
  confirmConsent(token: string, opts?: CrmRequestOptions): Promise<ConfirmConsentMutation['confirmConsent']>;
  /** Everything the shop holds about the signed-in customer, as one JSON document (records CUSTOMER_DATA_REQUESTED). */
  dataExport(opts?: CrmRequestOptions): Promise<Record<string, unknown>>;
  /** Updates the own profile (preferred channel, consents with source "self-service", …). */
  update(input: UpdateMyProfileInput, opts?: CrmRequestOptions): Promise<UpdateMyProfileMutation['updateMyProfile']>;
  /** The signed-in customer's referral code (issued on the first call, the same after), for links like `https://shop.example/?ref=CODE`. */
  referralCode(opts?: CrmRequestOptions): Promise<IssueMyReferralCodeMutation['issueMyReferralCode']>;
}

/** API keys (`keys:manage`). */
export interface CrmKeysApi {
  /** The shop's API keys (never the keys themselves), newest first. Needs `keys:manage`. */
  list(opts?: CrmRequestOptions): Promise<ListApiKeysQuery['apiKeys']>;
  /** Creates a key; the result's `key` is shown only now. */
  create(input: CreateApiKeyInput, opts?: CrmRequestOptions): Promise<CreateApiKeyMutation['createApiKey']>;
  /** Revokes a key at once (a key cannot revoke itself). */
  revoke(id: string, opts?: CrmRequestOptions): Promise<RevokeApiKeyMutation['revokeApiKey']>;
}

/** Staff users (sales reps, agents). */
export interface CrmStaffApi {
  /** Staff users (sales reps, agents); inactive ones with `includeInactive`. */
  list(variables?: { includeInactive?: boolean }, opts?: CrmRequestOptions): Promise<ListStaffUsersQuery['staffUsers']>;
  /** Creates a staff user (role default AGENT). */
  create(input: CreateStaffUserInput, opts?: CrmRequestOptions): Promise<CreateStaffUserMutation['createStaffUser']>;
  /** Changes name, role or active; a shop always keeps one active owner. */
  update(input: UpdateStaffUserInput, opts?: CrmRequestOptions): Promise<UpdateStaffUserMutation['updateStaffUser']>;
  /** What the shop lets agents do beyond their everyday work (managing staff, keys, webhooks, deleting customers). */
  authorizationSettings(opts?: CrmRequestOptions): Promise<AuthorizationSettingsQuery['authorizationSettings']>;
  /** Replaces the grants to agents (owners only). */
  updateAuthorizationSettings(
    input: UpdateAuthorizationSettingsInput,
    opts?: CrmRequestOptions,
  ): Promise<UpdateAuthorizationSettingsMutation['updateAuthorizationSettings']>;
}

/** Customer tokens for the storefront's "my profile" area (secret key). */
export interface CrmTokensApi {
  /** Issues a short-lived customer token for the storefront's "my profile" area (secret key only). */
  createCustomerToken(
    input: CreateCustomerTokenInput,
    opts?: CrmRequestOptions,
  ): Promise<CreateCustomerTokenMutation['createCustomerToken']>;
}

/** The caller's shop and key. */
export interface CrmShopApi {
  /** The caller's shop. */
  get(opts?: CrmRequestOptions): Promise<ShopQuery['shop']>;
  /** The calling key: kind, scopes, acting staff user or customer; `null` without credentials. */
  viewer(opts?: CrmRequestOptions): Promise<ViewerQuery['viewer']>;
  /**
   * Erases the caller's shop and everything in it (irreversible): secret key with keys:write and the
   * `staffId` of an OWNER; `confirmSlug` is the shop's slug typed again.
   */
  redact(confirmSlug: string, opts?: CrmRequestOptions): Promise<RedactShopMutation['redactShop']>;
}

/** Touchpoints with customers (record/update/delete with a secret key; track from a storefront). */
export interface CrmInteractionsApi {
  /** A page of the shop's interactions, newest first. */
  list(variables?: ListInteractionsQueryVariables, opts?: CrmRequestOptions): PagePromise<ListInteractionsQuery['interactions']>;
  /** Records a touchpoint. Idempotent: the SDK sets `idempotencyKey` when missing, so it is retried safely. */
  record(input: RecordInteractionInput, opts?: CrmRequestOptions): Promise<RecordInteractionMutation['recordInteraction']>;
  /** Changes the given fields (`null` clears the optional ones). */
  update(input: UpdateInteractionInput, opts?: CrmRequestOptions): Promise<UpdateInteractionMutation['updateInteraction']>;
  /** Soft-deletes an interaction. */
  delete(id: string, opts?: CrmRequestOptions): Promise<DeleteInteractionMutation['deleteInteraction']>;
  /** A storefront-reported interaction (publishable key; the customer from the token or email/phone). Idempotent, retried safely. */
  track(input: TrackInteractionInput, opts?: CrmRequestOptions): Promise<TrackInteractionMutation['trackInteraction']>;
}

/** Storefront behaviour events (docs/behaviour.md); in browsers prefer `@crm/sdk/track` (visitor id, batching, sendBeacon). */
export interface CrmBehaviourApi {
  /** Records up to 100 events in one call (publishable key, or a secret key with contacts:write); all or none are written. */
  track(events: BehaviourEventInput[], opts?: CrmRequestOptions): Promise<TrackEventsMutation['trackEvents']>;
  /** A backend names who a visitor is (by `customerId` or `email`): the visitor's earlier and later events become the customer's. */
  identify(input: IdentifyVisitorInput, opts?: CrmRequestOptions): Promise<IdentifyVisitorMutation['identifyVisitor']>;
}

/** Storefront lead capture (publishable key) and the lead pool: pool, claim, assign, autoAssign, returnStale (secret key). */
export interface CrmLeadsApi {
  /** Lead capture from a storefront form (publishable key): creates or updates a PROSPECT. Idempotent, retried safely. */
  capture(input: CaptureLeadInput, opts?: CrmRequestOptions): Promise<CaptureLeadMutation['captureLead']>;
  /** A page of the lead pool: SUSPECT / PROSPECT leads without an owner, newest first. */
  pool(variables?: LeadPoolQueryVariables, opts?: CrmRequestOptions): PagePromise<LeadPoolQuery['leadPool']>;
  /** The acting staff user (client option `staffId`) takes a lead from the pool; a lead claimed by someone else is a `ConflictError`. */
  claim(customerId: string, opts?: CrmRequestOptions): Promise<ClaimLeadMutation['claimLead']>;
  /** Gives a customer to a staff user (owners / managers / system). */
  assign(customerId: string, staffId: string, options?: { reason?: string } & CrmRequestOptions): Promise<AssignLeadMutation['assignLead']>;
  /** Distributes pool leads by the shop's rule (`followUps.updateLeadPoolSettings`). */
  autoAssign(limit?: number, opts?: CrmRequestOptions): Promise<AutoAssignLeadsMutation['autoAssignLeads']>;
  /** Returns leads without follow-up activity for `returnAfterHours` to the pool. */
  returnStale(limit?: number, opts?: CrmRequestOptions): Promise<ReturnStaleLeadsMutation['returnStaleLeads']>;
}

/** Follow-ups, the agenda, the cadence engine's suggestions, retention follow-ups and their settings. */
export interface CrmFollowUpsApi {
  /** Ends a lead (SUSPECT / PROSPECT) as LOST or DISQUALIFIED with the reason; cancels its planned follow-ups (LEAD_LOST). */
  markLeadLost(input: MarkLeadLostInput, opts?: CrmRequestOptions): Promise<MarkLeadLostMutation['markLeadLost']>;
  /** Reopens a lost or disqualified lead (LEAD_REOPENED); a new capture, inbound contact or order does it by itself. */
  reopenLead(input: ReopenLeadInput, opts?: CrmRequestOptions): Promise<ReopenLeadMutation['reopenLead']>;
  /** A follow-up by id; `null` when not in this shop (or, for an agent, not theirs). */
  get(id: string, opts?: CrmRequestOptions): Promise<GetFollowUpQuery['followUp']>;
  /** A page of a customer's follow-ups (latest due first) and their open doubts; `null` when not in this shop. */
  forCustomer(
    id: string,
    variables?: Omit<CustomerFollowUpsQueryVariables, 'id'>,
    opts?: CrmRequestOptions,
  ): Promise<CustomerFollowUpsQuery['customer']>;
  /** A page of the agenda (PLANNED, by dueAt) with overdue / due today / upcoming counts; no `assigneeId` = own (agents) or whole shop (managers). */
  agenda(variables?: AgendaQueryVariables, opts?: CrmRequestOptions): Promise<AgendaQuery['agenda']>;
  /** The cadence engine's proposal for the customer's next follow-up, with reasons; `null` when not in this shop. */
  suggestNext(customerId: string, opts?: CrmRequestOptions): Promise<SuggestNextFollowUpQuery['suggestNextFollowUp']>;
  /** Plans a follow-up (dueAt / channel default to the cadence proposal; channels need consent). */
  create(input: CreateFollowUpInput, opts?: CrmRequestOptions): Promise<CreateFollowUpMutation['createFollowUp']>;
  /** Changes a PLANNED follow-up (pass `version` for optimistic concurrency). */
  update(input: UpdateFollowUpInput, opts?: CrmRequestOptions): Promise<UpdateFollowUpMutation['updateFollowUp']>;
  /** Records outcome, notes and doubts and schedules the next follow-up (or only proposes it with `scheduleNext: false`). */
  complete(input: CompleteFollowUpInput, opts?: CrmRequestOptions): Promise<CompleteFollowUpMutation['completeFollowUp']>;
  /** Cancels a PLANNED follow-up. */
  cancel(id: string, reason?: string, opts?: CrmRequestOptions): Promise<CancelFollowUpMutation['cancelFollowUp']>;
  /** Marks a PLANNED follow-up as skipped. */
  skip(id: string, reason?: string, opts?: CrmRequestOptions): Promise<SkipFollowUpMutation['skipFollowUp']>;
  /** Resolves an open doubt / objection. */
  resolveDoubt(id: string, resolution: string, opts?: CrmRequestOptions): Promise<ResolveFollowUpDoubtMutation['resolveFollowUpDoubt']>;
  /** Birthday / holiday / service-reminder follow-ups for customers in the given stages (idempotent). */
  generateRetention(
    input: GenerateRetentionFollowUpsInput,
    opts?: CrmRequestOptions,
  ): Promise<GenerateRetentionFollowUpsMutation['generateRetentionFollowUps']>;
  /** The shop's cadence and lead pool rules. */
  settings(opts?: CrmRequestOptions): Promise<FollowUpSettingsQuery['followUpSettings']>;
  /** Changes cadence rules (omitted = unchanged, null = default). */
  updateCadenceSettings(
    input: UpdateCadenceSettingsInput,
    opts?: CrmRequestOptions,
  ): Promise<UpdateCadenceSettingsMutation['updateCadenceSettings']>;
  /** Changes lead pool rules (mode, bySource, returnAfterHours). */
  updateLeadPoolSettings(
    input: UpdateLeadPoolSettingsInput,
    opts?: CrmRequestOptions,
  ): Promise<UpdateLeadPoolSettingsMutation['updateLeadPoolSettings']>;
  /** The shop's holiday calendar (the daily retention pass greets customers on these local dates). */
  holidays(opts?: CrmRequestOptions): Promise<HolidaysQuery['holidays']>;
  /** Adds a holiday (once, or `recurringYearly`). Owners / managers. */
  createHoliday(input: CreateHolidayInput, opts?: CrmRequestOptions): Promise<CreateHolidayMutation['createHoliday']>;
  /** Renames, moves or (un)repeats a holiday. Owners / managers. */
  updateHoliday(input: UpdateHolidayInput, opts?: CrmRequestOptions): Promise<UpdateHolidayMutation['updateHoliday']>;
  /** Removes a holiday from the calendar. Owners / managers. */
  deleteHoliday(id: string, opts?: CrmRequestOptions): Promise<DeleteHolidayMutation['deleteHoliday']>;
  /** A customer's contact budget (max contacts per period from the contact tolerance, used, remaining), time zone and window. */
  contactBudget(customerId: string, opts?: CrmRequestOptions): Promise<CustomerContactBudgetQuery['customer']>;
}

/** Real-time events over graphql-ws as async iterables, with reconnect and resume. */
export interface CrmSubscriptionsApi {
  /** Every event of the shop (optionally only `types`), in order; resumes with `after`. */
  events(variables?: { types?: EventType[] }, opts?: SubscribeOptions): AsyncIterable<EventsSubscription['events']>;
  /** New leads from storefront forms (LEAD_CAPTURED). */
  leadCreated(opts?: SubscribeOptions): AsyncIterable<LeadCreatedSubscription['leadCreated']>;
  /** Changes to one customer (updated, stage changed, merged, deleted). */
  customerUpdated(id: string, opts?: SubscribeOptions): AsyncIterable<CustomerUpdatedSubscription['customerUpdated']>;
  /** Recorded interactions, of one customer when given. */
  interactionRecorded(customerId?: string, opts?: SubscribeOptions): AsyncIterable<InteractionRecordedSubscription['interactionRecorded']>;
  /** FOLLOW_UP_DUE: planned follow-ups whose due date passed, of one assignee (staff user id) when given. */
  followUpDue(assigneeId?: string, opts?: SubscribeOptions): AsyncIterable<FollowUpDueSubscription['followUpDue']>;
}

/** Webhook endpoints and their delivery log (`webhooks:manage`). */
export interface CrmWebhooksApi {
  /** The shop's webhook endpoints (secrets are never listed). Needs `webhooks:manage`. */
  list(opts?: CrmRequestOptions): Promise<ListWebhookEndpointsQuery['webhookEndpoints']>;
  /** The delivery log, newest first (filter by endpoint, status, event type). */
  deliveries(
    variables?: ListWebhookDeliveriesQueryVariables,
    opts?: CrmRequestOptions,
  ): PagePromise<ListWebhookDeliveriesQuery['webhookDeliveries']>;
  /** Adds an endpoint; the result's `secret` (for verifyWebhookSignature) is returned only here and by rotateSecret. */
  create(input: CreateWebhookEndpointInput, opts?: CrmRequestOptions): Promise<CreateWebhookEndpointMutation['createWebhookEndpoint']>;
  /** Changes url, event types or active. */
  update(input: UpdateWebhookEndpointInput, opts?: CrmRequestOptions): Promise<UpdateWebhookEndpointMutation['updateWebhookEndpoint']>;
  /** Issues a new signing secret. */
  rotateSecret(id: string, opts?: CrmRequestOptions): Promise<RotateWebhookSecretMutation['rotateWebhookSecret']>;
  /** Removes an endpoint and its delivery log. */
  delete(id: string, opts?: CrmRequestOptions): Promise<DeleteWebhookEndpointMutation['deleteWebhookEndpoint']>;
  /** Sends a delivery again as soon as possible (also a FAILED one). */
  redeliver(id: string, opts?: CrmRequestOptions): Promise<RedeliverWebhookMutation['redeliverWebhook']>;
}

/** Saved segments (rules over live data): preview, members, refresh, export, membership events. */
export interface CrmSegmentsApi {
  /** A saved segment by id; `null` when not in this shop. */
  get(id: string, opts?: CrmRequestOptions): Promise<GetSegmentQuery['segment']>;
  /** A page of saved segments, by name. */
  list(variables?: ListSegmentsQueryVariables, opts?: CrmRequestOptions): PagePromise<ListSegmentsQuery['segments']>;
  /** The fields, operators and arguments of the rule language (for rule editors). */
  fields(opts?: CrmRequestOptions): Promise<SegmentFieldsQuery['segmentFields']>;
  /** Evaluates a rule now without saving it: count, canonical rule and a page of members (`endCursor` / `after`). */
  preview(variables: PreviewSegmentQueryVariables, opts?: CrmRequestOptions): Promise<PreviewSegmentQuery['previewSegment']>;
  /** Saves a segment (`rule` text or `ruleTree`); its members are materialised at once. */
  create(input: CreateSegmentInput, opts?: CrmRequestOptions): Promise<CreateSegmentMutation['createSegment']>;
  /** Renames, describes or changes the rule (pass `version` for optimistic concurrency). */
  update(input: UpdateSegmentInput, opts?: CrmRequestOptions): Promise<UpdateSegmentMutation['updateSegment']>;
  /** Deletes a saved segment and its membership. */
  delete(id: string, opts?: CrmRequestOptions): Promise<DeleteSegmentMutation['deleteSegment']>;
  /** Recomputes the membership now; the result says how many entered and left. */
  refresh(id: string, opts?: CrmRequestOptions): Promise<RefreshSegmentMutation['refreshSegment']>;
  /** A page of the segment's members (`null` when the segment is not in this shop). */
  members(id: string, variables?: Omit<SegmentMembersQueryVariables, 'id'>, opts?: CrmRequestOptions): PagePromise<SegmentMembers | null>;
  /** Every member, page by page (100 per request). */
  allMembers(id: string, opts?: CrmRequestOptions): AsyncGenerator<NonNullable<SegmentMembers>['edges'][number]['node'], void, undefined>;
  /**
   * Streams the members as CSV rows (header first) or JSONL lines from GET /segments/{id}/export;
   * works in browsers and Node, the body is read as it arrives.
   *
   * @example
   * for await (const line of crm.segments.export(id, { format: 'jsonl' })) console.log(JSON.parse(line).email);
   */
  export(id: string, exportOptions?: SegmentExportOptions): AsyncIterable<string>;
  /** SEGMENT_ENTERED / SEGMENT_LEFT events of one saved segment (payload: segmentId, customerId, segmentName). */
  membershipChanged(
    segmentId: string,
    opts?: SubscribeOptions,
  ): AsyncIterable<SegmentMembershipChangedSubscription['segmentMembershipChanged']>;
}

/** Orders synced from commerce platforms. */
export interface CrmOrdersApi {
  /** An order by id; `null` when not in this shop. */
  get(id: string, opts?: CrmRequestOptions): Promise<GetOrderQuery['order']>;
  /** A page of the shop's orders, newest (placedAt) first. */
  list(variables?: ListOrdersQueryVariables, opts?: CrmRequestOptions): PagePromise<ListOrdersQuery['orders']>;
  /** Creates or updates an order by `externalId`. Idempotent, retried safely. */
  upsert(input: UpsertOrderInput, opts?: CrmRequestOptions): Promise<UpsertOrderMutation['upsertOrder']>;
  /**
   * `upsert` for up to 500 orders in one request (syncs): `results` per item in input order, each the
   * order or that item's typed error (which wrote nothing). Items carry no idempotencyKey of their
   * own: the batch's (set when missing) makes a retry return the stored results (`replayed`).
   */
  upsertMany(items: Omit<UpsertOrderInput, 'idempotencyKey'>[], opts?: CrmBatchOptions): Promise<UpsertOrdersMutation['upsertOrders']>;
  /** Excludes an order from every metric (e.g. placed under a borrowed identity), or includes it again. */
  setExcluded(input: SetOrderExcludedInput, opts?: CrmRequestOptions): Promise<SetOrderExcludedMutation['setOrderExcluded']>;
}

/** The shop's base currency and exchange rates (docs/money.md). */
export interface CrmMoneyApi {
  /** The shop's exchange rates to its base currency (`shop.get()` has the base currency). */
  exchangeRates(opts?: CrmRequestOptions): Promise<ExchangeRatesQuery['exchangeRates']>;
  /** Sets the rate for a currency (1 unit = `rate` units of the base currency); orders waiting for one are converted. */
  setExchangeRate(input: SetExchangeRateInput, opts?: CrmRequestOptions): Promise<SetExchangeRateMutation['setExchangeRate']>;
  /** Changes the shop's base currency (only while it has no orders). */
  setBaseCurrency(currency: string, opts?: CrmRequestOptions): Promise<SetBaseCurrencyMutation['setBaseCurrency']>;
}

/** The audit log (docs/audit.md). */
export interface CrmAuditApi {
  /** A page of the audit log, newest first (owners / managers / system keys). */
  list(variables?: AuditLogQueryVariables, opts?: CrmRequestOptions): Promise<AuditLogQuery['auditLog']>;
  /** Every matching entry, page by page (100 per request), newest first. */
  all(filter?: AuditLogFilter, opts?: CrmRequestOptions): AsyncIterable<AuditLogQuery['auditLog']['edges'][number]['node']>;
}

/** Loyalty scores, churn warnings, shop KPIs, points and tiers. */
export interface CrmLoyaltyApi {
  /** A customer's loyalty score with indicators and their facts, RFM, values and churn warning; `null` when not in this shop. */
  get(customerId: string, opts?: CrmRequestOptions): Promise<CustomerLoyaltyQuery['customer']>;
  /** Shop KPIs over [from, to): repurchase, complaint and churn rates, AOV, sources, funnel, loyalty distribution. */
  kpis(from: string, to: string, opts?: CrmRequestOptions): Promise<ShopKpisQuery['shopKpis']>;
  /** Why leads were lost in [from, to): by reason, source, owner, stage reached, and per month. */
  leadLosses(from: string, to: string, opts?: CrmRequestOptions): Promise<LeadLossKpisQuery['shopKpis']['leadLosses']>;
  /** A customer's satisfaction: latest CSAT / NPS answers, trend, "very satisfied"; `satisfaction` is null before any answer. */
  satisfaction(customerId: string, opts?: CrmRequestOptions): Promise<CustomerSatisfactionQuery['customer']>;
  /** The shop satisfaction index by month (default 12, the current one included), each indicator with value, target, score and contribution. */
  satisfactionIndex(months?: number, opts?: CrmRequestOptions): Promise<SatisfactionIndexQuery['satisfactionIndex']>;
  /** The seven loyalty indicators across the shop: averages, reach, distribution, monthly facts and trend (default 6 months). */
  indicatorDiagnosis(months?: number, opts?: CrmRequestOptions): Promise<LoyaltyIndicatorDiagnosisQuery['loyaltyIndicatorDiagnosis']>;
  /** The weakest loyalty indicators (default 3) with the playbook's suggested action. */
  weakestIndicators(limit?: number, months?: number, opts?: CrmRequestOptions): Promise<WeakestIndicatorsQuery['weakestIndicators']>;
  /** Weights, targets, churn thresholds, points rules and tiers. */
  settings(opts?: CrmRequestOptions): Promise<LoyaltySettingsQuery['loyaltySettings']>;
  /** Changes settings (omitted = unchanged, null = default). */
  updateSettings(
    input: UpdateLoyaltySettingsInput,
    opts?: CrmRequestOptions,
  ): Promise<UpdateLoyaltySettingsMutation['updateLoyaltySettings']>;
  /** Recomputes every customer's metrics now. */
  recompute(opts?: CrmRequestOptions): Promise<RecomputeLoyaltyMutation['recomputeLoyalty']>;
  /** Thresholds of the automatic lifecycle ladder (LOYAL, ADVOCATE, STRATEGIC, CHURNED). */
  lifecycleSettings(opts?: CrmRequestOptions): Promise<LifecycleSettingsQuery['lifecycleSettings']>;
  /** Changes the ladder thresholds (omitted = unchanged, null = default); MANAGER or OWNER. */
  updateLifecycleSettings(
    input: UpdateLifecycleSettingsInput,
    opts?: CrmRequestOptions,
  ): Promise<UpdateLifecycleSettingsMutation['updateLifecycleSettings']>;
  /** Balance, tier, tier history and a page of the ledger (newest first). */
  points(
    customerId: string,
    variables?: Omit<CustomerPointsQueryVariables, 'id'>,
    opts?: CrmRequestOptions,
  ): Promise<CustomerPointsQuery['customer']>;
  /** Points for an action outside the automatic rules. Idempotent (the SDK sets `idempotencyKey` when missing). */
  earn(input: Keyed<EarnPointsInput>, opts?: CrmRequestOptions): Promise<EarnPointsMutation['earnPoints']>;
  /** Spends points; `InsufficientPointsError` when the balance is smaller. Idempotent. */
  redeem(input: Keyed<RedeemPointsInput>, opts?: CrmRequestOptions): Promise<RedeemPointsMutation['redeemPoints']>;
  /** A manual correction with a reason. Idempotent. */
  adjust(input: Keyed<AdjustPointsInput>, opts?: CrmRequestOptions): Promise<AdjustPointsMutation['adjustPoints']>;
  /** Expires earned points past their expiry date. */
  expire(opts?: CrmRequestOptions): Promise<ExpirePointsMutation['expirePoints']>;
  /** CHURN_RISK_RAISED events (a customer crossed into HIGH), with reconnect and resume. */
  churnRiskRaised(opts?: SubscribeOptions): AsyncIterable<ChurnRiskRaisedSubscription['churnRiskRaised']>;
  /** TIER_CHANGED events. */
  tierChanged(opts?: SubscribeOptions): AsyncIterable<TierChangedSubscription['tierChanged']>;
}

/**
 * Creates a client for the CRM API. The client is frozen and safe to share; it works in browsers
 * and Node 20+.
 *
 * Query methods resolve to the data (or `null` when not found) and throw a {@link CrmError}
 * subclass on failure. Mutation methods resolve to the result union: switch on `__typename`, or
 * pass it to {@link unwrap} to get the success member or throw a typed error.
 *
 * @example
 * const crm = createCrmClient({ url: 'https://crm.example.com/graphql', apiKey: process.env.CRM_SECRET_KEY! });
 * const { customer } = unwrap(await crm.customers.create({ email: 'anna@example.com', tags: ['newsletter'] }));
 * const page = await crm.customers.list({ first: 20, filter: { stages: ['PROSPECT'] } });
 */
export function createCrmClient(options: CrmClientOptions): CrmClient {
  const doFetch = options.fetch ?? globalThis.fetch?.bind(globalThis);
  if (!doFetch) throw new CrmError('No fetch implementation available: pass options.fetch', { code: 'CONFIGURATION' });
  const { apiKey, getToken } = options;
  if ((apiKey === undefined) === (getToken === undefined)) {
    throw new CrmError('Pass exactly one of apiKey or getToken', { code: 'CONFIGURATION' });
  }
  const { execute } = createTransport({
    url: options.url,
    getToken: getToken
      ? async () => {
          try {
            return await getToken();
          } catch (cause) {
            throw new CrmAuthError('getToken() failed', { code: 'GET_TOKEN_FAILED', url: options.url, cause });
          }
        }
      : () => apiKey as string,
    headers: {
      ...options.headers,
      ...(options.customerToken ? { 'x-customer-token': options.customerToken } : {}),
      ...(options.staffId ? { 'x-crm-staff-id': options.staffId } : {}),
    },
    fetch: doFetch,
    retries: options.retries ?? 2,
    timeoutMs: options.timeoutMs ?? 5_000,
    deadlineMs: options.deadlineMs ?? 10_000,
    retryDelayMs: options.retryDelayMs ?? 300,
    maxRetryDelayMs: options.maxRetryDelayMs ?? 30_000,
    logger: options.logger,
  });

  /**
   * Runs any query or mutation: a generated document (typed result and variables), a
   * TypedDocumentNode, or a string. Throws a {@link CrmError} subclass on failure; retries as
   * described for `retries`.
   *
   * @example
   * import { GetCustomerDocument } from '@crm/sdk';
   * const { customer } = await crm.request(GetCustomerDocument, { id });
   * const data = await crm.request<{ shop: { name: string } }>('{ shop { name } }');
   */
  function request<R, V>(document: DocumentTypeDecoration<R, V> & object, ...args: RequestArgs<V>): Promise<R>;
  function request<R = unknown, V extends Record<string, unknown> = Record<string, unknown>>(
    document: string,
    variables?: V,
    options?: CrmRequestOptions,
  ): Promise<R>;
  async function request(document: unknown, variables?: Record<string, unknown>, opts?: CrmRequestOptions): Promise<unknown> {
    const text = documentText(document, options.print);
    return execute(text, variables, opts ?? {}, operationInfo(document, text));
  }

  /** Runs a generated document and picks the field. */
  const run = <R, V, T>(doc: DocumentTypeDecoration<R, V>, variables: V, opts: CrmRequestOptions | undefined, pick: (r: R) => T) =>
    execute<R>(doc.toString(), variables as Record<string, unknown>, opts ?? {}, operationInfo(doc, doc.toString())).then(pick);

  const customers: CrmCustomersApi = Object.freeze({
    /** A customer by id (a merged duplicate's id resolves to the survivor); `null` when not in this shop. */
    get: (id: string, opts?: CrmRequestOptions): Promise<GetCustomerQuery['customer']> =>
      run(GetCustomerDocument, { id }, opts, (r) => r.customer),
    /** A customer by exactly one of `email`, `phone` (international format) or `externalId`; secondary emails/phones match too. */
    getBy: (by: GetCustomerByQueryVariables, opts?: CrmRequestOptions): Promise<GetCustomerByQuery['customerBy']> =>
      run(GetCustomerByDocument, by, opts, (r) => r.customerBy),
    /** A page of customers (Relay connection, at most 100 per page); use with {@link paginate} for all. */
    list: (variables: ListCustomersQueryVariables = {}, opts?: CrmRequestOptions): PagePromise<ListCustomersQuery['customers']> =>
      listPages((after) => run(ListCustomersDocument, { ...variables, after }, opts, (r) => r.customers), variables.after),
    /** A page of the customer's timeline (interactions, orders, stage and consent changes, newest first); `null` when not in this shop. */
    timeline: (
      id: string,
      variables: Omit<CustomerTimelineQueryVariables, 'id'> = {},
      opts?: CrmRequestOptions,
    ): PagePromise<NonNullable<CustomerTimelineQuery['customer']>['timeline'] | null> =>
      listPages(
        (after) => run(CustomerTimelineDocument, { ...variables, id, after }, opts, (r) => r.customer?.timeline ?? null),
        variables.after,
      ),
    /** Creates a customer (emails lower-cased, phones to E.164); a taken email/phone/externalId is a `ConflictError`. */
    create: (input: CreateCustomerInput, opts?: CrmRequestOptions): Promise<CreateCustomerMutation['createCustomer']> =>
      run(CreateCustomerDocument, { input }, opts, (r) => r.createCustomer),
    /** Changes the given fields (`null` clears); pass `version` to get a `VersionConflictError` instead of overwriting. */
    update: (input: UpdateCustomerInput, opts?: CrmRequestOptions): Promise<UpdateCustomerMutation['updateCustomer']> =>
      run(UpdateCustomerDocument, { input }, opts, (r) => r.updateCustomer),
    /** Creates or updates the customer matched by externalId, then email, then phone (`created` tells which). */
    upsert: (input: UpsertCustomerInput, opts?: CrmRequestOptions): Promise<UpsertCustomerMutation['upsertCustomer']> =>
      run(UpsertCustomerDocument, { input }, opts, (r) => r.upsertCustomer),
    /** `upsert` for up to 500 customers: per-item results in input order; retried safely (batch idempotency key). */
    upsertMany: (items: UpsertCustomersItemInput[], opts?: CrmBatchOptions): Promise<UpsertCustomersMutation['upsertCustomers']> => {
      const { idempotencyKey, ...rest } = opts ?? {};
      return run(UpsertCustomersDocument, { input: { items, idempotencyKey } }, rest, (r) => r.upsertCustomers);
    },
    /**
     * Everything held about the customer as one JSON document (data access request; records
     * CUSTOMER_DATA_REQUESTED). For long histories the server also streams it: GET /customers/{id}/export.
     */
    dataExport: (id: string, opts?: CrmRequestOptions): Promise<Record<string, unknown>> =>
      run(CustomerDataExportDocument, { id }, opts, (r) => r.customerDataExport as Record<string, unknown>),
    /**
     * Merges `duplicateId` into `survivorId`; the duplicate stays as a MERGED tombstone. `dryRun: true`
     * only returns `preview` (what would move, what conflicts). A merged customer is an `AlreadyMergedError`.
     */
    merge: (input: MergeCustomersInput, opts?: CrmRequestOptions): Promise<MergeCustomersMutation['mergeCustomers']> =>
      run(MergeCustomersDocument, { input }, opts, (r) => r.mergeCustomers),
    /** Moves the customer to a lifecycle stage by hand (recorded with `reason`). */
    setStage: (input: SetCustomerStageInput, opts?: CrmRequestOptions): Promise<SetCustomerStageMutation['setCustomerStage']> =>
      run(SetCustomerStageDocument, { input }, opts, (r) => r.setCustomerStage),
    /** The customer's referral code, issued on the first call and stable after (links: `?ref=CODE`). */
    issueReferralCode: (id: string, opts?: CrmRequestOptions): Promise<IssueReferralCodeMutation['issueReferralCode']> =>
      run(IssueReferralCodeDocument, { input: { id } }, opts, (r) => r.issueReferralCode),
    /** Adds tags by name (created when new). */
    tag: (id: string, tags: string[], opts?: CrmRequestOptions): Promise<TagCustomerMutation['tagCustomer']> =>
      run(TagCustomerDocument, { input: { id, tags } }, opts, (r) => r.tagCustomer),
    /** Removes tags by name. */
    untag: (id: string, tags: string[], opts?: CrmRequestOptions): Promise<UntagCustomerMutation['untagCustomer']> =>
      run(UntagCustomerDocument, { input: { id, tags } }, opts, (r) => r.untagCustomer),
    /** Hides the customer from default lists. */
    archive: (id: string, opts?: CrmRequestOptions): Promise<ArchiveCustomerMutation['archiveCustomer']> =>
      run(ArchiveCustomerDocument, { input: { id } }, opts, (r) => r.archiveCustomer),
    /** Returns an archived customer to default lists. */
    unarchive: (id: string, opts?: CrmRequestOptions): Promise<UnarchiveCustomerMutation['unarchiveCustomer']> =>
      run(UnarchiveCustomerDocument, { input: { id } }, opts, (r) => r.unarchiveCustomer),
    /** Erases the customer and everything attached (right to erasure). Irreversible. */
    delete: (id: string, opts?: CrmRequestOptions): Promise<DeleteCustomerMutation['deleteCustomer']> =>
      run(DeleteCustomerDocument, { input: { id } }, opts, (r) => r.deleteCustomer),
  });

  const tags: CrmTagsApi = Object.freeze({
    /** All tags of the shop, by name. */
    list: (opts?: CrmRequestOptions): Promise<ListTagsQuery['tags']> => run(ListTagsDocument, {}, opts, (r) => r.tags),
  });

  const me: CrmMeApi = Object.freeze({
    /** The customer named by `customerToken` (publishable key); `null` without a valid token. */
    get: (opts?: CrmRequestOptions): Promise<MeQuery['me']> => run(MeDocument, {}, opts, (r) => r.me),
    /**
     * Double opt-in: confirms the consent the token was issued for (the token of the
     * CONSENT_CONFIRMATION_REQUESTED event, sent to the person as a link). Any key of the shop.
     */
    confirmConsent: (token: string, opts?: CrmRequestOptions): Promise<ConfirmConsentMutation['confirmConsent']> =>
      run(ConfirmConsentDocument, { input: { token } }, opts, (r) => r.confirmConsent),
    /** Everything the shop holds about the signed-in customer, as one JSON document (records CUSTOMER_DATA_REQUESTED). */
    dataExport: (opts?: CrmRequestOptions): Promise<Record<string, unknown>> =>
      run(MyDataExportDocument, {}, opts, (r) => r.myDataExport as Record<string, unknown>),
    /** Updates the own profile (preferred channel, consents with source "self-service", …). */
    update: (input: UpdateMyProfileInput, opts?: CrmRequestOptions): Promise<UpdateMyProfileMutation['updateMyProfile']> =>
      run(UpdateMyProfileDocument, { input }, opts, (r) => r.updateMyProfile),
    /** The signed-in customer's referral code (issued on the first call, the same after), for links like `https://shop.example/?ref=CODE`. */
    referralCode: (opts?: CrmRequestOptions): Promise<IssueMyReferralCodeMutation['issueMyReferralCode']> =>
      run(IssueMyReferralCodeDocument, {}, opts, (r) => r.issueMyReferralCode),
  });

  const keys: CrmKeysApi = Object.freeze({
    /** The shop's API keys (never the keys themselves), newest first. Needs `keys:manage`. */
    list: (opts?: CrmRequestOptions): Promise<ListApiKeysQuery['apiKeys']> => run(ListApiKeysDocument, {}, opts, (r) => r.apiKeys),
    /** Creates a key; the result's `key` is shown only now. */
    create: (input: CreateApiKeyInput, opts?: CrmRequestOptions): Promise<CreateApiKeyMutation['createApiKey']> =>
      run(CreateApiKeyDocument, { input }, opts, (r) => r.createApiKey),
    /** Revokes a key at once (a key cannot revoke itself). */
    revoke: (id: string, opts?: CrmRequestOptions): Promise<RevokeApiKeyMutation['revokeApiKey']> =>
      run(RevokeApiKeyDocument, { input: { id } }, opts, (r) => r.revokeApiKey),
  });

  const staff: CrmStaffApi = Object.freeze({
    /** Staff users (sales reps, agents); inactive ones with `includeInactive`. */
    list: (variables: { includeInactive?: boolean } = {}, opts?: CrmRequestOptions): Promise<ListStaffUsersQuery['staffUsers']> =>
      run(ListStaffUsersDocument, variables, opts, (r) => r.staffUsers),
    /** Creates a staff user (role default AGENT). */
    create: (input: CreateStaffUserInput, opts?: CrmRequestOptions): Promise<CreateStaffUserMutation['createStaffUser']> =>
      run(CreateStaffUserDocument, { input }, opts, (r) => r.createStaffUser),
    /** Changes name, role or active; a shop always keeps one active owner. */
    update: (input: UpdateStaffUserInput, opts?: CrmRequestOptions): Promise<UpdateStaffUserMutation['updateStaffUser']> =>
      run(UpdateStaffUserDocument, { input }, opts, (r) => r.updateStaffUser),
    /** What the shop lets its agents do beyond their default (see docs/authorization.md). */
    authorizationSettings: (opts?: CrmRequestOptions): Promise<AuthorizationSettingsQuery['authorizationSettings']> =>
      run(AuthorizationSettingsDocument, {}, opts, (r) => r.authorizationSettings),
    /** Replaces the grants to agents (owners or the shop system only). */
    updateAuthorizationSettings: (
      input: UpdateAuthorizationSettingsInput,
      opts?: CrmRequestOptions,
    ): Promise<UpdateAuthorizationSettingsMutation['updateAuthorizationSettings']> =>
      run(UpdateAuthorizationSettingsDocument, { input }, opts, (r) => r.updateAuthorizationSettings),
  });

  const tokens: CrmTokensApi = Object.freeze({
    /** Issues a short-lived customer token for the storefront's "my profile" area (secret key only). */
    createCustomerToken: (
      input: CreateCustomerTokenInput,
      opts?: CrmRequestOptions,
    ): Promise<CreateCustomerTokenMutation['createCustomerToken']> =>
      run(CreateCustomerTokenDocument, { input }, opts, (r) => r.createCustomerToken),
  });

  const shop: CrmShopApi = Object.freeze({
    /** The caller's shop. */
    get: (opts?: CrmRequestOptions): Promise<ShopQuery['shop']> => run(ShopDocument, {}, opts, (r) => r.shop),
    /** The calling key: kind, scopes, acting staff user or customer; `null` without credentials. */
    viewer: (opts?: CrmRequestOptions): Promise<ViewerQuery['viewer']> => run(ViewerDocument, {}, opts, (r) => r.viewer),
    /**
     * Erases the shop and everything in it, irreversibly (secret key with `keys:manage`, `staffId` of an OWNER).
     * `confirmSlug` must repeat the shop's slug. The webhook endpoints receive a final SHOP_REDACTED event.
     */
    redact: (confirmSlug: string, opts?: CrmRequestOptions): Promise<RedactShopMutation['redactShop']> =>
      run(RedactShopDocument, { input: { confirmSlug } }, opts, (r) => r.redactShop),
  });

  const interactions: CrmInteractionsApi = Object.freeze({
    /** A page of the shop's interactions, newest first. */
    list: (variables: ListInteractionsQueryVariables = {}, opts?: CrmRequestOptions): PagePromise<ListInteractionsQuery['interactions']> =>
      listPages((after) => run(ListInteractionsDocument, { ...variables, after }, opts, (r) => r.interactions), variables.after),
    /** Records a touchpoint. Idempotent: the SDK sets `idempotencyKey` when missing, so it is retried safely. */
    record: (input: RecordInteractionInput, opts?: CrmRequestOptions): Promise<RecordInteractionMutation['recordInteraction']> =>
      run(RecordInteractionDocument, { input }, opts, (r) => r.recordInteraction),
    /** Changes the given fields (`null` clears the optional ones). */
    update: (input: UpdateInteractionInput, opts?: CrmRequestOptions): Promise<UpdateInteractionMutation['updateInteraction']> =>
      run(UpdateInteractionDocument, { input }, opts, (r) => r.updateInteraction),
    /** Soft-deletes an interaction. */
    delete: (id: string, opts?: CrmRequestOptions): Promise<DeleteInteractionMutation['deleteInteraction']> =>
      run(DeleteInteractionDocument, { input: { id } }, opts, (r) => r.deleteInteraction),
    /** A storefront-reported interaction (publishable key; the customer from the token or email/phone). Idempotent, retried safely. */
    track: (input: TrackInteractionInput, opts?: CrmRequestOptions): Promise<TrackInteractionMutation['trackInteraction']> =>
      run(TrackInteractionDocument, { input }, opts, (r) => r.trackInteraction),
  });

  const behaviour: CrmBehaviourApi = Object.freeze({
    /** Records up to 100 events in one call (publishable key, or a secret key with contacts:write); all or none are written. */
    track: (events: BehaviourEventInput[], opts?: CrmRequestOptions): Promise<TrackEventsMutation['trackEvents']> =>
      run(TrackEventsDocument, { events }, opts, (r) => r.trackEvents),
    /** A backend names who a visitor is (by `customerId` or `email`): the visitor's earlier and later events become the customer's. */
    identify: (input: IdentifyVisitorInput, opts?: CrmRequestOptions): Promise<IdentifyVisitorMutation['identifyVisitor']> =>
      run(IdentifyVisitorDocument, { input }, opts, (r) => r.identifyVisitor),
  });

  const leads: CrmLeadsApi = Object.freeze({
    /** Lead capture from a storefront form (publishable key): creates or updates a PROSPECT. Idempotent, retried safely. */
    capture: (input: CaptureLeadInput, opts?: CrmRequestOptions): Promise<CaptureLeadMutation['captureLead']> =>
      run(CaptureLeadDocument, { input }, opts, (r) => r.captureLead),
    /** A page of the lead pool: SUSPECT / PROSPECT leads without an owner, newest first. */
    pool: (variables: LeadPoolQueryVariables = {}, opts?: CrmRequestOptions): PagePromise<LeadPoolQuery['leadPool']> =>
      listPages((after) => run(LeadPoolDocument, { ...variables, after }, opts, (r) => r.leadPool), variables.after),
    /** The acting staff user (client option `staffId`) takes a lead from the pool; a lead claimed by someone else is a `ConflictError`. */
    claim: (customerId: string, opts?: CrmRequestOptions): Promise<ClaimLeadMutation['claimLead']> =>
      run(ClaimLeadDocument, { input: { customerId } }, opts, (r) => r.claimLead),
    /** Gives a customer to a staff user (owners / managers / system). */
    assign: (
      customerId: string,
      staffId: string,
      options: { reason?: string } & CrmRequestOptions = {},
    ): Promise<AssignLeadMutation['assignLead']> => {
      const { reason, ...opts } = options;
      return run(AssignLeadDocument, { input: { customerId, staffId, reason } }, opts, (r) => r.assignLead);
    },
    /** Distributes pool leads by the shop's rule (`followUps.updateLeadPoolSettings`). */
    autoAssign: (limit?: number, opts?: CrmRequestOptions): Promise<AutoAssignLeadsMutation['autoAssignLeads']> =>
      run(AutoAssignLeadsDocument, { input: { limit } }, opts, (r) => r.autoAssignLeads),
    /** Returns leads without follow-up activity for `returnAfterHours` to the pool. */
    returnStale: (limit?: number, opts?: CrmRequestOptions): Promise<ReturnStaleLeadsMutation['returnStaleLeads']> =>
      run(ReturnStaleLeadsDocument, { input: { limit } }, opts, (r) => r.returnStaleLeads),
  });

  const followUps: CrmFollowUpsApi = Object.freeze({
    markLeadLost: (input: MarkLeadLostInput, opts?: CrmRequestOptions): Promise<MarkLeadLostMutation['markLeadLost']> =>
      run(MarkLeadLostDocument, { input }, opts, (r) => r.markLeadLost),
    reopenLead: (input: ReopenLeadInput, opts?: CrmRequestOptions): Promise<ReopenLeadMutation['reopenLead']> =>
      run(ReopenLeadDocument, { input }, opts, (r) => r.reopenLead),
    /** A follow-up by id; `null` when not in this shop (or, for an agent, not theirs). */
    get: (id: string, opts?: CrmRequestOptions): Promise<GetFollowUpQuery['followUp']> =>
      run(GetFollowUpDocument, { id }, opts, (r) => r.followUp),
    /** A page of a customer's follow-ups (latest due first) and their open doubts; `null` when not in this shop. */
    forCustomer: (
      id: string,
      variables: Omit<CustomerFollowUpsQueryVariables, 'id'> = {},
      opts?: CrmRequestOptions,
    ): Promise<CustomerFollowUpsQuery['customer']> => run(CustomerFollowUpsDocument, { ...variables, id }, opts, (r) => r.customer),
    /** A page of the agenda (PLANNED, by dueAt) with overdue / due today / upcoming counts; no `assigneeId` = own (agents) or whole shop (managers). */
    agenda: (variables: AgendaQueryVariables = {}, opts?: CrmRequestOptions): Promise<AgendaQuery['agenda']> =>
      run(AgendaDocument, variables, opts, (r) => r.agenda),
    /** The cadence engine's proposal for the customer's next follow-up, with reasons; `null` when not in this shop. */
    suggestNext: (customerId: string, opts?: CrmRequestOptions): Promise<SuggestNextFollowUpQuery['suggestNextFollowUp']> =>
      run(SuggestNextFollowUpDocument, { customerId }, opts, (r) => r.suggestNextFollowUp),
    /** Plans a follow-up (dueAt / channel default to the cadence proposal; channels need consent). */
    create: (input: CreateFollowUpInput, opts?: CrmRequestOptions): Promise<CreateFollowUpMutation['createFollowUp']> =>
      run(CreateFollowUpDocument, { input }, opts, (r) => r.createFollowUp),
    /** Changes a PLANNED follow-up (pass `version` for optimistic concurrency). */
    update: (input: UpdateFollowUpInput, opts?: CrmRequestOptions): Promise<UpdateFollowUpMutation['updateFollowUp']> =>
      run(UpdateFollowUpDocument, { input }, opts, (r) => r.updateFollowUp),
    /** Records outcome, notes and doubts and schedules the next follow-up (or only proposes it with `scheduleNext: false`). */
    complete: (input: CompleteFollowUpInput, opts?: CrmRequestOptions): Promise<CompleteFollowUpMutation['completeFollowUp']> =>
      run(CompleteFollowUpDocument, { input }, opts, (r) => r.completeFollowUp),
    /** Cancels a PLANNED follow-up. */
    cancel: (id: string, reason?: string, opts?: CrmRequestOptions): Promise<CancelFollowUpMutation['cancelFollowUp']> =>
      run(CancelFollowUpDocument, { input: { id, reason } }, opts, (r) => r.cancelFollowUp),
    /** Marks a PLANNED follow-up as skipped. */
    skip: (id: string, reason?: string, opts?: CrmRequestOptions): Promise<SkipFollowUpMutation['skipFollowUp']> =>
      run(SkipFollowUpDocument, { input: { id, reason } }, opts, (r) => r.skipFollowUp),
    /** Resolves an open doubt / objection. */
    resolveDoubt: (
      id: string,
      resolution: string,
      opts?: CrmRequestOptions,
    ): Promise<ResolveFollowUpDoubtMutation['resolveFollowUpDoubt']> =>
      run(ResolveFollowUpDoubtDocument, { input: { id, resolution } }, opts, (r) => r.resolveFollowUpDoubt),
    /** Birthday / holiday / service-reminder follow-ups for customers in the given stages (idempotent). */
    generateRetention: (
      input: GenerateRetentionFollowUpsInput,
      opts?: CrmRequestOptions,
    ): Promise<GenerateRetentionFollowUpsMutation['generateRetentionFollowUps']> =>
      run(GenerateRetentionFollowUpsDocument, { input }, opts, (r) => r.generateRetentionFollowUps),
    /** The shop's cadence and lead pool rules. */
    settings: (opts?: CrmRequestOptions): Promise<FollowUpSettingsQuery['followUpSettings']> =>
      run(FollowUpSettingsDocument, {}, opts, (r) => r.followUpSettings),
    /** Changes cadence rules (omitted = unchanged, null = default). */
    updateCadenceSettings: (
      input: UpdateCadenceSettingsInput,
      opts?: CrmRequestOptions,
    ): Promise<UpdateCadenceSettingsMutation['updateCadenceSettings']> =>
      run(UpdateCadenceSettingsDocument, { input }, opts, (r) => r.updateCadenceSettings),
    /** Changes lead pool rules (mode, bySource, returnAfterHours). */
    updateLeadPoolSettings: (
      input: UpdateLeadPoolSettingsInput,
      opts?: CrmRequestOptions,
    ): Promise<UpdateLeadPoolSettingsMutation['updateLeadPoolSettings']> =>
      run(UpdateLeadPoolSettingsDocument, { input }, opts, (r) => r.updateLeadPoolSettings),

    /** The shop's holiday calendar. */
    holidays: (opts?: CrmRequestOptions): Promise<HolidaysQuery['holidays']> => run(HolidaysDocument, {}, opts, (r) => r.holidays),
    /** Adds a holiday (once, or `recurringYearly`). */
    createHoliday: (input: CreateHolidayInput, opts?: CrmRequestOptions): Promise<CreateHolidayMutation['createHoliday']> =>
      run(CreateHolidayDocument, { input }, opts, (r) => r.createHoliday),
    /** Renames, moves or (un)repeats a holiday. */
    updateHoliday: (input: UpdateHolidayInput, opts?: CrmRequestOptions): Promise<UpdateHolidayMutation['updateHoliday']> =>
      run(UpdateHolidayDocument, { input }, opts, (r) => r.updateHoliday),
    /** Removes a holiday from the calendar. */
    deleteHoliday: (id: string, opts?: CrmRequestOptions): Promise<DeleteHolidayMutation['deleteHoliday']> =>
      run(DeleteHolidayDocument, { input: { id } }, opts, (r) => r.deleteHoliday),
    /** A customer's contact budget, time zone and contact window. */
    contactBudget: (customerId: string, opts?: CrmRequestOptions): Promise<CustomerContactBudgetQuery['customer']> =>
      run(CustomerContactBudgetDocument, { id: customerId }, opts, (r) => r.customer),
  });

  const subscriber = createSubscriber({
    url: options.url,
    wsUrl: options.wsUrl,
    webSocketImpl: options.webSocketImpl,
    maxReconnects: options.maxReconnects,
    getToken: getToken ?? (() => apiKey as string),
    staffId: options.staffId,
    retryDelayMs: options.retryDelayMs ?? 300,
    maxRetryDelayMs: options.maxRetryDelayMs ?? 30_000,
    logger: options.logger,
  });
  const sub = String;
  const subscriptions: CrmSubscriptionsApi = Object.freeze({
    /** Every event of the shop (optionally only `types`), in order; resumes with `after`. */
    events: (variables: { types?: EventType[] } = {}, opts?: SubscribeOptions): AsyncIterable<EventsSubscription['events']> =>
      subscriber.subscribe(sub(EventsDocument), variables, (d: EventsSubscription) => d.events, opts),
    /** New leads from storefront forms (LEAD_CAPTURED). */
    leadCreated: (opts?: SubscribeOptions): AsyncIterable<LeadCreatedSubscription['leadCreated']> =>
      subscriber.subscribe(sub(LeadCreatedDocument), {}, (d: LeadCreatedSubscription) => d.leadCreated, opts),
    /** Changes to one customer (updated, stage changed, merged, deleted). */
    customerUpdated: (id: string, opts?: SubscribeOptions): AsyncIterable<CustomerUpdatedSubscription['customerUpdated']> =>
      subscriber.subscribe(sub(CustomerUpdatedDocument), { id }, (d: CustomerUpdatedSubscription) => d.customerUpdated, opts),
    /** Recorded interactions, of one customer when given. */
    interactionRecorded: (
      customerId?: string,
      opts?: SubscribeOptions,
    ): AsyncIterable<InteractionRecordedSubscription['interactionRecorded']> =>
      subscriber.subscribe(
        sub(InteractionRecordedDocument),
        customerId ? { customerId } : {},
        (d: InteractionRecordedSubscription) => d.interactionRecorded,
        opts,
      ),
    /** FOLLOW_UP_DUE: planned follow-ups whose due date passed, of one assignee (staff user id) when given. */
    followUpDue: (assigneeId?: string, opts?: SubscribeOptions): AsyncIterable<FollowUpDueSubscription['followUpDue']> =>
      subscriber.subscribe(sub(FollowUpDueDocument), assigneeId ? { assigneeId } : {}, (d: FollowUpDueSubscription) => d.followUpDue, opts),
  });

  const webhooks: CrmWebhooksApi = Object.freeze({
    /** The shop's webhook endpoints (secrets are never listed). Needs `webhooks:manage`. */
    list: (opts?: CrmRequestOptions): Promise<ListWebhookEndpointsQuery['webhookEndpoints']> =>
      run(ListWebhookEndpointsDocument, {}, opts, (r) => r.webhookEndpoints),
    /** The delivery log, newest first (filter by endpoint, status, event type). */
    deliveries: (
      variables: ListWebhookDeliveriesQueryVariables = {},
      opts?: CrmRequestOptions,
    ): PagePromise<ListWebhookDeliveriesQuery['webhookDeliveries']> =>
      listPages((after) => run(ListWebhookDeliveriesDocument, { ...variables, after }, opts, (r) => r.webhookDeliveries), variables.after),
    /** Adds an endpoint; the result's `secret` (for verifyWebhookSignature) is returned only here and by rotateSecret. */
    create: (
      input: CreateWebhookEndpointInput,
      opts?: CrmRequestOptions,
    ): Promise<CreateWebhookEndpointMutation['createWebhookEndpoint']> =>
      run(CreateWebhookEndpointDocument, { input }, opts, (r) => r.createWebhookEndpoint),
    /** Changes url, event types or active. */
    update: (
      input: UpdateWebhookEndpointInput,
      opts?: CrmRequestOptions,
    ): Promise<UpdateWebhookEndpointMutation['updateWebhookEndpoint']> =>
      run(UpdateWebhookEndpointDocument, { input }, opts, (r) => r.updateWebhookEndpoint),
    /** Issues a new signing secret. */
    rotateSecret: (id: string, opts?: CrmRequestOptions): Promise<RotateWebhookSecretMutation['rotateWebhookSecret']> =>
      run(RotateWebhookSecretDocument, { input: { id } }, opts, (r) => r.rotateWebhookSecret),
    /** Removes an endpoint and its delivery log. */
    delete: (id: string, opts?: CrmRequestOptions): Promise<DeleteWebhookEndpointMutation['deleteWebhookEndpoint']> =>
      run(DeleteWebhookEndpointDocument, { input: { id } }, opts, (r) => r.deleteWebhookEndpoint),
    /** Sends a delivery again as soon as possible (also a FAILED one). */
    redeliver: (id: string, opts?: CrmRequestOptions): Promise<RedeliverWebhookMutation['redeliverWebhook']> =>
      run(RedeliverWebhookDocument, { input: { id } }, opts, (r) => r.redeliverWebhook),
  });

  const segments: CrmSegmentsApi = Object.freeze({
    /** A saved segment by id; `null` when not in this shop. */
    get: (id: string, opts?: CrmRequestOptions): Promise<GetSegmentQuery['segment']> =>
      run(GetSegmentDocument, { id }, opts, (r) => r.segment),
    /** A page of saved segments, by name. */
    list: (variables: ListSegmentsQueryVariables = {}, opts?: CrmRequestOptions): PagePromise<ListSegmentsQuery['segments']> =>
      listPages((after) => run(ListSegmentsDocument, { ...variables, after }, opts, (r) => r.segments), variables.after),
    /** The fields, operators and arguments of the rule language (for rule editors). */
    fields: (opts?: CrmRequestOptions): Promise<SegmentFieldsQuery['segmentFields']> =>
      run(SegmentFieldsDocument, {}, opts, (r) => r.segmentFields),
    /** Evaluates a rule now without saving it: count, canonical rule and a page of members (`endCursor` / `after`). */
    preview: (variables: PreviewSegmentQueryVariables, opts?: CrmRequestOptions): Promise<PreviewSegmentQuery['previewSegment']> =>
      run(PreviewSegmentDocument, variables, opts, (r) => r.previewSegment),
    /** Saves a segment (`rule` text or `ruleTree`); its members are materialised at once. */
    create: (input: CreateSegmentInput, opts?: CrmRequestOptions): Promise<CreateSegmentMutation['createSegment']> =>
      run(CreateSegmentDocument, { input }, opts, (r) => r.createSegment),
    /** Renames, describes or changes the rule (pass `version` for optimistic concurrency). */
    update: (input: UpdateSegmentInput, opts?: CrmRequestOptions): Promise<UpdateSegmentMutation['updateSegment']> =>
      run(UpdateSegmentDocument, { input }, opts, (r) => r.updateSegment),
    /** Deletes a saved segment and its membership. */
    delete: (id: string, opts?: CrmRequestOptions): Promise<DeleteSegmentMutation['deleteSegment']> =>
      run(DeleteSegmentDocument, { input: { id } }, opts, (r) => r.deleteSegment),
    /** Recomputes the membership now; the result says how many entered and left. */
    refresh: (id: string, opts?: CrmRequestOptions): Promise<RefreshSegmentMutation['refreshSegment']> =>
      run(RefreshSegmentDocument, { input: { id } }, opts, (r) => r.refreshSegment),
    /** A page of the segment's members (`null` when the segment is not in this shop). */
    members: (
      id: string,
      variables: Omit<SegmentMembersQueryVariables, 'id'> = {},
      opts?: CrmRequestOptions,
    ): PagePromise<SegmentMembers | null> =>
      listPages(
        (after) => run(SegmentMembersDocument, { ...variables, id, after }, opts, (r) => r.segment?.members ?? null),
        variables.after,
      ),
    /** Every member, page by page (100 per request). */
    allMembers: (id: string, opts?: CrmRequestOptions) =>
      paginate((after) => run(SegmentMembersDocument, { id, first: 100, after }, opts, (r) => r.segment?.members ?? null)),
    /**
     * Streams the members as CSV rows (header first) or JSONL lines from GET /segments/{id}/export;
     * works in browsers and Node, the body is read as it arrives.
     *
     * @example
     * for await (const line of crm.segments.export(id, { format: 'jsonl' })) console.log(JSON.parse(line).email);
     */
    export: (id: string, exportOptions: SegmentExportOptions = {}): AsyncIterable<string> =>
      exportSegment(
        {
          url: options.url,
          fetch: doFetch,
          getToken: getToken ?? (() => apiKey as string),
          staffId: options.staffId,
          headers: options.headers,
        },
        id,
        exportOptions,
      ),
    /** SEGMENT_ENTERED / SEGMENT_LEFT events of one saved segment (payload: segmentId, customerId, segmentName). */
    membershipChanged: (
      segmentId: string,
      opts?: SubscribeOptions,
    ): AsyncIterable<SegmentMembershipChangedSubscription['segmentMembershipChanged']> =>
      subscriber.subscribe(
        sub(SegmentMembershipChangedDocument),
        { segmentId },
        (d: SegmentMembershipChangedSubscription) => d.segmentMembershipChanged,
        opts,
      ),
  });

  const orders: CrmOrdersApi = Object.freeze({
    /** An order by id; `null` when not in this shop. */
    get: (id: string, opts?: CrmRequestOptions): Promise<GetOrderQuery['order']> => run(GetOrderDocument, { id }, opts, (r) => r.order),
    /** A page of the shop's orders, newest (placedAt) first. */
    list: (variables: ListOrdersQueryVariables = {}, opts?: CrmRequestOptions): PagePromise<ListOrdersQuery['orders']> =>
      listPages((after) => run(ListOrdersDocument, { ...variables, after }, opts, (r) => r.orders), variables.after),
    /** Creates or updates an order by `externalId`. Idempotent, retried safely. */
    upsert: (input: UpsertOrderInput, opts?: CrmRequestOptions): Promise<UpsertOrderMutation['upsertOrder']> =>
      run(UpsertOrderDocument, { input }, opts, (r) => r.upsertOrder),
    /** `upsert` for up to 500 orders: per-item results in input order; retried safely (batch idempotency key). */
    upsertMany: (
      items: Omit<UpsertOrderInput, 'idempotencyKey'>[],
      opts?: CrmBatchOptions,
    ): Promise<UpsertOrdersMutation['upsertOrders']> => {
      const { idempotencyKey, ...rest } = opts ?? {};
      return run(UpsertOrdersDocument, { input: { items, idempotencyKey } }, rest, (r) => r.upsertOrders);
    },
    /** Excludes an order from every metric (e.g. placed under a borrowed identity), or includes it again. */
    setExcluded: (input: SetOrderExcludedInput, opts?: CrmRequestOptions): Promise<SetOrderExcludedMutation['setOrderExcluded']> =>
      run(SetOrderExcludedDocument, { input }, opts, (r) => r.setOrderExcluded),
  });

  const audit: CrmAuditApi = Object.freeze({
    /** A page of the audit log, newest first (owners / managers / system keys). */
    list: (variables: AuditLogQueryVariables = {}, opts?: CrmRequestOptions): Promise<AuditLogQuery['auditLog']> =>
      run(AuditLogDocument, variables, opts, (r) => r.auditLog),
    /** Every matching entry, page by page (100 per request), newest first. */
    all: (filter?: AuditLogFilter, opts?: CrmRequestOptions) =>
      paginate((after) => run(AuditLogDocument, { filter, first: 100, after }, opts, (r) => r.auditLog)),
  });

  const money: CrmMoneyApi = Object.freeze({
    /** The shop's exchange rates to its base currency (`shop.get()` has the base currency). */
    exchangeRates: (opts?: CrmRequestOptions): Promise<ExchangeRatesQuery['exchangeRates']> =>
      run(ExchangeRatesDocument, {}, opts, (r) => r.exchangeRates),
    /** Sets the rate for a currency (1 unit = `rate` units of the base currency); orders waiting for one are converted. */
    setExchangeRate: (input: SetExchangeRateInput, opts?: CrmRequestOptions): Promise<SetExchangeRateMutation['setExchangeRate']> =>
      run(SetExchangeRateDocument, { input }, opts, (r) => r.setExchangeRate),
    /** Changes the shop's base currency (only while it has no orders). */
    setBaseCurrency: (currency: string, opts?: CrmRequestOptions): Promise<SetBaseCurrencyMutation['setBaseCurrency']> =>
      run(SetBaseCurrencyDocument, { input: { currency } }, opts, (r) => r.setBaseCurrency),
  });

  const imports: CrmImportsApi = Object.freeze({
    /** Runs an uploaded file (the `id` POST /imports answered) in the background, optionally as a dry run. */
    start: (input: StartImportInput, opts?: CrmRequestOptions): Promise<StartImportMutation['startImport']> =>
      run(StartImportDocument, { input }, opts, (r) => r.startImport),
    /** An import with its progress and first rejected rows; `null` when not in this shop. */
    get: (id: string, options?: { rejections?: number } & CrmRequestOptions): Promise<GetImportJobQuery['importJob']> =>
      run(GetImportJobDocument, { id, rejections: options?.rejections ?? 20 }, options, (r) => r.importJob),
    /** The import's progress until it is COMPLETED or FAILED. */
    progress: (id: string, opts?: SubscribeOptions): AsyncIterable<ImportProgressSubscription['importProgress']> =>
      subscriber.subscribe(sub(ImportProgressDocument), { id }, (d: ImportProgressSubscription) => d.importProgress, opts),
  });

  /** An idempotency key for points movements when the caller gives none (so the SDK's retries are safe). */
  const withKey = <T extends { idempotencyKey?: string | null }>(input: T): T & { idempotencyKey: string } => ({
    ...input,
    idempotencyKey: input.idempotencyKey ?? globalThis.crypto.randomUUID(),
  });
  const loyalty: CrmLoyaltyApi = Object.freeze({
    /** A customer's loyalty score with indicators and their facts, RFM, values and churn warning; `null` when not in this shop. */
    get: (customerId: string, opts?: CrmRequestOptions): Promise<CustomerLoyaltyQuery['customer']> =>
      run(CustomerLoyaltyDocument, { id: customerId }, opts, (r) => r.customer),
    /** Shop KPIs over [from, to): repurchase, complaint and churn rates, AOV, sources, funnel, loyalty distribution. */
    kpis: (from: string, to: string, opts?: CrmRequestOptions): Promise<ShopKpisQuery['shopKpis']> =>
      run(ShopKpisDocument, { from, to }, opts, (r) => r.shopKpis),
    leadLosses: (from: string, to: string, opts?: CrmRequestOptions): Promise<LeadLossKpisQuery['shopKpis']['leadLosses']> =>
      run(LeadLossKpisDocument, { from, to }, opts, (r) => r.shopKpis.leadLosses),
    satisfaction: (customerId: string, opts?: CrmRequestOptions): Promise<CustomerSatisfactionQuery['customer']> =>
      run(CustomerSatisfactionDocument, { id: customerId }, opts, (r) => r.customer),
    satisfactionIndex: (months?: number, opts?: CrmRequestOptions): Promise<SatisfactionIndexQuery['satisfactionIndex']> =>
      run(SatisfactionIndexDocument, { months }, opts, (r) => r.satisfactionIndex),
    indicatorDiagnosis: (months?: number, opts?: CrmRequestOptions): Promise<LoyaltyIndicatorDiagnosisQuery['loyaltyIndicatorDiagnosis']> =>
      run(LoyaltyIndicatorDiagnosisDocument, { months }, opts, (r) => r.loyaltyIndicatorDiagnosis),
    weakestIndicators: (limit?: number, months?: number, opts?: CrmRequestOptions): Promise<WeakestIndicatorsQuery['weakestIndicators']> =>
      run(WeakestIndicatorsDocument, { limit, months }, opts, (r) => r.weakestIndicators),
    /** Weights, targets, churn thresholds, points rules and tiers. */
    settings: (opts?: CrmRequestOptions): Promise<LoyaltySettingsQuery['loyaltySettings']> =>
      run(LoyaltySettingsDocument, {}, opts, (r) => r.loyaltySettings),
    /** Changes settings (omitted = unchanged, null = default). */
    updateSettings: (
      input: UpdateLoyaltySettingsInput,
      opts?: CrmRequestOptions,
    ): Promise<UpdateLoyaltySettingsMutation['updateLoyaltySettings']> =>
      run(UpdateLoyaltySettingsDocument, { input }, opts, (r) => r.updateLoyaltySettings),
    /** Recomputes every customer's metrics now. */
    recompute: (opts?: CrmRequestOptions): Promise<RecomputeLoyaltyMutation['recomputeLoyalty']> =>
      run(RecomputeLoyaltyDocument, {}, opts, (r) => r.recomputeLoyalty),
    lifecycleSettings: (opts?: CrmRequestOptions): Promise<LifecycleSettingsQuery['lifecycleSettings']> =>
      run(LifecycleSettingsDocument, {}, opts, (r) => r.lifecycleSettings),
    updateLifecycleSettings: (
      input: UpdateLifecycleSettingsInput,
      opts?: CrmRequestOptions,
    ): Promise<UpdateLifecycleSettingsMutation['updateLifecycleSettings']> =>
      run(UpdateLifecycleSettingsDocument, { input }, opts, (r) => r.updateLifecycleSettings),
    /** Balance, tier, tier history and a page of the ledger (newest first). */
    points: (
      customerId: string,
      variables: Omit<CustomerPointsQueryVariables, 'id'> = {},
      opts?: CrmRequestOptions,
    ): Promise<CustomerPointsQuery['customer']> => run(CustomerPointsDocument, { ...variables, id: customerId }, opts, (r) => r.customer),
    /** Points for an action outside the automatic rules. Idempotent (the SDK sets `idempotencyKey` when missing). */
    earn: (input: Keyed<EarnPointsInput>, opts?: CrmRequestOptions): Promise<EarnPointsMutation['earnPoints']> =>
      run(EarnPointsDocument, { input: withKey(input) }, opts, (r) => r.earnPoints),
    /** Spends points; `InsufficientPointsError` when the balance is smaller. Idempotent. */
    redeem: (input: Keyed<RedeemPointsInput>, opts?: CrmRequestOptions): Promise<RedeemPointsMutation['redeemPoints']> =>
      run(RedeemPointsDocument, { input: withKey(input) }, opts, (r) => r.redeemPoints),
    /** A manual correction with a reason. Idempotent. */
    adjust: (input: Keyed<AdjustPointsInput>, opts?: CrmRequestOptions): Promise<AdjustPointsMutation['adjustPoints']> =>
      run(AdjustPointsDocument, { input: withKey(input) }, opts, (r) => r.adjustPoints),
    /** Expires earned points past their expiry date. */
    expire: (opts?: CrmRequestOptions): Promise<ExpirePointsMutation['expirePoints']> =>
      run(ExpirePointsDocument, {}, opts, (r) => r.expirePoints),
    /** CHURN_RISK_RAISED events (a customer crossed into HIGH), with reconnect and resume. */
    churnRiskRaised: (opts?: SubscribeOptions): AsyncIterable<ChurnRiskRaisedSubscription['churnRiskRaised']> =>
      subscriber.subscribe(String(ChurnRiskRaisedDocument), {}, (d: ChurnRiskRaisedSubscription) => d.churnRiskRaised, opts),
    /** TIER_CHANGED events. */
    tierChanged: (opts?: SubscribeOptions): AsyncIterable<TierChangedSubscription['tierChanged']> =>
      subscriber.subscribe(String(TierChangedDocument), {}, (d: TierChangedSubscription) => d.tierChanged, opts),
  });

  return Object.freeze({
    /**
     * Runs any query or mutation: a generated document (typed result and variables), a
     * TypedDocumentNode, or a string. Throws a {@link CrmError} subclass on failure.
     */
    request,
    /** Customers: lookups, lists, the timeline and every customer mutation. */
    customers,
    /** The shop's tags. */
    tags,
    /** The signed-in customer's own profile (publishable key + `customerToken`). */
    me,
    /** API keys (`keys:manage`). */
    keys,
    /** Staff users (sales reps, agents). */
    staff,
    /** Customer tokens for the storefront's "my profile" area (secret key). */
    tokens,
    /** The caller's shop and key. */
    shop,
    /** Touchpoints with customers (record/update/delete with a secret key; track from a storefront). */
    interactions,
    /** Storefront lead capture (publishable key) and the lead pool: pool, claim, assign, autoAssign, returnStale (secret key). */
    leads,
    /** Storefront behaviour events (page and product views, searches, carts, checkouts). */
    behaviour,
    /** Follow-ups, the agenda, the cadence engine's suggestions, retention follow-ups and their settings. */
    followUps,
    /** Orders synced from commerce platforms. */
    orders,
    /** The shop's base currency and exchange rates (docs/money.md). */
    money,
    imports,
    /** The audit log: who changed what, when, through which mutation (docs/audit.md). */
    audit,
    /** Webhook endpoints and their delivery log (`webhooks:manage`). */
    webhooks,
    /** Real-time events over graphql-ws as async iterables, with reconnect and resume. */
    subscriptions,
    /** Saved segments (rules over live data): preview, members, refresh, export, membership events. */
    segments,
    /** Loyalty scores, churn warnings, shop KPIs, points and tiers. */
    loyalty,
    /** Closes the subscription connection (HTTP calls need no closing). */
    close: () => subscriber.close(),
  });
}
