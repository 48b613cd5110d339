import { Prisma } from '../../generated/prisma/client.ts';

/**
 * The customers whose derived changes a bulk import records without per-row events (docs/import.md,
 * `rowEvents: false`): the customers the import itself touched. The set-based recompute at the end
 * of an import covers the whole shop, so it still emits for every other customer it moves (one who
 * drifted into HIGH churn risk or to another stage since the last run): only the import's own
 * customers stay quiet. SQL: true for a customer not in `quiet` (a hash anti-join on the ids).
 */
export function notQuiet(customerId: Prisma.Sql, quiet: readonly string[] | undefined): Prisma.Sql {
  if (!quiet?.length) return Prisma.sql`true`;
  return Prisma.sql`NOT EXISTS (SELECT 1 FROM unnest(${quiet}::uuid[]) AS quiet(id) WHERE quiet.id = ${customerId})`;
}
