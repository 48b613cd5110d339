import type { ScopedDb } from '../../db/tenant.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../errors.ts';
import type { Customer } from '../../generated/prisma/client.ts';
import { checkBatchSize, type ErrorTypes, idempotentBatch, runBatch } from '../common/batch.ts';
import { type Actor, type CreateCustomerInput, upsertCustomer } from './customer.service.ts';

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
    () =>
      runBatch(db, items, CUSTOMER_ITEM_ERRORS, async (t, item) => {
        const r = await upsertCustomer(t as unknown as ScopedDb, actor, item);
        return { row: r.customer, created: r.created };
      }),
    (ids) => db.customer.findMany({ where: { id: { in: ids } } }),
    () => new NotFoundError('Customer'),
  );
}
