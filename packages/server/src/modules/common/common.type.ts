import { encodeGlobalID } from '@pothos/plugin-relay';
import { GraphQLError, Kind } from 'graphql';
import { builder } from '../../builder.ts';
import {
  AlreadyMergedError,
  type AppError,
  ConflictError,
  type FieldIssue,
  ForbiddenError,
  IdempotencyConflictError,
  NotFoundError,
  ValidationError,
  VersionConflictError,
} from '../../errors.ts';

const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

function parseDateTime(value: unknown): Date {
  if (typeof value !== 'string' || !ISO_DATETIME.test(value)) {
    throw new GraphQLError('DateTime must be an ISO-8601 string with a time zone, e.g. 2026-01-31T09:00:00Z');
  }
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new GraphQLError(`Invalid DateTime: ${value}`);
  return d;
}

function parseDate(value: unknown): Date {
  if (typeof value !== 'string' || !ISO_DATE.test(value)) throw new GraphQLError('Date must be YYYY-MM-DD');
  const d = new Date(`${value}T00:00:00Z`);
  if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== value) throw new GraphQLError(`Invalid Date: ${value}`);
  return d;
}

builder.scalarType('DateTime', {
  description: 'An instant, ISO-8601 with time zone (output always UTC, e.g. 2026-01-31T09:00:00.000Z).',
  serialize: (v) => (v instanceof Date ? v.toISOString() : String(v)),
  parseValue: parseDateTime,
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : null),
});

builder.scalarType('Date', {
  description: 'A calendar date, YYYY-MM-DD.',
  serialize: (v) => (v instanceof Date ? v.toISOString().slice(0, 10) : String(v)),
  parseValue: parseDate,
  parseLiteral: (ast) => parseDate(ast.kind === Kind.STRING ? ast.value : null),
});

function literalToJson(ast: import('graphql').ValueNode): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map(literalToJson);
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literalToJson(f.value)]));
    default:
      throw new GraphQLError('Variables are not allowed inside JSON literals');
  }
}

builder.scalarType('JSON', {
  description: 'Arbitrary JSON value.',
  serialize: (v) => v,
  parseValue: (v) => v,
  parseLiteral: literalToJson,
});

function parseDecimal(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw new GraphQLError('Decimal must be a string such as "19.90"');
}

builder.scalarType('Decimal', {
  description:
    'An exact decimal amount as a string with at most two decimals, e.g. "19.90" (output always has two). Invalid amounts are reported as ValidationError issues.',
  serialize: (v) => (typeof v === 'string' ? v : v.toFixed(2)),
  parseValue: parseDecimal,
  parseLiteral: (ast) => parseDecimal(ast.kind === Kind.STRING || ast.kind === Kind.INT || ast.kind === Kind.FLOAT ? ast.value : null),
});

/** The interface every expected error implements. */
export const ErrorInterface = builder.interfaceRef<AppError>('Error').implement({
  description: 'An expected failure: a stable `code`, a human message, and the input path it concerns.',
  fields: (t) => ({
    message: t.exposeString('message'),
    code: t.exposeString('code', { description: 'Stable machine-readable code, e.g. VALIDATION_FAILED.' }),
    path: t.exposeStringList('inputPath', {
      description: 'Path of the input field concerned, e.g. ["input","email"]; empty when not field-specific.',
    }),
  }),
});

export const FieldIssueRef = builder.objectRef<FieldIssue>('FieldIssue').implement({
  description: 'One problem with one input field.',
  fields: (t) => ({
    path: t.exposeStringList('path'),
    message: t.exposeString('message'),
    code: t.exposeString('code'),
  }),
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  description: 'The input was rejected; nothing was changed. `issues` lists every problem found.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ issues: t.field({ type: [FieldIssueRef], resolve: (e) => e.issues }) }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  description: 'The referenced record does not exist in this shop.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ resource: t.exposeString('resource') }),
});

builder.objectType(ConflictError, {
  name: 'ConflictError',
  description: 'The change conflicts with existing data (e.g. a duplicate email).',
  interfaces: [ErrorInterface],
});

builder.objectType(VersionConflictError, {
  name: 'VersionConflictError',
  description: 'Optimistic concurrency: the record changed since you read it.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ currentVersion: t.exposeInt('currentVersion') }),
});

builder.objectType(ForbiddenError, {
  name: 'ForbiddenError',
  description: 'The key may not perform this operation.',
  interfaces: [ErrorInterface],
});

builder.objectType(IdempotencyConflictError, {
  name: 'IdempotencyConflictError',
  description: 'The idempotency key was already used with a different input; nothing was changed.',
  interfaces: [ErrorInterface],
});

builder.objectType(AlreadyMergedError, {
  name: 'AlreadyMergedError',
  description: 'The customer was already merged into another one; it can be neither survivor nor duplicate of a merge.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    mergedIntoId: t.field({
      type: 'ID',
      nullable: true,
      description: 'The customer it was merged into (merge into that one instead).',
      resolve: (e) => (e.mergedIntoId ? encodeGlobalID('Customer', e.mergedIntoId) : null),
    }),
  }),
});

/** Error classes every mutation result union includes. */
export const COMMON_ERRORS = [ValidationError, NotFoundError, ConflictError, ForbiddenError] as const;

builder.queryType({});
builder.mutationType({});
