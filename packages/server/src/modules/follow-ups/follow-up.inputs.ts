import { builder } from '../../builder.ts';
import { StaffUserNode } from '../auth/staff.type.ts';
import { ContactChannelEnum, CustomerNode, LifecycleStageEnum, SourceChannelEnum } from '../customers/customer.type.ts';
import { LeadLossFieldsInput } from '../leads/lead-loss.enums.ts';
import { FollowUpDoubtNode, FollowUpNode, LeadPoolModeEnum } from './follow-up.type.ts';

/** The follow-up and lead-pool GraphQL input types (their fields and checks); the root fields are in follow-up.graphql.ts. */
export const CreateFollowUpInput = builder.inputType('CreateFollowUpInput', {
  fields: (t) => ({
    customerId: t.globalID({ required: true, for: CustomerNode }),
    assigneeId: t.globalID({
      for: StaffUserNode,
      description: "Default: the customer's owner, else the acting staff user. Agents may only assign themselves.",
    }),
    dueAt: t.field({ type: 'DateTime', description: "Default: the cadence engine's proposal (see suggestNextFollowUp)." }),
    channel: t.field({ type: ContactChannelEnum, description: "Must have consent. Default: the proposal's channel." }),
    goal: t.string({ description: 'At most 500 characters.' }),
    notes: t.string({ description: 'Preparation notes; at most 10000 characters.' }),
    nextStep: t.string(),
    interestValue: t.field({ type: 'Decimal', description: 'Value of the product of interest (feeds the cadence).' }),
  }),
});

export const UpdateFollowUpInput = builder.inputType('UpdateFollowUpInput', {
  description: 'Changes a PLANNED follow-up. Omitted fields stay; null clears the optional ones.',
  fields: (t) => ({
    id: t.globalID({ required: true, for: FollowUpNode }),
    version: t.int({ description: 'Optimistic concurrency: the version you read.' }),
    assigneeId: t.globalID({ for: StaffUserNode }),
    dueAt: t.field({ type: 'DateTime' }),
    channel: t.field({ type: ContactChannelEnum }),
    goal: t.string(),
    notes: t.string(),
    nextStep: t.string(),
    interestValue: t.field({ type: 'Decimal' }),
  }),
});

export const CloseFollowUpInput = builder.inputType('CloseFollowUpInput', {
  fields: (t) => ({
    id: t.globalID({ required: true, for: FollowUpNode }),
    reason: t.string({ description: 'Kept as the outcome; at most 2000 characters.' }),
    leadLost: t.field({
      type: LeadLossFieldsInput,
      description:
        'The chain ends here: also marks the lead (SUSPECT / PROSPECT) lost or disqualified with this reason, in the same transaction (see markLeadLost).',
    }),
  }),
});

export const ResolveDoubtInput = builder.inputType('ResolveDoubtInput', {
  fields: (t) => ({
    id: t.globalID({ required: true, for: FollowUpDoubtNode }),
    resolution: t.string({ required: true, description: 'How the doubt was answered.' }),
  }),
});

export const NextFollowUpInput = builder.inputType('NextFollowUpInput', {
  description:
    "Overrides of the next follow-up (default: the cadence engine's proposal, the completed one's nextStep as goal, same assignee).",
  fields: (t) => ({
    dueAt: t.field({ type: 'DateTime' }),
    channel: t.field({ type: ContactChannelEnum }),
    goal: t.string(),
    assigneeId: t.globalID({ for: StaffUserNode }),
  }),
});

export const CompleteFollowUpInput = builder.inputType('CompleteFollowUpInput', {
  fields: (t) => ({
    id: t.globalID({ required: true, for: FollowUpNode }),
    version: t.int(),
    outcome: t.string({ description: 'What came of it.' }),
    notes: t.string({ description: 'What was said.' }),
    nextStep: t.string({ description: 'Becomes the goal of the next follow-up.' }),
    doubts: t.stringList({ description: "The customer's new doubts / objections (each resolvable later)." }),
    resolveDoubts: t.field({ type: [ResolveDoubtInput], description: 'Open doubts of this customer answered in this follow-up.' }),
    scheduleNext: t.boolean({ description: 'Default true: create the next follow-up. false: only return the proposal.' }),
    next: t.field({ type: NextFollowUpInput }),
  }),
});

export const AgendaFilterInput = builder.inputType('AgendaFilter', {
  fields: (t) => ({
    stages: t.field({ type: [LifecycleStageEnum], description: 'Only customers in these stages.' }),
    minLikelihood: t.int({ description: 'Deal likelihood at least (0-100).' }),
    maxLikelihood: t.int({ description: 'Deal likelihood at most (0-100).' }),
  }),
});

export const RetentionKindEnum = builder.enumType('RetentionKind', { values: ['BIRTHDAY', 'HOLIDAY', 'SERVICE_REMINDER'] as const });

export const GenerateRetentionInput = builder.inputType('GenerateRetentionFollowUpsInput', {
  fields: (t) => ({
    kinds: t.field({ type: [RetentionKindEnum], required: true }),
    stages: t.field({ type: [LifecycleStageEnum], required: true, description: 'Customers in these stages.' }),
    holidayDate: t.field({ type: 'Date', description: 'Required for HOLIDAY.' }),
    holidayName: t.string({ description: 'e.g. "New Year" (goes into the goal).' }),
    serviceAfterDays: t.int({ description: 'Service reminder this many days after the last order (default: cadence.serviceAfterDays).' }),
    windowDays: t.int({ description: 'Birthdays and service dates within this many days (default: cadence.retentionWindowDays).' }),
  }),
});

export const LikelihoodBandInput = builder.inputType('LikelihoodBandInput', {
  fields: (t) => ({ minLikelihood: t.int({ required: true }), intervalDays: t.int({ required: true }) }),
});

export const UpdateCadenceSettingsInput = builder.inputType('UpdateCadenceSettingsInput', {
  description: 'Omitted fields stay; null restores the default (thresholds: null disables them).',
  fields: (t) => ({
    likelihoodBands: t.field({ type: [LikelihoodBandInput] }),
    unknownLikelihoodDays: t.int(),
    purchaseSoonDays: t.int(),
    purchaseSoonFactor: t.float(),
    highValueThreshold: t.float(),
    highValueFactor: t.float(),
    lowValueThreshold: t.float(),
    lowValueFactor: t.float(),
    defaultInterestValue: t.float(),
    minIntervalDays: t.int(),
    maxIntervalDays: t.int(),
    channelOrder: t.field({ type: [ContactChannelEnum] }),
    retentionWindowDays: t.int(),
    serviceAfterDays: t.int(),
    retentionHourUtc: t.int(),
  }),
});

export const SourceAssigneeInput = builder.inputType('LeadSourceAssigneeInput', {
  fields: (t) => ({
    channel: t.field({ type: SourceChannelEnum, required: true }),
    staffId: t.globalID({ required: true, for: StaffUserNode }),
  }),
});

export const UpdateLeadPoolSettingsInput = builder.inputType('UpdateLeadPoolSettingsInput', {
  fields: (t) => ({
    mode: t.field({ type: LeadPoolModeEnum }),
    bySource: t.field({ type: [SourceAssigneeInput], description: 'Replaces the whole map.' }),
    returnAfterHours: t.int({ description: 'null: leads never return to the pool by themselves.' }),
  }),
});

export const ClaimLeadInput = builder.inputType('ClaimLeadInput', {
  fields: (t) => ({ customerId: t.globalID({ required: true, for: CustomerNode }) }),
});

export const AssignLeadInput = builder.inputType('AssignLeadInput', {
  fields: (t) => ({
    customerId: t.globalID({ required: true, for: CustomerNode }),
    staffId: t.globalID({ required: true, for: StaffUserNode }),
    reason: t.string(),
  }),
});

export const LeadBatchInput = builder.inputType('LeadBatchInput', {
  fields: (t) => ({ limit: t.int({ description: 'At most this many leads in one call.' }) }),
});

export const LeadPoolFilterInput = builder.inputType('LeadPoolFilter', {
  fields: (t) => ({
    stages: t.field({ type: [LifecycleStageEnum], description: 'SUSPECT and/or PROSPECT (default both).' }),
    sourceChannels: t.field({ type: [SourceChannelEnum] }),
  }),
});
