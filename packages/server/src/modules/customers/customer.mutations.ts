import { encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../../builder.ts';
import type { Context } from '../../context.ts';
import { VersionConflictError } from '../../errors.ts';
import { COMMON_ERRORS } from '../common/common.type.ts';
import { actorOf } from '../common/graphql-helpers.ts';
import { CreateCustomerInput, UpdateCustomerInput, UpsertCustomerInput } from './customer.inputs.ts';
import * as svc from './customer.service.ts';
import { CustomerNode, LifecycleStageEnum } from './customer.type.ts';

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
  }),
});

const SetCustomerStageInput = builder.inputType('SetCustomerStageInput', {
  fields: (t) => ({
    id: t.globalID({ required: true, for: CustomerNode }),
    stage: t.field({ type: LifecycleStageEnum, required: true }),
    reason: t.string({ description: 'Why (kept in the stage history).' }),
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
  mergeCustomers: t.field({
    authScopes: REMOVE,
    type: CustomerNode,
    description: 'Merges a duplicate into a survivor: history, tags, consents and related records move; nothing is lost.',
    errors: customerResult('MergeCustomers'),
    args: { input: t.arg({ type: MergeCustomersInput, required: true }) },
    resolve: (_r, { input }, ctx) => svc.mergeCustomers(write(ctx), actorOf(ctx), input.survivorId.id, input.duplicateId.id),
  }),
  setCustomerStage: t.field({
    authScopes: WRITE,
    type: CustomerNode,
    description: 'Moves the customer to a lifecycle stage by hand; the move is recorded.',
    errors: customerResult('SetCustomerStage'),
    args: { input: t.arg({ type: SetCustomerStageInput, required: true }) },
    resolve: (_r, { input }, ctx) => svc.setStage(write(ctx), actorOf(ctx), input.id.id, input.stage, input.reason),
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
