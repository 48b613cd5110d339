import { builder } from '../../builder.ts';
import { AuditActorKind } from '../../generated/prisma/enums.ts';
import { checkPageSize } from '../orders/order.graphql.ts';
import { auditWhere } from './audit.service.ts';

const AuditActorKindEnum = builder.enumType(AuditActorKind, {
  name: 'AuditActorKind',
  description:
    'API_KEY: a secret key without a staff user; STAFF: a staff user through a secret key; CUSTOMER: a customer on their own profile; PUBLISHABLE_KEY: a storefront key without a customer; SYSTEM: a background job.',
});

const AuditEntryObject = builder.prismaObject('AuditEntry', {
  description:
    'One audit log entry: a mutation call (action MUTATION, with its outcome) or a row it inserted, changed or deleted (changed fields old -> new).',
  fields: (t) => ({
    id: t.string({ description: 'Increasing with time.', resolve: (e) => e.id.toString() }),
    at: t.expose('at', { type: 'DateTime' }),
    actorKind: t.expose('actorKind', { type: AuditActorKindEnum }),
    actorKeyId: t.exposeString('actorKeyId', { nullable: true, description: 'The API key (raw id).' }),
    actorStaffId: t.exposeString('actorStaffId', { nullable: true }),
    actorCustomerId: t.exposeString('actorCustomerId', { nullable: true }),
    actorJob: t.exposeString('actorJob', { nullable: true, description: 'For SYSTEM: the job.' }),
    operation: t.exposeString('operation', { description: 'The GraphQL mutation (or system job).' }),
    action: t.exposeString('action', { description: 'MUTATION, INSERT, UPDATE, DELETE or IMPORT.' }),
    entityType: t.exposeString('entityType', { description: 'E.g. Customer, Order; Mutation when a call names no entity.' }),
    entityId: t.exposeString('entityId', { nullable: true, description: 'The raw row id.' }),
    fields: t.exposeStringList('fields', { description: 'Changed fields (MUTATION: the input fields given).' }),
    changes: t.field({
      type: 'JSON',
      nullable: true,
      description: '{ field: [old, new] }; null for deletes, mutation entries and after erasure.',
      resolve: (e) => e.changes ?? null,
    }),
    outcome: t.exposeString('outcome', { nullable: true, description: 'MUTATION entries: OK or the error code.' }),
    redacted: t.exposeBoolean('redacted', { description: "The values were removed by the person's erasure." }),
  }),
});

const AuditActionEnum = builder.enumType('AuditAction', {
  values: ['MUTATION', 'INSERT', 'UPDATE', 'DELETE', 'IMPORT'] as const,
  description:
    'MUTATION: the call itself; INSERT / UPDATE / DELETE: a row it changed; IMPORT: one batch of a bulk import (entity: the ImportJob; changes: the ids it created and updated).',
});

const AuditEntityFilter = builder.inputType('AuditEntityFilter', {
  fields: (t) => ({
    type: t.string({ required: true, description: 'E.g. Customer, Order, Mutation.' }),
    id: t.string({ description: 'The raw row id (or a global id).' }),
  }),
});
const AuditActorFilter = builder.inputType('AuditActorFilter', {
  fields: (t) => ({
    kind: t.field({ type: AuditActorKindEnum }),
    id: t.string({ description: 'A key, staff user or customer id (raw or global).' }),
  }),
});
const AuditLogFilter = builder.inputType('AuditLogFilter', {
  fields: (t) => ({
    entity: t.field({ type: AuditEntityFilter }),
    actor: t.field({ type: AuditActorFilter }),
    operation: t.string({ description: 'A mutation name, e.g. upsertOrder.' }),
    action: t.field({ type: AuditActionEnum }),
    from: t.field({ type: 'DateTime' }),
    to: t.field({ type: 'DateTime', description: 'Exclusive.' }),
  }),
});

/** Accepts raw or global ids in filters. */
function rawIdOf(v: string | null | undefined): string | null {
  if (!v) return null;
  try {
    const decoded = Buffer.from(v, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i > 0 && /^[A-Za-z]+$/.test(decoded.slice(0, i))) return decoded.slice(i + 1);
  } catch {
    /* raw */
  }
  return v;
}

type FilterArg = (typeof AuditLogFilter)['$inferInput'] | null | undefined;
const where = (f: FilterArg) =>
  auditWhere({
    entityType: f?.entity?.type,
    entityId: rawIdOf(f?.entity?.id),
    actorKind: f?.actor?.kind,
    actorId: rawIdOf(f?.actor?.id),
    operation: f?.operation,
    action: f?.action,
    from: f?.from,
    to: f?.to,
  });

builder.queryFields((t) => ({
  auditLog: t.prismaConnection(
    {
      authScopes: { scope: 'staff:read', role: 'MANAGER' },
      type: AuditEntryObject,
      cursor: 'id',
      description:
        'The audit log, newest first: who (key, staff user, customer or system job) changed what (entity, fields old -> new) through which mutation. Secret key; owners / managers / system only. Kept AUDIT_RETENTION_DAYS.',
      args: { filter: t.arg({ type: AuditLogFilter }) },
      totalCount: (_c, args, ctx) => {
        checkPageSize(args);
        return ctx.db.auditEntry.count({ where: where(args.filter) });
      },
      resolve: (query, _r, args, ctx) => {
        checkPageSize(args);
        return ctx.db.auditEntry.findMany({ ...query, where: where(args.filter), orderBy: { id: 'desc' } });
      },
    },
    {},
  ),
}));
