import { z } from 'zod';
import type { ScopedDb } from '../../db/tenant.ts';
import { NotFoundError } from '../../errors.ts';
import type { Holiday } from '../../generated/prisma/client.ts';
import { parseInput } from '../common/validate.ts';
import { isUuid } from '../customers/customer.service.ts';
import { daysBetween } from './follow-up.timing.ts';

/**
 * The shop's holiday calendar: named dates, once or every year. The daily retention pass greets the
 * customers of the retention stages on each holiday's local date (follow-up.retention.ts).
 */

const nameSchema = z.string().trim().min(1, 'Must not be empty').max(100, 'At most 100 characters');
const dateSchema = z
  .date()
  .refine((d) => d.getTime() >= Date.UTC(1900, 0, 1) && d.getTime() < Date.UTC(2200, 0, 1), 'Must be between 1900 and 2199');
const createSchema = z.object({ name: nameSchema, date: dateSchema, recurringYearly: z.boolean().nullish() });
const updateSchema = z.object({ name: nameSchema.nullish(), date: dateSchema.nullish(), recurringYearly: z.boolean().nullish() });

export type HolidayInput = z.input<typeof createSchema>;
export type HolidayPatch = z.input<typeof updateSchema>;

const dayOnly = (d: Date) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));

export function listHolidays(db: ScopedDb): Promise<Holiday[]> {
  return db.holiday.findMany({ orderBy: [{ date: 'asc' }, { id: 'asc' }] });
}

export async function createHoliday(db: ScopedDb, input: HolidayInput): Promise<Holiday> {
  const p = parseInput(createSchema, input, ['input']);
  return db.holiday.create({ data: { name: p.name, date: dayOnly(p.date), recurringYearly: p.recurringYearly ?? false } as never });
}

async function found(db: ScopedDb, id: string): Promise<Holiday> {
  const h = isUuid(id) ? await db.holiday.findFirst({ where: { id } }) : null;
  if (!h) throw new NotFoundError('Holiday', ['input', 'id']);
  return h;
}

export async function updateHoliday(db: ScopedDb, id: string, patch: HolidayPatch): Promise<Holiday> {
  const p = parseInput(updateSchema, patch, ['input']);
  return db.$transaction(async (t) => {
    const h = await found(t as unknown as ScopedDb, id);
    const data: Record<string, unknown> = {};
    if (p.name != null) data.name = p.name;
    if (p.date != null) data.date = dayOnly(p.date);
    if (p.recurringYearly != null) data.recurringYearly = p.recurringYearly;
    await t.holiday.updateMany({ where: { id: h.id }, data });
    return (await t.holiday.findFirst({ where: { id: h.id } })) as Holiday;
  });
}

export async function deleteHoliday(db: ScopedDb, id: string): Promise<Holiday> {
  const h = await found(db, id);
  await db.holiday.deleteMany({ where: { id: h.id } });
  return h;
}

/**
 * The dates (YYYY-MM-DD) of `h` from `today` to `today + windowDays` (inclusive). A yearly holiday
 * repeats its month and day (29 Feb on 28 Feb in other years).
 */
export function holidayDates(h: Pick<Holiday, 'date' | 'recurringYearly'>, today: string, windowDays: number): string[] {
  const key = h.date.toISOString().slice(0, 10);
  const inWindow = (d: string) => {
    const n = daysBetween(today, d);
    return n >= 0 && n <= windowDays;
  };
  if (!h.recurringYearly) return inWindow(key) ? [key] : [];
  const year = Number(today.slice(0, 4));
  const out: string[] = [];
  for (const y of [year, year + 1]) {
    const d = yearly(key, y);
    if (inWindow(d)) out.push(d);
  }
  return out;
}

/** The month/day of `key` in `year` (29 Feb -> 28 Feb when `year` is not a leap year). */
export function yearly(key: string, year: number): string {
  const m = Number(key.slice(5, 7));
  const d = Number(key.slice(8, 10));
  const last = new Date(Date.UTC(year, m, 0)).getUTCDate();
  return `${String(year).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(Math.min(d, last)).padStart(2, '0')}`;
}

/** The next yearly occurrence of `key`'s month/day on or after `today`. */
export function nextYearly(key: string, today: string): string {
  const year = Number(today.slice(0, 4));
  const d = yearly(key, year);
  return daysBetween(today, d) >= 0 ? d : yearly(key, year + 1);
}
