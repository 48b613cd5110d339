import { ValidationError } from '../../errors.ts';
import type { Prisma } from '../../generated/prisma/client.ts';
import type { CustomerStatus, LifecycleStage, SourceChannel } from '../../generated/prisma/enums.ts';
import { isUuid } from './customer.service.ts';

export type CustomerFilter = {
  stages?: LifecycleStage[] | null;
  statuses?: CustomerStatus[] | null;
  sourceChannels?: SourceChannel[] | null;
  sourceCampaign?: string | null;
  /** Customers having at least one of these tags. */
  tagsAny?: string[] | null;
  /** Customers having all of these tags. */
  tagsAll?: string[] | null;
  ownerIds?: string[] | null;
  unowned?: boolean | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
  /** Case-insensitive text over names, company, emails and phones. */
  search?: string | null;
};

export type CustomerSortField = 'CREATED_AT' | 'UPDATED_AT' | 'LAST_NAME' | 'DEAL_LIKELIHOOD' | 'EXPECTED_PURCHASE_AT';
export type SortDirection = 'ASC' | 'DESC';

/** Builds the Prisma `where` for a customer list. Default: active and archived are hidden unless asked. */
export function customerWhere(f: CustomerFilter | null | undefined): Prisma.CustomerWhereInput {
  const and: Prisma.CustomerWhereInput[] = [];
  and.push({ status: { in: f?.statuses?.length ? f.statuses.filter((s) => s !== 'MERGED') : ['ACTIVE'] } });
  if (f?.stages?.length) and.push({ stage: { in: f.stages } });
  if (f?.sourceChannels?.length) and.push({ sourceChannel: { in: f.sourceChannels } });
  if (f?.sourceCampaign) and.push({ sourceCampaign: f.sourceCampaign });
  if (f?.tagsAny?.length) and.push({ tags: { some: { tag: { name: { in: f.tagsAny } } } } });
  for (const name of f?.tagsAll ?? []) and.push({ tags: { some: { tag: { name } } } });
  if (f?.ownerIds?.length) {
    const bad = f.ownerIds.findIndex((id) => !isUuid(id));
    if (bad >= 0) throw ValidationError.field(['filter', 'ownerIds', String(bad)], 'Not a staff user id');
    and.push({ ownerId: { in: f.ownerIds } });
  }
  if (f?.unowned) and.push({ ownerId: null });
  if (f?.createdAfter) and.push({ createdAt: { gte: f.createdAfter } });
  if (f?.createdBefore) and.push({ createdAt: { lt: f.createdBefore } });
  const q = f?.search?.trim();
  if (q) {
    if (q.length > 100) throw ValidationError.field(['filter', 'search'], 'At most 100 characters');
    const digitsOnly = q.replace(/[^\d]/g, '');
    if (/^[+\d\s().-]+$/.test(q) && digitsOnly.length >= 3) {
      // Looks like a phone number: match its digits however they were spaced.
      and.push({ OR: [{ phone: { contains: digitsOnly } }, { otherPhones: { has: `+${digitsOnly}` } }] });
      return { AND: and };
    }
    const words = q.split(/\s+/).slice(0, 5);
    for (const w of words) {
      const digits = w.replace(/[^\d]/g, '');
      const or: Prisma.CustomerWhereInput[] = [
        { firstName: { contains: w, mode: 'insensitive' } },
        { lastName: { contains: w, mode: 'insensitive' } },
        { company: { contains: w, mode: 'insensitive' } },
        { email: { contains: w.toLowerCase() } },
      ];
      if (digits.length >= 3) or.push({ phone: { contains: digits } });
      and.push({ OR: or });
    }
  }
  return { AND: and };
}

const SORT_COLUMN: Record<CustomerSortField, keyof Prisma.CustomerOrderByWithRelationInput> = {
  CREATED_AT: 'createdAt',
  UPDATED_AT: 'updatedAt',
  LAST_NAME: 'lastName',
  DEAL_LIKELIHOOD: 'dealLikelihood',
  EXPECTED_PURCHASE_AT: 'expectedPurchaseAt',
};

/** The sort columns that may be null: sorted with their nulls last in both directions. */
const NULLABLE_SORT = new Set<CustomerSortField>(['LAST_NAME', 'DEAL_LIKELIHOOD', 'EXPECTED_PURCHASE_AT']);

/**
 * The column a page after a cursor may be bounded by (common/graphql-helpers.ts cursorBound): the
 * sort column when it has no nulls (`col <= v` would drop the nulls sorted after it), else none.
 */
export function customerKeysetColumn(field: CustomerSortField = 'CREATED_AT'): 'createdAt' | 'updatedAt' | null {
  const col = SORT_COLUMN[field];
  return !NULLABLE_SORT.has(field) && (col === 'createdAt' || col === 'updatedAt') ? col : null;
}

/** Order for a customer list; `id` breaks ties so cursors are stable. */
export function customerOrderBy(
  field: CustomerSortField = 'CREATED_AT',
  direction: SortDirection = 'DESC',
): Prisma.CustomerOrderByWithRelationInput[] {
  const dir = direction === 'ASC' ? 'asc' : 'desc';
  const col = SORT_COLUMN[field];
  const nullable = NULLABLE_SORT.has(field);
  return [{ [col]: nullable ? { sort: dir, nulls: 'last' } : dir } as Prisma.CustomerOrderByWithRelationInput, { id: dir }];
}
