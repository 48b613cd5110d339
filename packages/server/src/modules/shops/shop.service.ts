import { forShop } from '../../db/tenant.ts';
import { ConflictError, ValidationError } from '../../errors.ts';
import type { PrismaClient } from '../../generated/prisma/client.ts';
import { createApiKey } from '../auth/api-key.service.ts';
import { createStaffUser } from '../auth/staff.service.ts';

export type CreatedShop = {
  shop: { id: string; name: string; slug: string };
  publishableKey: string;
  secretKey: string;
  ownerId: string | null;
};

/**
 * Creates a shop (tenant) with its first keys (one publishable, one secret with every scope) and,
 * optionally, its owner. Platform administration: runs on the unscoped client, from the CLI.
 */
export async function createShop(
  prisma: PrismaClient,
  input: { name: string; slug?: string; ownerEmail?: string; ownerName?: string },
): Promise<CreatedShop> {
  const name = input.name.trim();
  if (!name || name.length > 100) throw ValidationError.field(['name'], 'Name must be 1-100 characters');
  const slug = (input.slug ?? name)
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 50);
  if (!slug) throw ValidationError.field(['slug'], 'Slug must contain letters or digits');
  if (await prisma.shop.findUnique({ where: { slug } })) throw new ConflictError(`Shop slug "${slug}" is taken`, ['slug']);
  const shop = await prisma.shop.create({ data: { name, slug } });
  const db = forShop(prisma, shop.id);
  const pk = await createApiKey(db, { kind: 'PUBLISHABLE', name: 'Default publishable key' });
  const sk = await createApiKey(db, { kind: 'SECRET', name: 'Default secret key' });
  let ownerId: string | null = null;
  if (input.ownerEmail) {
    const owner = await createStaffUser(db, { email: input.ownerEmail, name: input.ownerName ?? input.ownerEmail, role: 'OWNER' });
    ownerId = owner.id;
  }
  return { shop: { id: shop.id, name: shop.name, slug: shop.slug }, publishableKey: pk.plainKey, secretKey: sk.plainKey, ownerId };
}
