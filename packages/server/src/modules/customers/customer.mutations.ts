import { encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../../builder.ts';
import type { Context } from '../../context.ts';
import { AlreadyMergedError, IdempotencyConflictError, VersionConflictError } from '../../errors.ts';
import { batchResultFields, itemResultUnion } from '../common/batch.graphql.ts';
import { COMMON_ERRORS } from '../common/common.type.ts';
import { actorOf } from '../common/graphql-helpers.ts';
import { CUSTOMER_ITEM_ERRORS, upsertCustomers } from './customer.batch.ts';
import { CreateCustomerInput, UpdateCustomerInput, UpsertCustomerInput, UpsertCustomersItemInput } from './customer.inputs.ts';
import { issueReferralCode } from './customer.referral.ts';
import * as svc from './customer.service.ts';
import { ConsentChannelEnum, CustomerNode, LifecycleStageEnum, PartnerKindEnum } from './customer.type.ts';

type GlobalId = { id: string; typename: string };
type WithGlobalIds = {
  ownerId?: GlobalId | null;
  source?: ({ referrerCustomerId?: GlobalId | null } & Record<string, unknown>) | null;
} & Record<string, unknown>;

/** GraphQL input -> service input: global ids become row ids. */
function toServiceInput(input: object) {
  const { ownerId, source, ...rest } = input as WithGlobalIds;
  return {
    ...rest,
    ...(ownerId !== undefined ? { ownerId: ownerId?.id ?? null } : {}),
    ...(source !== undefined ? { source: source ? { ...source, referrerCustomerId: source.referrerCustomerId?.id ?? null } : null } : {}),
  } as never;
}

const write = (ctx: Context) => ctx.db;
const WRITE = { scope: 'contacts:write' } as const;
/** Removing customers (delete, merge): not agents, unless the shop grants DELETE_CUSTOMERS. */
const REMOVE = { scope: 'contacts:write', agentMay: 'DELETE_CUSTOMERS' } as const;

const CustomerIdInput = builder.inputType('CustomerIdInput', {
  fields: (t) => ({ id: t.globalID({ required: true, for: CustomerNode }) }),
});

const MergeCustomersInput = builder.inputType('MergeCustomersInput', {
  fields: (t) => ({
    survivorId: t.globalID({ required: true, for: CustomerNode, description: 'The customer that stays.' }),
    duplicateId: t.globalID({ required: true, for: CustomerNode, description: 'The duplicate merged into it.' }),
    dryRun: t.boolean({
      description: 'Only report what would move and what conflicts (`preview`), writing nothing. Checked like the merge itself.',
    }),
  }),
});

const MergeFieldValue = builder.objectRef<{ field: string; value: unknown }>('MergeFieldValue').implement({
  description: 'A profile field the survivor lacks and takes from the duplicate.',
  fields: (t) => ({ field: t.exposeString('field'), value: t.expose('value', { type: 'JSON', nullable: true }) }),
});
const MergeFieldConflict = builder
  .objectRef<{ field: string; survivorValue: unknown; duplicateValue: unknown }>('MergeFieldConflict')
  .implement({
    description: "A field both customers have with different values: the survivor's stays (the duplicate's is kept in the merge snapshot).",
    fields: (t) => ({
      field: t.exposeString('field'),
      survivorValue: t.expose('survivorValue', { type: 'JSON', nullable: true }),
      duplicateValue: t.expose('duplicateValue', { type: 'JSON', nullable: true }),
    }),
  });
const MergeConsentOutcome = builder.objectRef<svc.MergePlan['consents'][number]>('MergeConsentOutcome').implement({
  description: 'A consent channel of either customer; when both decided, the most recent decision wins.',
  fields: (t) => ({
    channel: t.expose('channel', { type: ConsentChannelEnum }),
    survivorGranted: t.exposeBoolean('survivorGranted', { nullable: true }),
    duplicateGranted: t.exposeBoolean('duplicateGranted', { nullable: true }),
    resultGranted: t.exposeBoolean('resultGranted'),
    conflict: t.exposeBoolean('conflict', { description: 'Both decided, differently.' }),
  }),
});
const MergePoints = builder.objectRef<svc.MergePlan['points']>('MergePoints').implement({
  fields: (t) => ({
    survivorBalance: t.exposeInt('survivorBalance'),
    duplicateBalance: t.exposeInt('duplicateBalance'),
    resultBalance: t.exposeInt('resultBalance', { description: 'Balances are added.' }),
  }),
});
const staffGid = (id: string | null) => (id ? encodeGlobalID('StaffUser', id) : null);
const MergeOwner = builder.objectRef<svc.MergePlan['owner']>('MergeOwner').implement({
  fields: (t) => ({
    survivorOwnerId: t.field({ type: 'ID', nullable: true, resolve: (o) => staffGid(o.survivorOwnerId) }),
    duplicateOwnerId: t.field({ type: 'ID', nullable: true, resolve: (o) => staffGid(o.duplicateOwnerId) }),
    resultOwnerId: t.field({ type: 'ID', nullable: true, resolve: (o) => staffGid(o.resultOwnerId) }),
    conflict: t.exposeBoolean('conflict', { description: "Both have different owners: the survivor's stays." }),
  }),
});
const MergeStage = builder.objectRef<svc.MergePlan['stage']>('MergeStage').implement({
  fields: (t) => ({
    survivor: t.expose('survivor', { type: LifecycleStageEnum }),
    duplicate: t.expose('duplicate', { type: LifecycleStageEnum }),
    result: t.expose('result', { type: LifecycleStageEnum, description: 'Before order-driven automation of the merged orders.' }),
  }),
});
const MergeMove = builder.objectRef<{ kind: string; count: number }>('MergeMove').implement({
  fields: (t) => ({
    kind: t.exposeString('kind', {
      description: 'orders, interactions, followUps, tags, consentChanges, stageTransitions, pointsMovements, referrals',
    }),
    count: t.exposeInt('count'),
  }),
});
const MergePreview = builder.objectRef<svc.MergePlan>('MergePreview').implement({
  description: 'What a merge moves from the duplicate to the survivor, and where the two disagree.',
  fields: (t) => ({
    filledFields: t.field({ type: [MergeFieldValue], resolve: (p) => p.filled }),
    conflictingFields: t.field({ type: [MergeFieldConflict], resolve: (p) => p.conflicts }),
    addedEmails: t.exposeStringList('addedEmails', { description: "The duplicate's emails the survivor gains as secondary ones." }),
    addedPhones: t.exposeStringList('addedPhones'),
    conflictingExternalId: t.exposeString('conflictingExternalId', {
      nullable: true,
      description: "The duplicate's externalId when the survivor has its own (it stays on the tombstone; lookups by it follow the merge).",
    }),
    consents: t.field({ type: [MergeConsentOutcome], resolve: (p) => p.consents }),
    points: t.field({ type: MergePoints, resolve: (p) => p.points }),
    owner: t.field({ type: MergeOwner, resolve: (p) => p.owner }),
    stage: t.field({ type: MergeStage, resolve: (p) => p.stage }),
    moves: t.field({ type: [MergeMove], resolve: (p) => p.moves }),
  }),
});

type MergeOutcome = { customer: unknown; dryRun: boolean; preview: svc.MergePlan };
const MergeCustomersSuccess = builder.objectRef<MergeOutcome>('MergeCustomersSuccess').implement({
  fields: (t) => ({
    customer: t.field({ type: CustomerNode, resolve: (r) => r.customer as never, description: 'The survivor (unchanged on a dry run).' }),
    dryRun: t.exposeBoolean('dryRun', { description: 'True when nothing was written.' }),
    preview: t.field({ type: MergePreview, resolve: (r) => r.preview, description: 'What moved (or would move) and what conflicted.' }),
  }),
});

const SetCustomerStageInput = builder.inputType('SetCustomerStageInput', {
  fields: (t) => ({
    id: t.globalID({ required: true, for: CustomerNode }),
    stage: t.field({ type: LifecycleStageEnum, required: true }),
    reason: t.string({ description: 'Why (kept in the stage history). Required with force.' }),
    partnerKind: t.field({
      type: PartnerKindEnum,
      description: 'Required with PARTNER (AGENT, DISTRIBUTOR, SHAREHOLDER, OTHER); only with PARTNER.',
    }),
    force: t.boolean({
      description:
        'Set LOYAL / ADVOCATE / STRATEGIC although the facts do not support it (e.g. one order); needs a reason, recorded with the facts.',
    }),
  }),
});

const TagCustomerInput = builder.inputType('TagCustomerInput', {
  fields: (t) => ({
    id: t.globalID({ required: true, for: CustomerNode }),
    tags: t.stringList({ required: true }),
  }),
});

const customerResult = (name: string) => ({
  types: [...COMMON_ERRORS],
  result: { name: `${name}Success` },
  union: { name: `${name}Result` },
  dataField: { name: 'customer' },
});

const UpsertCustomerPayload = builder.objectRef<svc.UpsertResult>('UpsertCustomerPayload').implement({
  fields: (t) => ({
    customer: t.field({ type: CustomerNode, resolve: (r) => r.customer }),
    created: t.exposeBoolean('created', { description: 'True when no customer matched and one was created.' }),
  }),
});

const UpsertCustomersInput = builder.inputType('UpsertCustomersInput', {
  fields: (t) => ({
    items: t.field({
      type: [UpsertCustomersItemInput],
      required: true,
      description: 'At most 500 customers, each as upsertCustomer takes it; more is a ValidationError and nothing is written.',
    }),
    idempotencyKey: t.string({
      description: 'Retries with the same key and items return the stored results without writing; other items: IdempotencyConflictError.',
    }),
  }),
});

const UpsertCustomersItemResult = itemResultUnion('UpsertCustomersItemResult', UpsertCustomerPayload, CUSTOMER_ITEM_ERRORS, (v) => ({
  customer: v.row,
  created: v.created,
}));

type CustomersBatch = Awaited<ReturnType<typeof upsertCustomers>>;
const UpsertCustomersPayload = builder.objectRef<CustomersBatch>('UpsertCustomersPayload').implement({
  description: 'Per item, in input order: the upserted customer or the typed error of that item (which changed nothing).',
  fields: (t) => batchResultFields(t, UpsertCustomersItemResult),
});

const DeletedCustomer = builder.objectRef<{ id: string }>('DeletedCustomer').implement({
  fields: (t) => ({ deletedId: t.field({ type: 'ID', resolve: (r) => encodeGlobalID('Customer', r.id) }) }),
});

builder.mutationFields((t) => ({
  createCustomer: t.field({
    authScopes: WRITE,
    type: CustomerNode,
    description:
      'Creates a customer. Emails are lower-cased, phones normalised to E.164; a taken email/phone/externalId is a ConflictError.',
    errors: customerResult('CreateCustomer'),
    args: { input: t.arg({ type: CreateCustomerInput, required: true }) },
    resolve: (_r, { input }, ctx) => svc.createCustomer(write(ctx), actorOf(ctx), toServiceInput(input)),
  }),
  updateCustomer: t.field({
    authScopes: WRITE,
    type: CustomerNode,
    description: 'Changes the given fields (null clears). Pass `version` for optimistic concurrency.',
    errors: { ...customerResult('UpdateCustomer'), types: [...COMMON_ERRORS, VersionConflictError] },
    args: { input: t.arg({ type: UpdateCustomerInput, required: true }) },
    resolve: (_r, { input }, ctx) => {
      const { id, version, ...rest } = input;
      return svc.updateCustomer(write(ctx), actorOf(ctx), id.id, version ?? null, toServiceInput(rest));
    },
  }),
  upsertCustomer: t.field({
    authScopes: WRITE,
    type: UpsertCustomerPayload,
    description: 'Creates or updates the customer matched by externalId, email or phone (in that order).',
    errors: {
      types: [...COMMON_ERRORS],
      result: { name: 'UpsertCustomerSuccess' },
      union: { name: 'UpsertCustomerResult' },
      directResult: true,
    },
    args: { input: t.arg({ type: UpsertCustomerInput, required: true }) },
    resolve: (_r, { input }, ctx) => svc.upsertCustomer(write(ctx), actorOf(ctx), toServiceInput(input)),
  }),
  upsertCustomers: t.field({
    authScopes: WRITE,
    type: UpsertCustomersPayload,
    description:
      'upsertCustomer for up to 500 customers (syncs), in one request: results per item in input order; an invalid or conflicting item is its own typed error and writes nothing, the others are written. Items see the earlier ones: the same email twice is one customer, created then updated. With idempotencyKey a retry returns the stored results.',
    errors: {
      types: [...COMMON_ERRORS, IdempotencyConflictError],
      union: { name: 'UpsertCustomersResult' },
      directResult: true,
    },
    args: { input: t.arg({ type: UpsertCustomersInput, required: true }) },
    resolve: (_r, { input }, ctx) => upsertCustomers(write(ctx), actorOf(ctx), input.items.map(toServiceInput), input.idempotencyKey),
  }),
  mergeCustomers: t.field({
    authScopes: REMOVE,
    type: MergeCustomersSuccess,
    description:
      'Merges a duplicate into a survivor: history, tags, consents and related records move; nothing is lost. A customer already merged is an AlreadyMergedError (as survivor or duplicate); concurrent merges of the same customers serialise. `dryRun: true` only returns the preview.',
    errors: {
      types: [AlreadyMergedError, ...COMMON_ERRORS],
      union: { name: 'MergeCustomersResult' },
      directResult: true,
    },
    args: { input: t.arg({ type: MergeCustomersInput, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      const db = write(ctx);
      const [survivorId, duplicateId] = [input.survivorId.id, input.duplicateId.id];
      if (input.dryRun) {
        const preview = await svc.previewMerge(db, survivorId, duplicateId);
        return { customer: await svc.getCustomer(db, survivorId), dryRun: true, preview };
      }
      const { customer, plan } = await svc.mergeCustomersWithPlan(db, actorOf(ctx), survivorId, duplicateId);
      return { customer, dryRun: false, preview: plan };
    },
  }),
  setCustomerStage: t.field({
    authScopes: WRITE,
    type: CustomerNode,
    description:
      'Moves the customer to a lifecycle stage by hand; the move is recorded. LOYAL / ADVOCATE / STRATEGIC are refused (ValidationError at input.stage) when the facts do not support them, unless force with a reason. The automatic ladder respects the move until a fact changes (docs/customers.md).',
    errors: customerResult('SetCustomerStage'),
    args: { input: t.arg({ type: SetCustomerStageInput, required: true }) },
    resolve: (_r, { input }, ctx) =>
      svc.setStage(write(ctx), actorOf(ctx), input.id.id, input.stage, input.reason, 'MANUAL', {
        force: input.force,
        partnerKind: input.partnerKind,
        sql: ctx.sql,
      }),
  }),
  issueReferralCode: t.field({
    authScopes: WRITE,
    type: CustomerNode,
    description:
      'Issues the customer\'s referral code (8 characters, unique in the shop) when they have none, and returns the customer; the code is stable after, so calling again returns the same. Links: the shop\'s storefront URL with ?ref=CODE (docs/customers.md "Referral codes").',
    errors: customerResult('IssueReferralCode'),
    args: { input: t.arg({ type: CustomerIdInput, required: true }) },
    resolve: (_r, { input }, ctx) => issueReferralCode(write(ctx), input.id.id),
  }),
  tagCustomer: t.field({
    authScopes: WRITE,
    type: CustomerNode,
    errors: customerResult('TagCustomer'),
    args: { input: t.arg({ type: TagCustomerInput, required: true }) },
    resolve: (_r, { input }, ctx) => svc.tagCustomer(write(ctx), input.id.id, input.tags),
  }),
  untagCustomer: t.field({
    authScopes: WRITE,
    type: CustomerNode,
    errors: customerResult('UntagCustomer'),
    args: { input: t.arg({ type: TagCustomerInput, required: true }) },
    resolve: (_r, { input }, ctx) => svc.untagCustomer(write(ctx), input.id.id, input.tags),
  }),
  archiveCustomer: t.field({
    authScopes: WRITE,
    type: CustomerNode,
    description: 'Hides the customer from default lists; reversible with unarchiveCustomer.',
    errors: customerResult('ArchiveCustomer'),
    args: { input: t.arg({ type: CustomerIdInput, required: true }) },
    resolve: (_r, { input }, ctx) => svc.archiveCustomer(write(ctx), input.id.id, true),
  }),
  unarchiveCustomer: t.field({
    authScopes: WRITE,
    type: CustomerNode,
    errors: customerResult('UnarchiveCustomer'),
    args: { input: t.arg({ type: CustomerIdInput, required: true }) },
    resolve: (_r, { input }, ctx) => svc.archiveCustomer(write(ctx), input.id.id, false),
  }),
  deleteCustomer: t.field({
    authScopes: REMOVE,
    type: DeletedCustomer,
    description: 'Erases the customer and all their data (right to erasure). Irreversible.',
    errors: {
      types: [...COMMON_ERRORS],
      result: { name: 'DeleteCustomerSuccess' },
      union: { name: 'DeleteCustomerResult' },
      directResult: true,
    },
    args: { input: t.arg({ type: CustomerIdInput, required: true }) },
    resolve: async (_r, { input }, ctx) => ({ id: await svc.deleteCustomer(write(ctx), input.id.id) }),
  }),
}));
