import { encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../../builder.ts';
import { type Context, shopIdOf } from '../../context.ts';
import type { ScopedDb } from '../../db/tenant.ts';
import * as E from '../../generated/prisma/enums.ts';
import { accessOf as staffAccessOf } from '../common/graphql-helpers.ts';
import { ContactChannelEnum, CustomerNode, LifecycleStageEnum, SourceChannelEnum } from '../customers/customer.type.ts';
import { customerBudget } from './follow-up.budget.ts';
import type { CadenceProposal, CadenceSettings } from './follow-up.cadence.ts';
import { type Access, followUpVisibility, isLead } from './follow-up.policy.ts';
import type { FollowUpSettings, LeadPoolSettings } from './follow-up.settings.ts';
import type { BudgetState } from './follow-up.timing.ts';

/** The caller's db and follow-up access (no x-crm-staff-id = the shop's system); fields declare who may call. */
export function accessOf(ctx: Context): { db: ScopedDb; access: Access; shopId: string } {
  return { db: ctx.db, shopId: shopIdOf(ctx), access: staffAccessOf(ctx) };
}

export const FollowUpStatusEnum = builder.enumType(E.FollowUpStatus, {
  name: 'FollowUpStatus',
  description: 'PLANNED (open), DONE (completed with an outcome), SKIPPED (passed without contact), CANCELLED.',
});
export const FollowUpKindEnum = builder.enumType(E.FollowUpKind, {
  name: 'FollowUpKind',
  description:
    'SALES: conversion follow-up. BIRTHDAY, HOLIDAY: greetings. SERVICE_REMINDER: maintenance / service visit (also the churn follow-up). OFFER: news of offers and new products.',
});
export const FollowUpEffectiveStatusEnum = builder.enumType('FollowUpEffectiveStatus', {
  description: 'The status with OVERDUE derived from time: a PLANNED follow-up whose dueAt has passed.',
  values: ['PLANNED', 'OVERDUE', 'DONE', 'SKIPPED', 'CANCELLED'] as const,
});
export const LeadAssignmentActionEnum = builder.enumType(E.LeadAssignmentAction, {
  name: 'LeadAssignmentAction',
  description: 'CLAIMED by an agent, ASSIGNED by a manager, AUTO_ASSIGNED by the shop rule, RETURNED to the pool.',
});
export const AgendaSectionEnum = builder.enumType('AgendaSection', {
  description: 'OVERDUE: dueAt before now. DUE_TODAY: from now to the end of today. UPCOMING: later.',
  values: ['OVERDUE', 'DUE_TODAY', 'UPCOMING'] as const,
});
export const LeadPoolModeEnum = builder.enumType('LeadPoolMode', {
  description:
    'How autoAssignLeads distributes pool leads: NONE, ROUND_ROBIN among active agents, BY_SOURCE (acquisition channel -> staff user).',
  values: ['NONE', 'ROUND_ROBIN', 'BY_SOURCE'] as const,
});

export const FollowUpNode = builder.prismaNode('FollowUp', {
  id: { field: 'id' },
  authScopes: { scope: 'followups:read' },
  nullable: true,
  description:
    "A planned or done contact with a customer: goal, due date, channel and assignee; when done, the outcome, what was said, the customer's doubts and the next step. Completed follow-ups chain to their next one.",
  findUnique: (id, ctx) => {
    const { access } = accessOf(ctx);
    return { id, ...followUpVisibility(access) } as { id: string };
  },
  fields: (t) => ({
    customer: t.relation('customer', { type: CustomerNode }),
    assignee: t.relation('assignee', { nullable: true, description: 'The staff user responsible.' }),
    kind: t.expose('kind', { type: FollowUpKindEnum }),
    status: t.expose('status', { type: FollowUpStatusEnum }),
    effectiveStatus: t.field({
      type: FollowUpEffectiveStatusEnum,
      resolve: (f) => (f.status === 'PLANNED' && f.dueAt < new Date() ? 'OVERDUE' : f.status),
    }),
    isOverdue: t.boolean({ description: 'PLANNED and dueAt has passed.', resolve: (f) => f.status === 'PLANNED' && f.dueAt < new Date() }),
    dueAt: t.expose('dueAt', { type: 'DateTime' }),
    channel: t.expose('channel', { type: ContactChannelEnum, nullable: true }),
    goal: t.exposeString('goal', { nullable: true }),
    outcome: t.exposeString('outcome', { nullable: true, description: 'What came of it (or why it was skipped / cancelled).' }),
    notes: t.exposeString('notes', { nullable: true, description: 'What was said.' }),
    nextStep: t.exposeString('nextStep', { nullable: true }),
    interestValue: t.expose('interestValue', {
      type: 'Decimal',
      nullable: true,
      description: 'Value of the product of interest (feeds the cadence).',
    }),
    doubts: t.relation('doubts', {
      description: 'Doubts / objections raised in this follow-up.',
      query: { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] },
    }),
    previous: t.relation('previous', { nullable: true, description: 'The follow-up this one continues.' }),
    next: t.relation('next', { nullable: true, description: 'The follow-up scheduled when this one was completed.' }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true }),
    version: t.exposeInt('version'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

export const FollowUpDoubtNode = builder.prismaNode('FollowUpDoubt', {
  id: { field: 'id' },
  authScopes: { scope: 'followups:read' },
  nullable: true,
  description: 'An open doubt or objection of the customer, resolved later with a resolution.',
  findUnique: (id, ctx) => {
    const { access } = accessOf(ctx);
    return { id, followUp: followUpVisibility(access) } as { id: string };
  },
  fields: (t) => ({
    text: t.exposeString('text'),
    isResolved: t.boolean({ resolve: (d) => d.resolvedAt != null }),
    resolvedAt: t.expose('resolvedAt', { type: 'DateTime', nullable: true }),
    resolution: t.exposeString('resolution', { nullable: true }),
    followUp: t.relation('followUp', { description: 'Where it was raised.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const LeadAssignmentObject = builder.prismaObject('LeadAssignment', {
  description: 'One move of a lead: claimed, assigned, auto-assigned, or returned to the pool.',
  fields: (t) => ({
    id: t.exposeID('id'),
    customer: t.relation('customer', { type: CustomerNode }),
    action: t.expose('action', { type: LeadAssignmentActionEnum }),
    staff: t.relation('staff', { nullable: true, description: 'The new owner (for RETURNED: the previous owner).' }),
    actor: t.relation('actor', { nullable: true, description: 'Who did it (null: the shop system).' }),
    reason: t.exposeString('reason', { nullable: true }),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});

export const FollowUpSuggestionRef = builder.objectRef<CadenceProposal>('FollowUpSuggestion').implement({
  description: "The cadence engine's proposal for the next follow-up, with its reasoning.",
  fields: (t) => ({
    dueAt: t.expose('dueAt', { type: 'DateTime', nullable: true, description: 'Null when the customer does not want to be contacted.' }),
    channel: t.expose('channel', {
      type: ContactChannelEnum,
      nullable: true,
      description: 'Never a channel without consent; null when none has consent.',
    }),
    intervalDays: t.exposeFloat('intervalDays', { nullable: true }),
    reasons: t.exposeStringList('reasons'),
  }),
});

const LikelihoodBandRef = builder.objectRef<CadenceSettings['likelihoodBands'][number]>('LikelihoodBand').implement({
  fields: (t) => ({ minLikelihood: t.exposeInt('minLikelihood'), intervalDays: t.exposeInt('intervalDays') }),
});

export const CadenceSettingsRef = builder.objectRef<CadenceSettings>('CadenceSettings').implement({
  description: 'Rules of the cadence engine (Shop.settings.cadence); see the README for the algorithm and defaults.',
  fields: (t) => ({
    likelihoodBands: t.field({ type: [LikelihoodBandRef], resolve: (s) => s.likelihoodBands }),
    unknownLikelihoodDays: t.exposeInt('unknownLikelihoodDays'),
    purchaseSoonDays: t.exposeInt('purchaseSoonDays'),
    purchaseSoonFactor: t.exposeFloat('purchaseSoonFactor'),
    highValueThreshold: t.exposeFloat('highValueThreshold', { nullable: true }),
    highValueFactor: t.exposeFloat('highValueFactor'),
    lowValueThreshold: t.exposeFloat('lowValueThreshold', { nullable: true }),
    lowValueFactor: t.exposeFloat('lowValueFactor'),
    defaultInterestValue: t.exposeFloat('defaultInterestValue', { nullable: true }),
    minIntervalDays: t.exposeInt('minIntervalDays'),
    maxIntervalDays: t.exposeInt('maxIntervalDays'),
    channelOrder: t.field({ type: [ContactChannelEnum], resolve: (s) => s.channelOrder }),
    retentionWindowDays: t.exposeInt('retentionWindowDays'),
    serviceAfterDays: t.exposeInt('serviceAfterDays'),
    retentionHourUtc: t.exposeInt('retentionHourUtc', {
      deprecationReason: 'Ignored: due times follow the customer contact window (timeZone).',
    }),
    timeZone: t.exposeString('timeZone', { description: "The shop's IANA time zone (default UTC), for customers without their own." }),
    retentionStages: t.field({ type: [LifecycleStageEnum], resolve: (s) => s.retentionStages }),
    retentionDailyKinds: t.stringList({
      description: 'BIRTHDAY, HOLIDAY, SERVICE_REMINDER, OFFER: what the daily pass creates by itself.',
      resolve: (s) => s.retentionDailyKinds,
    }),
    offerSegmentIds: t.idList({ resolve: (s) => s.offerSegmentIds.map((id) => encodeGlobalID('Segment', id)) }),
    offerEveryDays: t.exposeInt('offerEveryDays'),
  }),
});

export const HolidayNode = builder.prismaNode('Holiday', {
  id: { field: 'id' },
  description: "A day in the shop's holiday calendar: the daily retention pass greets customers on its local date.",
  fields: (t) => ({
    name: t.exposeString('name'),
    date: t.field({ type: 'Date', resolve: (h) => h.date }),
    recurringYearly: t.exposeBoolean('recurringYearly', { description: 'Every year on this month and day.' }),
  }),
});

const SourceAssigneeRef = builder.objectRef<{ channel: E.SourceChannel; staffId: string }>('LeadSourceAssignee').implement({
  fields: (t) => ({
    channel: t.expose('channel', { type: SourceChannelEnum }),
    staffId: t.id({ resolve: (r) => encodeGlobalID('StaffUser', r.staffId) }),
  }),
});

export const LeadPoolSettingsRef = builder.objectRef<LeadPoolSettings>('LeadPoolSettings').implement({
  description: 'Lead pool rules (Shop.settings.leadPool).',
  fields: (t) => ({
    mode: t.field({ type: LeadPoolModeEnum, resolve: (s) => s.mode }),
    bySource: t.field({
      type: [SourceAssigneeRef],
      resolve: (s) =>
        Object.entries(s.bySource)
          .filter((e): e is [E.SourceChannel, string] => typeof e[1] === 'string')
          .map(([channel, staffId]) => ({ channel, staffId })),
    }),
    returnAfterHours: t.exposeInt('returnAfterHours', {
      nullable: true,
      description: 'Leads without follow-up activity for this long return to the pool (null: never).',
    }),
  }),
});

export const FollowUpSettingsRef = builder.objectRef<FollowUpSettings>('FollowUpSettings').implement({
  fields: (t) => ({
    cadence: t.field({ type: CadenceSettingsRef, resolve: (s) => s.cadence }),
    leadPool: t.field({ type: LeadPoolSettingsRef, resolve: (s) => s.leadPool }),
  }),
});

builder.prismaObjectFields(CustomerNode, (t) => ({
  followUps: t.relatedConnection('followUps', {
    cursor: 'id',
    totalCount: true,
    description: "The customer's follow-ups, latest due first (agents: their own and those of their leads and pool leads).",
    args: { statuses: t.arg({ type: [FollowUpStatusEnum] }) },
    query: (args, ctx) => {
      const { access } = accessOf(ctx);
      return {
        where: { ...followUpVisibility(access), ...(args.statuses?.length ? { status: { in: args.statuses } } : {}) },
        orderBy: [{ dueAt: 'desc' }, { id: 'desc' }],
      };
    },
  }),
  openDoubts: t.relation('followUpDoubts', {
    description: "The customer's unresolved doubts and objections, oldest first.",
    query: { where: { resolvedAt: null }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] },
  }),
  leadHistory: t.relatedConnection('leadAssignments', {
    cursor: 'id',
    totalCount: true,
    description: 'Claims, assignments and returns to the pool, newest first.',
    query: { orderBy: [{ at: 'desc' }, { id: 'desc' }] },
  }),
  inLeadPool: t.boolean({
    description: 'An open lead (SUSPECT / PROSPECT, not lost) without an owner.',
    select: { ownerId: true, stage: true, status: true, lostAt: true },
    resolve: (c) => c.ownerId == null && isLead(c.stage) && c.status === 'ACTIVE' && c.lostAt == null,
  }),
}));

const ContactBudgetRef = builder.objectRef<BudgetState>('ContactBudget').implement({
  description:
    "The customer's contact budget, shared by all staff and channels: at most `max` outbound contacts per `periodDays` days, from the contact tolerance (docs/follow-ups.md). Outbound interactions in the period and system-created follow-ups due in it or later count.",
  fields: (t) => ({
    max: t.exposeInt('max'),
    periodDays: t.exposeInt('periodDays'),
    used: t.exposeInt('used'),
    remaining: t.exposeInt('remaining', { description: '0: the system passes skip the customer; staff get a warning.' }),
  }),
});

builder.prismaObjectFields(CustomerNode, (t) => ({
  contactBudget: t.field({
    type: ContactBudgetRef,
    nullable: true,
    select: { id: true },
    resolve: (c, _a, ctx) => customerBudget(ctx.db, c.id),
  }),
}));
