import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDatamodel } from '../generated/pothos-types.ts';
import { createTestDatabase, type TestDatabase } from '../testing.ts';

/**
 * The database itself refuses links between shops: tenant relations are composite foreign keys
 * (shopId, <ref>Id) -> (shopId, id), so even raw SQL that forgets a check cannot point shop A's
 * row at shop B's. Runs on PostgreSQL and PGlite.
 */

let db: TestDatabase;
let shopA: string;
let shopB: string;
let customerA: string;
let customerB: string;
let tagB: string;
beforeAll(async () => {
  db = await createTestDatabase();
  const p = db.prisma;
  shopA = (await p.shop.create({ data: { name: 'A', slug: 'fk-a' } })).id;
  shopB = (await p.shop.create({ data: { name: 'B', slug: 'fk-b' } })).id;
  customerA = (await p.customer.create({ data: { shopId: shopA, email: 'a@a.test' } as never })).id;
  customerB = (await p.customer.create({ data: { shopId: shopB, email: 'b@b.test' } as never })).id;
  tagB = (await p.tag.create({ data: { shopId: shopB, name: 'vip' } as never })).id;
});
afterAll(() => db.close());

const insertInteraction = (shopId: string, customerId: string) =>
  db.prisma.$executeRaw`INSERT INTO "Interaction" ("shopId", "customerId", channel, direction, type, "occurredAt")
    VALUES (${shopId}::uuid, ${customerId}::uuid, 'EMAIL', 'INBOUND', 'INQUIRY', now())`;

describe('cross-tenant links', () => {
  it("a raw INSERT of shop A's interaction pointing at shop B's customer is refused; within a shop it works", async () => {
    await expect(insertInteraction(shopA, customerB)).rejects.toThrow(/foreign key|violates|constraint/i);
    expect(await db.prisma.interaction.count({ where: { shopId: shopA } })).toBe(0);
    await insertInteraction(shopA, customerA);
    expect(await db.prisma.interaction.count({ where: { shopId: shopA } })).toBe(1);
  });

  it("other links and raw UPDATEs are refused too (a tag of shop B on A's customer; re-pointing A's interaction)", async () => {
    await expect(
      db.prisma
        .$executeRaw`INSERT INTO "CustomerTag" ("shopId", "customerId", "tagId") VALUES (${shopA}::uuid, ${customerA}::uuid, ${tagB}::uuid)`,
    ).rejects.toThrow(/foreign key|violates|constraint/i);
    await expect(
      db.prisma.$executeRaw`UPDATE "Interaction" SET "customerId" = ${customerB}::uuid WHERE "shopId" = ${shopA}::uuid`,
    ).rejects.toThrow(/foreign key|violates|constraint/i);
    expect(await db.prisma.interaction.count({ where: { customerId: customerB } })).toBe(0);
  });

  it('every required relation between tenant models is keyed by (shopId, id)', () => {
    type Field = { name: string; kind: string; type: string; isRequired: boolean; relationFromFields?: readonly string[] | null };
    const tenant = new Set(
      Object.entries(getDatamodel().datamodel.models)
        .filter(([, m]) => m.fields.some((f) => f.name === 'shopId'))
        .map(([n]) => n),
    );
    const single: string[] = [];
    for (const [name, m] of Object.entries(getDatamodel().datamodel.models)) {
      if (!tenant.has(name)) continue;
      for (const f of m.fields as readonly Field[]) {
        if (f.kind !== 'object' || !f.isRequired || !tenant.has(f.type) || !f.relationFromFields?.length) continue;
        if (!f.relationFromFields.includes('shopId')) single.push(`${name}.${f.name}`);
      }
    }
    expect(single).toEqual([]);
  });

  it("every tenant model's shopId is a shop's: by its own key to Shop, or by a required (shopId, …) key to a tenant model that has one", async () => {
    type Field = { name: string; kind: string; type: string; isRequired: boolean; relationFromFields?: readonly string[] | null };
    const models = Object.entries(getDatamodel().datamodel.models) as [string, { fields: readonly Field[] }][];
    const tenant = new Map(models.filter(([, m]) => m.fields.some((f) => f.name === 'shopId')));
    const toShop = (m: { fields: readonly Field[] }) =>
      m.fields.some((f) => f.kind === 'object' && f.type === 'Shop' && f.relationFromFields?.includes('shopId'));
    // Rows hanging off a customer or an order carry no key to Shop of their own (migration
    // 20261128090000_drop_implied_shop_keys): a chain of required keys through shopId (an item ->
    // its order -> its customer) reaches a model that has one.
    const anchored = new Set([...tenant].filter(([, m]) => toShop(m)).map(([n]) => n));
    for (let grew = true; grew; ) {
      grew = false;
      for (const [name, m] of tenant) {
        if (anchored.has(name)) continue;
        if (
          m.fields.some((f) => f.kind === 'object' && f.isRequired && anchored.has(f.type) && !!f.relationFromFields?.includes('shopId'))
        ) {
          anchored.add(name);
          grew = true;
        }
      }
    }
    const unanchored = [...tenant.keys()].filter((n) => !anchored.has(n));
    expect(unanchored).toEqual([]);
    // And the database refuses a shop that does not exist on such a row (here: a tag of shop A's
    // customer written under an unknown shop id).
    const tag = (await db.prisma.tag.create({ data: { shopId: shopA, name: 'anchor' } as never })).id;
    const nowhere = '00000000-0000-4000-8000-000000000000';
    await expect(
      db.prisma
        .$executeRaw`INSERT INTO "CustomerTag" ("shopId", "customerId", "tagId") VALUES (${nowhere}::uuid, ${customerA}::uuid, ${tag}::uuid)`,
    ).rejects.toThrow(/foreign key|violates|constraint/i);
  });
});
