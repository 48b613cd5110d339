import { builder } from '../../builder.ts';
import { loader } from '../../db/loaders.ts';
import type { Customer } from '../../generated/prisma/client.ts';
import * as E from '../../generated/prisma/enums.ts';
import { StaffUserNode } from '../auth/staff.type.ts';

/** Every stage's definition (docs/customers.md "The lifecycle ladder"; DOMAIN.md section 1). */
export const STAGE_DESCRIPTIONS: Record<E.LifecycleStage, string> = {
  SUSPECT: "Imagined: fits the shop's picture of its customer; no contact yet.",
  PROSPECT: 'Expected: a lead likely to buy soon (showed interest, left contact data).',
  FIRST_PURCHASE: 'Bought once (one counted order). Automatic on the first counted order.',
  REPEAT: 'Ordered again (two or more counted orders). Automatic on the second counted order.',
  LOYAL:
    'Long-term customer: repeat purchases over time (default: at least 3 counted orders spanning at least 180 days); one order never counts. Automatic, per-shop thresholds (lifecycleSettings).',
  ADVOCATE:
    'Trusts the shop and recommends it, like a fan: LOYAL plus positive word of mouth or reviews (default: at least 2 positive WORD_OF_MOUTH / REVIEW interactions in 365 days). Automatic.',
  STRATEGIC: 'Strategic cooperation: not only buys but brings in customers (default: at least 2 referred customers who bought). Automatic.',
  PARTNER: 'Does business together with the shop: agent, distributor or shareholder (partnerKind). Set by staff only.',
  CHURNED:
    'Not one of the eight: a buyer the churn model rates HIGH (CustomerMetrics.churnRisk). Automatic; a new counted order reactivates the customer.',
};

export const LifecycleStageEnum = builder.enumType('LifecycleStage', {
  description:
    'The customer ladder: eight stages (SUSPECT to PARTNER) plus CHURNED. Stages move automatically from facts (orders, reviews, referrals, churn risk) and by hand; every move is a StageTransition.',
  values: Object.fromEntries(Object.values(E.LifecycleStage).map((v) => [v, { value: v, description: STAGE_DESCRIPTIONS[v] }])) as {
    [K in E.LifecycleStage]: { value: K; description: string };
  },
});
export const PartnerKindEnum = builder.enumType(E.PartnerKind, {
  name: 'PartnerKind',
  description: 'What business a PARTNER does with the shop: AGENT, DISTRIBUTOR, SHAREHOLDER or OTHER.',
});
export const StageChangeSourceEnum = builder.enumType(E.StageChangeSource, { name: 'StageChangeSource' });
export const CustomerStatusEnum = builder.enumType(E.CustomerStatus, {
  name: 'CustomerStatus',
  description: 'ARCHIVED customers are hidden from lists by default; MERGED ones are tombstones of a merge.',
});
export const GenderEnum = builder.enumType(E.Gender, { name: 'Gender' });
export const MaritalStatusEnum = builder.enumType(E.MaritalStatus, { name: 'MaritalStatus' });
export const IncomeBandEnum = builder.enumType(E.IncomeBand, { name: 'IncomeBand' });
export const PriceSensitivityEnum = builder.enumType(E.PriceSensitivity, { name: 'PriceSensitivity' });
export const FocusFactorEnum = builder.enumType(E.FocusFactor, {
  name: 'FocusFactor',
  description: 'What the customer focuses on when buying.',
});
export const ContactChannelEnum = builder.enumType(E.ContactChannel, { name: 'ContactChannel' });
export const ConsentChannelEnum = builder.enumType(E.ConsentChannel, {
  name: 'ConsentChannel',
  description: 'Channels needing consent; THIRD_PARTY_SHARING covers passing contact data on.',
});
export const ContactTimeEnum = builder.enumType(E.ContactTime, { name: 'ContactTime' });
export const ContactToleranceEnum = builder.enumType(E.ContactTolerance, {
  name: 'ContactTolerance',
  description: 'How often the customer accepts being contacted at most.',
});
export const SourceChannelEnum = builder.enumType(E.SourceChannel, { name: 'SourceChannel' });

type ImHandle = { network: string; handle: string };
export const ImHandleRef = builder.objectRef<ImHandle>('ImHandle').implement({
  description: 'An instant-messaging handle (WeChat, WhatsApp, QQ, Telegram, ...).',
  fields: (t) => ({ network: t.exposeString('network'), handle: t.exposeString('handle') }),
});

export const LocationRef = builder.objectRef<Customer>('Location').implement({
  fields: (t) => ({
    country: t.exposeString('country', { nullable: true, description: 'ISO 3166-1 alpha-2' }),
    region: t.exposeString('region', { nullable: true }),
    city: t.exposeString('city', { nullable: true }),
    postalCode: t.exposeString('postalCode', { nullable: true }),
    addressLine: t.exposeString('addressLine', { nullable: true }),
  }),
});

export const CustomerRefForSource = builder.objectRef<Customer>('AcquisitionSource');

export const TagObject = builder.prismaObject('Tag', {
  // Select mode (docs/performance.md): only the columns the requested fields need.
  select: { id: true },
  description: 'A free label on customers (unique by name per shop).',
  fields: (t) => ({
    name: t.exposeString('name'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const ConsentLegalBasisEnum = builder.enumType(E.ConsentLegalBasis, {
  name: 'ConsentLegalBasis',
  description: 'The legal basis a consent decision rests on (GDPR Art. 6(1)).',
});

// biome-ignore lint/suspicious/noExplicitAny: proof fields shared by Consent and ConsentChange
const proofFields = (t: any) => ({
  wording: t.exposeString('wording', { nullable: true, description: 'The consent text shown to the person.' }),
  textVersion: t.exposeString('textVersion', { nullable: true, description: "Id/version of the shop's consent text shown." }),
  legalBasis: t.expose('legalBasis', { type: ConsentLegalBasisEnum, nullable: true }),
  sourceUrl: t.exposeString('sourceUrl', { nullable: true, description: 'The page of the form it was given on.' }),
  ip: t.exposeString('ip', { nullable: true, description: 'IP address of the browser it came from.' }),
  userAgent: t.exposeString('userAgent', { nullable: true, description: 'User agent of the browser it came from.' }),
});

export const ConsentObject = builder.prismaObject('Consent', {
  select: { id: true },
  description:
    'The current consent decision for one channel, with its proof. A grant waiting for double opt-in is `granted: false, pendingConfirmation: true` until confirmed.',
  fields: (t) => ({
    channel: t.expose('channel', { type: ConsentChannelEnum }),
    granted: t.exposeBoolean('granted'),
    source: t.exposeString('source', { description: 'Where the decision was captured, e.g. "checkout-form".' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    ...proofFields(t),
    pendingConfirmation: t.exposeBoolean('pendingConfirmation', {
      description: 'A double opt-in grant not yet confirmed (does not count).',
    }),
    confirmedAt: t.expose('confirmedAt', { type: 'DateTime', nullable: true, description: 'When the double opt-in was confirmed.' }),
  }),
});

export const ConsentChangeObject = builder.prismaObject('ConsentChange', {
  select: { id: true },
  fields: (t) => ({
    channel: t.expose('channel', { type: ConsentChannelEnum }),
    granted: t.exposeBoolean('granted'),
    source: t.exposeString('source'),
    changedAt: t.expose('changedAt', { type: 'DateTime' }),
    ...proofFields(t),
    pending: t.exposeBoolean('pending', { description: 'A double opt-in grant asked for (confirmed by a later change).' }),
    confirmedAt: t.expose('confirmedAt', { type: 'DateTime', nullable: true }),
  }),
});

export const StageTransitionObject = builder.prismaObject('StageTransition', {
  description: 'One recorded lifecycle move.',
  fields: (t) => ({
    id: t.exposeID('id'),
    fromStage: t.expose('fromStage', { type: LifecycleStageEnum, nullable: true }),
    toStage: t.expose('toStage', { type: LifecycleStageEnum }),
    source: t.expose('source', { type: StageChangeSourceEnum }),
    reason: t.exposeString('reason', { nullable: true }),
    actor: t.relation('actor', { nullable: true }),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});

export function ageFrom(birth: Date | null, now = new Date()): number | null {
  if (!birth) return null;
  let age = now.getUTCFullYear() - birth.getUTCFullYear();
  const m = now.getUTCMonth() - birth.getUTCMonth();
  if (m < 0 || (m === 0 && now.getUTCDate() < birth.getUTCDate())) age--;
  return age;
}

const LOCATION_COLUMNS = { country: true, region: true, city: true, postalCode: true, addressLine: true } as const;
const SOURCE_COLUMNS = {
  sourceChannel: true,
  sourceCampaign: true,
  sourceMedium: true,
  sourceContent: true,
  sourceReferrerId: true,
  sourceReferrerName: true,
  sourceReferrerContact: true,
} as const;

export const CustomerNode = builder.prismaNode('Customer', {
  id: { field: 'id' },
  // Select mode: a query reads only the columns its fields need (t.expose*/t.relation add theirs; other fields say so).
  select: { id: true },
  // node(id)/nodes(ids) of an id not in this shop resolve to null (not a findUniqueOrThrow error).
  nullable: true,
  description: 'A customer or lead of the shop: basic, subjective and transactional facets in one profile.',
  authScopes: { scope: 'contacts:read' },
  findUnique: (id) => ({ id }),
  fields: (t) => ({
    externalId: t.exposeString('externalId', { nullable: true, description: "The shop's own id (e.g. from its commerce platform)." }),
    status: t.expose('status', { type: CustomerStatusEnum }),
    version: t.exposeInt('version', { description: 'Increments on every change; pass it to updateCustomer for optimistic concurrency.' }),
    firstName: t.exposeString('firstName', { nullable: true }),
    lastName: t.exposeString('lastName', { nullable: true }),
    displayName: t.string({
      description: 'Full name, else company, else email, else phone.',
      select: { firstName: true, lastName: true, company: true, email: true, phone: true },
      resolve: (c) => [c.firstName, c.lastName].filter(Boolean).join(' ') || c.company || c.email || c.phone || 'Unnamed customer',
    }),
    company: t.exposeString('company', { nullable: true }),
    email: t.exposeString('email', { nullable: true, description: 'Primary email (lower-cased).' }),
    phone: t.exposeString('phone', { nullable: true, description: 'Primary phone (E.164).' }),
    otherEmails: t.exposeStringList('otherEmails'),
    otherPhones: t.exposeStringList('otherPhones'),
    imHandles: t.field({ type: [ImHandleRef], select: { imHandles: true }, resolve: (c) => (c.imHandles as ImHandle[]) ?? [] }),
    jobTitle: t.exposeString('jobTitle', { nullable: true }),
    occupation: t.exposeString('occupation', { nullable: true }),
    industry: t.exposeString('industry', { nullable: true }),
    incomeBand: t.expose('incomeBand', { type: IncomeBandEnum, nullable: true }),
    gender: t.expose('gender', { type: GenderEnum, nullable: true }),
    birthDate: t.expose('birthDate', { type: 'Date', nullable: true }),
    age: t.int({ nullable: true, select: { birthDate: true }, resolve: (c) => ageFrom(c.birthDate) }),
    maritalStatus: t.expose('maritalStatus', { type: MaritalStatusEnum, nullable: true }),
    location: t.field({ type: LocationRef, select: LOCATION_COLUMNS, resolve: (c) => c as Customer }),
    householdNotes: t.exposeString('householdNotes', {
      nullable: true,
      description: "Household context (a spouse's or children's opinion often decides a purchase).",
    }),
    productInterests: t.exposeStringList('productInterests'),
    stylePreferences: t.exposeString('stylePreferences', { nullable: true }),
    purchasePurpose: t.exposeString('purchasePurpose', { nullable: true }),
    focusFactors: t.expose('focusFactors', { type: [FocusFactorEnum] }),
    priceSensitivity: t.expose('priceSensitivity', { type: PriceSensitivityEnum, nullable: true }),
    personality: t.exposeString('personality', { nullable: true }),
    hobbies: t.exposeStringList('hobbies'),
    preferredChannel: t.expose('preferredChannel', { type: ContactChannelEnum, nullable: true }),
    preferredContactTime: t.expose('preferredContactTime', {
      type: ContactTimeEnum,
      nullable: true,
      description: 'Local contact window: MORNING 09-12, AFTERNOON 13-17, EVENING 18-21, WEEKEND Sat/Sun 10-18, ANY (or none) 09-18.',
    }),
    timeZone: t.exposeString('timeZone', {
      nullable: true,
      description: "IANA time zone; null: the shop's (followUpSettings.cadence.timeZone). Due times and birthdays use it.",
    }),
    contactTolerance: t.expose('contactTolerance', { type: ContactToleranceEnum, nullable: true }),
    dealLikelihood: t.exposeInt('dealLikelihood', { nullable: true, description: '0..100' }),
    expectedPurchaseAt: t.expose('expectedPurchaseAt', { type: 'DateTime', nullable: true }),
    attributes: t.expose('attributes', { type: 'JSON', description: 'Custom attributes (an object).' }),
    stage: t.expose('stage', { type: LifecycleStageEnum }),
    referralCode: t.exposeString('referralCode', {
      nullable: true,
      description:
        'The customer\'s referral code (null until issued by issueReferralCode / issueMyReferralCode; stable after). The shop\'s links carry it as ?ref=CODE (docs/customers.md "Referral codes").',
    }),
    partnerKind: t.expose('partnerKind', {
      type: PartnerKindEnum,
      nullable: true,
      description: 'Set with the PARTNER stage by staff (null for other stages).',
    }),
    owner: t.relation('owner', { nullable: true, description: 'The responsible sales rep.' }),
    source: t.field({ type: CustomerRefForSource, select: SOURCE_COLUMNS, resolve: (c) => c as Customer }),
    tags: t.field({
      type: [TagObject],
      // Through the join table with `nestedSelection`, so that Pothos knows each Tag was loaded with
      // the selection its fields need (a plain `include: { tag: true }` is not tracked: with select
      // mode on Tag every tag was then fetched again, one batched statement per request).
      select: (_args, _ctx, nestedSelection) => ({
        tags: { select: { tag: nestedSelection(true) }, orderBy: { tag: { name: 'asc' } } },
      }),
      resolve: (c) => c.tags.map((x) => x.tag),
    }),
    consents: t.relation('consents', { query: { orderBy: { channel: 'asc' } } }),
    consentHistory: t.relatedConnection('consentChanges', {
      cursor: 'id',
      totalCount: true,
      query: { orderBy: [{ changedAt: 'desc' }, { id: 'desc' }] },
    }),
    stageHistory: t.relatedConnection('stageTransitions', {
      cursor: 'id',
      totalCount: true,
      description: 'Lifecycle moves, newest first.',
      query: { orderBy: [{ at: 'desc' }, { id: 'desc' }] },
    }),
    mergedInto: t.relation('mergedInto', { nullable: true }),
    archivedAt: t.expose('archivedAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

CustomerRefForSource.implement({
  description: 'Where the customer came from: channel, campaign/medium/content (UTM-like), and who referred them.',
  fields: (t) => ({
    channel: t.expose('sourceChannel', { type: SourceChannelEnum, nullable: true }),
    campaign: t.exposeString('sourceCampaign', { nullable: true }),
    medium: t.exposeString('sourceMedium', { nullable: true }),
    content: t.exposeString('sourceContent', { nullable: true }),
    referrer: t.field({
      type: CustomerNode,
      nullable: true,
      description: 'The referring customer, when they are in the CRM.',
      resolve: (c, _args, ctx) =>
        c.sourceReferrerId
          ? loader(ctx, 'customerById', (ids) => ctx.db.customer.findMany({ where: { id: { in: [...ids] } } })).load(c.sourceReferrerId)
          : null,
    }),
    referrerName: t.exposeString('sourceReferrerName', { nullable: true }),
    referrerContact: t.exposeString('sourceReferrerContact', { nullable: true }),
  }),
});

export { StaffUserNode };
