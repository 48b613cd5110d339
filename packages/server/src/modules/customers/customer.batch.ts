import type { ScopedDb } from '../../db/tenant.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../errors.ts';
import type { Customer } from '../../generated/prisma/client.ts';
import { checkBatchSize, type ErrorTypes, idempotentBatch, runBatch } from '../common/batch.ts';
import { type Actor, type CreateCustomerInput, upsertCustomer, withKnownTags } from './customer.service.ts';

/** The errors an item of upsertCustomers reports: those of upsertCustomer. */
export const CUSTOMER_ITEM_ERRORS: ErrorTypes = {
  VALIDATION_FAILED: ValidationError,
  NOT_FOUND: NotFoundError,
  CONFLICT: ConflictError,
  FORBIDDEN: ForbiddenError,
};

/**
 * upsertCustomer for up to 500 customers (modules/common/batch.ts): in input order, one transaction,
 * one savepoint per item. Items are matched like upsertCustomer (externalId, then email, then
 * phone) and see the earlier items of the batch: two items with the same email are one customer,
 * created by the first and updated by the second (its fields win where both give one).
 */
export async function upsertCustomers(db: ScopedDb, actor: Actor, items: CreateCustomerInput[], idempotencyKey?: string | null) {
  checkBatchSize(items);
  return idempotentBatch<Customer>(
    db,
    'upsertCustomers',
    idempotencyKey,
    items,
    CUSTOMER_ITEM_ERRORS,
    () => {
      // Tags the earlier items created or found (looked up once per batch, not per item). An
      // item's new tags join only when it succeeded: a failed item's savepoint takes them back.
      const tags = new Map<string, string>();
      return runBatch(db, items, CUSTOMER_ITEM_ERRORS, async (t, item) => {
        const seen = new Map(tags);
        const r = await withKnownTags(t, seen, () => upsertCustomer(t as unknown as ScopedDb, actor, item));
        for (const [name, id] of seen) tags.set(name, id);
        return { row: r.customer, created: r.created };
      });
    },
    (ids) => db.customer.findMany({ where: { id: { in: ids } } }),
    () => new NotFoundError('Customer'),
  );
}
