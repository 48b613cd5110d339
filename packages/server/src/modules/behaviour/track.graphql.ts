import { builder } from '../../builder.ts';
import { currentAudit, outsideAuditContext } from '../../db/audit-context.ts';
import { BehaviourEventType } from '../../generated/prisma/enums.ts';
import { enforceEventLimits } from '../../rate-limit.ts';
import { mutationEntryInsert } from '../audit/audit.service.ts';
import { COMMON_ERRORS } from '../common/common.type.ts';
import { CustomerNode } from '../customers/customer.type.ts';
import { countByVisitor, identifyVisitor, MAX_BATCH, parseBatch, recordEvents } from './track.service.ts';

/** What a storefront visitor did (docs/behaviour.md). */
export const BehaviourEventTypeEnum = builder.enumType('BehaviourEventType', {
  description: 'What a storefront visitor did (docs/behaviour.md).',
  values: Object.values(BehaviourEventType),
});

const BehaviourEventInput = builder.inputType('BehaviourEventInput', {
  description:
    'One storefront behaviour event. Free text (url, referrer, searchQuery, utm*) is truncated to its limit; an over-long sku or properties object refuses the batch (docs/behaviour.md).',
  fields: (t) => ({
    type: t.field({ type: BehaviourEventTypeEnum, required: true }),
    visitorId: t.id({ required: true, description: 'The anonymous first-party visitor id the storefront SDK keeps (a UUID).' }),
    sessionId: t.id({ description: 'The visit (a UUID; the SDK starts a new one after 30 minutes without activity).' }),
    occurredAt: t.field({
      type: 'DateTime',
      description: 'Default: when received. More than 5 minutes ahead is clamped to the receive time; older than 7 days refuses the batch.',
    }),
    url: t.string({ description: 'Page URL (at most 2,000 characters kept).' }),
    referrer: t.string({ description: 'Referrer URL (at most 2,000 characters kept).' }),
    sku: t.string({ description: 'Product SKU (at most 100 characters): required for PRODUCT_VIEWED and ADDED_TO_CART.' }),
    searchQuery: t.string({ description: 'Search terms (at most 200 characters kept): required for SEARCHED.' }),
    durationMs: t.int({ description: 'Time spent, e.g. on the page before leaving it (0 to one day).' }),
    utmSource: t.string(),
    utmMedium: t.string(),
    utmCampaign: t.string(),
    properties: t.field({
      type: 'JSON',
      description: 'Anything else (quantity, price, ...): an object of at most 20 keys and 2,000 bytes.',
    }),
  }),
});

const TrackEventsPayload = builder.objectRef<{ accepted: number }>('TrackEventsPayload').implement({
  description: 'How many events were recorded (all of the batch, or none on an error).',
  fields: (t) => ({ accepted: t.exposeInt('accepted') }),
});

const IdentifyVisitorInput = builder.inputType('IdentifyVisitorInput', {
  description: 'A backend names who a storefront visitor is: by the customer id or by email (exactly one).',
  fields: (t) => ({
    visitorId: t.id({ required: true, description: "The storefront SDK's anonymous visitor id (a UUID)." }),
    customerId: t.globalID({ for: CustomerNode }),
    email: t.string({ description: 'The email of an existing customer (never creates one).' }),
  }),
});

const IdentifyVisitorPayload = builder.objectRef<{ customerId: string; stitched: number }>('IdentifyVisitorPayload').implement({
  description: "The visitor is the customer from now on; `stitched`: how many of the visitor's earlier anonymous events became theirs.",
  fields: (t) => ({
    stitched: t.exposeInt('stitched'),
    customer: t.prismaField({
      type: CustomerNode,
      resolve: (query, r, _a, ctx) => ctx.db.customer.findUniqueOrThrow({ ...query, where: { id: r.customerId } }),
    }),
  }),
});

builder.mutationFields((t) => ({
  identifyVisitor: t.field({
    authScopes: { scope: 'contacts:write' },
    type: IdentifyVisitorPayload,
    description:
      "Identity stitching from a backend (docs/behaviour.md): the visitor's earlier anonymous behaviour events become the customer's, and so do its later ones.",
    errors: { types: [...COMMON_ERRORS], union: { name: 'IdentifyVisitorResult' }, directResult: true },
    args: { input: t.arg({ type: IdentifyVisitorInput, required: true }) },
    resolve: (_r, { input }, ctx) =>
      identifyVisitor(ctx.db, { visitorId: String(input.visitorId), customerId: input.customerId?.id, email: input.email }),
  }),
  trackEvents: t.field({
    authScopes: { $any: { publishable: true, scope: 'contacts:write' } },
    type: TrackEventsPayload,
    description: `Storefront behaviour events (publishable key; with an x-customer-token they are the customer's and stitch the visitor), at most ${MAX_BATCH} per call, written together or not at all. Rate-limited per key and per visitor (events a minute). Browsers flushing on page hide use POST /events (navigator.sendBeacon).`,
    errors: { types: [...COMMON_ERRORS], union: { name: 'TrackEventsResult' }, directResult: true },
    // No outbox event: the storefront's hot path does not drop the shop's read caches (event-bus.ts eventPublishPlugin).
    extensions: { writesNoEvents: true },
    args: { events: t.arg({ type: [BehaviourEventInput], required: true }) },
    resolve: async (_r, { events }, ctx) => {
      const v = ctx.viewer;
      if (v.kind === 'anonymous') throw new Error('unreachable: declared for keys only');
      const batch = parseBatch(events, ['events']);
      await enforceEventLimits(ctx.services, v.keyId, countByVisitor(batch));
      // One statement writes the events and this call's MUTATION entry; outside the audit context
      // (no audited table is touched), so no BEGIN / set_config / COMMIT around it.
      const audit = currentAudit();
      const accepted = await outsideAuditContext(() =>
        recordEvents(ctx.shop, batch, {
          tokenCustomerId: v.kind === 'publishable' ? v.customerId : null,
          audit: audit && ((shop) => mutationEntryInsert(audit, { events }, shop)),
        }),
      );
      if (audit) audit.entryWritten = true;
      return { accepted };
    },
  }),
}));
