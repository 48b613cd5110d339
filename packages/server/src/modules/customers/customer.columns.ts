/**
 * The profile's plain columns, copied one-to-one from the input (customer.merge.ts fills the same
 * ones, less the identifiers it moves on its own, plus the location and source columns).
 */
export const PROFILE_COLUMNS = [
  'externalId',
  'firstName',
  'lastName',
  'company',
  'email',
  'phone',
  'jobTitle',
  'occupation',
  'industry',
  'incomeBand',
  'gender',
  'birthDate',
  'maritalStatus',
  'householdNotes',
  'stylePreferences',
  'purchasePurpose',
  'priceSensitivity',
  'personality',
  'preferredChannel',
  'preferredContactTime',
  'timeZone',
  'contactTolerance',
  'dealLikelihood',
  'expectedPurchaseAt',
  'ownerId',
] as const;
export const LOCATION_COLUMNS = ['country', 'region', 'city', 'postalCode', 'addressLine'] as const;
export const SOURCE_COLUMNS = [
  'sourceChannel',
  'sourceCampaign',
  'sourceMedium',
  'sourceContent',
  'sourceReferrerId',
  'sourceReferrerName',
  'sourceReferrerContact',
] as const;
