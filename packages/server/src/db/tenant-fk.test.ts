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
});
