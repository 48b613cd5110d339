import { z } from 'zod';
import type { ShopBound } from '../../db/shop-bound.ts';
import type { ScopedDb } from '../../db/tenant.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import type { StaffRole } from '../../generated/prisma/enums.ts';
import { normalizeEmail } from '../customers/customer.schema.ts';
import { isUuid } from '../customers/customer.service.ts';
import { emitEvent, gid } from '../events/event.service.ts';
import { type Access, assertMayChangeStaff, assertMayGrantRole, SYSTEM } from './auth.policy.ts';

export type StaffInput = { email: string; name: string; role?: StaffRole | null };

const nameSchema = z.string().trim().min(1, 'Required').max(100, 'At most 100 characters');

/** `actor`: who creates (a role at most their own; the shop's system by default). */
export async function createStaffUser(db: ScopedDb, input: StaffInput, actor: Access = SYSTEM) {
  assertMayGrantRole(actor, input.role ?? 'AGENT');
  const email = normalizeEmail(input.email);
  if (!email) throw ValidationError.field(['input', 'email'], 'Not a valid email address');
  const name = nameSchema.safeParse(input.name);
  if (!name.success) throw ValidationError.field(['input', 'name'], name.error.issues[0]?.message ?? 'Invalid');
  if (await db.staffUser.findFirst({ where: { email } }))
    throw new ConflictError('A staff user with this email exists', ['input', 'email']);
  return db.staffUser.create({ data: { email, name: name.data, role: input.role ?? 'AGENT' } as never });
}

export async function updateStaffUser(
  shop: ShopBound,
  id: string,
  patch: { name?: string | null; role?: StaffRole | null; active?: boolean | null },
  actor: Access = SYSTEM,
) {
  const current = isUuid(id) ? await shop.db.staffUser.findUnique({ where: { id } }) : null;
  if (!current) throw new NotFoundError('Staff user', ['input', 'id']);
  assertMayChangeStaff(actor, current, patch);
  const data: Record<string, unknown> = {};
  if (patch.name != null) {
    const n = nameSchema.safeParse(patch.name);
    if (!n.success) throw ValidationError.field(['input', 'name'], n.error.issues[0]?.message ?? 'Invalid');
    data.name = n.data;
  }
  if (patch.role != null) data.role = patch.role;
  if (patch.active != null) data.active = patch.active;
  const fields = Object.keys(data).filter((k) => data[k] !== current[k as keyof typeof current]);
  if (!fields.length) return current;
  const losesOwner = (data.role != null && data.role !== 'OWNER') || data.active === false;
  return shop.transaction(async (t) => {
    if (losesOwner) {
      // The shop's active owners, locked: two owners demoting each other at the same moment are
      // serialised here, so the second sees the first's change and is refused (a count outside the
      // transaction let both pass and left the shop without an owner).
      const owners = await t.sql<{ id: string }>(
        (s) => Prisma.sql`SELECT "shopId", id FROM "StaffUser" WHERE "shopId" = ${s} AND role = 'OWNER' AND active ORDER BY id FOR UPDATE`,
      );
      if (owners.some((o) => o.id === id) && owners.length <= 1)
        throw new ConflictError('A shop keeps at least one active owner', ['input', 'role']);
    }
    const updated = await t.db.staffUser.update({ where: { id }, data });
    // The event (names of the changed fields, no values) is also what tells every instance to drop
    // the shop's cached staff users (read-caches.ts): a deactivation or a new role holds at once.
    await emitEvent(t.db, { type: 'STAFF_USER_UPDATED', payload: { staffUserId: gid('StaffUser', id), fields } });
    return updated;
  });
}
