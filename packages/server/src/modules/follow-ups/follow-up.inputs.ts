import { builder } from '../../builder.ts';
import { StaffUserNode } from '../auth/staff.type.ts';
import { ContactChannelEnum, CustomerNode, LifecycleStageEnum, SourceChannelEnum } from '../customers/customer.type.ts';
import { LeadLossFieldsInput } from '../leads/lead-loss.enums.ts';
import { FollowUpDoubtNode, FollowUpNode, HolidayNode, LeadPoolModeEnum } from './follow-up.type.ts';

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

export const RetentionKindEnum = builder.enumType('RetentionKind', {
  values: ['BIRTHDAY', 'HOLIDAY', 'SERVICE_REMINDER', 'OFFER'] as const,
  description: 'OFFER: news of offers and new products to members of chosen segments.',
});

export const GenerateRetentionInput = builder.inputType('GenerateRetentionFollowUpsInput', {
  fields: (t) => ({
    kinds: t.field({ type: [RetentionKindEnum], required: true }),
    stages: t.field({
      type: [LifecycleStageEnum],
      description: 'Customers in these stages get BIRTHDAY, HOLIDAY and SERVICE_REMINDER (default: cadence.retentionStages).',
    }),
    holidayDate: t.field({
      type: 'Date',
      description: "A one-off holiday besides the shop's calendar (createHoliday); scheduled however far ahead.",
    }),
    holidayName: t.string({ description: 'e.g. "New Year" (goes into the goal).' }),
    serviceAfterDays: t.int({
      description: 'Service reminders every this many days after the last order, repeating (default: cadence.serviceAfterDays).',
    }),
    windowDays: t.int({
      description: 'Occasions from today to this many days ahead, local dates (default: cadence.retentionWindowDays).',
    }),
    segmentIds: t.idList({ description: 'OFFER: members of these segments (default: cadence.offerSegmentIds).' }),
    offerName: t.string({ description: 'OFFER: what the news is about (goes into the goal).' }),
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
    retentionHourUtc: t.int({ deprecationReason: 'Ignored: due times follow the customer contact window (timeZone).' }),
    timeZone: t.string({ description: "The shop's IANA time zone (e.g. Europe/Berlin); null: UTC." }),
    retentionStages: t.field({ type: [LifecycleStageEnum] }),
    retentionDailyKinds: t.field({ type: [RetentionKindEnum], description: 'Kinds the daily pass creates by itself ([]: none).' }),
    offerSegmentIds: t.idList({ description: 'Segments whose members get news of offers (OFFER).' }),
    offerEveryDays: t.int({ description: 'At most one OFFER follow-up per customer in this many days.' }),
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

export const CreateHolidayInput = builder.inputType('CreateHolidayInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: 'At most 100 characters.' }),
    date: t.field({ type: 'Date', required: true }),
    recurringYearly: t.boolean({ description: 'Every year on this month and day (default false: this date only).' }),
  }),
});

export const UpdateHolidayInput = builder.inputType('UpdateHolidayInput', {
  description: 'Omitted (or null) fields stay.',
  fields: (t) => ({
    id: t.globalID({ required: true, for: HolidayNode }),
    name: t.string(),
    date: t.field({ type: 'Date' }),
    recurringYearly: t.boolean(),
  }),
});

export const DeleteHolidayInput = builder.inputType('DeleteHolidayInput', {
  fields: (t) => ({ id: t.globalID({ required: true, for: HolidayNode }) }),
});
