import type { ScopedDb, ScopedTx } from '../../db/tenant.ts';
import type { Prisma } from '../../generated/prisma/client.ts';
import { emitEvent } from '../events/event.service.ts';

/** The sections of `Shop.settings`, each owned by its module's settings file. */
export type SettingsSection = 'cadence' | 'leadPool' | 'authorization' | 'loyalty' | 'lifecycle';

/**
 * Writes one section of the shop's settings (the others kept as read in the same transaction) and
 * records SETTINGS_UPDATED with the section's name. The event is what tells every instance to drop
 * the shop's cached settings (read-caches.ts): a new time zone or a withdrawn agent grant holds on
 * every instance as soon as the outbox doorbell rings there.
 */
export async function writeSettingsSection(
  tx: ScopedTx,
  raw: Record<string, unknown> | Prisma.JsonObject,
  section: SettingsSection,
  value: unknown,
): Promise<void> {
  await tx.shop.updateMany({ data: { settings: { ...raw, [section]: value } as Prisma.InputJsonValue } });
  await emitEvent(tx, { type: 'SETTINGS_UPDATED', payload: { section } });
}

/** A stored settings value as an object (anything else: no settings). */
export function settingsObject(settings: Prisma.JsonValue | null | undefined): Record<string, unknown> {
  return settings && typeof settings === 'object' && !Array.isArray(settings) ? (settings as Record<string, unknown>) : {};
}

/** The shop's settings as stored (every section; `{}` when none), read through the scoped client. */
export async function readShopSettings(db: ScopedDb | ScopedTx): Promise<Record<string, unknown>> {
  return settingsObject((await db.shop.findFirst({ select: { settings: true } }))?.settings);
}
