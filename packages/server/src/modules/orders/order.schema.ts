import { z } from 'zod';
import * as E from '../../generated/prisma/enums.ts';
import { EVENT_TIME_MESSAGE, eventTimeCheck } from '../common/validate.ts';
import { amountSchema } from './money.ts';

const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

export const currencySchema = z
  .string()
  .trim()
  .toUpperCase()
  .refine((c) => /^[A-Z]{3}$/.test(c) && CURRENCIES.has(c), 'Unknown currency: use an ISO 4217 code such as EUR');

/** 1 unit of the order's currency = `rate` units of the base currency: a positive decimal, at most 10 places. */
export const exchangeRateSchema = z
  .string()
  .trim()
  .refine((v) => /^\d{1,10}(\.\d{1,10})?$/.test(v), 'A positive decimal string with at most 10 decimal places, e.g. "0.0061"')
  .refine((v) => Number(v) > 0, 'Must be greater than 0');

export const setOrderExcludedSchema = z.object({
  orderId: z.string(),
  excluded: z.boolean(),
  reason: z.string().trim().max(500, 'At most 500 characters').nullish(),
});

export type SetOrderExcludedInput = { orderId: string; excluded: boolean; reason?: string | null };
export type SetExchangeRateInput = { currency: string; rate: string };

export const orderItemSchema = z.object({
  sku: z.string().trim().max(100, 'At most 100 characters').nullish(),
  name: z.string().trim().min(1, 'Required').max(200, 'At most 200 characters'),
  quantity: z.number().int('Must be a whole number').min(1, 'Must be at least 1').max(1_000_000, 'At most 1000000'),
  unitPrice: amountSchema,
  addOn: z.boolean().nullish(),
});

export const orderInputSchema = z.object({
  externalId: z.string().trim().min(1, 'Required').max(200, 'At most 200 characters'),
  customerId: z.string(),
  channel: z.enum(E.OrderChannel).nullish(),
  status: z.enum(E.OrderStatus).nullish(),
  placedAt: z.date().refine(eventTimeCheck, EVENT_TIME_MESSAGE).nullish(),
  currency: currencySchema,
  items: z.array(orderItemSchema).min(1, 'An order has at least one item').max(500, 'At most 500 items'),
  discount: amountSchema.nullish(),
  tax: amountSchema.nullish(),
  shipping: amountSchema.nullish(),
  total: amountSchema.nullish(),
  refunded: amountSchema.nullish(),
  exchangeRate: exchangeRateSchema.nullish(),
});

export type OrderItemInput = {
  sku?: string | null;
  name: string;
  quantity: number;
  unitPrice: string;
  addOn?: boolean | null;
};

export type UpsertOrderInput = {
  externalId: string;
  customerId: string;
  channel?: E.OrderChannel | null;
  status?: E.OrderStatus | null;
  placedAt?: Date | null;
  currency: string;
  items: OrderItemInput[];
  discount?: string | null;
  tax?: string | null;
  shipping?: string | null;
  total?: string | null;
  /** Refunded so far in the order's currency (partial refunds; default: unchanged, 0 for a new order). */
  refunded?: string | null;
  /** 1 unit of `currency` = this many units of the shop's base currency. */
  exchangeRate?: string | null;
};
