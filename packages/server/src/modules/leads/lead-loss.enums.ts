import { builder } from '../../builder.ts';
import * as E from '../../generated/prisma/enums.ts';

export const LeadOutcomeEnum = builder.enumType(E.LeadOutcome, {
  name: 'LeadOutcome',
  description:
    'LOST: an interested person who did not buy. DISQUALIFIED: not a real lead (spam, invalid contact data, outside the market).',
});

export const LeadLossReasonEnum = builder.enumType(E.LeadLossReason, {
  name: 'LeadLossReason',
  description:
    'Why a lead was lost: FORGOT (nobody kept reminding them), CANNOT_FIND_CONTACT (could not find the phone number or address), TOO_FAR (lives too far away), DISLIKES_SHOWROOM, DISLIKES_STAFF, PRICE, STOCK, DELIVERY_DATE, BOUGHT_ELSEWHERE; for disqualified leads NOT_IN_TARGET, INVALID_CONTACT; OTHER needs a note.',
});

/** The loss of a lead, as given when a lead or its follow-up chain ends. */
export const LeadLossFieldsInput = builder.inputType('LeadLossInput', {
  fields: (t) => ({
    outcome: t.field({ type: LeadOutcomeEnum, description: 'Default LOST.' }),
    reason: t.field({ type: LeadLossReasonEnum, required: true }),
    note: t.string({ description: 'What happened, at most 2000 characters; required for OTHER.' }),
  }),
});
