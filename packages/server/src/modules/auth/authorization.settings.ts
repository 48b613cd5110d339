import type { ScopedDb } from '../../db/tenant.ts';
import type { Prisma } from '../../generated/prisma/client.ts';
import { readShopSettings, writeSettingsSection } from '../shops/shop-settings.ts';
import { type AgentGrant, agentGrantsFrom } from './auth.policy.ts';

/**
 * The shop's authorization settings, stored in Shop.settings under `authorization`:
 * `agentsMay` lists what agents may do beyond their default (auth.policy.ts AGENT_GRANTS).
 */
export type AuthorizationSettings = { agentsMay: AgentGrant[] };

export async function getAuthorizationSettings(db: ScopedDb): Promise<AuthorizationSettings> {
  return { agentsMay: agentGrantsFrom((await readShopSettings(db)) as Prisma.JsonObject) };
}

/** Replaces the grants to agents (in one transaction with the other settings keys kept). */
export async function updateAuthorizationSettings(db: ScopedDb, agentsMay: AgentGrant[]): Promise<AuthorizationSettings> {
  return db.$transaction(async (tx) => {
    const raw = await readShopSettings(tx);
    const next = { agentsMay: [...new Set(agentsMay)].sort() };
    await writeSettingsSection(tx, raw, 'authorization', next);
    return next;
  });
}
