import { decodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../../builder.ts';
import { ValidationError } from '../../errors.ts';
import { AFTER, EventRef, parseAfter, stream } from '../events/event.graphql.ts';
import { gidOf } from './follow-up.policy.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A staff user global id (or raw row id) -> the global id FOLLOW_UP_DUE payloads carry. */
function staffGid(id: string | number): string {
  const s = String(id);
  if (UUID.test(s)) return gidOf('StaffUser', s);
  try {
    const { typename, id: raw } = decodeGlobalID(s);
    if (typename === 'StaffUser' && UUID.test(raw)) return gidOf('StaffUser', raw);
  } catch {
    // fall through
  }
  throw ValidationError.field(['assigneeId'], 'Not a staff user id');
}

builder.subscriptionField('followUpDue', (t) =>
  t.field({
    authScopes: { scope: 'followups:read' },
    type: EventRef,
    description:
      'FOLLOW_UP_DUE: a planned follow-up’s due date passed (once per due date; rescheduling re-arms it). Only those assigned to `assigneeId` (a staff user id) when given.',
    args: { assigneeId: t.arg.id({ required: false }), after: t.arg.id(AFTER) },
    subscribe: (_root, args, ctx) => {
      const assignee = args.assigneeId != null ? staffGid(args.assigneeId) : null;
      return stream(
        ctx,
        parseAfter(args.after),
        (e) => e.type === 'FOLLOW_UP_DUE' && (!assignee || (e.payload as { assigneeId?: string | null }).assigneeId === assignee),
      );
    },
    resolve: (e) => e,
  }),
);
