import { decodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../../builder.ts';
import { type Context, shopIdOf } from '../../context.ts';
import { skipQuery } from '../../db/loaders.ts';
import { EventsExpiredError, ValidationError } from '../../errors.ts';
import type { Event } from '../../generated/prisma/client.ts';
import { CustomerNode } from '../customers/customer.type.ts';
import { EVENT_TYPES, type EventType, gid } from './event.service.ts';

/**
 * Real-time subscriptions (graphql-ws and SSE). Every stream reads the shop's outbox (Event table)
 * in id order through the process's EventBus: `after` resumes after the last id seen (missed events
 * first, then live ones, no duplicates, no gaps); without it the stream starts now. Secret keys
 * with customers:read only; a subscriber only ever sees its own shop's events.
 */
export const EventTypeEnum = builder.enumType('EventType', {
  description: 'What happened. Payloads carry global ids and small facts, never personal data.',
  values: Object.fromEntries(EVENT_TYPES.map((v) => [v, { value: v }])) as Record<EventType, { value: EventType }>,
});

const sharedCustomerLoads = new WeakMap<Event, Map<string, Promise<unknown>>>();

export const EventRef = builder.objectRef<Event>('Event').implement({
  description: 'One change from the shop’s event log (the outbox), delivered by subscriptions and webhooks.',
  fields: (t) => ({
    id: t.id({
      description: 'The event id: increasing per shop in commit order. Pass the last one seen as `after` to resume.',
      resolve: (e) => e.id.toString(),
    }),
    type: t.field({ type: EventTypeEnum, resolve: (e) => e.type as EventType }),
    occurredAt: t.field({ type: 'DateTime', resolve: (e) => e.createdAt }),
    customer: t.prismaField({
      type: CustomerNode,
      nullable: true,
      description: 'The customer concerned, as it is now (null when erased or none).',
      resolve: (query, e, _args, ctx) => {
        if (!e.customerId) return skipQuery(query, null);
        // One load per event row and selection, shared by every live subscriber of the shop that
        // received this very row from the tail (same shop, same scope): 1,000 subscribers of one
        // document cost one query, not 1,000.
        let loads = sharedCustomerLoads.get(e);
        if (!loads) {
          loads = new Map();
          sharedCustomerLoads.set(e, loads);
        }
        const key = JSON.stringify(query);
        let load = loads.get(key);
        if (!load) {
          load = ctx.db.customer.findUnique({ ...query, where: { id: e.customerId } });
          loads.set(key, load);
        }
        return load as ReturnType<typeof ctx.db.customer.findUnique>;
      },
    }),
    payload: t.field({
      type: 'JSON',
      description:
        'Facts about the event: global ids (customerId, interactionId, orderId, duplicateId) and e.g. stage from/to, changed field names, interaction type.',
      resolve: (e) => e.payload,
    }),
  }),
});

builder.subscriptionType({
  description:
    'Real-time events over graphql-ws (same /graphql endpoint) or SSE (accept: text/event-stream). Secret key with the read scopes of the events (see docs/authorization.md).',
});

/** "12345" (an Event id) -> 12345n; anything else is a ValidationError at `after`. */
export function parseAfter(after: string | number | null | undefined): bigint | null {
  if (after == null) return null;
  const s = String(after);
  if (!/^\d{1,19}$/.test(s)) throw ValidationError.field(['after'], 'Not an event id (the `id` of an event received earlier)');
  return BigInt(s);
}

/** A customer global id (or raw row id) -> row id; shops are enforced by the stream's scope. */
export function customerRowId(id: string | number, path: string[]): string {
  const s = String(id);
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s)) return s;
  try {
    const { typename, id: raw } = decodeGlobalID(s);
    if (typename === 'Customer') return raw;
  } catch {
    // fall through
  }
  throw ValidationError.field(path, 'Not a customer id');
}

/**
 * The shop's event stream (typed subscriptions in other modules use it too; each declares its scopes).
 * Resuming from an id older than the shop's oldest retained event (pruned: EVENT_RETENTION_DAYS)
 * fails with EVENTS_EXPIRED instead of silently skipping what was pruned; `after: 0` means "from
 * the oldest retained event".
 */
export async function stream(ctx: Context, after: bigint | null, filter: (e: Event) => boolean) {
  const shopId = shopIdOf(ctx);
  if (after !== null && after > 0n) {
    const oldest = await ctx.db.event.findFirst({ orderBy: { id: 'asc' }, select: { id: true } });
    if (oldest && after < oldest.id) throw new EventsExpiredError(oldest.id);
  }
  return ctx.services.events.stream(shopId, after, filter);
}

/** The whole stream carries every area's events: it needs every customer-data read scope. */
export const ALL_EVENTS_SCOPES = {
  $all: {
    scope: 'contacts:read',
    $all: { scope: 'orders:read', $all: { scope: 'followups:read', $all: { scope: 'segments:read', $all: { scope: 'loyalty:read' } } } },
  },
} as const;

export const AFTER = { required: false, description: 'Resume after this event id (the last `id` received); omitted: start now.' } as const;

builder.subscriptionField('events', (t) =>
  t.field({
    authScopes: ALL_EVENTS_SCOPES,
    type: EventRef,
    description: 'Every event of the shop (optionally only some types), in order.',
    args: { types: t.arg({ type: [EventTypeEnum], required: false }), after: t.arg.id(AFTER) },
    subscribe: (_root, args, ctx) => {
      const after = parseAfter(args.after);
      const types = args.types?.length ? new Set<string>(args.types) : null;
      return stream(ctx, after, (e) => !types || types.has(e.type));
    },
    resolve: (e) => e,
  }),
);

builder.subscriptionField('leadCreated', (t) =>
  t.field({
    authScopes: { scope: 'contacts:read' },
    type: EventRef,
    description:
      'LEAD_CAPTURED: a new lead (a customer created as SUSPECT or PROSPECT, or by a storefront form), whatever created it: captureLead / trackInteraction, createCustomer / upsertCustomer by a rep or a partner, an import. The payload holds `origin` (lead-form, api, import), `sourceChannel` and, for a referred lead, `referrerId` (the referring customer).',
    args: { after: t.arg.id(AFTER) },
    subscribe: (_root, args, ctx) => stream(ctx, parseAfter(args.after), (e) => e.type === 'LEAD_CAPTURED'),
    resolve: (e) => e,
  }),
);

const CUSTOMER_CHANGES = new Set<string>(['CUSTOMER_UPDATED', 'STAGE_CHANGED', 'CUSTOMER_MERGED', 'CUSTOMER_DELETED']);

builder.subscriptionField('customerUpdated', (t) =>
  t.field({
    authScopes: { scope: 'contacts:read' },
    type: EventRef,
    description:
      'Changes to one customer: CUSTOMER_UPDATED, STAGE_CHANGED, CUSTOMER_MERGED (as survivor or as the merged duplicate) and CUSTOMER_DELETED.',
    args: { id: t.arg.id({ required: true }), after: t.arg.id(AFTER) },
    subscribe: (_root, args, ctx) => {
      const id = customerRowId(args.id, ['id']);
      const asDuplicate = gid('Customer', id);
      return stream(
        ctx,
        parseAfter(args.after),
        (e) =>
          CUSTOMER_CHANGES.has(e.type) &&
          (e.customerId === id || (e.type === 'CUSTOMER_MERGED' && (e.payload as { duplicateId?: string }).duplicateId === asDuplicate)),
      );
    },
    resolve: (e) => e,
  }),
);

builder.subscriptionField('interactionRecorded', (t) =>
  t.field({
    authScopes: { scope: 'orders:read' },
    type: EventRef,
    description: 'INTERACTION_RECORDED events, of one customer when `customerId` is given.',
    args: { customerId: t.arg.id({ required: false }), after: t.arg.id(AFTER) },
    subscribe: (_root, args, ctx) => {
      const customerId = args.customerId != null ? customerRowId(args.customerId, ['customerId']) : null;
      return stream(ctx, parseAfter(args.after), (e) => e.type === 'INTERACTION_RECORDED' && (!customerId || e.customerId === customerId));
    },
    resolve: (e) => e,
  }),
);
