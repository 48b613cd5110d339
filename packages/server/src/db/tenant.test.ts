import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prisma } from '../generated/prisma/client.ts';
import { createTestDatabase, type TestDatabase, testBackend } from '../testing.ts';
import { shopBound } from './shop-bound.ts';
import { forShop, TenantScopeError } from './tenant.ts';
import { tenantDriverWriteStatement, tenantWriteRows, tenantWriteStatement } from './tenant-sql.ts';

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

  it('a single-statement write naming another shop fails as a whole: nothing is written', async () => {
    const write = tenantWriteStatement(db.prisma, shopA);
    const tag = (shop: Prisma.Sql, name: string) =>
      Prisma.sql`INSERT INTO "Tag" ("shopId", "name") VALUES (${shop}, ${name}) RETURNING "shopId"`;
    const own = (s: Prisma.Sql) => Prisma.sql`a AS (${tag(s, 'stmt-own')}), written AS (SELECT "shopId" FROM a)`;
    expect(await write(own)).toBe(1);
    const foreign = (s: Prisma.Sql) =>
      Prisma.sql`a AS (${tag(s, 'stmt-mixed')}), b AS (${tag(Prisma.sql`${shopB}::uuid`, 'stmt-foreign')}),
        written AS (SELECT "shopId" FROM a UNION ALL SELECT "shopId" FROM b)`;
    await expect(write(foreign)).rejects.toThrow('Cross-tenant write refused');
    expect(await db.prisma.tag.findMany({ where: { name: { startsWith: 'stmt-' } }, select: { name: true } })).toEqual([
      { name: 'stmt-own' },
    ]);
  });

  it('the same single statement on the driver: its own rows written, a statement naming another shop refused whole', async () => {
    const write = tenantDriverWriteStatement((text, params) => db.driverQuery(text, params), shopA);
    const tag = (shop: Prisma.Sql, name: string) =>
      Prisma.sql`INSERT INTO "Tag" ("shopId", "name") VALUES (${shop}, ${name}::text) RETURNING "shopId"`;
    expect(await write((s) => Prisma.sql`a AS (${tag(s, 'drv-own')}), written AS (SELECT "shopId" FROM a)`)).toBe(1);
    const foreign = (s: Prisma.Sql) =>
      Prisma.sql`a AS (${tag(s, 'drv-mixed')}), b AS (${tag(Prisma.sql`${shopB}::uuid`, 'drv-foreign')}),
        written AS (SELECT "shopId" FROM a UNION ALL SELECT "shopId" FROM b)`;
    await expect(write(foreign)).rejects.toThrow('Cross-tenant write refused');
    expect(await db.prisma.tag.findMany({ where: { name: { startsWith: 'drv-' } }, select: { name: true } })).toEqual([
      { name: 'drv-own' },
    ]);
  });

  it('a set-based write returning rows hands back the rows with an id, once each, and refuses another shop', async () => {
    const tag = (shop: Prisma.Sql, name: string) =>
      Prisma.sql`INSERT INTO "Tag" ("shopId", "name") VALUES (${shop}, ${name}) RETURNING "shopId", id`;
    const own = (s: Prisma.Sql) =>
      Prisma.sql`a AS (${tag(s, 'rows-own')}), written AS (
        SELECT "shopId", id, 'c' AS kind FROM a UNION ALL SELECT "shopId", id, 'c' FROM a UNION ALL SELECT "shopId", NULL::uuid, 'h' FROM a)`;
    const rows = await db.prisma.$transaction((tx) => tenantWriteRows(tx, shopA)<{ shopId: string; id: string | null; kind: string }>(own));
    expect(rows).toEqual([{ shopId: shopA, id: expect.any(String), kind: 'c' }]);
    const foreign = (s: Prisma.Sql) =>
      Prisma.sql`a AS (${tag(s, 'rows-mixed')}), b AS (${tag(Prisma.sql`${shopB}::uuid`, 'rows-foreign')}),
        written AS (SELECT "shopId", NULL::uuid AS id FROM a UNION ALL SELECT "shopId", NULL::uuid FROM b)`;
    await expect(db.prisma.$transaction((tx) => tenantWriteRows(tx, shopA)(foreign))).rejects.toThrow('Cross-tenant write refused');
    expect(await db.prisma.tag.findMany({ where: { name: { startsWith: 'rows-' } }, select: { name: true } })).toEqual([
      { name: 'rows-own' },
    ]);
  });

  it('the same in a writeTransaction (on the driver on PostgreSQL, Prisma on PGlite): a write naming another shop rolls back whole', async () => {
    const tag = (shop: Prisma.Sql, name: string) =>
      Prisma.sql`INSERT INTO "Tag" ("shopId", "name") VALUES (${shop}, ${name}::text) RETURNING "shopId", id`;
    const bound = shopBound(db.prisma, shopA, db);
    const rows = await bound.writeTransaction((t) =>
      t.writeRows<{ shopId: string; id: string | null }>(
        (s) => Prisma.sql`a AS (${tag(s, 'wtx-own')}), written AS (SELECT "shopId", id FROM a)`,
      ),
    );
    expect(rows).toEqual([{ shopId: shopA, id: expect.any(String) }]);
    const foreign = (s: Prisma.Sql) =>
      Prisma.sql`a AS (${tag(s, 'wtx-mixed')}), b AS (${tag(Prisma.sql`${shopB}::uuid`, 'wtx-foreign')}),
          written AS (SELECT "shopId", NULL::uuid AS id FROM a UNION ALL SELECT "shopId", NULL::uuid FROM b)`;
    await expect(bound.writeTransaction((t) => t.writeRows(foreign))).rejects.toThrow('Cross-tenant write refused');
    expect(await db.prisma.tag.findMany({ where: { name: { startsWith: 'wtx-' } }, select: { name: true } })).toEqual([
      { name: 'wtx-own' },
    ]);
  });

  it.skipIf(testBackend() !== 'postgres')(
    "a driver transaction keeps Prisma's limits: a statement past `timeout` fails and rolls back, the connection goes back clean",
    async () => {
      const tx = db.driverTransaction;
      if (!tx) throw new Error('PostgreSQL has driverTransaction');
      const slow = tx(
        async (q) => {
          await q(`INSERT INTO "Tag" ("shopId", "name") VALUES ($1::uuid, 'timeout-tag')`, [shopA]);
          await q('SELECT pg_sleep(2)', []);
        },
        { timeout: 200 },
      );
      await expect(slow).rejects.toThrow(/statement timeout/);
      expect(await db.prisma.tag.count({ where: { name: 'timeout-tag' } })).toBe(0);
      // The pooled connection is reused without the limit (it was local to the transaction).
      expect(await tx(async (q) => (await q<{ t: string }>("SELECT current_setting('statement_timeout') AS t", []))[0]?.t)).toBe('0');
    },
  );

  it('shows only its own shop row', async () => {
    const a = forShop(db.prisma, shopA);
    const shops = await a.shop.findMany();
    expect(shops.map((s) => s.id)).toEqual([shopA]);
  });
});
