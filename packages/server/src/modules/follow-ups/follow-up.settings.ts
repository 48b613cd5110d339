import { z } from 'zod';
import type { ScopedDb, ScopedTx } from '../../db/tenant.ts';
import { NotFoundError } from '../../errors.ts';
import { parseInput } from '../common/validate.ts';
import { isUuid } from '../customers/customer.service.ts';
import { readShopSettings, writeSettingsSection } from '../shops/shop-settings.ts';
import { type CadenceSettings, cadenceSettingsSchema, DEFAULT_CADENCE } from './follow-up.cadence.ts';

/**
 * Per-shop follow-up settings, stored in Shop.settings under `cadence` and `leadPool`. Missing
 * keys take the documented defaults (DEFAULT_CADENCE, DEFAULT_LEAD_POOL); updates are patches
 * validated as a whole with zod, so the stored settings are always complete and valid.
 */

const SOURCE_CHANNELS = [
  'ORGANIC_SEARCH',
  'PAID_SEARCH',
  'SOCIAL',
  'ADVERTISING',
  'ARTICLE',
  'EMAIL_CAMPAIGN',
  'REFERRAL',
  'WALK_IN',
  'PARTNER',
  'MARKETPLACE',
  'EVENT',
  'DIRECT',
  'OTHER',
] as const;

export const leadPoolSettingsSchema = z
  .object({
    mode: z.enum(['NONE', 'ROUND_ROBIN', 'BY_SOURCE']),
    /** Source channel -> staff user row id (BY_SOURCE). Leads of unmapped sources stay in the pool. */
    bySource: z.partialRecord(z.enum(SOURCE_CHANNELS), z.string().uuid()),
    /** A lead without follow-up activity for this many hours returns to the pool; null = never. */
    returnAfterHours: z
      .number()
      .int()
      .min(1)
      .max(24 * 365)
      .nullable(),
  })
  .strict();

export type LeadPoolSettings = z.output<typeof leadPoolSettingsSchema>;
export const DEFAULT_LEAD_POOL: LeadPoolSettings = { mode: 'NONE', bySource: {}, returnAfterHours: 72 };

export type FollowUpSettings = { cadence: CadenceSettings; leadPool: LeadPoolSettings };

type Db = ScopedDb | ScopedTx;

/** Stored settings merged over the defaults; an invalid stored value falls back to the default. */
export function settingsFrom(raw: Record<string, unknown>): FollowUpSettings {
  const cadence = cadenceSettingsSchema.safeParse({ ...DEFAULT_CADENCE, ...(raw.cadence as object | undefined) });
  const leadPool = leadPoolSettingsSchema.safeParse({ ...DEFAULT_LEAD_POOL, ...(raw.leadPool as object | undefined) });
  return { cadence: cadence.success ? cadence.data : DEFAULT_CADENCE, leadPool: leadPool.success ? leadPool.data : DEFAULT_LEAD_POOL };
}

export async function getFollowUpSettings(db: Db): Promise<FollowUpSettings> {
  return settingsFrom(await readShopSettings(db));
}

/**
 * The shop's IANA time zone (cadence settings `timeZone`; default UTC): its days and months, for a
 * request: from its context's settings (the settings cache when it is on).
 */
export async function requestTimeZone(ctx: { shopSettings(): Promise<Record<string, unknown>> }): Promise<string> {
  return settingsFrom(await ctx.shopSettings()).cadence.timeZone ?? 'UTC';
}

const dropUndefined = (o: object) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

export type CadenceSettingsPatch = Partial<{ [K in keyof CadenceSettings]: CadenceSettings[K] | null }>;

/** Patches settings.cadence (omitted = unchanged; null = back to the default, except nullable thresholds). */
export async function updateCadenceSettings(db: ScopedDb, patch: CadenceSettingsPatch): Promise<FollowUpSettings> {
  return db.$transaction(async (tx) => {
    const raw = await readShopSettings(tx);
    const current = settingsFrom(raw).cadence;
    const nullable = new Set(['highValueThreshold', 'lowValueThreshold', 'defaultInterestValue']);
    const p = Object.fromEntries(
      Object.entries(dropUndefined(patch)).map(([k, v]) => [
        k,
        v === null && !nullable.has(k) ? DEFAULT_CADENCE[k as keyof CadenceSettings] : v,
      ]),
    );
    const next = parseInput(cadenceSettingsSchema, { ...current, ...p }, ['input']);
    if (patch.offerSegmentIds != null) {
      for (const [i, id] of patch.offerSegmentIds.entries()) {
        const seg = isUuid(id) ? await tx.segment.findFirst({ where: { id }, select: { id: true } }) : null;
        if (!seg) throw new NotFoundError('Segment', ['input', 'offerSegmentIds', String(i)]);
      }
    }
    await writeSettingsSection(tx, raw, 'cadence', next);
    return settingsFrom({ ...raw, cadence: next });
  });
}

export type LeadPoolSettingsPatch = {
  mode?: LeadPoolSettings['mode'] | null;
  bySource?: { channel: (typeof SOURCE_CHANNELS)[number]; staffId: string }[] | null;
  returnAfterHours?: number | null;
};

/** Patches settings.leadPool; `bySource` replaces the whole map and must name active staff users of this shop. */
export async function updateLeadPoolSettings(db: ScopedDb, patch: LeadPoolSettingsPatch): Promise<FollowUpSettings> {
  return db.$transaction(async (tx) => {
    const raw = await readShopSettings(tx);
    const current = settingsFrom(raw).leadPool;
    const next: Record<string, unknown> = { ...current };
    if (patch.mode !== undefined) next.mode = patch.mode ?? DEFAULT_LEAD_POOL.mode;
    if (patch.returnAfterHours !== undefined) next.returnAfterHours = patch.returnAfterHours;
    if (patch.bySource !== undefined) {
      const map: Record<string, string> = {};
      for (const [i, e] of (patch.bySource ?? []).entries()) {
        const staff = isUuid(e.staffId) ? await tx.staffUser.findFirst({ where: { id: e.staffId, active: true } }) : null;
        if (!staff) throw new NotFoundError('Staff user', ['input', 'bySource', String(i), 'staffId']);
        map[e.channel] = staff.id;
      }
      next.bySource = map;
    }
    const parsed = parseInput(leadPoolSettingsSchema, next, ['input']);
    await writeSettingsSection(tx, raw, 'leadPool', parsed);
    return settingsFrom({ ...raw, leadPool: parsed });
  });
}
