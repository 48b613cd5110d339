import { builder } from '../../builder.ts';
import { locationSchema, profileSchema as P, sourceSchema, tagListSchema } from './customer.schema.ts';
import {
  ConsentChannelEnum,
  ConsentLegalBasisEnum,
  ContactChannelEnum,
  ContactTimeEnum,
  ContactToleranceEnum,
  CustomerNode,
  CustomerStatusEnum,
  FocusFactorEnum,
  GenderEnum,
  IncomeBandEnum,
  LifecycleStageEnum,
  MaritalStatusEnum,
  PriceSensitivityEnum,
  SourceChannelEnum,
  StaffUserNode,
} from './customer.type.ts';

// Field validators come from customer.schema.ts, the same zod schemas the service applies.
const S = P.shape;

export const ImHandleInput = builder.inputType('ImHandleInput', {
  fields: (t) => ({
    network: t.string({ required: true, description: 'e.g. WECHAT, WHATSAPP, QQ, TELEGRAM' }),
    handle: t.string({ required: true }),
  }),
});

export const LocationInput = builder.inputType('LocationInput', {
  fields: (t) => ({
    country: t.string({ description: 'ISO 3166-1 alpha-2, e.g. DE', validate: locationSchema.shape.country }),
    region: t.string({ validate: locationSchema.shape.region }),
    city: t.string({ validate: locationSchema.shape.city }),
    postalCode: t.string({ validate: locationSchema.shape.postalCode }),
    addressLine: t.string({ validate: locationSchema.shape.addressLine }),
  }),
});

export const AcquisitionSourceInput = builder.inputType('AcquisitionSourceInput', {
  description: 'Where the customer came from. A referrer is either a customer in the CRM or a name and contact.',
  fields: (t) => ({
    channel: t.field({ type: SourceChannelEnum }),
    campaign: t.string({ validate: sourceSchema.shape.campaign }),
    medium: t.string({ validate: sourceSchema.shape.medium }),
    content: t.string({ validate: sourceSchema.shape.content }),
    referrerCustomerId: t.globalID({ for: CustomerNode }),
    referrerName: t.string({ validate: sourceSchema.shape.referrerName }),
    referrerContact: t.string({ validate: sourceSchema.shape.referrerContact }),
  }),
});

/** Proof of a consent decision, shared by ConsentInput and the storefront's LeadConsentInput. */
// biome-ignore lint/suspicious/noExplicitAny: one field set shared by two input types
export const consentProofFields = (t: any) => ({
  wording: t.string({ description: 'The consent text shown (up to 5000 characters).' }),
  textVersion: t.string({ description: "Id/version of the shop's consent text shown, instead of or with the wording." }),
  legalBasis: t.field({ type: ConsentLegalBasisEnum, description: 'Default CONSENT.' }),
  sourceUrl: t.string({ description: 'The page of the form.' }),
  doubleOptIn: t.boolean({
    description:
      'On a grant: wait for confirmation. The consent stays not granted until `confirmConsent` gets the token of the CONSENT_CONFIRMATION_REQUESTED event (send it to the person, e.g. as an email link).',
  }),
});

export const ConsentInput = builder.inputType('ConsentInput', {
  fields: (t) => ({
    channel: t.field({ type: ConsentChannelEnum, required: true }),
    granted: t.boolean({ required: true }),
    source: t.string({ description: 'Where it was captured: form, import, staff, api (default: "api").', validate: S.company }),
    ...consentProofFields(t),
  }),
});

/** Profile fields shared by create, update and upsert. Omitted = unchanged; null = cleared. */
// biome-ignore lint/suspicious/noExplicitAny: one field set shared by three input types
const profileInputFields = (t: any) => ({
  externalId: t.string({ validate: S.externalId, description: "The shop's own id for this customer." }),
  firstName: t.string({ validate: S.firstName }),
  lastName: t.string({ validate: S.lastName }),
  company: t.string({ validate: S.company }),
  email: t.string({ validate: S.email, description: 'Normalised to lower case.' }),
  phone: t.string({ validate: S.phone, description: 'International format; stored as E.164.' }),
  otherEmails: t.stringList({ validate: S.otherEmails }),
  otherPhones: t.stringList({ validate: S.otherPhones }),
  imHandles: t.field({ type: [ImHandleInput] }),
  jobTitle: t.string({ validate: S.jobTitle }),
  occupation: t.string({ validate: S.occupation }),
  industry: t.string({ validate: S.industry }),
  incomeBand: t.field({ type: IncomeBandEnum }),
  gender: t.field({ type: GenderEnum }),
  birthDate: t.field({ type: 'Date', validate: S.birthDate }),
  maritalStatus: t.field({ type: MaritalStatusEnum }),
  location: t.field({ type: LocationInput }),
  householdNotes: t.string({ validate: S.householdNotes }),
  productInterests: t.stringList({ validate: S.productInterests }),
  stylePreferences: t.string({ validate: S.stylePreferences }),
  purchasePurpose: t.string({ validate: S.purchasePurpose }),
  focusFactors: t.field({ type: [FocusFactorEnum] }),
  priceSensitivity: t.field({ type: PriceSensitivityEnum }),
  personality: t.string({ validate: S.personality }),
  hobbies: t.stringList({ validate: S.hobbies }),
  preferredChannel: t.field({ type: ContactChannelEnum }),
  preferredContactTime: t.field({ type: ContactTimeEnum }),
  timeZone: t.string({ description: "IANA time zone (e.g. Europe/Berlin); null: the shop's." }),
  contactTolerance: t.field({ type: ContactToleranceEnum }),
  dealLikelihood: t.int({ validate: S.dealLikelihood, description: '0..100' }),
  expectedPurchaseAt: t.field({ type: 'DateTime' }),
  attributes: t.field({ type: 'JSON', validate: S.attributes, description: 'Custom attributes; replaces the whole object.' }),
  ownerId: t.globalID({ for: StaffUserNode, description: 'The responsible sales rep.' }),
  source: t.field({ type: AcquisitionSourceInput }),
  consents: t.field({ type: [ConsentInput] }),
});

export const CreateCustomerInput = builder.inputType('CreateCustomerInput', {
  fields: (t) => ({
    ...profileInputFields(t),
    stage: t.field({ type: LifecycleStageEnum, description: 'Initial stage (default PROSPECT), recorded.' }),
    tags: t.stringList({ validate: tagListSchema }),
  }),
});

export const UpdateCustomerInput = builder.inputType('UpdateCustomerInput', {
  fields: (t) => ({
    id: t.globalID({ required: true, for: CustomerNode }),
    version: t.int({ description: 'The version you read; a mismatch returns VersionConflictError. Omit to skip the check.' }),
    ...profileInputFields(t),
  }),
});

export const UpsertCustomerInput = builder.inputType('UpsertCustomerInput', {
  description: 'Matched by externalId, then email, then phone; created when none matches.',
  fields: (t) => ({
    ...profileInputFields(t),
    stage: t.field({ type: LifecycleStageEnum, description: 'Stage when created (ignored on update).' }),
    tags: t.stringList({ validate: tagListSchema, description: 'Added (never removed) on update.' }),
  }),
});

export const CustomerSortFieldEnum = builder.enumType('CustomerSortField', {
  values: ['CREATED_AT', 'UPDATED_AT', 'LAST_NAME', 'DEAL_LIKELIHOOD', 'EXPECTED_PURCHASE_AT'] as const,
});
export const SortDirectionEnum = builder.enumType('SortDirection', { values: ['ASC', 'DESC'] as const });

export const CustomerOrderInput = builder.inputType('CustomerOrder', {
  fields: (t) => ({
    field: t.field({ type: CustomerSortFieldEnum, required: true }),
    direction: t.field({ type: SortDirectionEnum, defaultValue: 'DESC' }),
  }),
});

export const CustomerFilterInput = builder.inputType('CustomerFilter', {
  fields: (t) => ({
    stages: t.field({ type: [LifecycleStageEnum] }),
    statuses: t.field({ type: [CustomerStatusEnum], description: 'Default [ACTIVE].' }),
    sourceChannels: t.field({ type: [SourceChannelEnum] }),
    sourceCampaign: t.string(),
    tagsAny: t.stringList({ description: 'Has at least one of these tags.' }),
    tagsAll: t.stringList({ description: 'Has all of these tags.' }),
    ownerIds: t.globalIDList({ for: StaffUserNode }),
    unowned: t.boolean({ description: 'Only customers without an owner.' }),
    createdAfter: t.field({ type: 'DateTime' }),
    createdBefore: t.field({ type: 'DateTime' }),
    search: t.string({ description: 'Words matched against names, company, email and phone.' }),
  }),
});
