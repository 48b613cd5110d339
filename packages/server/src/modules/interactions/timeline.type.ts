import { builder } from '../../builder.ts';
import { ValidationError } from '../../errors.ts';
import { ConsentChangeObject, CustomerNode, StageTransitionObject } from '../customers/customer.type.ts';
import { OrderNode } from '../orders/order.type.ts';
import { InteractionNode } from './interaction.type.ts';
import { encodeTimelineCursor, loadTimelineRows, type TimelineKind, timelinePage } from './timeline.service.ts';

const KIND: Record<string, TimelineKind> = {
  INTERACTION: 'interaction',
  ORDER: 'order',
  STAGE_CHANGE: 'stage',
  CONSENT_CHANGE: 'consent',
};
const KIND_NAME: Record<TimelineKind, 'INTERACTION' | 'ORDER' | 'STAGE_CHANGE' | 'CONSENT_CHANGE'> = {
  interaction: 'INTERACTION',
  order: 'ORDER',
  stage: 'STAGE_CHANGE',
  consent: 'CONSENT_CHANGE',
};
const TYPE_NAME: Record<TimelineKind, string> = {
  interaction: 'Interaction',
  order: 'Order',
  stage: 'StageTransition',
  consent: 'ConsentChange',
};

export const TimelineKindEnum = builder.enumType('TimelineKind', {
  values: ['INTERACTION', 'ORDER', 'STAGE_CHANGE', 'CONSENT_CHANGE'] as const,
});

type Item = { __timelineKind: TimelineKind };

export const TimelineItem = builder.unionType('TimelineItem', {
  description: 'One event of a customer timeline: an interaction, an order, a stage change or a consent change.',
  types: [InteractionNode, OrderNode, StageTransitionObject, ConsentChangeObject],
  resolveType: (item) => TYPE_NAME[(item as unknown as Item).__timelineKind],
});

type Edge = { cursor: string; node: object; at: Date; kind: TimelineKind };

builder.prismaObjectFields(CustomerNode, (t) => ({
  timeline: t.connection(
    {
      authScopes: { scope: 'orders:read' },
      type: TimelineItem,
      description:
        'Interactions, orders, stage changes and consent changes, newest first (ties: kind, then id). Forward pagination only (first/after, at most 100).',
      args: { kinds: t.arg({ type: [TimelineKindEnum], description: 'Only these kinds (default all).' }) },
      resolve: async (customer, args, ctx) => {
        if (args.last != null || args.before != null)
          throw ValidationError.field(['last'], 'The timeline pages forward only (first/after)');
        const { db } = ctx;
        const page = await timelinePage(ctx.sql, customer.id, {
          first: args.first ?? 20,
          after: args.after,
          kinds: args.kinds?.map((k) => KIND[k] as TimelineKind),
        });
        const rows = await loadTimelineRows(db, page.entries);
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
