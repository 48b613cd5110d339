import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../../builder.ts';
import { VersionConflictError } from '../../errors.ts';
import { StaffUserNode } from '../auth/staff.type.ts';
import { COMMON_ERRORS } from '../common/common.type.ts';
import { checkPageSize, keysetPage } from '../common/graphql-helpers.ts';
import { CustomerNode } from '../customers/customer.type.ts';
import * as agenda from './follow-up.agenda.ts';
import { endOfDay } from './follow-up.cadence.ts';
import * as holidays from './follow-up.holidays.ts';
import {
  AgendaFilterInput,
  AssignLeadInput,
  ClaimLeadInput,
  CloseFollowUpInput,
  CompleteFollowUpInput,
  CreateFollowUpInput,
  CreateHolidayInput,
  DeleteHolidayInput,
  GenerateRetentionInput,
  LeadBatchInput,
  LeadPoolFilterInput,
  ResolveDoubtInput,
  UpdateCadenceSettingsInput,
  UpdateFollowUpInput,
  UpdateHolidayInput,
  UpdateLeadPoolSettingsInput,
} from './follow-up.inputs.ts';
import { LEAD_STAGES, POOL_WHERE } from './follow-up.policy.ts';
import * as retention from './follow-up.retention.ts';
import * as svc from './follow-up.service.ts';
import { getFollowUpSettings, requestTimeZone, updateCadenceSettings, updateLeadPoolSettings } from './follow-up.settings.ts';
import {
  AgendaSectionEnum,
  accessOf,
  FollowUpDoubtNode,
  FollowUpNode,
  FollowUpSettingsRef,
  FollowUpSuggestionRef,
  HolidayNode,
  LeadAssignmentObject,
} from './follow-up.type.ts';
import * as pool from './lead-pool.service.ts';

/** Who may call (auth.policy.ts); which follow-ups and leads an agent sees is follow-up.policy.ts. */
const READ = { scope: 'followups:read' } as const;
const WRITE = { scope: 'followups:write' } as const;
/** Shop-wide rules and bulk moves: owners, managers or the shop's system. */
const MANAGE = { scope: 'followups:write', role: 'MANAGER' } as const;

type Gid = { id: string } | null | undefined;
const idOf = (g: Gid) => (g === undefined ? undefined : (g?.id ?? null));

// ---------------------------------------------------------------------------------------------
// Payloads

const CompleteFollowUpPayload = builder.objectRef<svc.CompleteResult>('CompleteFollowUpPayload').implement({
  fields: (t) => ({
    followUp: t.field({ type: FollowUpNode, resolve: (r) => r.followUp }),
    next: t.field({
      type: FollowUpNode,
      nullable: true,
      description: 'The next follow-up (null with scheduleNext: false).',
      resolve: (r) => r.next,
    }),
    proposal: t.field({
      type: FollowUpSuggestionRef,
      description: "The cadence engine's proposal for the next one.",
      resolve: (r) => r.proposal,
    }),
  }),
});

const RetentionSkipRef = builder.objectRef<retention.RetentionSkip>('RetentionSkip').implement({
  fields: (t) => ({
    customerId: t.id({ resolve: (r) => encodeGlobalID('Customer', r.customerId) }),
    kind: t.exposeString('kind'),
    date: t.exposeString('date', { description: "The occasion's local date (YYYY-MM-DD)." }),
    reason: t.exposeString('reason'),
  }),
});

const RetentionPayload = builder.objectRef<retention.RetentionResult>('RetentionFollowUpsPayload').implement({
  fields: (t) => ({
    created: t.field({ type: [FollowUpNode], resolve: (r) => r.created }),
    createdCount: t.int({ resolve: (r) => r.created.length }),
    alreadyScheduled: t.exposeInt('alreadyScheduled', { description: 'Existed from an earlier run (idempotency).' }),
    skippedNoConsent: t.exposeInt('skippedNoConsent', { description: 'Customers without any consented channel.' }),
    skippedTolerance: t.exposeInt('skippedTolerance', { description: 'Too close to another contact for the contact tolerance.' }),
    skippedBudget: t.exposeInt('skippedBudget', { description: "The customer's contact budget is spent (Customer.contactBudget)." }),
    skipped: t.field({
      type: [RetentionSkipRef],
      description: 'Every skipped occasion with its reason (consent, contact tolerance, contact budget).',
      resolve: (r) => r.skipped,
    }),
  }),
});

const LeadAssignmentsPayload = builder.objectRef<pool.BulkLeadResult>('LeadAssignmentsPayload').implement({
  fields: (t) => ({
    assignments: t.field({ type: [LeadAssignmentObject], resolve: (r) => r.assignments }),
    count: t.int({ resolve: (r) => r.assignments.length }),
  }),
});

/** Global ids of one type to row ids (a malformed or other-typed id becomes '' and fails validation). */
const rowIds = (ids: readonly (string | number)[] | null | undefined, typename: string) =>
  ids?.map((g) => {
    try {
      const d = decodeGlobalID(String(g));
      return d.typename === typename ? d.id : '';
    } catch {
      return '';
    }
  });

const result = (name: string, dataField: string, extra: unknown[] = []) => ({
  types: [...COMMON_ERRORS, ...extra] as never,
  result: { name: `${name}Success` },
  union: { name: `${name}Result` },
  dataField: { name: dataField },
});
const direct = (name: string) => ({
  types: [...COMMON_ERRORS],
  result: { name: `${name}Success` },
  union: { name: `${name}Result` },
  directResult: true as const,
});

// ---------------------------------------------------------------------------------------------
// Queries

/** One "now" per agenda field resolution, shared by its edges, sections and counts. */
const nows = new WeakMap<object, Date>();
const nowOf = (args: object) => {
  let n = nows.get(args);
  if (!n) {
    n = new Date();
    nows.set(args, n);
  }
  return n;
};
type AgendaFieldArgs = {
  assigneeId?: Gid;
  filter?: { stages?: agenda.AgendaArgs['stages']; minLikelihood?: number | null; maxLikelihood?: number | null } | null;
  section?: agenda.AgendaSection | null;
  timeZone?: string | null;
};
const agendaArgs = (a: AgendaFieldArgs): agenda.AgendaArgs => ({
  assigneeId: a.assigneeId?.id ?? null,
  stages: a.filter?.stages,
  minLikelihood: a.filter?.minLikelihood,
  maxLikelihood: a.filter?.maxLikelihood,
  section: a.section,
  timeZone: a.timeZone,
});
type AgendaCtx = Parameters<typeof accessOf>[0];
/**
 * The agenda's arguments with the time zone of "today" settled: the one asked for, else the shop's
 * (cadence settings `timeZone`, default UTC).
 */
const zonedArgs = async (args: AgendaFieldArgs, ctx: AgendaCtx): Promise<AgendaFieldArgs & { timeZone: string }> => {
  if (args.timeZone) return { ...args, timeZone: args.timeZone };
  // The request's settings are read once (and come from the settings cache when it is on).
  return { ...args, timeZone: await requestTimeZone(ctx) };
};
/** The section counts of one agenda field resolution: one statement shared by totalCount and the three counts. */
const counts = new WeakMap<object, Promise<agenda.AgendaCounts>>();
type AgendaConn = { args: AgendaFieldArgs };
const countsOf = (args: AgendaFieldArgs, ctx: AgendaCtx) => {
  let p = counts.get(args);
  if (!p) {
    const { access } = accessOf(ctx);
    p = zonedArgs(args, ctx).then((z) => agenda.agendaCounts(ctx.sql, access, agendaArgs(z), nowOf(args)));
    counts.set(args, p);
  }
  return p;
};
const agendaCount = (conn: AgendaConn, ctx: Parameters<typeof accessOf>[0], k: keyof agenda.AgendaCounts) =>
  countsOf(conn.args, ctx).then((c) => c[k]);

builder.queryFields((t) => ({
  followUp: t.prismaField({
    authScopes: READ,
    type: FollowUpNode,
    nullable: true,
    description: 'A follow-up by id; null when not in this shop (or, for agents, not theirs).',
    args: { id: t.arg.globalID({ required: true, for: FollowUpNode }) },
    resolve: async (query, _r, { id }, ctx) => {
      const { db, access } = accessOf(ctx);
      const f = await svc.getFollowUp(db, access, id.id);
      return f ? db.followUp.findUnique({ ...query, where: { id: f.id } }) : null;
    },
  }),
  agenda: t.prismaConnection(
    {
      authScopes: READ,
      type: FollowUpNode,
      cursor: 'id',
      description:
        "PLANNED follow-ups ordered by dueAt: a staff user's agenda (agents: always their own), or the whole shop's (owners / managers / system without assigneeId). Sections: overdue, due today (in `timeZone`, default: the shop's time zone from the cadence settings, else UTC), upcoming; counts per section.",
      args: {
        assigneeId: t.arg.globalID({ for: StaffUserNode }),
        filter: t.arg({ type: AgendaFilterInput }),
        section: t.arg({ type: AgendaSectionEnum, description: 'Only this section.' }),
        timeZone: t.arg.string({
          description: 'IANA time zone for "today", e.g. Europe/Berlin (default: the shop\'s time zone, cadence settings; else UTC).',
        }),
      },
      totalCount: (_c, args, ctx) => {
        checkPageSize(args);
        return countsOf(args, ctx).then((c) => agenda.agendaTotal(c, args.section));
      },
      resolve: async (query, _r, args, ctx) => {
        const { db, access } = accessOf(ctx);
        checkPageSize(args);
        const { where } = agenda.agendaWhere(access, agendaArgs(await zonedArgs(args, ctx)), nowOf(args));
        // Each edge's `section` reads its node's dueAt, also when the node's fields are not asked for
        // (Pothos then selects only the cursor column).
        const sel = (query as { select?: Record<string, unknown> }).select;
        const q = (sel ? { ...query, select: { ...sel, dueAt: true } } : query) as typeof query;
        const page = await keysetPage(query, 'dueAt', 'asc', (id) => db.followUp.findFirst({ where: { id }, select: { dueAt: true } }));
        return db.followUp.findMany({ ...q, where: { AND: [where, page.where] }, orderBy: page.orderBy });
      },
    },
    {
      name: 'AgendaConnection',
      fields: (t) => ({
        overdueCount: t.int({ resolve: (c, _a, ctx) => agendaCount(c as unknown as AgendaConn, ctx, 'overdue') }),
        dueTodayCount: t.int({ resolve: (c, _a, ctx) => agendaCount(c as unknown as AgendaConn, ctx, 'dueToday') }),
        upcomingCount: t.int({ resolve: (c, _a, ctx) => agendaCount(c as unknown as AgendaConn, ctx, 'upcoming') }),
      }),
    },
    {
      name: 'AgendaEdge',
      fields: (t) => ({
        section: t.field({
          type: AgendaSectionEnum,
          resolve: async (edge, _a, ctx) => {
            const e = edge as unknown as { connection: AgendaConn; node: { dueAt: Date } };
            const now = nowOf(e.connection.args);
            const { timeZone } = await zonedArgs(e.connection.args, ctx);
            return agenda.sectionOf(e.node.dueAt, now, endOfDay(now, timeZone));
          },
        }),
      }),
    },
  ),
  suggestNextFollowUp: t.field({
    authScopes: READ,
    type: FollowUpSuggestionRef,
    nullable: true,
    description:
      "The cadence engine's proposal for the customer's next follow-up (due date, consented channel, reasons); null when not in this shop.",
    args: { customerId: t.arg.globalID({ required: true, for: CustomerNode }) },
    resolve: (_r, { customerId }, ctx) => {
      const { db } = accessOf(ctx);
      return svc.suggestNextFollowUp(db, customerId.id);
    },
  }),
  leadPool: t.prismaConnection(
    {
      authScopes: READ,
      type: CustomerNode,
      cursor: 'id',
      description: 'Leads (SUSPECT / PROSPECT, active) without an owner, newest first: the pool agents claim from.',
      args: { filter: t.arg({ type: LeadPoolFilterInput }) },
      totalCount: (_c, args, ctx) => {
        checkPageSize(args);
        return accessOf(ctx).db.customer.count({ where: poolWhere(args.filter) });
      },
      resolve: async (query, _r, args, ctx) => {
        const { db } = accessOf(ctx);
        checkPageSize(args);
        const page = await keysetPage(query, 'createdAt', 'desc', (id) =>
          db.customer.findFirst({ where: { id }, select: { createdAt: true } }),
        );
        return db.customer.findMany({ ...query, where: { AND: [poolWhere(args.filter), page.where] }, orderBy: page.orderBy });
      },
    },
    { name: 'LeadPoolConnection' },
    { name: 'LeadPoolEdge' },
  ),
  followUpSettings: t.field({
    authScopes: READ,
    type: FollowUpSettingsRef,
    description: 'Cadence and lead pool rules of the shop (defaults where not set).',
    resolve: (_r, _a, ctx) => getFollowUpSettings(accessOf(ctx).db),
  }),
}));

type PoolFilter = { stages?: (typeof LEAD_STAGES)[number][] | null; sourceChannels?: string[] | null } | null | undefined;
function poolWhere(f: PoolFilter) {
  const stages = f?.stages?.length ? f.stages.filter((s) => LEAD_STAGES.includes(s)) : LEAD_STAGES;
  return {
    ...POOL_WHERE,
    stage: { in: stages },
    ...(f?.sourceChannels?.length ? { sourceChannel: { in: f.sourceChannels as never } } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Mutations

const write = (ctx: Parameters<typeof accessOf>[0]) => accessOf(ctx);

builder.mutationFields((t) => ({
  createFollowUp: t.field({
    authScopes: WRITE,
    type: FollowUpNode,
    description: "Plans a follow-up. Without dueAt / channel the cadence engine's proposal is used; channels need consent.",
    errors: {
      ...result('CreateFollowUp', 'followUp'),
      result: {
        name: 'CreateFollowUpSuccess',
        fields: (r) => ({
          budgetWarning: r.string({
            nullable: true,
            description:
              "Set when the customer's contact budget was already spent: staff may still plan the contact (not refused), but should know.",
            resolve: (f) => (f as unknown as svc.CreatedFollowUp).budgetWarning ?? null,
          }),
        }),
      },
    },
    args: { input: t.arg({ type: CreateFollowUpInput, required: true }) },
    resolve: (_r, { input }, ctx) => {
      const { db, access } = write(ctx);
      const { customerId, assigneeId, ...rest } = input;
      return svc.createFollowUp(db, access, { ...rest, customerId: customerId.id, assigneeId: idOf(assigneeId) } as never);
    },
  }),
  updateFollowUp: t.field({
    authScopes: WRITE,
    type: FollowUpNode,
    errors: result('UpdateFollowUp', 'followUp', [VersionConflictError]),
    args: { input: t.arg({ type: UpdateFollowUpInput, required: true }) },
    resolve: (_r, { input }, ctx) => {
      const { db, access } = write(ctx);
      const { id, version, assigneeId, ...rest } = input;
      return svc.updateFollowUp(db, access, id.id, version, { ...rest, assigneeId: idOf(assigneeId) } as never);
    },
  }),
  cancelFollowUp: t.field({
    authScopes: WRITE,
    type: FollowUpNode,
    description: 'Cancels a PLANNED follow-up (it will not happen).',
    errors: result('CancelFollowUp', 'followUp'),
    args: { input: t.arg({ type: CloseFollowUpInput, required: true }) },
    resolve: (_r, { input }, ctx) => {
      const { db, access } = write(ctx);
      return svc.closeFollowUp(db, access, input.id.id, 'CANCELLED', input.reason, input.leadLost);
    },
  }),
  skipFollowUp: t.field({
    authScopes: WRITE,
    type: FollowUpNode,
    description: 'Marks a PLANNED follow-up as skipped (passed without contact).',
    errors: result('SkipFollowUp', 'followUp'),
    args: { input: t.arg({ type: CloseFollowUpInput, required: true }) },
    resolve: (_r, { input }, ctx) => {
      const { db, access } = write(ctx);
      return svc.closeFollowUp(db, access, input.id.id, 'SKIPPED', input.reason, input.leadLost);
    },
  }),
  completeFollowUp: t.field({
    authScopes: WRITE,
    type: CompleteFollowUpPayload,
    description:
      "Completes a follow-up with outcome, notes and the customer's doubts, and schedules the next one (the cadence engine's proposal unless `next` overrides it); with scheduleNext: false only the proposal is returned.",
    errors: { ...direct('CompleteFollowUp'), types: [...COMMON_ERRORS, VersionConflictError] },
    args: { input: t.arg({ type: CompleteFollowUpInput, required: true }) },
    resolve: (_r, { input }, ctx) => {
      const { db, access } = write(ctx);
      const { id, resolveDoubts, next, ...rest } = input;
      return svc.completeFollowUp(db, access, id.id, {
        ...rest,
        resolveDoubts: resolveDoubts?.map((r) => ({ id: r.id.id, resolution: r.resolution })),
        next: next ? { ...next, assigneeId: idOf(next.assigneeId) } : next,
      } as never);
    },
  }),
  resolveFollowUpDoubt: t.field({
    authScopes: WRITE,
    type: FollowUpDoubtNode,
    errors: result('ResolveFollowUpDoubt', 'doubt'),
    args: { input: t.arg({ type: ResolveDoubtInput, required: true }) },
    resolve: (_r, { input }, ctx) => {
      const { db, access } = write(ctx);
      return svc.resolveDoubt(db, access, input.id.id, input.resolution);
    },
  }),
  generateRetentionFollowUps: t.field({
    authScopes: MANAGE,
    type: RetentionPayload,
    description:
      "Creates birthday / holiday (the shop's calendar) / repeating service-reminder follow-ups for customers in the given stages, and news of offers (OFFER) to segment members, on the customer's local dates and in their contact window, respecting consent, contact tolerance and the contact budget (skips are listed with reasons). Idempotent (one per customer, kind and date); the server also runs it daily (cadence.retentionDailyKinds). Owners / managers / system only.",
    errors: direct('GenerateRetentionFollowUps'),
    args: { input: t.arg({ type: GenerateRetentionInput, required: true }) },
    resolve: (_r, { input }, ctx) => {
      const { db, access } = write(ctx);
      return retention.generateRetentionFollowUps(db, ctx.sql, access, {
        ...input,
        segmentIds: rowIds(input.segmentIds, 'Segment'),
      } as never);
    },
  }),
  updateCadenceSettings: t.field({
    authScopes: MANAGE,
    type: FollowUpSettingsRef,
    description: 'Changes the cadence rules (validated as a whole). Owners / managers / system only.',
    errors: direct('UpdateCadenceSettings'),
    args: { input: t.arg({ type: UpdateCadenceSettingsInput, required: true }) },
    resolve: (_r, { input }, ctx) => {
      const { db } = write(ctx);
      const { offerSegmentIds, ...rest } = input;
      return updateCadenceSettings(db, {
        ...rest,
        ...(offerSegmentIds !== undefined ? { offerSegmentIds: rowIds(offerSegmentIds, 'Segment') ?? null } : {}),
      } as never);
    },
  }),
  updateLeadPoolSettings: t.field({
    authScopes: MANAGE,
    type: FollowUpSettingsRef,
    description: 'Changes the lead pool rules (auto-assignment mode, source map, return-after hours). Owners / managers / system only.',
    errors: direct('UpdateLeadPoolSettings'),
    args: { input: t.arg({ type: UpdateLeadPoolSettingsInput, required: true }) },
    resolve: (_r, { input }, ctx) => {
      const { db } = write(ctx);
      const { bySource, ...rest } = input;
      return updateLeadPoolSettings(db, {
        ...rest,
        ...(bySource !== undefined ? { bySource: bySource?.map((b) => ({ channel: b.channel, staffId: b.staffId.id })) ?? null } : {}),
      } as never);
    },
  }),
  claimLead: t.field({
    authScopes: { scope: 'followups:write', staff: true },
    type: CustomerNode,
    description:
      'The acting staff user (x-crm-staff-id) takes a lead from the pool. Of concurrent claims exactly one wins; the others get a ConflictError.',
    errors: result('ClaimLead', 'customer'),
    args: { input: t.arg({ type: ClaimLeadInput, required: true }) },
    resolve: (_r, { input }, ctx) => {
      const { db, access } = write(ctx);
      return pool.claimLead(db, access, input.customerId.id);
    },
  }),
  assignLead: t.field({
    authScopes: MANAGE,
    type: CustomerNode,
    description: 'Gives a customer to a staff user (owners / managers / system). Open follow-ups move along.',
    errors: result('AssignLead', 'customer'),
    args: { input: t.arg({ type: AssignLeadInput, required: true }) },
    resolve: (_r, { input }, ctx) => {
      const { db, access } = write(ctx);
      return pool.assignLead(db, access, input.customerId.id, input.staffId.id, input.reason);
    },
  }),
  autoAssignLeads: t.field({
    authScopes: MANAGE,
    type: LeadAssignmentsPayload,
    description: "Distributes pool leads by the shop's rule (settings.leadPool.mode). Owners / managers / system only.",
    errors: direct('AutoAssignLeads'),
    args: { input: t.arg({ type: LeadBatchInput }) },
    resolve: (_r, { input }, ctx) => {
      const { db, access } = write(ctx);
      return pool.autoAssignLeads(db, access, { limit: input?.limit });
    },
  }),
  returnStaleLeads: t.field({
    authScopes: MANAGE,
    type: LeadAssignmentsPayload,
    description:
      'Returns leads without follow-up activity for settings.leadPool.returnAfterHours to the pool. Owners / managers / system only.',
    errors: direct('ReturnStaleLeads'),
    args: { input: t.arg({ type: LeadBatchInput }) },
    resolve: (_r, { input }, ctx) => {
      const { db, access } = write(ctx);
      return pool.returnStaleLeads(db, access, { limit: input?.limit });
    },
  }),
}));

// ---------------------------------------------------------------------------------------------
// The holiday calendar (follow-up.holidays.ts)

const DeleteHolidayPayload = builder.objectRef<{ id: string }>('DeleteHolidayPayload').implement({
  fields: (t) => ({ deletedId: t.id({ resolve: (r) => encodeGlobalID('Holiday', r.id) }) }),
});

builder.queryFields((t) => ({
  holidays: t.field({
    authScopes: READ,
    type: [HolidayNode],
    description: "The shop's holiday calendar, by date (the daily retention pass greets customers on these local dates).",
    resolve: (_r, _a, ctx) => holidays.listHolidays(ctx.db),
  }),
}));

builder.mutationFields((t) => ({
  createHoliday: t.field({
    authScopes: MANAGE,
    type: HolidayNode,
    description: 'Adds a holiday to the calendar (once, or every year). Owners / managers / system only.',
    errors: result('CreateHoliday', 'holiday'),
    args: { input: t.arg({ type: CreateHolidayInput, required: true }) },
    resolve: (_r, { input }, ctx) => holidays.createHoliday(write(ctx).db, input),
  }),
  updateHoliday: t.field({
    authScopes: MANAGE,
    type: HolidayNode,
    errors: result('UpdateHoliday', 'holiday'),
    args: { input: t.arg({ type: UpdateHolidayInput, required: true }) },
    resolve: (_r, { input }, ctx) => {
      const { id, ...rest } = input;
      return holidays.updateHoliday(write(ctx).db, id.id, rest);
    },
  }),
  deleteHoliday: t.field({
    authScopes: MANAGE,
    type: DeleteHolidayPayload,
    description: 'Removes a holiday from the calendar (follow-ups already planned for it stay).',
    errors: direct('DeleteHoliday'),
    args: { input: t.arg({ type: DeleteHolidayInput, required: true }) },
    resolve: (_r, { input }, ctx) => holidays.deleteHoliday(write(ctx).db, input.id.id),
  }),
}));
