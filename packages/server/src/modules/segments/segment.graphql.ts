import { builder } from '../../builder.ts';
import type { Context } from '../../context.ts';
import { skipQuery } from '../../db/loaders.ts';
import { NotFoundError, VersionConflictError } from '../../errors.ts';
import { COMMON_ERRORS } from '../common/common.type.ts';
import { checkPageSize, keysetPage } from '../common/graphql-helpers.ts';
import { CustomerNode } from '../customers/customer.type.ts';
import { AFTER, EventRef, parseAfter, stream } from '../events/event.graphql.ts';
import { FIELDS, operatorsOf } from './segment.fields.ts';
import { LIMITS, OP_NAMES, type OpName, parseRule, printRule, type RuleTree, ruleFromInput, ruleToTree } from './segment.rule.ts';
import * as svc from './segment.service.ts';

/**
 * Segments over GraphQL: the rule language's two faces (text `rule` / input tree `ruleTree`),
 * previews evaluated live, saved segments with materialised members, membership events.
 * Reading needs segments:read, changing segments:write (declared per field); publishable keys get nothing.
 */
const read = (ctx: Context) => ({ db: ctx.db });
const READ = { scope: 'segments:read' } as const;
const WRITE = { scope: 'segments:write' } as const;

export const SegmentOperatorEnum = builder.enumType('SegmentOperator', {
  description: 'Operators of the rule language (text form in parentheses).',
  values: Object.fromEntries(Object.entries(OP_NAMES).map(([k, v]) => [k, { value: k, description: v }])) as Record<
    OpName,
    { value: OpName; description: string }
  >,
});

const SegmentFieldArgInput = builder.inputType('SegmentFieldArgInput', {
  description: 'An argument of a field, e.g. interactions.count(type = COMPLAINT, within = 90d).',
  fields: (t) => ({ name: t.string({ required: true }), value: t.field({ type: 'JSON', required: true }) }),
});

const SegmentConditionInput = builder.inputType('SegmentConditionInput', {
  description:
    'One condition: field, operator and value(s). value for single-value operators; values for IN, NOT_IN and BETWEEN (two); none for IS_NULL / IS_NOT_NULL. Enum values as strings ("LOYAL"), relative dates as "-90d".',
  fields: (t) => ({
    field: t.string({ required: true, description: 'A field name from segmentFields, or attributes.<key>.' }),
    args: t.field({ type: [SegmentFieldArgInput] }),
    op: t.field({ type: SegmentOperatorEnum, required: true }),
    value: t.field({ type: 'JSON' }),
    values: t.field({ type: ['JSON'] }),
  }),
});

export const SegmentRuleInput = builder.inputRef<RuleTree>('SegmentRuleInput').implement({
  description: `A rule as a tree: exactly one of and, or, not, condition per node (at most ${LIMITS.maxDepth} levels, ${LIMITS.maxConditions} conditions).`,
  fields: (t) => ({
    and: t.field({ type: [SegmentRuleInput] }),
    or: t.field({ type: [SegmentRuleInput] }),
    not: t.field({ type: SegmentRuleInput }),
    // The JSON scalar's input type is looser than ConditionTree's; treeToRule validates every value.
    condition: t.field({ type: SegmentConditionInput }) as never,
  }),
});

const RULE_ARGS_DOC = `Give exactly one of rule (text, at most ${LIMITS.maxLength} characters) or ruleTree.`;

const SegmentFieldArgRef = builder
  .objectRef<{ name: string; type: string; values: readonly string[] | null }>('SegmentFieldArg')
  .implement({
    fields: (t) => ({
      name: t.exposeString('name'),
      type: t.exposeString('type', { description: "enum, duration (e.g. 90d) or string (quoted, e.g. 'SOFA-1')." }),
      values: t.stringList({ nullable: true, resolve: (a) => (a.values ? [...a.values] : null) }),
    }),
  });

const SegmentFieldRef = builder.objectRef<(typeof FIELDS)[number]>('SegmentField').implement({
  description: 'A field of the rule language (for editors).',
  fields: (t) => ({
    name: t.string({ description: 'As written in rules; attributes. is a prefix (attributes.<key>).', resolve: (f) => f.name }),
    type: t.exposeString('type', { description: 'enum, string, number, date, boolean, set, id or json.' }),
    description: t.exposeString('description'),
    operators: t.field({ type: [SegmentOperatorEnum], resolve: (f) => operatorsOf(f).map((op) => svcOpName(op)) }),
    values: t.stringList({
      nullable: true,
      description: 'Allowed values (enum fields).',
      resolve: (f) => (f.values ? [...f.values] : null),
    }),
    args: t.field({
      type: [SegmentFieldArgRef],
      resolve: (f) =>
        Object.entries(f.args ?? {}).map(([name, a]) => ({ name, type: a.type, values: a.type === 'enum' ? a.values : null })),
    }),
  }),
});
const svcOpName = (op: string) => (Object.entries(OP_NAMES).find(([, v]) => v === op)?.[0] ?? 'EQ') as OpName;

export const SegmentNode = builder.prismaNode('Segment', {
  id: { field: 'id' },
  nullable: true,
  description: 'A saved segment: a rule evaluated against live data, with materialised members.',
  authScopes: READ,
  findUnique: (id) => ({ id }),
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    rule: t.exposeString('rule', { description: 'The canonical rule text.' }),
    ruleTree: t.field({
      type: 'JSON',
      description: 'The rule as a tree, in the shape of SegmentRuleInput (for editors).',
      select: { rule: true },
      resolve: (s) => ruleToTree(parseRule(s.rule)),
    }),
    ruleVersion: t.exposeInt('ruleVersion'),
    memberCount: t.exposeInt('memberCount', { description: 'Members at the last refresh.' }),
    refreshedAt: t.expose('refreshedAt', { type: 'DateTime', nullable: true }),
    version: t.exposeInt('version', { description: 'Pass it to updateSegment for optimistic concurrency.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    members: t.prismaConnection(
      {
        type: CustomerNode,
        cursor: 'id',
        description: 'Current members (as of refreshedAt), newest customers first.',
        totalCount: (s) => s.memberCount,
        resolve: async (query, s, args, ctx) => {
          checkPageSize(args);
          const page = await keysetPage(query, 'createdAt', 'desc', (id) =>
            ctx.db.customer.findFirst({ where: { id }, select: { createdAt: true } }),
          );
          return ctx.db.customer.findMany({
            ...query,
            where: { status: 'ACTIVE', segmentMemberships: { some: { segmentId: s.id } }, ...page.where },
            orderBy: page.orderBy,
          });
        },
      },
      {},
    ),
  }),
});

type PreviewOut = svc.Preview;
const SegmentPreviewRef = builder.objectRef<PreviewOut>('SegmentPreview').implement({
  description: 'A rule evaluated now, without saving it.',
  fields: (t) => ({
    rule: t.string({ description: 'The canonical rule text.', resolve: (p) => printRule(p.rule) }),
    ruleTree: t.field({ type: 'JSON', resolve: (p) => ruleToTree(p.rule) }),
    count: t.exposeInt('count', { description: 'Customers matching now.' }),
    members: t.prismaField({
      type: [CustomerNode],
      description: 'This page of matching customers, newest first.',
      resolve: async (query, p, _a, ctx) => {
        if (!p.memberIds.length) return skipQuery(query, []);
        const rows = await ctx.db.customer.findMany({ ...query, where: { id: { in: p.memberIds } } });
        const byId = new Map(rows.map((r) => [r.id, r]));
        return p.memberIds.map((id) => byId.get(id)).filter((r): r is (typeof rows)[number] => !!r);
      },
    }),
    endCursor: t.exposeString('endCursor', { nullable: true, description: 'Pass as `after` for the next page.' }),
    hasNextPage: t.exposeBoolean('hasNextPage'),
  }),
});

builder.queryFields((t) => ({
  segment: t.prismaField({
    authScopes: READ,
    type: SegmentNode,
    nullable: true,
    description: 'A saved segment by id; null when not in this shop.',
    args: { id: t.arg.globalID({ required: true, for: SegmentNode }) },
    resolve: (query, _r, { id }, ctx) => read(ctx).db.segment.findFirst({ ...query, where: { id: id.id } }),
  }),
  segments: t.prismaConnection(
    {
      authScopes: READ,
      type: SegmentNode,
      cursor: 'id',
      description: 'Saved segments of the shop, by name.',
      totalCount: (_c, args, ctx) => {
        checkPageSize(args);
        return read(ctx).db.segment.count();
      },
      resolve: (query, _r, args, ctx) => {
        checkPageSize(args);
        return read(ctx).db.segment.findMany({ ...query, orderBy: [{ name: 'asc' }, { id: 'asc' }] });
      },
    },
    {},
  ),
  segmentFields: t.field({
    authScopes: READ,
    type: [SegmentFieldRef],
    description: 'The fields, operators and arguments of the rule language (for rule editors).',
    resolve: () => FIELDS,
  }),
  previewSegment: t.field({
    authScopes: READ,
    type: SegmentPreviewRef,
    description: `Evaluates a rule now, without saving: count and a page of members. ${RULE_ARGS_DOC}`,
    args: {
      rule: t.arg.string(),
      ruleTree: t.arg({ type: SegmentRuleInput }),
      first: t.arg.int({ description: 'Members per page (default 20, at most 100).' }),
      after: t.arg.string({ description: 'endCursor of the previous page.' }),
    },
    resolve: (_r, args, ctx) => {
      const rule = ruleFromInput(args);
      return svc.previewSegment(ctx.shop, rule, { first: args.first ?? 20, after: args.after });
    },
  }),
}));

const CreateSegmentInput = builder.inputType('CreateSegmentInput', {
  description: RULE_ARGS_DOC,
  fields: (t) => ({
    name: t.string({ required: true, description: 'Unique per shop, 1-120 characters.' }),
    description: t.string(),
    rule: t.string(),
    ruleTree: t.field({ type: SegmentRuleInput }),
  }),
});
const UpdateSegmentInput = builder.inputType('UpdateSegmentInput', {
  description: 'Omitted fields stay. A new rule refreshes the membership (entered / left events). At most one of rule or ruleTree.',
  fields: (t) => ({
    id: t.globalID({ required: true, for: SegmentNode }),
    version: t.int({ description: 'Optimistic concurrency: the version you read.' }),
    name: t.string(),
    description: t.string(),
    rule: t.string(),
    ruleTree: t.field({ type: SegmentRuleInput }),
  }),
});
const SegmentIdInput = builder.inputType('SegmentIdInput', {
  fields: (t) => ({ id: t.globalID({ required: true, for: SegmentNode }) }),
});

const DeletedSegment = builder.objectRef<{ deletedId: string }>('DeletedSegment').implement({
  fields: (t) => ({ deletedId: t.exposeID('deletedId') }),
});
const RefreshSegmentPayload = builder.objectRef<svc.RefreshResult>('RefreshSegmentPayload').implement({
  fields: (t) => ({
    segment: t.field({ type: SegmentNode, resolve: (r) => r.segment }),
    entered: t.exposeInt('entered', { description: 'Customers who entered (one SEGMENT_ENTERED event each).' }),
    left: t.exposeInt('left', { description: 'Customers who left (one SEGMENT_LEFT event each).' }),
  }),
});

const result = (name: string, dataField: string) => ({
  types: [...COMMON_ERRORS],
  result: { name: `${name}Success` },
  union: { name: `${name}Result` },
  dataField: { name: dataField },
});

builder.mutationFields((t) => ({
  createSegment: t.field({
    authScopes: WRITE,
    type: SegmentNode,
    description: 'Saves a segment and materialises its members (the baseline: no entered events).',
    errors: result('CreateSegment', 'segment'),
    args: { input: t.arg({ type: CreateSegmentInput, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      const rule = ruleFromInput(input, ['input']);
      return svc.createSegment(ctx.shop, { ...input, rule });
    },
  }),
  updateSegment: t.field({
    authScopes: WRITE,
    type: SegmentNode,
    errors: { ...result('UpdateSegment', 'segment'), types: [...COMMON_ERRORS, VersionConflictError] },
    args: { input: t.arg({ type: UpdateSegmentInput, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      const rule = input.rule != null || input.ruleTree != null ? ruleFromInput(input, ['input']) : null;
      return svc.updateSegment(ctx.shop, {
        id: input.id.id,
        version: input.version,
        name: input.name,
        description: input.description,
        rule,
      });
    },
  }),
  deleteSegment: t.field({
    authScopes: WRITE,
    type: DeletedSegment,
    errors: { types: [...COMMON_ERRORS], union: { name: 'DeleteSegmentResult' }, directResult: true },
    args: { input: t.arg({ type: SegmentIdInput, required: true }) },
    resolve: (_r, { input }, ctx) => svc.deleteSegment(ctx.shop, input.id.id),
  }),
  refreshSegment: t.field({
    authScopes: WRITE,
    type: RefreshSegmentPayload,
    description: 'Recomputes the membership now (entered / left events for the changes).',
    errors: { types: [...COMMON_ERRORS], union: { name: 'RefreshSegmentResult' }, directResult: true },
    args: { input: t.arg({ type: SegmentIdInput, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      const found = await ctx.db.segment.findFirst({ where: { id: input.id.id }, select: { id: true } });
      const r = found ? await svc.refreshSegment(ctx.shop, found.id, { emit: true }) : null;
      if (!r) throw new NotFoundError('Segment', ['input', 'id']);
      return r;
    },
  }),
}));

builder.prismaObjectFields(CustomerNode, (t) => ({
  segments: t.field({
    type: [SegmentNode],
    description: 'The saved segments this customer is a member of (as of their last refresh), by name.',
    select: { segmentMemberships: { select: { segment: true } } },
    resolve: (c) => c.segmentMemberships.map((m) => m.segment).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  }),
}));

builder.subscriptionField('segmentMembershipChanged', (t) =>
  t.field({
    authScopes: { scope: 'segments:read' },
    type: EventRef,
    description: 'SEGMENT_ENTERED and SEGMENT_LEFT events of one saved segment (payload: segmentId, customerId, segmentName).',
    args: { segmentId: t.arg.globalID({ required: true, for: SegmentNode }), after: t.arg.id(AFTER) },
    subscribe: (_root, args, ctx) => {
      const gid = svc.segmentGid(args.segmentId.id);
      return stream(
        ctx,
        parseAfter(args.after),
        (e) => (e.type === 'SEGMENT_ENTERED' || e.type === 'SEGMENT_LEFT') && (e.payload as { segmentId?: string }).segmentId === gid,
      );
    },
    resolve: (e) => e,
  }),
);
