import { queryFromInfo } from '@pothos/plugin-prisma';
import type { GraphQLResolveInfo } from 'graphql';
import { builder } from '../../builder.ts';
import type { Context } from '../../context.ts';
import type { ConnectionCursorDecoder } from '../../edge/cursor-guard.ts';
import { ValidationError } from '../../errors.ts';
import { ConsentChangeObject, CustomerNode, StageTransitionObject } from '../customers/customer.type.ts';
import { OrderNode } from '../orders/order.type.ts';
import { InteractionNode } from './interaction.type.ts';
import {
  allTimelineColumns,
  decodeTimelineCursor,
  encodeTimelineCursor,
  loadTimelineRows,
  TIMELINE_KINDS,
  TIMELINE_MODELS,
  type TimelineColumns,
  type TimelineKind,
  type TimelineQueries,
  type TimelineTableKind,
  timelinePage,
  type VisitRow,
} from './timeline.service.ts';

const KIND: Record<string, TimelineKind> = {
  INTERACTION: 'interaction',
  ORDER: 'order',
  STAGE_CHANGE: 'stage',
  CONSENT_CHANGE: 'consent',
  VISIT: 'visit',
};
const KIND_NAME: Record<TimelineKind, 'INTERACTION' | 'ORDER' | 'STAGE_CHANGE' | 'CONSENT_CHANGE' | 'VISIT'> = {
  interaction: 'INTERACTION',
  order: 'ORDER',
  stage: 'STAGE_CHANGE',
  consent: 'CONSENT_CHANGE',
  visit: 'VISIT',
};
const TYPE_NAME: Record<TimelineKind, string> = {
  interaction: 'Interaction',
  order: 'Order',
  stage: 'StageTransition',
  consent: 'ConsentChange',
  visit: 'StorefrontVisit',
};

export const TimelineKindEnum = builder.enumType('TimelineKind', {
  values: ['INTERACTION', 'ORDER', 'STAGE_CHANGE', 'CONSENT_CHANGE', 'VISIT'] as const,
});

export const StorefrontVisitObject = builder.objectRef<VisitRow>('StorefrontVisit').implement({
  description:
    'One storefront visit of the customer on the timeline: the behaviour events of one session (events without a session: of one visitor id), collapsed into counts. Only events stitched to the customer.',
  fields: (t) => ({
    sessionId: t.exposeID('id', { description: 'The session id (or the visitor id for events without a session).' }),
    startedAt: t.field({ type: 'DateTime', resolve: (v) => v.startedAt }),
    endedAt: t.field({ type: 'DateTime', description: 'The last event of the visit.', resolve: (v) => v.endedAt }),
    events: t.exposeInt('events'),
    pageViews: t.exposeInt('pageViews'),
    productViews: t.exposeInt('productViews'),
    searches: t.exposeInt('searches'),
    addedToCart: t.exposeInt('addedToCart'),
    checkoutsStarted: t.exposeInt('checkoutsStarted'),
    durationMs: t.exposeInt('durationMs', { nullable: true, description: 'Sum of the events’ reported durations.' }),
    skus: t.exposeStringList('skus', { description: 'Distinct SKUs of the visit’s events (at most 50).' }),
    searchQueries: t.exposeStringList('searchQueries', { description: 'Distinct search queries (at most 20).' }),
    landingUrl: t.exposeString('landingUrl', { nullable: true, description: 'URL of the first event with one.' }),
    referrer: t.exposeString('referrer', { nullable: true }),
    utmSource: t.exposeString('utmSource', { nullable: true }),
    utmMedium: t.exposeString('utmMedium', { nullable: true }),
    utmCampaign: t.exposeString('utmCampaign', { nullable: true }),
  }),
});

type Item = { __timelineKind: TimelineKind };

export const TimelineItem = builder.unionType('TimelineItem', {
  description:
    'One event of a customer timeline: an interaction, an order, a stage change, a consent change or a storefront visit (one entry per session).',
  types: [InteractionNode, OrderNode, StageTransitionObject, ConsentChangeObject, StorefrontVisitObject],
  resolveType: (item) => TYPE_NAME[(item as unknown as Item).__timelineKind],
});

type Edge = { cursor: string; node: object; at: Date; kind: TimelineKind };

/**
 * What the page statement must return for each table kind the page may hold. Pothos plans each
 * member type's selection under `edges.node` (and records that those rows are loaded with it, so
 * select-mode types are not fetched again): a selection of plain columns comes back with the page
 * itself (an include-mode type: every column, its resolvers may read any); one that needs
 * relations is loaded afterwards with Pothos' query, one findMany per kind.
 */
function planTimeline(ctx: Context, info: GraphQLResolveInfo, kinds: readonly TimelineKind[]) {
  const columns: TimelineColumns = {};
  const queries: TimelineQueries = {};
  for (const kind of Object.keys(TIMELINE_MODELS) as TimelineTableKind[]) {
    if (!kinds.includes(kind)) continue;
    const query = queryFromInfo({ context: ctx, info, typeName: TYPE_NAME[kind], path: ['edges', 'node'] }) as {
      select?: Record<string, unknown>;
      include?: Record<string, unknown>;
    };
    if (query.include && Object.keys(query.include).length) queries[kind] = query;
    else if (query.select && Object.values(query.select).some((v) => v !== true)) queries[kind] = query;
    else columns[kind] = query.select ? [...new Set(['id', ...Object.keys(query.select)])] : allTimelineColumns(kind);
  }
  return { columns, queries };
}

builder.prismaObjectFields(CustomerNode, (t) => ({
  timeline: t.connection(
    {
      authScopes: { scope: 'orders:read' },
      type: TimelineItem,
      description:
        'Interactions, orders, stage changes, consent changes and storefront visits (one entry per session, at its first event), newest first (ties: kind, then id). Forward pagination only (first/after, at most 100).',
      args: { kinds: t.arg({ type: [TimelineKindEnum], description: 'Only these kinds (default all).' }) },
      // Its own keyset cursor (at, kind, id): checked before any query by edge/cursor-guard.ts.
      extensions: { connectionCursor: decodeTimelineCursor satisfies ConnectionCursorDecoder },
      resolve: async (customer, args, ctx, info) => {
        if (args.last != null || args.before != null)
          throw ValidationError.field(['last'], 'The timeline pages forward only (first/after)');
        const kinds = args.kinds?.length ? args.kinds.map((k) => KIND[k] as TimelineKind) : [...TIMELINE_KINDS];
        const { columns, queries } = planTimeline(ctx, info, kinds);
        const page = await timelinePage(ctx.sql, customer.id, { first: args.first ?? 20, after: args.after, kinds }, columns);
        const rows = await loadTimelineRows(ctx.db, page.entries, { sql: ctx.sql, customerId: customer.id }, queries);
        const edges: Edge[] = rows.map(({ entry, row }) => ({
          cursor: encodeTimelineCursor(entry),
          // The row, tagged with its kind for the union's resolveType.
          node: Object.assign(row, { __timelineKind: entry.kind }),
          at: entry.at,
          kind: entry.kind,
        }));
        const last = page.entries.at(-1);
        return {
          edges: edges as never,
          pageInfo: {
            hasNextPage: page.hasNextPage,
            hasPreviousPage: !!args.after,
            startCursor: page.entries[0] ? encodeTimelineCursor(page.entries[0]) : null,
            endCursor: last ? encodeTimelineCursor(last) : null,
          },
        };
      },
    },
    { name: 'TimelineConnection' },
    {
      name: 'TimelineEdge',
      fields: (e) => ({
        at: e.field({ type: 'DateTime', description: 'When it happened.', resolve: (edge) => (edge as unknown as Edge).at }),
        kind: e.field({ type: TimelineKindEnum, resolve: (edge) => KIND_NAME[(edge as unknown as Edge).kind] }),
      }),
    },
  ),
}));
