import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../testing.ts';
import { forShop, TenantScopeError } from './tenant.ts';

let db: TestDatabase;
let shopA: string;
let shopB: string;
beforeAll(async () => {
  db = await createTestDatabase();
  shopA = (await db.prisma.shop.create({ data: { name: 'A', slug: 'a' } })).id;
  shopB = (await db.prisma.shop.create({ data: { name: 'B', slug: 'b' } })).id;
});
afterAll(() => db.close());

describe('tenant scoping', () => {
  it('confines reads, writes and deletes to the shop', async () => {
    const a = forShop(db.prisma, shopA);
    const b = forShop(db.prisma, shopB);
    const ca = await a.customer.create({ data: { email: 'x@a.com' } as never });
    expect(ca.shopId).toBe(shopA);
    expect(await b.customer.findUnique({ where: { id: ca.id } })).toBeNull();
    expect(await b.customer.findMany()).toHaveLength(0);
    expect(await b.customer.count()).toBe(0);
    expect((await b.customer.updateMany({ where: { id: ca.id }, data: { firstName: 'evil' } })).count).toBe(0);
    await expect(b.customer.update({ where: { id: ca.id }, data: { firstName: 'evil' } })).rejects.toThrow();
    expect((await b.customer.deleteMany({ where: { id: ca.id } })).count).toBe(0);
    const still = await a.customer.findUnique({ where: { id: ca.id } });
    expect(still?.firstName).toBeNull();
  });

  it('refuses writes naming another shop and raw SQL', async () => {
    const a = forShop(db.prisma, shopA);
    await expect(a.customer.create({ data: { shopId: shopB, email: 'y@b.com' } as never })).rejects.toBeInstanceOf(TenantScopeError);
    await expect(a.customer.updateMany({ data: { shopId: shopB } as never })).rejects.toBeInstanceOf(TenantScopeError);
    await expect(a.$queryRaw`SELECT 1`).rejects.toBeInstanceOf(TenantScopeError);
    expect(await db.prisma.customer.count({ where: { shopId: shopB } })).toBe(0);
  });

  it('shows only its own shop row', async () => {
    const a = forShop(db.prisma, shopA);
    const shops = await a.shop.findMany();
    expect(shops.map((s) => s.id)).toEqual([shopA]);
  });
});
