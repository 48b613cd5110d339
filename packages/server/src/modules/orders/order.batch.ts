import type { ScopedDb } from '../../db/tenant.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../errors.ts';
import type { Order } from '../../generated/prisma/client.ts';
import { checkBatchSize, type ErrorTypes, idempotentBatch, runBatch } from '../common/batch.ts';
import type { Actor } from '../customers/customer.service.ts';
import { ExchangeRateMissingError, type UpsertOrderInput, upsertOrder } from './order.service.ts';

/** The errors an item of upsertOrders reports: those of upsertOrder. */
export const ORDER_ITEM_ERRORS: ErrorTypes = {
  VALIDATION_FAILED: ValidationError,
  NOT_FOUND: NotFoundError,
  CONFLICT: ConflictError,
  FORBIDDEN: ForbiddenError,
  EXCHANGE_RATE_MISSING: ExchangeRateMissingError,
};

export type OrderBatchItem = UpsertOrderInput & { idempotencyKey?: string | null };

/**
 * upsertOrder for up to 500 orders (modules/common/batch.ts): in input order, one transaction, one
 * savepoint per item, each with upsertOrder's stage automation and events. The same externalId
 * twice is one order, created by the first item and replaced by the second. The idempotency key is
 * the batch's: an item's own `idempotencyKey` is that item's ValidationError.
 */
export async function upsertOrders(db: ScopedDb, actor: Actor, items: OrderBatchItem[], idempotencyKey?: string | null) {
  checkBatchSize(items);
  return idempotentBatch<Order>(
    db,
    'upsertOrders',
    idempotencyKey,
    items,
    ORDER_ITEM_ERRORS,
    () =>
      runBatch(db, items, ORDER_ITEM_ERRORS, async (t, item) => {
        const { idempotencyKey: own, ...input } = item;
        if (own != null) {
          throw ValidationError.field(
            ['input', 'idempotencyKey'],
            "Items have no idempotency key of their own: give the batch's input.idempotencyKey",
          );
        }
        const r = await upsertOrder(t as unknown as ScopedDb, actor, input);
        return { row: r.order, created: r.created };
      }),
    (ids) => db.order.findMany({ where: { id: { in: ids } } }),
    () => new NotFoundError('Order'),
  );
}
