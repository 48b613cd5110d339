import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
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

/** The read statement both runners send: the fragment for `shopId`, wrapped so only its rows come back. */
function tenantRead(shopId: string, build: (shop: Prisma.Sql) => Prisma.Sql): Prisma.Sql {
  const shop = Prisma.sql`${shopId}::uuid`;
  return Prisma.sql`SELECT * FROM (${build(shop)}) AS tenant_rows WHERE tenant_rows."shopId" = ${shop}`;
}

export function tenantSql(prisma: Pick<PrismaClient, '$queryRaw'>, shopId: string): TenantSql {
  return <T>(build: (shop: Prisma.Sql) => Prisma.Sql) => prisma.$queryRaw<T[]>(tenantRead(shopId, build));
}

/** Anything that runs raw SQL: the base client or one of its interactive transactions. */
export type RawSqlClient = Pick<PrismaClient, '$queryRaw'>;

/**
 * The raw-SQL door for set-based WRITES (a statement with data-modifying CTEs cannot be wrapped
 * in a sub-select like `tenantSql` does). The builder returns a list of CTE definitions, the last
 * named `written`, which must yield the "shopId" of every row its data-modifying CTEs touched
 * (RETURNING "shopId"). The runner executes `WITH <ctes> SELECT … FROM written` and throws when a
 * written row belongs to another shop; run it inside a transaction so that throw rolls it back.
 * Returns the number of rows in `written`.
 */
export function tenantWrite(client: RawSqlClient, shopId: string) {
  const shop = Prisma.sql`${shopId}::uuid`;
  return async (build: (shop: Prisma.Sql) => Prisma.Sql, opts?: WriteCount): Promise<number> => {
    const n = countOf(opts);
    const [r] = await client.$queryRaw<{ n: number; foreign: number }[]>(
      Prisma.sql`WITH ${build(shop)} SELECT ${n} AS n, (count(*) FILTER (WHERE written."shopId" IS DISTINCT FROM ${shop}))::int AS "foreign" FROM written`,
    );
    if (r && r.foreign > 0) throw new Error('Cross-tenant write refused');
    return r?.n ?? 0;
  };
}

/**
 * What a set-based write returns instead of the number of rows in `written`: the rows of one of
 * its own CTEs (e.g. the loyalty recompute's upserted metrics rows, which are its customer count;
 * counting them in the statement saves a second scan of the table after it).
 */
export type WriteCount = { count: string };

/** The count a write runner returns: the rows of `written` (read FROM written), or of the CTE named. */
function countOf(opts?: WriteCount): Prisma.Sql {
  if (!opts) return Prisma.sql`count(*)::int`;
  // A CTE name the statement builder chose, never input: still refuse anything but an identifier.
  if (!/^[a-z_][a-z0-9_]*$/.test(opts.count)) throw new Error(`Not a CTE name: ${opts.count}`);
  return Prisma.sql`(SELECT count(*) FROM ${Prisma.raw(opts.count)})::int`;
}

const CROSS_TENANT = 'Cross-tenant write refused: ';

/**
 * `tenantWrite` for ONE statement run on its own, outside a transaction (autocommit): the
 * cross-tenant check runs inside the statement, so a written row of another shop fails the
 * statement itself and PostgreSQL rolls all of it back; no BEGIN/COMMIT round trips are needed.
 * For hot paths writing one set-based statement per call (behaviour events). Same builder contract
 * as `tenantWrite` (CTEs, the last named `written` yielding the "shopId" of every row written);
 * returns the number of rows in `written`.
 */
export function tenantWriteStatement(client: RawSqlClient, shopId: string) {
  const shop = Prisma.sql`${shopId}::uuid`;
  return (build: (shop: Prisma.Sql) => Prisma.Sql, opts?: WriteCount): Promise<number> =>
    refusingForeign(async () => (await client.$queryRaw<{ n: number }[]>(checkedStatement(shop, build, opts)))[0]?.n ?? 0);
}

/**
 * `tenantWriteStatement` on the driver itself (`Database.driverQuery`): the parameters go to the
 * driver as they are, not through Prisma's query layer, which copies a large one at length on the
 * event loop (an upload's 1 MiB chunk: 20-25 ms of stalled event loop through Prisma, 1-2 ms here).
 * Write parameters with explicit casts (`${v}::int`): the driver sends them untyped.
 */
export function tenantDriverWriteStatement(driverQuery: <T>(sql: string, params: unknown[]) => Promise<T[]>, shopId: string) {
  const shop = Prisma.sql`${shopId}::uuid`;
  return (build: (shop: Prisma.Sql) => Prisma.Sql, opts?: WriteCount): Promise<number> =>
    refusingForeign(async () => {
      const q = checkedStatement(shop, build, opts);
      return (await driverQuery<{ n: number }>(q.text, q.values))[0]?.n ?? 0;
    });
}

function checkedStatement(shop: Prisma.Sql, build: (shop: Prisma.Sql) => Prisma.Sql, opts?: WriteCount): Prisma.Sql {
  // PostgreSQL has no RAISE outside PL/pgSQL: a failing cast of a non-constant text (so the
  // planner cannot fold it ahead of time) aborts the statement when a foreign row was written.
  const n = countOf(opts);
  return Prisma.sql`WITH ${build(shop)}, tenant_check AS (
        SELECT ${n} AS n, count(*) FILTER (WHERE written."shopId" IS DISTINCT FROM ${shop})::int AS "foreign" FROM written)
      SELECT n, (CASE WHEN "foreign" > 0 THEN ${CROSS_TENANT} || "foreign"::text END)::int AS refused FROM tenant_check`;
}

async function refusingForeign(run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (err) {
    if (String((err as Error)?.message ?? err).includes(CROSS_TENANT)) throw new Error('Cross-tenant write refused');
    throw err;
  }
}

/**
 * `tenantWrite` that hands back the rows of `written` that name a row: the builder's `written`
 * yields "shopId" and "id" (NULL for rows written only to be checked, such as history or audit
 * rows) and any further columns; the runner returns each distinct row with an id, and every row of
 * another shop, which throws (run it in a transaction so the throw rolls it back). For set-based
 * writes whose caller needs to know which rows were written (bulk imports); the rows kept only for
 * the check are not sent back (a batch of 2,000 customers wrote 12,000 such rows).
 */
export function tenantWriteRows(client: RawSqlClient, shopId: string) {
  const shop = Prisma.sql`${shopId}::uuid`;
  return async <T extends { shopId: string; id: string | null }>(build: (shop: Prisma.Sql) => Prisma.Sql): Promise<T[]> => {
    return refusingForeignRows(shopId, await client.$queryRaw<T[]>(writeRowsStatement(shop, build)));
  };
}

const writeRowsStatement = (shop: Prisma.Sql, build: (shop: Prisma.Sql) => Prisma.Sql) =>
  Prisma.sql`WITH ${build(shop)} SELECT DISTINCT * FROM written WHERE written.id IS NOT NULL OR written."shopId" IS DISTINCT FROM ${shop}`;

function refusingForeignRows<T extends { shopId: string }>(shopId: string, rows: T[]): T[] {
  if (rows.some((r) => r.shopId !== shopId)) throw new Error('Cross-tenant write refused');
  return rows;
}

/** `tenantWriteRows` on the driver (Database.driverTransaction's statements): same contract and check. */
export function tenantDriverWriteRows(query: <R>(text: string, params: unknown[]) => Promise<R[]>, shopId: string) {
  const shop = Prisma.sql`${shopId}::uuid`;
  return async <T extends { shopId: string; id: string | null }>(build: (shop: Prisma.Sql) => Prisma.Sql): Promise<T[]> => {
    const q = writeRowsStatement(shop, build);
    return refusingForeignRows(shopId, await query<T>(q.text, q.values));
  };
}

/**
 * `tenantSql`'s contract (the builder gets the bound shop; rows of another shop never come back)
 * on the driver itself (`Database.driverQuery`): no Prisma raw-query layer, the driver's value types
 * (uuid and text as strings, timestamptz as Date, json parsed, numeric and int8 as strings). For the
 * compiled read path, whose statements return JSON text; traced as one `db_query` span.
 */
export function tenantRows(driverQuery: <T>(sql: string, params: unknown[]) => Promise<T[]>, shopId: string): TenantSql {
  return <T>(build: (shop: Prisma.Sql) => Prisma.Sql) => {
    const q = tenantRead(shopId, build);
    return trace
      .getTracer('headless-crm')
      .startActiveSpan('db_query (compiled read)', { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql' } }, async (span) => {
        try {
          return await driverQuery<T>(q.text, q.values);
        } catch (err) {
          span.setStatus({ code: SpanStatusCode.ERROR });
          throw err;
        } finally {
          span.end();
        }
      });
  };
}
