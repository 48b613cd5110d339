import { builder } from '../../builder.ts';
import { NotFoundError } from '../../errors.ts';
import type { Customer } from '../../generated/prisma/client.ts';
import { COMMON_ERRORS } from '../common/common.type.ts';
import { customerSelfOf } from '../common/graphql-helpers.ts';
import { buildCustomerExport, exportScope, recordDataRequest } from './customer.export.ts';
import { ConsentInput, LocationInput } from './customer.inputs.ts';
import { issueReferralCode } from './customer.referral.ts';
import { profileSchema as P } from './customer.schema.ts';
import { confirmConsent, getCustomer, updateCustomer } from './customer.service.ts';
import { ConsentObject, ContactChannelEnum, ContactTimeEnum, ContactToleranceEnum, LocationRef } from './customer.type.ts';

/**
 * The customer's own view of their profile, for storefronts using a publishable key plus a
 * customer token. Only what a customer may see and change: no internal sales notes, owner,
 * deal likelihood or tags.
 */
const MyProfile = builder.prismaObject('Customer', {
  variant: 'MyProfile',
  description: "The signed-in customer's own profile (publishable key + x-customer-token).",
  fields: (t) => ({
    firstName: t.exposeString('firstName', { nullable: true }),
    lastName: t.exposeString('lastName', { nullable: true }),
    email: t.exposeString('email', { nullable: true }),
    phone: t.exposeString('phone', { nullable: true }),
    referralCode: t.exposeString('referralCode', {
      nullable: true,
      description: 'My referral code for links like https://shop.example/?ref=CODE (null until issueMyReferralCode).',
    }),
    location: t.field({ type: LocationRef, resolve: (c) => c }),
    productInterests: t.exposeStringList('productInterests'),
    preferredChannel: t.expose('preferredChannel', { type: ContactChannelEnum, nullable: true }),
    preferredContactTime: t.expose('preferredContactTime', { type: ContactTimeEnum, nullable: true }),
    timeZone: t.exposeString('timeZone', { nullable: true }),
    contactTolerance: t.expose('contactTolerance', { type: ContactToleranceEnum, nullable: true }),
    consents: t.relation('consents', { type: ConsentObject, query: { orderBy: { channel: 'asc' } } }),
  }),
});

const S = P.shape;
const UpdateMyProfileInput = builder.inputType('UpdateMyProfileInput', {
  fields: (t) => ({
    firstName: t.string({ validate: S.firstName }),
    lastName: t.string({ validate: S.lastName }),
    phone: t.string({ validate: S.phone }),
    location: t.field({ type: LocationInput }),
    productInterests: t.stringList({ validate: S.productInterests }),
    preferredChannel: t.field({ type: ContactChannelEnum }),
    preferredContactTime: t.field({ type: ContactTimeEnum }),
    timeZone: t.string({ description: "IANA time zone (e.g. Europe/Berlin); null: the shop's." }),
    contactTolerance: t.field({ type: ContactToleranceEnum }),
    consents: t.field({ type: [ConsentInput], description: 'Consent decisions; recorded with source "self-service".' }),
  }),
});

builder.queryField('me', (t) =>
  t.prismaField({
    authScopes: { customer: true },
    type: MyProfile,
    nullable: true,
    description: 'The customer named by the x-customer-token header (publishable keys only).',
    resolve: async (query, _r, _a, ctx) => {
      const { db, customerId } = customerSelfOf(ctx);
      const c = await getCustomer(db, customerId, true);
      return c ? db.customer.findUnique({ ...query, where: { id: c.id } }) : null;
    },
  }),
);

builder.queryField('myDataExport', (t) =>
  t.field({
    authScopes: { customer: true },
    type: 'JSON',
    description:
      'Everything the shop holds about the customer named by the x-customer-token header, as one JSON document (publishable key). Records CUSTOMER_DATA_REQUESTED. Streamed: GET /me/export.',
    resolve: async (_r, _a, ctx) => {
      const { db, customerId } = customerSelfOf(ctx);
      const scope = await exportScope(db, customerId, []);
      await recordDataRequest(db, scope, 'CUSTOMER', 'graphql');
      return buildCustomerExport(db, scope);
    },
  }),
);

const ConfirmConsentInput = builder.inputType('ConfirmConsentInput', {
  fields: (t) => ({
    token: t.string({
      required: true,
      description: 'The token of the CONSENT_CONFIRMATION_REQUESTED event (from the link sent to the person).',
    }),
  }),
});

builder.mutationField('confirmConsent', (t) =>
  t.field({
    authScopes: { shop: true },
    type: ConsentObject,
    description:
      'Double opt-in: confirms the consent the token was issued for (any key of the shop; the confirmation link needs no customer token). Recorded with the browser’s IP and user agent. Unknown or used token: NotFoundError; expired: ValidationError.',
    errors: {
      types: [...COMMON_ERRORS],
      result: { name: 'ConfirmConsentSuccess' },
      union: { name: 'ConfirmConsentResult' },
      dataField: { name: 'consent' },
    },
    args: { input: t.arg({ type: ConfirmConsentInput, required: true }) },
    resolve: (_r, { input }, ctx) => {
      const { db } = ctx;
      const browser = ctx.viewer.kind === 'publishable' ? { ip: ctx.clientIp, userAgent: ctx.userAgent } : null;
      return confirmConsent(db, input.token, browser);
    },
  }),
);

builder.mutationField('issueMyReferralCode', (t) =>
  t.field({
    authScopes: { customer: true },
    type: MyProfile,
    description:
      "The signed-in customer's referral code, issued on the first call and the same after (publishable key + x-customer-token): share links like https://shop.example/?ref=CODE.",
    errors: {
      types: [...COMMON_ERRORS],
      result: { name: 'IssueMyReferralCodeSuccess' },
      union: { name: 'IssueMyReferralCodeResult' },
      dataField: { name: 'profile' },
    },
    resolve: async (_r, _a, ctx): Promise<Customer> => {
      const { db, customerId } = customerSelfOf(ctx);
      const c = await getCustomer(db, customerId, true);
      if (!c) throw new NotFoundError('Customer', []);
      return issueReferralCode(db, c.id);
    },
  }),
);

builder.mutationField('updateMyProfile', (t) =>
  t.field({
    authScopes: { customer: true },
    type: MyProfile,
    errors: {
      types: [...COMMON_ERRORS],
      result: { name: 'UpdateMyProfileSuccess' },
      union: { name: 'UpdateMyProfileResult' },
      dataField: { name: 'profile' },
    },
    args: { input: t.arg({ type: UpdateMyProfileInput, required: true }) },
    resolve: async (_r, { input }, ctx): Promise<Customer> => {
      const { db, customerId } = customerSelfOf(ctx);
      const c = await getCustomer(db, customerId, true);
      if (!c) throw new NotFoundError('Customer');
      const consents = input.consents?.map((x) => ({ ...x, source: 'self-service' }));
      const browser = { ip: ctx.clientIp, userAgent: ctx.userAgent };
      return updateCustomer(db, { staffId: null, source: 'self-service', browser }, c.id, null, { ...input, consents: consents as never });
    },
  }),
);
