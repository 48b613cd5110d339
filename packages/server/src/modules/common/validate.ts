import type { z } from 'zod';
import { ValidationError } from '../../errors.ts';

/** Parses with a zod schema; issues become one ValidationError with paths under `path`. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, path: string[]): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new ValidationError(r.error.issues.map((i) => ({ path: [...path, ...i.path.map(String)], message: i.message, code: i.code })));
}

/** Event times (occurredAt, placedAt) may be at most this far in the future (clock skew, time zones). */
export const MAX_FUTURE_MS = 24 * 60 * 60 * 1000;
/** ... and not before this. */
export const MIN_EVENT_TIME = new Date('1970-01-01T00:00:00Z');

export const eventTimeCheck = (d: Date) => d.getTime() <= Date.now() + MAX_FUTURE_MS && d >= MIN_EVENT_TIME;
export const EVENT_TIME_MESSAGE = 'Must be after 1970 and at most 1 day in the future';

/** Metadata / JSON objects: a plain object, at most 50 keys and 8 KB serialised. */
export const METADATA_LIMITS = { keys: 50, bytes: 8_000 };
