import * as E from '../../generated/prisma/enums.ts';
import { normalizeEmail, normalizePhone } from '../customers/customer.schema.ts';

/**
 * Column mappings of bulk imports (docs/import.md): a file's row (CSV columns by header, or a
 * JSONL object) becomes a typed record, or a list of problems (field + reason) that reject it.
 * The GENERIC mapping reads the CRM's own field names; the SHOPIFY mapping first renames and
 * converts the columns of Shopify's customers / orders CSV exports to those names.
 */
export type RawRow = Record<string, unknown>;
export type Problem = { field: string; reason: string; value?: string | null };

export type ConsentRecord = {
  channel: E.ConsentChannel;
  granted: boolean;
  wording: string | null;
  textVersion: string | null;
  legalBasis: E.ConsentLegalBasis;
  sourceUrl: string | null;
};

/** A customer row, validated: `columns` are Customer columns (only those the row sets). */
export type CustomerRecord = {
  line: number;
  externalId: string | null;
  email: string | null;
  phone: string | null;
  columns: Record<string, unknown>;
  stage: E.LifecycleStage | null;
  ownerEmail: string | null;
  tags: string[];
  consents: ConsentRecord[];
};

export type OrderItemRecord = { sku: string | null; name: string; quantity: number; unitPrice: string; addOn: boolean };

/** An order (one or more lines of a CSV), validated; money as strings with two decimals. */
export type OrderRecord = {
  line: number;
  externalId: string;
  customer: { externalId: string | null; email: string | null; phone: string | null; firstName: string | null; lastName: string | null };
  placedAt: string;
  status: E.OrderStatus;
  channel: E.OrderChannel;
  currency: string;
  subtotal: string;
  discount: string;
  tax: string;
  shipping: string;
  total: string;
  refunded: string;
  exchangeRate: string | null;
  items: OrderItemRecord[];
};

// ---------------------------------------------------------------------------------------------
// Value helpers

/** A cell as trimmed text; empty cells (and Shopify's leading apostrophe on ids) give null. */
export function text(v: unknown): string | null {
  if (v == null) return null;
  let s = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
  s = s.trim();
  if (s.startsWith("'")) s = s.slice(1).trim();
  return s === '' ? null : s;
}

const enumValue = <T extends string>(values: Record<string, T>, v: string) => {
  const k = v
    .trim()
    .toUpperCase()
    .replace(/[\s-]+/g, '_');
  return (Object.values(values) as string[]).includes(k) ? (k as T) : null;
};

const YES = new Set(['yes', 'y', 'true', '1', 'granted', 'subscribed', 'opted_in', 'opt-in', 'opt_in']);
const NO = new Set(['no', 'n', 'false', '0', 'withdrawn', 'unsubscribed', 'not_subscribed', 'opted_out', 'opt-out', 'declined']);

export function yesNo(v: unknown): boolean | null | 'invalid' {
  if (typeof v === 'boolean') return v;
  const s = text(v)?.toLowerCase();
  if (s == null) return null;
  if (YES.has(s)) return true;
  if (NO.has(s)) return false;
  return 'invalid';
}

/** Money: "12", "12.5", "-3.10", "1,234.50" -> "12.00" ... (two decimals); invalid -> null. */
export function money(v: unknown): string | null {
  const s = text(v)?.replace(/,/g, '');
  if (s == null || !/^-?\d{1,12}(\.\d{1,2})?$/.test(s)) return null;
  const [int, frac = ''] = s.split('.');
  return `${int}.${frac.padEnd(2, '0')}`;
}
const cents = (m: string) => BigInt(m.replace('.', ''));
const fromCents = (c: bigint) => {
  const neg = c < 0n;
  const a = (neg ? -c : c).toString().padStart(3, '0');
  return `${neg ? '-' : ''}${a.slice(0, -2)}.${a.slice(-2)}`;
};

/** ISO 8601, or Shopify's "2024-01-15 10:23:45 +0100"; returns an ISO string or null. */
export function dateTime(v: unknown): string | null {
  const s = text(v);
  if (!s) return null;
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*([+-]\d{2}):?(\d{2})$/.exec(s);
  const iso = m ? `${m[1]}T${m[2]}${m[3]}:${m[4]}` : s;
  const t = Date.parse(iso);
  if (Number.isNaN(t) || t < Date.UTC(1970, 0, 1) || t > Date.now() + 366 * 86_400_000) return null;
  return new Date(t).toISOString();
}

const list = (v: unknown, sep: RegExp): string[] =>
  Array.isArray(v)
    ? v.map(text).filter((x): x is string => !!x)
    : (text(v)
        ?.split(sep)
        .map((x) => x.trim())
        .filter(Boolean) ?? []);

// ---------------------------------------------------------------------------------------------
// Shopify column renames (docs/import.md). Values: the generic field, or a function of the row.

type Rename = Record<string, string>;

/** Shopify customers export (both the current and the older column names). */
const SHOPIFY_CUSTOMERS: Rename = {
  'Customer ID': 'externalId',
  'First Name': 'firstName',
  'Last Name': 'lastName',
  Email: 'email',
  Phone: 'phone',
  'Default Address Phone': 'addressPhone',
  'Default Address Company': 'company',
  Company: 'company',
  'Default Address Address1': 'address1',
  Address1: 'address1',
  'Default Address Address2': 'address2',
  Address2: 'address2',
  'Default Address City': 'city',
  City: 'city',
  'Default Address Province Code': 'region',
  'Province Code': 'region',
  'Default Address Country Code': 'country',
  'Country Code': 'country',
  'Default Address Zip': 'postalCode',
  Zip: 'postalCode',
  'Accepts Email Marketing': 'consentEmail',
  'Accepts Marketing': 'consentEmail',
  'Accepts SMS Marketing': 'consentSms',
  Tags: 'tags',
  Note: 'attributes.note',
  'Tax Exempt': 'attributes.taxExempt',
};

function shopifyCustomer(row: RawRow): RawRow {
  const out: RawRow = {};
  for (const [k, v] of Object.entries(row)) {
    const to = SHOPIFY_CUSTOMERS[k.trim()];
    if (to && text(v) != null) out[to] = v;
  }
  out.phone ??= out.addressPhone;
  const addr = [text(out.address1), text(out.address2)].filter(Boolean).join(', ');
  if (addr) out.addressLine = addr;
  for (const k of ['address1', 'address2', 'addressPhone']) delete out[k];
  if (out.consentEmail != null || out.consentSms != null) out.consentWording = 'Shopify customers export: "Accepts Email/SMS Marketing"';
  return out;
}

const SHOPIFY_ORDERS: Rename = {
  Name: 'name',
  Id: 'externalId',
  Email: 'customerEmail',
  Phone: 'customerPhone',
  'Billing Phone': 'billingPhone',
  'Billing Name': 'billingName',
  'Financial Status': 'financialStatus',
  'Fulfillment Status': 'fulfillmentStatus',
  'Cancelled at': 'cancelledAt',
  'Created at': 'placedAt',
  Currency: 'currency',
  Subtotal: 'subtotal',
  Shipping: 'shipping',
  Taxes: 'tax',
  Total: 'total',
  'Discount Amount': 'discount',
  'Refunded Amount': 'refunded',
  Source: 'source',
  'Lineitem quantity': 'itemQuantity',
  'Lineitem name': 'itemName',
  'Lineitem price': 'itemUnitPrice',
  'Lineitem sku': 'itemSku',
};

function shopifyOrder(row: RawRow): RawRow {
  const out: RawRow = {};
  for (const [k, v] of Object.entries(row)) {
    const to = SHOPIFY_ORDERS[k.trim()];
    if (to && text(v) != null) out[to] = v;
  }
  // Every line of an order repeats its Name; the order's fields (Id included) are on the first line.
  out._group = out.name;
  out.externalId ??= out.name;
  out.customerPhone ??= out.billingPhone;
  const billing = text(out.billingName);
  if (billing) {
    const [first, ...rest] = billing.split(/\s+/);
    out.customerFirstName = first;
    if (rest.length) out.customerLastName = rest.join(' ');
  }
  const fin = text(out.financialStatus)?.toLowerCase();
  const ful = text(out.fulfillmentStatus)?.toLowerCase();
  if (out.financialStatus != null || out.cancelledAt != null) {
    out.status = text(out.cancelledAt)
      ? 'CANCELLED'
      : fin === 'refunded' || fin === 'voided'
        ? 'REFUNDED'
        : ful === 'fulfilled'
          ? 'FULFILLED'
          : fin === 'paid' || fin === 'partially_refunded'
            ? 'PAID'
            : 'PLACED';
  }
  if (text(out.source)?.toLowerCase() === 'pos') out.channel = 'OFFLINE';
  for (const k of ['name', 'billingPhone', 'billingName', 'financialStatus', 'fulfillmentStatus', 'cancelledAt', 'source']) delete out[k];
  return out;
}

export type MappingName = 'SHOPIFY' | 'GENERIC';

/** The row in generic field names (interactions have only the generic mapping: startImport refuses SHOPIFY for them). */
export function toGeneric(kind: E.ImportKind, mapping: MappingName, row: RawRow): RawRow {
  if (mapping === 'GENERIC' || kind === 'INTERACTIONS') return row;
  return kind === 'CUSTOMERS' ? shopifyCustomer(row) : shopifyOrder(row);
}

// ---------------------------------------------------------------------------------------------
// Generic customers

/** Text columns: generic field = Customer column, with its length limit. */
const TEXT_COLUMNS: Record<string, number> = {
  firstName: 100,
  lastName: 100,
  company: 200,
  jobTitle: 100,
  occupation: 100,
  industry: 100,
  region: 200,
  city: 200,
  postalCode: 20,
  addressLine: 200,
  householdNotes: 2000,
  stylePreferences: 2000,
  purchasePurpose: 2000,
  personality: 2000,
  sourceCampaign: 200,
  sourceMedium: 200,
  sourceContent: 200,
  sourceReferrerName: 100,
  sourceReferrerContact: 200,
};
const ENUM_COLUMNS: Record<string, Record<string, string>> = {
  gender: E.Gender,
  maritalStatus: E.MaritalStatus,
  incomeBand: E.IncomeBand,
  priceSensitivity: E.PriceSensitivity,
  preferredChannel: E.ContactChannel,
  preferredContactTime: E.ContactTime,
  contactTolerance: E.ContactTolerance,
  sourceChannel: E.SourceChannel,
};
const LIST_COLUMNS = ['productInterests', 'hobbies'] as const;
const CONSENT_COLUMNS: Record<string, E.ConsentChannel> = {
  consentEmail: 'EMAIL',
  consentSms: 'SMS',
  consentPhone: 'PHONE',
  consentIm: 'IM',
  consentPostal: 'POSTAL',
  consentThirdPartySharing: 'THIRD_PARTY_SHARING',
};
/** Every field a generic customers file may have (documented in docs/import.md). */
export const CUSTOMER_FIELDS = [
  'externalId',
  'email',
  'phone',
  ...Object.keys(TEXT_COLUMNS),
  ...Object.keys(ENUM_COLUMNS),
  ...LIST_COLUMNS,
  'country',
  'birthDate',
  'dealLikelihood',
  'stage',
  'ownerEmail',
  'tags',
  ...Object.keys(CONSENT_COLUMNS),
  'consentWording',
  'consentTextVersion',
  'consentLegalBasis',
  'consentSourceUrl',
  'attributes',
  'attributes.<name>',
];

const clipValue = (v: unknown) => text(v)?.slice(0, 200) ?? null;

export function customerRecord(line: number, r: RawRow): { record: CustomerRecord } | { problems: Problem[] } {
  const problems: Problem[] = [];
  const bad = (field: string, reason: string) => problems.push({ field, reason, value: clipValue(r[field]) });
  const columns: Record<string, unknown> = {};

  const externalId = text(r.externalId);
  if (externalId && externalId.length > 200) bad('externalId', 'At most 200 characters');
  const emailRaw = text(r.email);
  const email = emailRaw ? normalizeEmail(emailRaw) : null;
  if (emailRaw && !email) bad('email', 'Not a valid email address');
  const country = text(r.country)?.toUpperCase() ?? null;
  if (country && !/^[A-Z]{2}$/.test(country)) bad('country', 'Use an ISO 3166-1 alpha-2 country code');
  const phoneRaw = text(r.phone);
  const phone = phoneRaw ? normalizePhone(phoneRaw, country) : null;
  if (phoneRaw && !phone) bad('phone', 'Not a valid phone number (international format, or national with a country)');
  if (!externalId && !emailRaw && !phoneRaw) bad('email', 'A row needs an externalId, email or phone');
  if (externalId) columns.externalId = externalId;
  if (email) columns.email = email;
  if (phone) columns.phone = phone;
  if (country && /^[A-Z]{2}$/.test(country)) columns.country = country;

  for (const [k, max] of Object.entries(TEXT_COLUMNS)) {
    const v = text(r[k]);
    if (v == null) continue;
    if (v.length > max) bad(k, `At most ${max} characters`);
    else columns[k] = v;
  }
  for (const [k, values] of Object.entries(ENUM_COLUMNS)) {
    const v = text(r[k]);
    if (v == null) continue;
    const e = enumValue(values, v);
    if (!e) bad(k, `One of ${Object.values(values).join(', ')}`);
    else columns[k] = e;
  }
  for (const k of LIST_COLUMNS) {
    const v = list(r[k], /;/);
    if (!v.length) continue;
    if (v.length > 50 || v.some((x) => x.length > 100)) bad(k, 'At most 50 items of at most 100 characters');
    else columns[k] = [...new Set(v)];
  }
  const birth = text(r.birthDate);
  if (birth) {
    const d = /^\d{4}-\d{2}-\d{2}$/.test(birth) ? new Date(`${birth}T00:00:00Z`) : null;
    if (!d || Number.isNaN(d.getTime()) || d < new Date('1900-01-01T00:00:00Z') || d > new Date()) {
      bad('birthDate', 'A date (YYYY-MM-DD) between 1900-01-01 and today');
    } else columns.birthDate = birth;
  }
  const deal = text(r.dealLikelihood);
  if (deal) {
    const n = Number(deal);
    if (!Number.isInteger(n) || n < 0 || n > 100) bad('dealLikelihood', 'An integer between 0 and 100');
    else columns.dealLikelihood = n;
  }
  let stage: E.LifecycleStage | null = null;
  const stageRaw = text(r.stage);
  if (stageRaw) {
    stage = enumValue(E.LifecycleStage, stageRaw);
    if (!stage) bad('stage', `One of ${Object.values(E.LifecycleStage).join(', ')}`);
  }
  const ownerRaw = text(r.ownerEmail);
  const ownerEmail = ownerRaw ? normalizeEmail(ownerRaw) : null;
  if (ownerRaw && !ownerEmail) bad('ownerEmail', 'Not a valid email address');

  const tags = [...new Set(list(r.tags, /[,;]/))];
  if (tags.length > 50 || tags.some((t) => t.length > 50)) bad('tags', 'At most 50 tags of at most 50 characters');

  // Custom attributes: an `attributes` object (JSONL) and/or `attributes.<name>` columns.
  const attributes: Record<string, unknown> = {};
  if (r.attributes != null) {
    if (typeof r.attributes === 'object' && !Array.isArray(r.attributes)) Object.assign(attributes, r.attributes);
    else bad('attributes', 'An object of custom attributes');
  }
  for (const [k, v] of Object.entries(r)) {
    if (k.startsWith('attributes.') && text(v) != null) attributes[k.slice('attributes.'.length, 'attributes.'.length + 64)] = text(v);
  }
  if (Object.keys(attributes).length) {
    if (Object.keys(attributes).length > 100 || JSON.stringify(attributes).length > 16_000) {
      bad('attributes', 'At most 100 attributes, 16,000 bytes');
    } else columns.attributes = attributes;
  }

  const legalBasisRaw = text(r.consentLegalBasis);
  const legalBasis = legalBasisRaw ? enumValue(E.ConsentLegalBasis, legalBasisRaw) : 'CONSENT';
  if (!legalBasis) bad('consentLegalBasis', `One of ${Object.values(E.ConsentLegalBasis).join(', ')}`);
  const consents: ConsentRecord[] = [];
  for (const [k, channel] of Object.entries(CONSENT_COLUMNS)) {
    const v = yesNo(r[k]);
    if (v === null) continue;
    if (v === 'invalid') {
      bad(k, 'yes or no');
      continue;
    }
    consents.push({
      channel,
      granted: v,
      wording: text(r.consentWording)?.slice(0, 5000) ?? `Imported (column ${k})`,
      textVersion: text(r.consentTextVersion)?.slice(0, 100) ?? null,
      legalBasis: legalBasis ?? 'CONSENT',
      sourceUrl: text(r.consentSourceUrl)?.slice(0, 2000) ?? null,
    });
  }
  if (problems.length) return { problems };
  return { record: { line, externalId, email, phone, columns, stage, ownerEmail, tags, consents } };
}

// ---------------------------------------------------------------------------------------------
// Generic orders

/** Every field a generic orders file may have (docs/import.md). */
export const ORDER_FIELDS = [
  'externalId',
  'customerExternalId',
  'customerEmail',
  'customerPhone',
  'customerFirstName',
  'customerLastName',
  'placedAt',
  'status',
  'channel',
  'currency',
  'subtotal',
  'discount',
  'tax',
  'shipping',
  'total',
  'refunded',
  'exchangeRate',
  'itemSku',
  'itemName',
  'itemQuantity',
  'itemUnitPrice',
  'itemAddOn',
  'items',
];

/** The order's key (to group the consecutive lines of one order in a CSV). */
export const orderKey = (r: RawRow) => text(r._group ?? r.externalId);

/** One item of a line (`itemName`, ...) or of a JSONL `items` entry. */
function itemOf(r: RawRow, bad: (field: string, reason: string, value?: unknown) => void): OrderItemRecord | null {
  const name = text(r.itemName ?? r.name);
  const qRaw = text(r.itemQuantity ?? r.quantity) ?? '1';
  const quantity = Number(qRaw);
  const unitPrice = money(r.itemUnitPrice ?? r.unitPrice);
  let ok = true;
  if (!name || name.length > 200) {
    bad('itemName', name ? 'At most 200 characters' : 'Required', name);
    ok = false;
  }
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > 1_000_000) {
    bad('itemQuantity', 'A whole number of at least 1', qRaw);
    ok = false;
  }
  if (unitPrice == null || unitPrice.startsWith('-')) {
    bad('itemUnitPrice', 'An amount of at least 0 with at most two decimals', r.itemUnitPrice ?? r.unitPrice);
    ok = false;
  }
  const addOn = yesNo(r.itemAddOn ?? r.addOn);
  if (addOn === 'invalid') {
    bad('itemAddOn', 'yes or no', r.itemAddOn ?? r.addOn);
    ok = false;
  }
  const sku = text(r.itemSku ?? r.sku)?.slice(0, 100) ?? null;
  return ok ? { sku, name: name as string, quantity, unitPrice: unitPrice as string, addOn: addOn === true } : null;
}

/**
 * One order from its lines (a CSV: the first line carries the order's fields, every line one item;
 * JSONL: one object with `items`). `lines` start at `line`.
 */
export function orderRecord(line: number, lines: RawRow[]): { record: OrderRecord } | { problems: (Problem & { line: number })[] } {
  const problems: (Problem & { line: number })[] = [];
  const first = lines[0] as RawRow;
  const at = (l: number) => (field: string, reason: string, value?: unknown) =>
    problems.push({ line: l, field, reason, value: clipValue(value === undefined ? first[field] : value) });
  const bad = at(line);
  const externalId = text(first.externalId);
  if (!externalId || externalId.length > 200) bad('externalId', externalId ? 'At most 200 characters' : 'Required');
  const emailRaw = text(first.customerEmail);
  const email = emailRaw ? normalizeEmail(emailRaw) : null;
  if (emailRaw && !email) bad('customerEmail', 'Not a valid email address');
  const phoneRaw = text(first.customerPhone);
  const phone = phoneRaw ? normalizePhone(phoneRaw) : null;
  if (phoneRaw && !phone) bad('customerPhone', 'Not a valid phone number (international format)');
  const customerExternalId = text(first.customerExternalId);
  if (!customerExternalId && !emailRaw && !phoneRaw)
    bad('customerEmail', 'An order needs a customerExternalId, customerEmail or customerPhone');
  const placedAt = dateTime(first.placedAt);
  if (!placedAt) bad('placedAt', 'A date and time (ISO 8601), not in the future');
  const currency = text(first.currency)?.toUpperCase() ?? null;
  if (!currency || !/^[A-Z]{3}$/.test(currency)) bad('currency', 'An ISO 4217 currency code (e.g. EUR)');
  let status: E.OrderStatus = 'PLACED';
  if (text(first.status)) {
    const s = enumValue(E.OrderStatus, text(first.status) as string);
    if (!s) bad('status', `One of ${Object.values(E.OrderStatus).join(', ')}`);
    else status = s;
  }
  let channel: E.OrderChannel = 'OWN_STORE';
  if (text(first.channel)) {
    const c = enumValue(E.OrderChannel, text(first.channel) as string);
    if (!c) bad('channel', `One of ${Object.values(E.OrderChannel).join(', ')}`);
    else channel = c;
  }
  const amount = (field: string, dflt: string | null) => {
    if (text(first[field]) == null) return dflt;
    const m = money(first[field]);
    if (m == null || m.startsWith('-')) {
      bad(field, 'An amount of at least 0 with at most two decimals');
      return null;
    }
    return m;
  };
  const discount = amount('discount', '0.00');
  const tax = amount('tax', '0.00');
  const shipping = amount('shipping', '0.00');
  const refunded = amount('refunded', '0.00');
  let exchangeRate: string | null = null;
  if (text(first.exchangeRate)) {
    const x = text(first.exchangeRate) as string;
    if (!/^\d{1,10}(\.\d{1,10})?$/.test(x) || Number(x) <= 0) bad('exchangeRate', 'A positive number');
    else exchangeRate = x;
  }
  const items: OrderItemRecord[] = [];
  if (Array.isArray(first.items)) {
    for (const it of first.items as RawRow[]) {
      const item = itemOf(it && typeof it === 'object' ? it : {}, bad);
      if (item) items.push(item);
    }
  } else {
    lines.forEach((l, i) => {
      const item = itemOf(l, at(line + i));
      if (item) items.push(item);
    });
  }
  if (!items.length && !problems.length) bad('itemName', 'An order needs at least one item');
  if (items.length > 500) bad('items', 'At most 500 items');
  const itemsTotal = items.reduce((s, i) => s + cents(i.unitPrice) * BigInt(i.quantity), 0n);
  const subtotal = amount('subtotal', fromCents(itemsTotal));
  const computed = subtotal && discount && tax && shipping ? cents(subtotal) - cents(discount) + cents(tax) + cents(shipping) : 0n;
  const total = amount('total', fromCents(computed < 0n ? 0n : computed));
  if (total && refunded && cents(refunded) > cents(total)) bad('refunded', `More than the total ${total}`);
  if (problems.length) return { problems };
  return {
    record: {
      line,
      externalId: externalId as string,
      customer: {
        externalId: customerExternalId,
        email,
        phone,
        firstName: text(first.customerFirstName)?.slice(0, 100) ?? null,
        lastName: text(first.customerLastName)?.slice(0, 100) ?? null,
      },
      placedAt: placedAt as string,
      status,
      channel,
      currency: currency as string,
      subtotal: subtotal as string,
      discount: discount as string,
      tax: tax as string,
      shipping: shipping as string,
      total: total as string,
      refunded: refunded as string,
      exchangeRate,
      items,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Generic interactions

/** An interaction row, validated. */
export type InteractionRecord = {
  line: number;
  externalId: string | null;
  customer: { externalId: string | null; email: string | null; phone: string | null };
  type: E.InteractionType;
  channel: E.InteractionChannel;
  direction: E.InteractionDirection;
  occurredAt: string;
  subject: string | null;
  body: string | null;
  sentiment: E.Sentiment | null;
};

/** Every field a generic interactions file may have (documented in docs/import.md); `kind`, `summary`, `notes` are aliases. */
export const INTERACTION_FIELDS = [
  'externalId',
  'customerExternalId',
  'customerEmail',
  'customerPhone',
  'type',
  'channel',
  'direction',
  'occurredAt',
  'subject',
  'body',
  'sentiment',
];

export function interactionRecord(line: number, r: RawRow): { record: InteractionRecord } | { problems: Problem[] } {
  const problems: Problem[] = [];
  const bad = (field: string, reason: string, value?: unknown) =>
    problems.push({ field, reason, value: clipValue(value === undefined ? r[field] : value) });
  const externalId = text(r.externalId);
  if (externalId && externalId.length > 200) bad('externalId', 'At most 200 characters');
  const emailRaw = text(r.customerEmail);
  const email = emailRaw ? normalizeEmail(emailRaw) : null;
  if (emailRaw && !email) bad('customerEmail', 'Not a valid email address');
  const phoneRaw = text(r.customerPhone);
  const phone = phoneRaw ? normalizePhone(phoneRaw) : null;
  if (phoneRaw && !phone) bad('customerPhone', 'Not a valid phone number (international format)');
  const customerExternalId = text(r.customerExternalId);
  if (!customerExternalId && !emailRaw && !phoneRaw)
    bad('customerEmail', 'An interaction needs a customerExternalId, customerEmail or customerPhone');
  const one = <T extends string>(field: string, values: Record<string, T>, raw: unknown, dflt: T | null): T | null => {
    const v = text(raw);
    if (v == null) {
      if (dflt == null) bad(field, `Required: one of ${Object.values(values).join(', ')}`, raw);
      return dflt;
    }
    const e = enumValue(values, v);
    if (!e) bad(field, `One of ${Object.values(values).join(', ')}`, raw);
    return e;
  };
  const type = one('type', E.InteractionType, r.type ?? r.kind, null);
  const channel = one('channel', E.InteractionChannel, r.channel, null);
  const direction = one('direction', E.InteractionDirection, r.direction, 'INBOUND');
  const sentiment = text(r.sentiment) == null ? null : one('sentiment', E.Sentiment, r.sentiment, null);
  const occurredAt = dateTime(r.occurredAt);
  if (!occurredAt) bad('occurredAt', 'A date and time (ISO 8601), not in the future');
  const subject = text(r.subject ?? r.summary);
  if (subject && subject.length > 200) bad('subject', 'At most 200 characters', subject);
  const body = text(r.body ?? r.notes);
  if (body && body.length > 10_000) bad('body', 'At most 10,000 characters', body);
  if (problems.length) return { problems };
  return {
    record: {
      line,
      externalId,
      customer: { externalId: customerExternalId, email, phone },
      type: type as E.InteractionType,
      channel: channel as E.InteractionChannel,
      direction: direction as E.InteractionDirection,
      occurredAt: occurredAt as string,
      subject,
      body,
      sentiment,
    },
  };
}
