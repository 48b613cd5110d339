import { lexicographicSortSchema } from 'graphql';
import { builder } from './builder.ts';
// Modules register their types, queries and mutations on import.
import './modules/common/common.type.ts';
import './modules/auth/staff.type.ts';
import './modules/customers/customer.type.ts';
import './modules/customers/customer.queries.ts';
import './modules/customers/customer.compiled.ts';
import './modules/customers/customer.mutations.ts';
import './modules/customers/me.schema.ts';
import './modules/auth/auth.schema.ts';
import './modules/shops/shop.graphql.ts';
import './modules/orders/order.type.ts';
import './modules/orders/order.graphql.ts';
import './modules/orders/order.compiled.ts';
import './modules/interactions/interaction.type.ts';
import './modules/interactions/interaction.graphql.ts';
import './modules/interactions/timeline.type.ts';
import './modules/interactions/timeline.compiled.ts';
import './modules/interactions/storefront.graphql.ts';
import './modules/behaviour/track.graphql.ts';
import './modules/events/event.graphql.ts';
import './modules/webhooks/webhook.graphql.ts';
import './modules/follow-ups/follow-up.type.ts';
import './modules/follow-ups/follow-up.graphql.ts';
import './modules/follow-ups/follow-up.compiled.ts';
import './modules/segments/segment.graphql.ts';
import './modules/loyalty/loyalty.graphql.ts';
import './modules/follow-ups/follow-up-due.graphql.ts';
import './modules/leads/lead-loss.graphql.ts';
import './modules/lifecycle/lifecycle.graphql.ts';
import './modules/imports/import.graphql.ts';
// Last: its erase step (redacting audit values) must run after every other module's.
import './modules/audit/audit.graphql.ts';
import { auditMutations } from './modules/audit/audit.service.ts';
import { registerModules } from './modules/registry.ts';

// Merge steps, erase steps and export sections: one explicit list (modules/registry.ts).
registerModules();

export const schema = auditMutations(lexicographicSortSchema(builder.toSchema()));
