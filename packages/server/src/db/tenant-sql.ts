import { Prisma, type PrismaClient } from '../generated/prisma/client.ts';

/**
 * The one raw-SQL door for modules (the scoped client refuses raw SQL). `tenantSql(prisma, shopId)`
 * returns a runner that takes a fragment builder; the builder receives the shop id as a bound
 * parameter (`shop`) to filter its own tables with, and must project a "shopId" column: the runner
 * wraps the fragment as `SELECT * FROM (<fragment>) WHERE "shopId" = <shop>`, so rows of another
 * shop can never come back even if a fragment forgets its filter. Fragments are Prisma.sql tagged
 * templates: every value is a bound parameter, nothing is concatenated into the SQL text.
 */
export type TenantSql = <T>(build: (shop: Prisma.Sql) => Prisma.Sql) => Promise<T[]>;

export function tenantSql(prisma: PrismaClient, shopId: string): TenantSql {
  const shop = Prisma.sql`${shopId}::uuid`;
  return <T>(build: (shop: Prisma.Sql) => Prisma.Sql) =>
    prisma.$queryRaw<T[]>(Prisma.sql`SELECT * FROM (${build(shop)}) AS tenant_rows WHERE tenant_rows."shopId" = ${shop}`);
}
