import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js';
import { z } from 'zod';
import * as E from '../../generated/prisma/enums.ts';
import { canonicalTimeZone } from '../follow-ups/follow-up.timing.ts';

/**
 * Zod schemas for customer input, shared by the GraphQL validation plugin and the service (which
 * validates again so it is safe to call without GraphQL). Normalisation happens here: emails are
 * trimmed and lower-cased, phones become E.164.
 */
export const LIMITS = {
  name: 100,
  text: 200,
  note: 2000,
  listItems: 50,
  attributesBytes: 16_000,
  attributesKeys: 100,
};

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]{2,}$/;

export function normalizeEmail(raw: string): string | null {
  const e = raw.trim().toLowerCase();
  if (e.length > 254 || !EMAIL_RE.test(e)) return null;
  return e;
}

export function normalizePhone(raw: string, defaultCountry?: string | null): string | null {
  const trimmed = raw.trim();
  if (trimmed.length > 32 || !/^[+()\d\s.-]+$/.test(trimmed)) return null;
  const country = defaultCountry && /^[A-Z]{2}$/.test(defaultCountry) ? (defaultCountry as CountryCode) : undefined;
  const parsed = parsePhoneNumberFromString(trimmed, country);
  if (!parsed?.isValid()) return null;
  return parsed.number;
}

export const emailSchema = z.string().transform((v, ctx) => {
  const e = normalizeEmail(v);
  if (!e) {
    ctx.addIssue({ code: 'custom', message: 'Not a valid email address' });
    return z.NEVER;
  }
  return e;
});

/** Phone without country context: must be international (+...). */
export const phoneSchema = z.string().transform((v, ctx) => {
  const p = normalizePhone(v);
  if (!p) {
    ctx.addIssue({ code: 'custom', message: 'Not a valid phone number (use international format, e.g. +4930123456)' });
    return z.NEVER;
  }
  return p;
});

const str = (max: number) => z.string().trim().max(max, `At most ${max} characters`);
const list = (max: number) => z.array(str(max)).max(LIMITS.listItems, `At most ${LIMITS.listItems} items`);

export const attributesSchema = z
  .record(z.string().max(64), z.unknown())
  .refine((o) => Object.keys(o).length <= LIMITS.attributesKeys, `At most ${LIMITS.attributesKeys} attributes`)
  .refine(
    (o) => JSON.stringify(o).length <= LIMITS.attributesBytes,
    `Attributes must serialise to at most ${LIMITS.attributesBytes} bytes`,
  );

export const locationSchema = z.object({
  country: z
    .string()
    .trim()
    .toUpperCase()
    .regex(/^[A-Z]{2}$/, 'Use an ISO 3166-1 alpha-2 country code')
    .nullish(),
  region: str(LIMITS.text).nullish(),
  city: str(LIMITS.text).nullish(),
  postalCode: str(20).nullish(),
  addressLine: str(LIMITS.text).nullish(),
});

export const sourceSchema = z.object({
  channel: z.enum(E.SourceChannel).nullish(),
  campaign: str(LIMITS.text).nullish(),
  medium: str(LIMITS.text).nullish(),
  content: str(LIMITS.text).nullish(),
  referrerCustomerId: z.string().nullish(),
  referrerName: str(LIMITS.name).nullish(),
  referrerContact: str(LIMITS.text).nullish(),
});

const MIN_BIRTH = new Date('1900-01-01T00:00:00Z');

/** Every profile field a secret key may set. `undefined` = leave as is, `null` = clear. */
export const profileSchema = z.object({
  externalId: str(200).min(1).nullish(),
  firstName: str(LIMITS.name).nullish(),
  lastName: str(LIMITS.name).nullish(),
  company: str(LIMITS.text).nullish(),
  email: emailSchema.nullish(),
  phone: phoneSchema.nullish(),
  otherEmails: z.array(emailSchema).max(10, 'At most 10 items').nullish(),
  otherPhones: z.array(phoneSchema).max(10, 'At most 10 items').nullish(),
  imHandles: z
    .array(z.object({ network: str(30).min(1), handle: str(LIMITS.name).min(1) }))
    .max(10, 'At most 10 items')
    .nullish(),
  jobTitle: str(LIMITS.name).nullish(),
  occupation: str(LIMITS.name).nullish(),
  industry: str(LIMITS.name).nullish(),
  incomeBand: z.enum(E.IncomeBand).nullish(),
  gender: z.enum(E.Gender).nullish(),
  birthDate: z
    .date()
    .refine((d) => d >= MIN_BIRTH && d <= new Date(), 'Birth date must be between 1900-01-01 and today')
    .nullish(),
  maritalStatus: z.enum(E.MaritalStatus).nullish(),
  location: locationSchema.nullish(),
  householdNotes: str(LIMITS.note).nullish(),
  productInterests: list(LIMITS.name).nullish(),
  stylePreferences: str(LIMITS.note).nullish(),
  purchasePurpose: str(LIMITS.note).nullish(),
  focusFactors: z.array(z.enum(E.FocusFactor)).max(10).nullish(),
  priceSensitivity: z.enum(E.PriceSensitivity).nullish(),
  personality: str(LIMITS.note).nullish(),
  hobbies: list(LIMITS.name).nullish(),
  preferredChannel: z.enum(E.ContactChannel).nullish(),
  preferredContactTime: z.enum(E.ContactTime).nullish(),
  timeZone: z
    .string()
    .trim()
    .refine((v) => v === '' || canonicalTimeZone(v) != null, 'Unknown time zone (use an IANA name such as Europe/Berlin)')
    .transform((v) => (v === '' ? null : canonicalTimeZone(v)))
    .nullish(),
  contactTolerance: z.enum(E.ContactTolerance).nullish(),
  dealLikelihood: z.number().int().min(0, 'Between 0 and 100').max(100, 'Between 0 and 100').nullish(),
  expectedPurchaseAt: z.date().nullish(),
  attributes: attributesSchema.nullish(),
  ownerId: z.string().nullish(),
  source: sourceSchema.nullish(),
});
export type ProfileInput = z.input<typeof profileSchema>;
export type Profile = z.output<typeof profileSchema>;

export const tagNameSchema = z.string().trim().min(1, 'Tag must not be empty').max(50, 'At most 50 characters');
export const tagListSchema = z.array(tagNameSchema).max(LIMITS.listItems, `At most ${LIMITS.listItems} tags`);

export const reasonSchema = str(500).nullish();
