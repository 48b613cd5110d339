import { expect } from 'vitest';
import type { PrismaClient } from '../../packages/server/src/generated/prisma/client.ts';
import { schema } from '../../packages/server/src/schema.ts';
import type { Caller, GqlResult } from '../../packages/server/src/testing.ts';

/**
 * Shared helpers for the GraphQL operation tests: typed shapes of what the tests select, a caller
 * that fails on GraphQL errors, and `mutate()` which builds a mutation with the right input type
 * (read from the schema) and a selection covering every member of its result union.
 */

export type StaffOut = { id: string; name: string; email: string; role: string; active: boolean };
export type TagOut = { name: string };
export type ConsentOut = { channel: string; granted: boolean; source: string };
export type StageMove = { fromStage: string | null; toStage: string; reason: string | null; source: string; actor: { id: string } | null };
export type CustomerOut = {
  id: string;
  email: string | null;
  phone: string | null;
  firstName: string | null;
  lastName: string | null;
  company: string | null;
  externalId: string | null;
  version: number;
  stage: string;
  status: string;
  otherEmails: string[];
  otherPhones: string[];
  dealLikelihood: number | null;
  archivedAt: string | null;
  createdAt: string;
  owner: { id: string; name: string } | null;
  tags: TagOut[];
  consents: ConsentOut[];
  source: {
    channel: string | null;
    campaign: string | null;
    referrer: { id: string } | null;
    referrerName: string | null;
    referrerContact: string | null;
  };
  stageHistory: { totalCount: number; edges: { node: StageMove }[] };
};
export type ApiKeyOut = {
  id: string;
  kind: string;
  name: string;
  prefix: string;
  scopes: string[];
  lastUsedAt: string | null;
  revokedAt: string | null;
};
export type ProfileOut = {
  firstName: string | null;
  lastName: string | null;
  email: string | null;
  phone: string | null;
  consents: ConsentOut[];
};

/** A mutation result: one member of its union, errors and successes flattened. */
export type Result = {
  __typename: string;
  code?: string;
  message?: string;
  path?: string[];
  issues?: { path: string[]; message: string; code: string }[];
  resource?: string;
  currentVersion?: number;
  customer?: CustomerOut;
  created?: boolean;
  deletedId?: string;
  staffUser?: StaffOut;
  apiKey?: ApiKeyOut;
  key?: string;
  token?: string;
  expiresAt?: string;
  profile?: ProfileOut;
};

export const CUSTOMER = `id email phone firstName lastName company externalId version stage status otherEmails otherPhones dealLikelihood
  archivedAt createdAt owner { id name } tags { name } consents { channel granted source }
  source { channel campaign referrer { id } referrerName referrerContact }
  stageHistory(first: 50) { totalCount edges { node { fromStage toStage reason source actor { id } } } }`;
export const STAFF = 'id name email role active';
export const API_KEY = 'id kind name prefix scopes lastUsedAt revokedAt';
export const PROFILE = 'firstName lastName email phone consents { channel granted source }';

/** Selection of the success member of each mutation's result union. */
const SUCCESS: Record<string, string> = {
  upsertCustomer: `... on UpsertCustomerPayload { created customer { ${CUSTOMER} } }`,
  deleteCustomer: '... on DeletedCustomer { deletedId }',
  redactShop: '... on RedactShopPayload { shopId redactedAt }',
  confirmConsent: '... on ConfirmConsentSuccess { consent { channel granted } }',
  createApiKey: `... on CreatedApiKey { key apiKey { ${API_KEY} } }`,
  revokeApiKey: `... on RevokeApiKeySuccess { apiKey { ${API_KEY} } }`,
  createStaffUser: `... on CreateStaffUserSuccess { staffUser { ${STAFF} } }`,
  updateStaffUser: `... on UpdateStaffUserSuccess { staffUser { ${STAFF} } }`,
  createCustomerToken: '... on CustomerToken { token expiresAt }',
  updateMyProfile: `... on UpdateMyProfileSuccess { profile { ${PROFILE} } }`,
};
const successSelection = (field: string) =>
  SUCCESS[field] ?? `... on ${field[0]?.toUpperCase()}${field.slice(1)}Success { customer { ${CUSTOMER} } }`;

/** The input type of a mutation's `input` argument (e.g. "CreateCustomerInput!") and its error selection. */
function shapeOf(field: string): { inputType: string; errors: string } {
  const f = schema.getMutationType()?.getFields()[field];
  const arg = f?.args.find((a) => a.name === 'input');
  if (!f || !arg) throw new Error(`No mutation ${field}(input:)`);
  const union = schema.getType(f.type.toString().replace(/[[\]!]/g, ''));
  const members = union && 'getTypes' in union ? union.getTypes().map((m) => m.name) : [];
  const extra: Record<string, string> = {
    ValidationError: 'issues { path message code }',
    NotFoundError: 'resource',
    VersionConflictError: 'currentVersion',
  };
  const errors = members
    .filter((m) => extra[m])
    .map((m) => `... on ${m} { ${extra[m]} }`)
    .join(' ');
  return { inputType: arg.type.toString(), errors: `... on Error { code message path } ${errors}` };
}

/** Runs a query; fails the test on GraphQL errors. */
export async function ok<T>(g: Caller, query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<T> {
  const r = await g<T>(query, variables, headers);
  if (r.errors?.length || !r.data) throw new Error(`GraphQL errors (HTTP ${r.status}): ${JSON.stringify(r.errors)}`);
  return r.data;
}

/** Runs a mutation and returns the raw response (for tests of transport-level errors). */
export function mutateRaw(
  g: Caller,
  field: string,
  input: unknown,
  headers?: Record<string, string>,
): Promise<GqlResult<Record<string, Result>>> {
  const { inputType, errors } = shapeOf(field);
  const q = `mutation M($input: ${inputType}) { ${field}(input: $input) { __typename ${errors} ${successSelection(field)} } }`;
  return g<Record<string, Result>>(q, { input }, headers);
}

/** Runs a mutation and returns its result union member (fails on GraphQL errors). */
export async function mutate(g: Caller, field: string, input: unknown, headers?: Record<string, string>): Promise<Result> {
  const r = await mutateRaw(g, field, input, headers);
  const res = r.data?.[field];
  if (r.errors?.length || !res) throw new Error(`${field}: GraphQL errors (HTTP ${r.status}): ${JSON.stringify(r.errors)}`);
  return res;
}

/** Like `mutate`, but expects the success member and returns it. */
export async function succeed(g: Caller, field: string, input: unknown, headers?: Record<string, string>): Promise<Result> {
  const res = await mutate(g, field, input, headers);
  if (res.code) throw new Error(`${field} failed: ${JSON.stringify(res)}`);
  return res;
}

export async function createCustomer(g: Caller, input: Record<string, unknown>): Promise<CustomerOut> {
  const res = await succeed(g, 'createCustomer', input);
  return res.customer as CustomerOut;
}

export async function createStaff(g: Caller, input: { name: string; email: string; role?: string }): Promise<StaffOut> {
  const res = await succeed(g, 'createStaffUser', input);
  return res.staffUser as StaffOut;
}

export async function getCustomer(g: Caller, id: string): Promise<CustomerOut | null> {
  return (await ok<{ customer: CustomerOut | null }>(g, `query($id: ID!) { customer(id: $id) { ${CUSTOMER} } }`, { id })).customer;
}

/** Asserts a typed error member of a result union. */
export function expectError(res: Result, typename: string, code: string, path?: string[]) {
  expect(res.__typename).toBe(typename);
  expect(res.code).toBe(code);
  expect(typeof res.message).toBe('string');
  if (path) expect(res.path).toEqual(path);
}

/** The `extensions.code` of every GraphQL error in a response. */
export const errorCodes = (r: GqlResult<unknown>) => (r.errors ?? []).map((e) => e.extensions?.code);

/** Row counts of every tenant table for one shop, read with the unscoped client. */
export async function rowCounts(prisma: PrismaClient, shopId: string) {
  const where = { shopId };
  return {
    customers: await prisma.customer.count({ where }),
    tags: await prisma.tag.count({ where }),
    customerTags: await prisma.customerTag.count({ where }),
    consents: await prisma.consent.count({ where }),
    consentChanges: await prisma.consentChange.count({ where }),
    stageTransitions: await prisma.stageTransition.count({ where }),
    merges: await prisma.customerMerge.count({ where }),
    staff: await prisma.staffUser.count({ where }),
    apiKeys: await prisma.apiKey.count({ where }),
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
