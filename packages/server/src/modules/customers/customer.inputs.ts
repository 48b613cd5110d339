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

/**
 * A field builder whose fields drop their `validate` schemas: for batch items (upsertCustomers),
 * which the service validates one by one so that one invalid item is that item's ValidationError
 * instead of failing the whole batch at the GraphQL layer. Same fields, same types otherwise.
 */
function withoutValidation<T>(t: T): T {
  return new Proxy(t as object, {
    get(target, prop) {
      const member = Reflect.get(target, prop);
      if (typeof member !== 'function') return member;
      const method = member as Function;
      return (opts?: unknown, ...rest: unknown[]) => {
        if (opts && typeof opts === 'object' && 'validate' in opts) {
          const { validate: _v, ...kept } = opts as Record<string, unknown>;
          return method.call(target, kept, ...rest);
        }
        return method.call(target, opts, ...rest);
      };
    },
  }) as T;
}

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;
/** The input field builder (typed: input types built from these fields keep their TypeScript shapes). */
type FieldBuilder = PothosSchemaTypes.InputFieldBuilder<Types, 'InputObject'>;

const locationFields = (t: FieldBuilder) => ({
  country: t.string({ description: 'ISO 3166-1 alpha-2, e.g. DE', validate: locationSchema.shape.country }),
  region: t.string({ validate: locationSchema.shape.region }),
  city: t.string({ validate: locationSchema.shape.city }),
  postalCode: t.string({ validate: locationSchema.shape.postalCode }),
  addressLine: t.string({ validate: locationSchema.shape.addressLine }),
});
export const LocationInput = builder.inputType('LocationInput', { fields: locationFields });

const SOURCE_DESCRIPTION = 'Where the customer came from. A referrer is either a customer in the CRM or a name and contact.';
const sourceFields = (t: FieldBuilder) => ({
  channel: t.field({ type: SourceChannelEnum }),
  campaign: t.string({ validate: sourceSchema.shape.campaign }),
  medium: t.string({ validate: sourceSchema.shape.medium }),
  content: t.string({ validate: sourceSchema.shape.content }),
  referrerCustomerId: t.globalID({ for: CustomerNode }),
  referrerName: t.string({ validate: sourceSchema.shape.referrerName }),
  referrerContact: t.string({ validate: sourceSchema.shape.referrerContact }),
});
export const AcquisitionSourceInput = builder.inputType('AcquisitionSourceInput', {
  description: SOURCE_DESCRIPTION,
  fields: sourceFields,
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

const consentFields = (t: FieldBuilder) => ({
  channel: t.field({ type: ConsentChannelEnum, required: true }),
  granted: t.boolean({ required: true }),
  source: t.string({ description: 'Where it was captured: form, import, staff, api (default: "api").', validate: S.company }),
  ...consentProofFields(t),
});
export const ConsentInput = builder.inputType('ConsentInput', { fields: consentFields });

/** The nested input types of the profile fields: validated ones, and the batch items' twins without validation. */
const STRICT = { location: LocationInput, source: AcquisitionSourceInput, consent: ConsentInput };
const LENIENT = {
  location: builder.inputType('UpsertCustomersLocationInput', {
    description: 'LocationInput of a batch item (validated per item).',
    fields: (t) => locationFields(withoutValidation(t)),
  }),
  source: builder.inputType('UpsertCustomersSourceInput', {
    description: `${SOURCE_DESCRIPTION} AcquisitionSourceInput of a batch item (validated per item).`,
    fields: (t) => sourceFields(withoutValidation(t)),
  }),
  consent: builder.inputType('UpsertCustomersConsentInput', {
    description: 'ConsentInput of a batch item (validated per item).',
    fields: (t) => consentFields(withoutValidation(t)),
  }),
};

/** Profile fields shared by create, update and upsert. Omitted = unchanged; null = cleared. */
// biome-ignore lint/suspicious/noExplicitAny: one field set shared by three input types
const profileInputFields = (t: any, types: typeof STRICT = STRICT) => ({
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
  location: t.field({ type: types.location }),
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
  source: t.field({ type: types.source }),
  consents: t.field({ type: [types.consent] }),
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

// biome-ignore lint/suspicious/noExplicitAny: shared by the strict and the lenient upsert input
const upsertFields = (t: any) => ({
  stage: t.field({ type: LifecycleStageEnum, description: 'Stage when created (ignored on update).' }),
  tags: t.stringList({ validate: tagListSchema, description: 'Added (never removed) on update.' }),
});

export const UpsertCustomerInput = builder.inputType('UpsertCustomerInput', {
  description: 'Matched by externalId, then email, then phone; created when none matches.',
  fields: (t) => ({ ...profileInputFields(t), ...upsertFields(t) }),
});

/**
 * One item of upsertCustomers: the fields of UpsertCustomerInput (same meaning), validated by the
 * service per item: an invalid item is that item's ValidationError, the others go on.
 */
export const UpsertCustomersItemInput = builder.inputType('UpsertCustomersItemInput', {
  description:
    'One customer of upsertCustomers: the same fields as UpsertCustomerInput (matched by externalId, then email, then phone; created when none matches), validated per item.',
  fields: (t) => {
    const lenient = withoutValidation(t);
    return { ...profileInputFields(lenient, LENIENT as unknown as typeof STRICT), ...upsertFields(lenient) };
  },
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
