import { builder } from '../../builder.ts';
import { COMMON_ERRORS } from '../common/common.type.ts';
import { CustomerNode, LifecycleStageEnum, SourceChannelEnum } from '../customers/customer.type.ts';
import { accessOf } from '../follow-ups/follow-up.type.ts';
import { ShopKpisRef } from '../loyalty/loyalty.types.graphql.ts';
import { LeadLossReasonEnum, LeadOutcomeEnum } from './lead-loss.enums.ts';
import { type LeadLossKpis, leadLossKpis, markLeadLost, reopenLead } from './lead-loss.service.ts';

export const LeadLossObject = builder.prismaObject('LeadLoss', {
  description:
    'A lead that ended lost or disqualified, with the stage, owner and source it had reached; reopenedAt when the person came back.',
  fields: (t) => ({
    id: t.exposeID('id'),
    outcome: t.expose('outcome', { type: LeadOutcomeEnum }),
    reason: t.expose('reason', { type: LeadLossReasonEnum }),
    note: t.exposeString('note', { nullable: true }),
    stageReached: t.expose('stageReached', { type: LifecycleStageEnum }),
    owner: t.relation('owner', { nullable: true, description: 'The owner when the lead was lost.' }),
    sourceChannel: t.expose('sourceChannel', { type: SourceChannelEnum, nullable: true }),
    lostAt: t.expose('lostAt', { type: 'DateTime' }),
    reopenedAt: t.expose('reopenedAt', { type: 'DateTime', nullable: true }),
    reopenReason: t.exposeString('reopenReason', {
      nullable: true,
      description: 'MANUAL (or the reason given), CAPTURE, INBOUND_CONTACT or ORDER.',
    }),
  }),
});

builder.prismaObjectFields(CustomerNode, (t) => ({
  lostAt: t.expose('lostAt', {
    type: 'DateTime',
    nullable: true,
    description: 'Set while the lead is lost or disqualified (it is then out of the lead pool and the agendas).',
  }),
  leadLosses: t.relation('leadLosses', {
    description: 'Times this lead was lost or disqualified, newest first (at most 20).',
    query: { orderBy: [{ lostAt: 'desc' }, { id: 'desc' }], take: 20 },
  }),
}));

const MarkLeadLostInput = builder.inputType('MarkLeadLostInput', {
  fields: (t) => ({
    customerId: t.globalID({ required: true, for: CustomerNode }),
    outcome: t.field({ type: LeadOutcomeEnum, description: 'Default LOST.' }),
    reason: t.field({ type: LeadLossReasonEnum, required: true }),
    note: t.string({ description: 'What happened, at most 2000 characters; required for OTHER.' }),
  }),
});

const ReopenLeadInput = builder.inputType('ReopenLeadInput', {
  fields: (t) => ({
    customerId: t.globalID({ required: true, for: CustomerNode }),
    reason: t.string({ description: 'Why the lead is open again, at most 2000 characters.' }),
  }),
});

const leadResult = (name: string) => ({
  types: [...COMMON_ERRORS],
  result: { name: `${name}Success` },
  union: { name: `${name}Result` },
  dataField: { name: 'customer' },
});

builder.mutationFields((t) => ({
  markLeadLost: t.field({
    authScopes: { scope: 'followups:write' },
    type: CustomerNode,
    description:
      'Ends a lead (SUSPECT / PROSPECT) as LOST or DISQUALIFIED with the reason: records the stage, owner and source it reached, takes it out of the pool and the agendas, cancels its planned follow-ups and writes LEAD_LOST. A new capture, an inbound contact or an order reopens it (LEAD_REOPENED). Agents: their own leads and pool leads. Secret key with followups:write.',
    errors: leadResult('MarkLeadLost'),
    args: { input: t.arg({ type: MarkLeadLostInput, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      const { db, access } = accessOf(ctx);
      const { customer } = await markLeadLost(db, access, { ...input, customerId: input.customerId.id });
      return customer;
    },
  }),
  reopenLead: t.field({
    authScopes: { scope: 'followups:write' },
    type: CustomerNode,
    description: 'Reopens a lost or disqualified lead (LEAD_REOPENED). Secret key with followups:write.',
    errors: leadResult('ReopenLead'),
    args: { input: t.arg({ type: ReopenLeadInput, required: true }) },
    resolve: (_r, { input }, ctx) => {
      const { db, access } = accessOf(ctx);
      return reopenLead(db, access, input.customerId.id, input.reason);
    },
  }),
}));

// Loss analytics on shopKpis

type Count = { key: string | null; count: number };
const share = (n: number, total: number) => (total > 0 ? n / total : null);
type Counted<K> = { key: K; count: number; share: number | null };
const counted = <K>(rows: Count[], total: number, map: (k: string | null) => K): Counted<K>[] =>
  rows.map((r) => ({ key: map(r.key), count: r.count, share: share(r.count, total) }));

const LossByReasonRef = builder.objectRef<Counted<string>>('LeadLossByReason').implement({
  fields: (t) => ({
    reason: t.field({ type: LeadLossReasonEnum, resolve: (r) => r.key as never }),
    count: t.exposeInt('count'),
    share: t.float({ nullable: true, description: 'Of all losses in the range.', resolve: (r) => r.share }),
  }),
});
const LossBySourceRef = builder.objectRef<Counted<string | null>>('LeadLossBySource').implement({
  fields: (t) => ({
    channel: t.field({ type: SourceChannelEnum, nullable: true, description: 'null: no source recorded.', resolve: (r) => r.key as never }),
    count: t.exposeInt('count'),
    share: t.float({ nullable: true, resolve: (r) => r.share }),
  }),
});
const LossByOwnerRef = builder.objectRef<Counted<string | null>>('LeadLossByOwner').implement({
  fields: (t) => ({
    owner: t.prismaField({
      type: 'StaffUser',
      nullable: true,
      description: 'The owner when the lead was lost (null: a pool lead).',
      // The query is always used (select mode requires it); a pool lead (no key) matches no row.
      resolve: (query, r, _a, ctx) => ctx.db.staffUser.findFirst({ ...query, where: r.key ? { id: r.key } : { id: { in: [] } } }),
    }),
    count: t.exposeInt('count'),
    share: t.float({ nullable: true, resolve: (r) => r.share }),
  }),
});
const LossByStageRef = builder.objectRef<Counted<string>>('LeadLossByStage').implement({
  fields: (t) => ({
    stage: t.field({ type: LifecycleStageEnum, description: 'The stage the lead had reached.', resolve: (r) => r.key as never }),
    count: t.exposeInt('count'),
    share: t.float({ nullable: true, resolve: (r) => r.share }),
  }),
});
type Month = LeadLossKpis['monthly'][number];
const LossMonthRef = builder.objectRef<Month>('LeadLossMonth').implement({
  description: 'Losses per calendar month (UTC), for the trend.',
  fields: (t) => ({
    month: t.exposeString('month', { description: 'YYYY-MM.' }),
    lost: t.exposeInt('lost'),
    disqualified: t.exposeInt('disqualified'),
    reopened: t.exposeInt('reopened', { description: 'Of those, leads that came back since.' }),
  }),
});

const LeadLossKpisRef = builder.objectRef<LeadLossKpis>('LeadLossKpis').implement({
  description: 'Why interested people were lost: losses recorded in the range by reason, source, owner, stage reached, and per month.',
  fields: (t) => ({
    total: t.exposeInt('total'),
    lost: t.exposeInt('lost'),
    disqualified: t.exposeInt('disqualified'),
    reopened: t.exposeInt('reopened', { description: 'Losses of the range whose lead came back since.' }),
    leadsCreated: t.exposeInt('leadsCreated', { description: 'Leads (created as SUSPECT or PROSPECT) in the range.' }),
    lossRate: t.float({ nullable: true, description: 'lost / leadsCreated.', resolve: (k) => share(k.lost, k.leadsCreated) }),
    byReason: t.field({ type: [LossByReasonRef], resolve: (k) => counted(k.byReason, k.total, (x) => x as string) }),
    bySource: t.field({ type: [LossBySourceRef], resolve: (k) => counted(k.bySource, k.total, (x) => x) }),
    byOwner: t.field({ type: [LossByOwnerRef], resolve: (k) => counted(k.byOwner, k.total, (x) => x) }),
    byStageReached: t.field({ type: [LossByStageRef], resolve: (k) => counted(k.byStage, k.total, (x) => x as string) }),
    monthly: t.field({ type: [LossMonthRef], resolve: (k) => k.monthly }),
  }),
});

builder.objectField(ShopKpisRef, 'leadLosses', (t) =>
  t.field({
    authScopes: { scope: 'loyalty:read' },
    type: LeadLossKpisRef,
    description: 'Lost and disqualified leads in the range, by reason, source, owner and stage reached, with the monthly trend.',
    resolve: (k, _a, ctx) => leadLossKpis(ctx.sql, k.from, k.to),
  }),
);
