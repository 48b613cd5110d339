import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCrmClient, unwrap } from '../packages/sdk/src/index.ts';
import { endOfDay } from '../packages/server/src/modules/follow-ups/follow-up.cadence.ts';
import { type Caller, createTestApp, type GqlResult, rawId, type TestApp } from '../packages/server/src/testing.ts';
import { createCustomer, createStaff, errorCodes, ok, type StaffOut, sleep } from './helpers/crm.ts';

/**
 * Follow-ups, agenda, cadence suggestions, retention follow-ups and the lead pool over GraphQL:
 * typed results, permissions per role (x-crm-staff-id), concurrent claims, and a constant number
 * of SQL statements for the agenda.
 */

let t: TestApp;
let g: Caller;
let shopId: string;
let secretKey: string;
let manager: StaffOut;
let agents: StaffOut[];
const as = (s: StaffOut | null): Record<string, string> => (s ? { 'x-crm-staff-id': s.id } : {});
const DAY = 86_400_000;

const FU = `id status effectiveStatus isOverdue dueAt channel goal outcome notes nextStep interestValue kind version
  assignee { id } customer { id } previous { id } next { id } doubts { id text isResolved resolution }`;
type FollowUpOut = {
  id: string;
  status: string;
  effectiveStatus: string;
  isOverdue: boolean;
  dueAt: string;
  channel: string | null;
  goal: string | null;
  outcome: string | null;
  notes: string | null;
  assignee: { id: string } | null;
  previous: { id: string } | null;
  next: { id: string } | null;
  doubts: { id: string; text: string; isResolved: boolean; resolution: string | null }[];
  version: number;
};
type Member = {
  __typename: string;
  code?: string;
  path?: string[];
  followUp?: FollowUpOut;
  customer?: { id: string; owner: { id: string } | null };
};

const ERR = '... on Error { code message path }';
async function m(
  field: string,
  inputType: string,
  selection: string,
  input: unknown,
  staff: StaffOut | null,
): Promise<Member & Record<string, unknown>> {
  const q = `mutation($input: ${inputType}) { ${field}(input: $input) { __typename ${ERR} ${selection} } }`;
  const r = await g<Record<string, Member & Record<string, unknown>>>(q, { input }, as(staff));
  if (r.errors?.length) throw new Error(JSON.stringify(r.errors));
  return r.data?.[field] as Member & Record<string, unknown>;
}
const createFU = (input: unknown, staff: StaffOut | null) =>
  m('createFollowUp', 'CreateFollowUpInput!', `... on CreateFollowUpSuccess { followUp { ${FU} } }`, input, staff);
const COMPLETE_SEL = `... on CompleteFollowUpPayload { followUp { ${FU} } next { ${FU} } proposal { dueAt channel reasons } }`;
const CUSTOMER_SEL = (name: string) => `... on ${name}Success { customer { id owner { id } } }`;

beforeAll(async () => {
  t = await createTestApp();
  const s = await t.newShop('Follow-up Shop', 'owner@fu.test');
  shopId = s.shop.id;
  secretKey = s.secretKey;
  g = t.gql(s.secretKey);
  manager = await createStaff(g, { name: 'Mia Manager', email: 'mia@fu.test', role: 'MANAGER' });
  agents = [];
  for (let i = 0; i < 4; i++) agents.push(await createStaff(g, { name: `Agent ${i}`, email: `agent${i}@fu.test`, role: 'AGENT' }));
});
afterAll(() => t.close());

const [A0, A1] = [0, 1];
const lead = (extra: Record<string, unknown> = {}) =>
  createCustomer(g, {
    email: `lead${Math.random().toString(36).slice(2)}@fu.test`,
    stage: 'PROSPECT',
    consents: [
      { channel: 'PHONE', granted: true },
      { channel: 'EMAIL', granted: true },
    ],
    ...extra,
  });

describe('follow-ups over GraphQL', () => {
  it('create (proposal as default), complete with doubts, the chain, resolve a doubt', async () => {
    const agent = agents[A0] as StaffOut;
    const c = await lead({ dealLikelihood: 85, ownerId: agent.id });
    const sug = await ok<{ suggestNextFollowUp: { dueAt: string; channel: string; reasons: string[] } }>(
      g,
      'query($id: ID!) { suggestNextFollowUp(customerId: $id) { dueAt channel reasons } }',
      { id: c.id },
    );
    expect(sug.suggestNextFollowUp.channel).toBe('PHONE');
    expect(sug.suggestNextFollowUp.reasons.join(' ')).toMatch(/85%/);
    const created = await createFU({ customerId: c.id, goal: 'Present the offer', interestValue: '2500.00' }, agent);
    expect(created.__typename).toBe('CreateFollowUpSuccess');
    const f1 = created.followUp as FollowUpOut;
    expect(f1).toMatchObject({
      status: 'PLANNED',
      effectiveStatus: 'PLANNED',
      channel: 'PHONE',
      assignee: { id: agent.id },
      goal: 'Present the offer',
    });
    // 85% -> every 2 days; a high-value interest (>= 1000) x 0.7 -> 1 day: tomorrow (UTC, the shop's
    // time zone), placed in the default contact window 09:00-18:00.
    const due = new Date(f1.dueAt);
    expect(due.toISOString().slice(0, 10)).toBe(new Date(Date.now() + DAY).toISOString().slice(0, 10));
    expect(due.getUTCHours()).toBeGreaterThanOrEqual(9);
    expect(due.getUTCHours()).toBeLessThan(18);

    const noConsent = await createFU({ customerId: c.id, channel: 'SMS' }, agent);
    expect(noConsent).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION_FAILED', path: ['input', 'channel'] });

    const done = await m(
      'completeFollowUp',
      'CompleteFollowUpInput!',
      COMPLETE_SEL,
      { id: f1.id, outcome: 'Likes it', notes: 'Talked about colours', nextStep: 'Send samples', doubts: ['Too expensive'] },
      agent,
    );
    expect(done.__typename).toBe('CompleteFollowUpPayload');
    const next = done.next as FollowUpOut;
    expect(done.followUp).toMatchObject({ status: 'DONE', outcome: 'Likes it', notes: 'Talked about colours', next: { id: next.id } });
    expect(next).toMatchObject({ status: 'PLANNED', goal: 'Send samples', previous: { id: f1.id }, assignee: { id: agent.id } });
    const doubt = (done.followUp as FollowUpOut).doubts[0] as FollowUpOut['doubts'][number];
    expect(doubt).toMatchObject({ text: 'Too expensive', isResolved: false });

    type Conn = { customer: { followUps: { totalCount: number; edges: { node: { id: string } }[] }; openDoubts: { id: string }[] } };
    const list = await ok<Conn>(
      g,
      'query($id: ID!) { customer(id: $id) { followUps(first: 10) { totalCount edges { node { id } } } openDoubts { id } } }',
      { id: c.id },
      as(agent),
    );
    expect(list.customer.followUps.totalCount).toBe(2);
    // Latest due first; both may land on the same window start (a proposal before 09:00 moves to 09:00).
    expect(list.customer.followUps.edges.map((e) => e.node.id).sort()).toEqual([next.id, f1.id].sort());
    expect(new Date(next.dueAt).getTime()).toBeGreaterThanOrEqual(new Date(f1.dueAt).getTime());
    expect(list.customer.openDoubts.map((d) => d.id)).toEqual([doubt.id]);
    // Another agent sees none of them.
    const other = await ok<Conn>(
      g,
      'query($id: ID!) { customer(id: $id) { followUps(first: 10) { totalCount edges { node { id } } } openDoubts { id } } }',
      { id: c.id },
      as(agents[A1] as StaffOut),
    );
    expect(other.customer.followUps).toEqual({ totalCount: 0, edges: [] });
    const hidden = await ok<{ followUp: null }>(
      g,
      `query($id: ID!) { followUp(id: $id) { id } }`,
      { id: next.id },
      as(agents[A1] as StaffOut),
    );
    expect(hidden.followUp).toBeNull();
    const steal = await m('completeFollowUp', 'CompleteFollowUpInput!', COMPLETE_SEL, { id: next.id }, agents[A1] as StaffOut);
    expect(steal).toMatchObject({ __typename: 'NotFoundError', path: ['input', 'id'] });

    const resolved = await m(
      'resolveFollowUpDoubt',
      'ResolveDoubtInput!',
      '... on ResolveFollowUpDoubtSuccess { doubt { id isResolved resolution } }',
      { id: doubt.id, resolution: 'Payment in instalments' },
      agent,
    );
    expect(resolved.doubt).toEqual({ id: doubt.id, isResolved: true, resolution: 'Payment in instalments' });

    const proposal = await m('completeFollowUp', 'CompleteFollowUpInput!', COMPLETE_SEL, { id: next.id, scheduleNext: false }, agent);
    expect(proposal.next).toBeNull();
    expect((proposal.proposal as { dueAt: string }).dueAt).toBeTruthy();

    const events = await t.db.prisma.event.findMany({ where: { shopId, customerId: rawId(c.id) }, select: { type: true } });
    const types = events.map((e) => e.type);
    expect(types.filter((x) => x === 'FOLLOW_UP_CREATED')).toHaveLength(2);
    expect(types.filter((x) => x === 'FOLLOW_UP_COMPLETED')).toHaveLength(2);
  });

  it('update, skip and cancel; a stale version is a VersionConflictError', async () => {
    const c = await lead();
    const f = (await createFU({ customerId: c.id, dueAt: new Date(Date.now() - DAY).toISOString() }, manager)).followUp as FollowUpOut;
    expect(f).toMatchObject({ isOverdue: true, effectiveStatus: 'OVERDUE' });
    const u = await m(
      'updateFollowUp',
      'UpdateFollowUpInput!',
      `... on UpdateFollowUpSuccess { followUp { ${FU} } }`,
      { id: f.id, version: f.version, dueAt: new Date(Date.now() + DAY).toISOString(), goal: 'Later' },
      manager,
    );
    expect(u.followUp).toMatchObject({ goal: 'Later', isOverdue: false, version: 2 });
    const stale = await m(
      'updateFollowUp',
      'UpdateFollowUpInput!',
      '... on VersionConflictError { currentVersion }',
      { id: f.id, version: 1, goal: 'x' },
      manager,
    );
    expect(stale).toMatchObject({ __typename: 'VersionConflictError', currentVersion: 2 });
    const sk = await m(
      'skipFollowUp',
      'CloseFollowUpInput!',
      `... on SkipFollowUpSuccess { followUp { ${FU} } }`,
      { id: f.id, reason: 'Busy' },
      manager,
    );
    expect(sk.followUp).toMatchObject({ status: 'SKIPPED', outcome: 'Busy' });
    const again = await m(
      'cancelFollowUp',
      'CloseFollowUpInput!',
      `... on CancelFollowUpSuccess { followUp { id } }`,
      { id: f.id },
      manager,
    );
    expect(again).toMatchObject({ __typename: 'ConflictError', code: 'CONFLICT' });
  });

  it("agenda: sections, counts, pagination by dueAt; agents only their own, managers the shop's", async () => {
    const agent = agents[2] as StaffOut;
    const c = await lead({ ownerId: agent.id, dealLikelihood: 40 });
    const now = Date.now();
    const dues = [-3 * DAY, -60_000, 5 * DAY, 9 * DAY];
    for (const d of dues) await createFU({ customerId: c.id, dueAt: new Date(now + d).toISOString() }, agent);
    const elsewhere = await lead({ ownerId: (agents[A1] as StaffOut).id });
    await createFU({ customerId: elsewhere.id, dueAt: new Date(now + DAY).toISOString() }, agents[A1] as StaffOut);
    const Q = `query($a: ID, $f: AgendaFilter, $s: AgendaSection, $first: Int, $after: String) {
      agenda(assigneeId: $a, filter: $f, section: $s, first: $first, after: $after) {
        totalCount overdueCount dueTodayCount upcomingCount pageInfo { hasNextPage endCursor }
        edges { section node { id dueAt customer { id } } } } }`;
    type Agenda = {
      agenda: {
        totalCount: number;
        overdueCount: number;
        dueTodayCount: number;
        upcomingCount: number;
        pageInfo: { hasNextPage: boolean; endCursor: string };
        edges: { section: string; node: { id: string; dueAt: string } }[];
      };
    };
    const page1 = await ok<Agenda>(g, Q, { first: 3 }, as(agent));
    expect(page1.agenda).toMatchObject({ totalCount: 4, overdueCount: 2, dueTodayCount: 0, upcomingCount: 2 });
    expect(page1.agenda.edges.map((e) => e.section)).toEqual(['OVERDUE', 'OVERDUE', 'UPCOMING']);
    const page2 = await ok<Agenda>(g, Q, { first: 3, after: page1.agenda.pageInfo.endCursor }, as(agent));
    expect(page2.agenda.edges.map((e) => e.section)).toEqual(['UPCOMING']);
    const all = [...page1.agenda.edges, ...page2.agenda.edges].map((e) => e.node.dueAt);
    expect(all).toEqual([...all].sort());
    const upcoming = await ok<Agenda>(g, Q, { s: 'UPCOMING', f: { minLikelihood: 30, maxLikelihood: 50 } }, as(agent));
    expect(upcoming.agenda.totalCount).toBe(2);
    expect((await ok<Agenda>(g, Q, { f: { stages: ['LOYAL'] } }, as(agent))).agenda.totalCount).toBe(0);
    // Another agent's agenda: forbidden; a manager's view of the agent: the same four; the shop's: more.
    expect(errorCodes(await g(Q, { a: agent.id }, as(agents[A1] as StaffOut)))).toEqual(['FORBIDDEN']);
    expect((await ok<Agenda>(g, Q, { a: agent.id }, as(manager))).agenda.totalCount).toBe(4);
    const shopWide = await ok<Agenda>(g, Q, {}, as(manager));
    expect(shopWide.agenda.totalCount).toBeGreaterThan(4);
    expect((await ok<Agenda>(g, Q, {})).agenda.totalCount).toBe(shopWide.agenda.totalCount); // system key
    expect(errorCodes(await g(Q, { first: 101 }, as(agent)))).toEqual(['VALIDATION_FAILED']);
  });

  it('agenda: "due today" is the shop\'s day (cadence timeZone) unless a timeZone is asked for', async () => {
    const other = await t.newShop('Agenda Zone Shop', 'owner@zone.test');
    const gz = t.gql(other.secretKey);
    const zone = 'Pacific/Pago_Pago'; // UTC-11: its day ends 11 hours after UTC's, or 13 hours before
    const set = await ok<{ updateCadenceSettings: { __typename: string } }>(
      gz,
      'mutation($i: UpdateCadenceSettingsInput!) { updateCadenceSettings(input: $i) { __typename } }',
      { i: { timeZone: zone } },
    );
    expect(set.updateCadenceSettings.__typename).toBe('FollowUpSettings');
    const now = new Date();
    const [eodUtc, eodZone] = [endOfDay(now, 'UTC'), endOfDay(now, zone)];
    // One minute after the earlier of the two day ends: today in the later one, tomorrow in the other.
    const dueAt = new Date(Math.min(+eodUtc, +eodZone) + 60_000);
    const todayInZone = dueAt < eodZone;
    const c = await createCustomer(gz, { email: 'zone@zone.test' });
    const made = await ok<{ createFollowUp: { __typename: string } }>(
      gz,
      'mutation($i: CreateFollowUpInput!) { createFollowUp(input: $i) { __typename } }',
      { i: { customerId: c.id, dueAt: dueAt.toISOString() } },
    );
    expect(made.createFollowUp.__typename).toBe('CreateFollowUpSuccess');
    type Res = { agenda: { dueTodayCount: number; upcomingCount: number; edges: { section: string }[] } };
    const Q = 'query($tz: String) { agenda(timeZone: $tz) { dueTodayCount upcomingCount edges { section } } }';
    const shopDay = await ok<Res>(gz, Q, {});
    expect(shopDay.agenda.edges.map((e) => e.section)).toEqual([todayInZone ? 'DUE_TODAY' : 'UPCOMING']);
    expect(shopDay.agenda.dueTodayCount).toBe(todayInZone ? 1 : 0);
    const utcDay = await ok<Res>(gz, Q, { tz: 'UTC' });
    expect(utcDay.agenda.edges.map((e) => e.section)).toEqual([todayInZone ? 'UPCOMING' : 'DUE_TODAY']);
    expect(utcDay.agenda.upcomingCount).toBe(todayInZone ? 1 : 0);
    expect(errorCodes(await gz(Q, { tz: 'Mars/Base' }))).toEqual(['VALIDATION_FAILED']);
  });

  it('the agenda takes a constant number of SQL statements (10 vs 40 follow-ups)', async () => {
    const agent = agents[3] as StaffOut;
    const Q = `{ agenda(first: 50) { totalCount overdueCount dueTodayCount upcomingCount
      edges { section node { id dueAt goal isOverdue customer { id displayName stage } assignee { name } doubts { text } previous { id } } } } }`;
    type Res = { agenda: { totalCount: number; edges: unknown[] } };
    const customers = [await lead({ ownerId: agent.id }), await lead({ ownerId: agent.id }), await lead({ ownerId: agent.id })];
    let made = 0;
    const add = async (k: number) => {
      for (let i = 0; i < k; i++, made++) {
        const c = customers[made % 3] as { id: string };
        await createFU({ customerId: c.id, dueAt: new Date(Date.now() + (made - 5) * 3_600_000).toISOString(), goal: `g${made}` }, agent);
      }
    };
    const measure = async (expected: number) => {
      await ok(g, Q, undefined, as(agent));
      await sleep(50);
      t.db.resetQueryCount();
      const r = await ok<Res>(g, Q, undefined, as(agent));
      const n = t.db.queryCount();
      expect(r.agenda.totalCount).toBe(expected);
      expect(r.agenda.edges).toHaveLength(expected);
      return n;
    };
    await add(10);
    const small = await measure(10);
    await add(30);
    const large = await measure(40);
    expect(large).toBe(small);
    expect(small).toBeLessThanOrEqual(14);
  });
});

describe('lead pool over GraphQL', () => {
  const CLAIM = CUSTOMER_SEL('ClaimLead');
  it('pool, parallel claims (exactly one wins), assign by managers only, history', async () => {
    const c = await lead({ source: { channel: 'SOCIAL' } });
    type Pool = { leadPool: { totalCount: number; edges: { node: { id: string; inLeadPool: boolean } }[] } };
    const P = '{ leadPool(first: 100) { totalCount edges { node { id inLeadPool } } } }';
    const before = await ok<Pool>(g, P, undefined, as(agents[A1] as StaffOut));
    expect(before.leadPool.edges.map((e) => e.node.id)).toContain(c.id);
    expect(before.leadPool.edges.every((e) => e.node.inLeadPool)).toBe(true);
    const results = await Promise.all(agents.map((a) => m('claimLead', 'ClaimLeadInput!', CLAIM, { customerId: c.id }, a)));
    const winners = results.filter((r) => r.__typename === 'ClaimLeadSuccess');
    const losers = results.filter((r) => r.__typename !== 'ClaimLeadSuccess');
    expect(winners).toHaveLength(1);
    expect(losers.map((r) => [r.__typename, r.code])).toEqual(Array(agents.length - 1).fill(['ConflictError', 'CONFLICT']));
    const winner = (winners[0] as Member).customer?.owner?.id;
    const after = await ok<Pool>(g, P, undefined, as(agents[A1] as StaffOut));
    expect(after.leadPool.edges.map((e) => e.node.id)).not.toContain(c.id);
    expect(after.leadPool.totalCount).toBe(before.leadPool.totalCount - 1);
    // The system (no staff user) cannot claim; an agent cannot assign; a manager can.
    const c2 = await lead();
    expect(await m('claimLead', 'ClaimLeadInput!', CLAIM, { customerId: c2.id }, null)).toMatchObject({ __typename: 'ForbiddenError' });
    const ASSIGN = CUSTOMER_SEL('AssignLead');
    expect(await m('assignLead', 'AssignLeadInput!', ASSIGN, { customerId: c2.id, staffId: winner }, agents[A0] as StaffOut)).toMatchObject(
      {
        __typename: 'ForbiddenError',
      },
    );
    // Reassign to an agent other than the (random) winner, so the assignment is a real move.
    const target = agents.find((a) => a.id !== winner) as StaffOut;
    const assigned = await m(
      'assignLead',
      'AssignLeadInput!',
      ASSIGN,
      { customerId: c.id, staffId: target.id, reason: 'Rebalance' },
      manager,
    );
    expect(assigned.customer?.owner?.id).toBe(target.id);
    const hist = await ok<{
      customer: { leadHistory: { edges: { node: { action: string; staff: { id: string }; actor: { id: string } | null } }[] } };
    }>(g, 'query($id: ID!) { customer(id: $id) { leadHistory(first: 10) { edges { node { action staff { id } actor { id } } } } } }', {
      id: c.id,
    });
    expect(hist.customer.leadHistory.edges.map((e) => [e.node.action, e.node.staff.id, e.node.actor?.id])).toEqual([
      ['ASSIGNED', target.id, manager.id],
      ['CLAIMED', winner, winner],
    ]);
  });

  it('settings, auto-assignment and returning stale leads', async () => {
    const SETTINGS =
      '... on FollowUpSettings { cadence { unknownLikelihoodDays channelOrder } leadPool { mode returnAfterHours bySource { channel staffId } } }';
    const bad = await m('updateCadenceSettings', 'UpdateCadenceSettingsInput!', SETTINGS, { minIntervalDays: 40 }, manager);
    expect(bad).toMatchObject({ __typename: 'ValidationError', path: ['input', 'minIntervalDays'] });
    expect(
      await m('updateCadenceSettings', 'UpdateCadenceSettingsInput!', SETTINGS, { unknownLikelihoodDays: 5 }, agents[A0] as StaffOut),
    ).toMatchObject({
      __typename: 'ForbiddenError',
    });
    const okSet = await m('updateCadenceSettings', 'UpdateCadenceSettingsInput!', SETTINGS, { unknownLikelihoodDays: 5 }, manager);
    expect(okSet).toMatchObject({ cadence: { unknownLikelihoodDays: 5 } });
    const lp = await m(
      'updateLeadPoolSettings',
      'UpdateLeadPoolSettingsInput!',
      SETTINGS,
      { mode: 'ROUND_ROBIN', returnAfterHours: 48, bySource: [{ channel: 'WALK_IN', staffId: (agents[A0] as StaffOut).id }] },
      null,
    );
    expect(lp).toMatchObject({
      leadPool: { mode: 'ROUND_ROBIN', returnAfterHours: 48, bySource: [{ channel: 'WALK_IN', staffId: (agents[A0] as StaffOut).id }] },
    });
    const read = await ok<{ followUpSettings: { leadPool: { mode: string } } }>(g, '{ followUpSettings { leadPool { mode } } }');
    expect(read.followUpSettings.leadPool.mode).toBe('ROUND_ROBIN');
    const BULK = '... on LeadAssignmentsPayload { count assignments { action staff { id } customer { id } } }';
    const auto = await m('autoAssignLeads', 'LeadBatchInput', BULK, { limit: 500 }, manager);
    expect(auto.__typename).toBe('LeadAssignmentsPayload');
    expect(auto.count as number).toBeGreaterThan(0);
    const pool = await ok<{ leadPool: { totalCount: number } }>(g, '{ leadPool { totalCount } }');
    expect(pool.leadPool.totalCount).toBe(0);
    const stale = await m('returnStaleLeads', 'LeadBatchInput', BULK, null, manager);
    expect(stale).toMatchObject({ __typename: 'LeadAssignmentsPayload', count: 0 }); // everything is fresh
    expect(await m('returnStaleLeads', 'LeadBatchInput', BULK, null, agents[A0] as StaffOut)).toMatchObject({
      __typename: 'ForbiddenError',
    });
  });

  it('retention follow-ups are idempotent', async () => {
    const c = await createCustomer(g, {
      email: 'loyal@fu.test',
      stage: 'LOYAL',
      birthDate: `1990${new Date(Date.now() + 2 * DAY).toISOString().slice(4, 10)}`.replace('1990-02-29', '1990-02-28'),
      consents: [{ channel: 'EMAIL', granted: true }],
    });
    const SEL =
      '... on RetentionFollowUpsPayload { createdCount alreadyScheduled skippedNoConsent skippedTolerance created { kind channel customer { id } } }';
    const input = {
      kinds: ['BIRTHDAY', 'HOLIDAY'],
      stages: ['LOYAL'],
      holidayDate: new Date(Date.now() + 20 * DAY).toISOString().slice(0, 10),
    };
    const r1 = await m('generateRetentionFollowUps', 'GenerateRetentionFollowUpsInput!', SEL, input, manager);
    expect(r1).toMatchObject({ createdCount: 2, alreadyScheduled: 0 });
    expect((r1.created as { kind: string; customer: { id: string } }[]).map((x) => [x.kind, x.customer.id]).sort()).toEqual([
      ['BIRTHDAY', c.id],
      ['HOLIDAY', c.id],
    ]);
    const r2 = await m('generateRetentionFollowUps', 'GenerateRetentionFollowUpsInput!', SEL, input, manager);
    expect(r2).toMatchObject({ createdCount: 0, alreadyScheduled: 2 });
    expect(await m('generateRetentionFollowUps', 'GenerateRetentionFollowUpsInput!', SEL, input, agents[A0] as StaffOut)).toMatchObject({
      __typename: 'ForbiddenError',
    });
    const noDate = await m(
      'generateRetentionFollowUps',
      'GenerateRetentionFollowUpsInput!',
      SEL,
      { kinds: ['HOLIDAY'], stages: ['LOYAL'] },
      manager,
    );
    expect(noDate).toMatchObject({ __typename: 'ValidationError', path: ['input', 'holidayDate'] });
  });

  it('a publishable key may do none of it', async () => {
    const s = await t.newShop();
    const p = t.gql(s.publishableKey);
    const r: GqlResult = await p('{ agenda { totalCount } }');
    expect(errorCodes(r)).toEqual(['FORBIDDEN']);
    expect(errorCodes(await p('{ leadPool { totalCount } }'))).toEqual(['FORBIDDEN']);
  });
});

describe('SDK: followUps and leads groups', () => {
  it('pool, claim, create, agenda, complete, doubts, settings and suggestions through the typed client', async () => {
    const url = `${await t.app.start()}/graphql`;
    const sys = createCrmClient({ url, apiKey: secretKey });
    const agent = agents[A0] as StaffOut;
    const crm = createCrmClient({ url, apiKey: secretKey, staffId: agent.id });
    const c = unwrap(
      await sys.customers.create({ email: 'sdk-lead@fu.test', stage: 'PROSPECT', consents: [{ channel: 'EMAIL', granted: true }] }),
    ).customer;
    expect((await crm.leads.pool({ first: 100 })).edges.map((e) => e.node.id)).toContain(c.id);
    expect(unwrap(await crm.leads.claim(c.id)).customer.owner?.id).toBe(agent.id);
    const f = unwrap(await crm.followUps.create({ customerId: c.id, goal: 'SDK call' })).followUp;
    expect(f).toMatchObject({ channel: 'EMAIL', goal: 'SDK call', assignee: { id: agent.id } });
    const agenda = await crm.followUps.agenda({ first: 100 });
    expect(agenda.edges.map((e) => e.node.id)).toContain(f.id);
    expect(agenda.upcomingCount).toBeGreaterThan(0);
    const done = unwrap(await crm.followUps.complete({ id: f.id, outcome: 'Interested', doubts: ['Is it waterproof?'] }));
    expect(done.next?.previous?.id).toBe(f.id);
    const list = await crm.followUps.forCustomer(c.id, { first: 10 });
    expect(list?.followUps.totalCount).toBe(2);
    const doubtId = list?.openDoubts[0]?.id as string;
    expect(unwrap(await crm.followUps.resolveDoubt(doubtId, 'Yes, IP67')).doubt).toMatchObject({ isResolved: true });
    expect((await crm.followUps.get(f.id))?.status).toBe('DONE');
    expect((await crm.leads.assign(c.id, (agents[A1] as StaffOut).id)).__typename).toBe('ForbiddenError');
    expect(unwrap(await sys.leads.assign(c.id, (agents[A1] as StaffOut).id, { reason: 'SDK' })).customer.owner?.id).toBe(
      (agents[A1] as StaffOut).id,
    );
    expect((await sys.followUps.suggestNext(c.id))?.reasons.length).toBeGreaterThan(0);
    expect((await sys.followUps.settings()).leadPool.mode).toBe('ROUND_ROBIN');
    expect(unwrap(await sys.leads.returnStale()).count).toBe(0);
  });
});

describe('SDK: contact timing', () => {
  it('shop time zone, holiday calendar, customer time zone and budget, budget warning, offers to a segment', async () => {
    const url = `${await t.app.start()}/graphql`;
    const sys = createCrmClient({ url, apiKey: secretKey });
    const settings = unwrap(await sys.followUps.updateCadenceSettings({ timeZone: 'europe/berlin' }));
    expect(settings.cadence.timeZone).toBe('Europe/Berlin');
    expect((await sys.followUps.updateCadenceSettings({ timeZone: 'Mars/Base' })).__typename).toBe('ValidationError');

    const h = unwrap(await sys.followUps.createHoliday({ name: 'Founders day', date: '2026-03-30', recurringYearly: true })).holiday;
    expect(h).toMatchObject({ name: 'Founders day', date: '2026-03-30', recurringYearly: true });
    expect(unwrap(await sys.followUps.updateHoliday({ id: h.id, name: 'Founders’ day' })).holiday.name).toBe('Founders’ day');
    expect((await sys.followUps.holidays()).map((x) => x.name)).toContain('Founders’ day');
    expect(await sys.followUps.deleteHoliday(h.id)).toMatchObject({ deletedId: h.id });
    expect((await sys.followUps.holidays()).map((x) => x.id)).not.toContain(h.id);

    // MONTHLY: one contact per 30 days; one outbound email just now spends it.
    const c = unwrap(
      await sys.customers.create({
        email: 'timing-sdk@fu.test',
        stage: 'LOYAL',
        timeZone: 'Asia/Tokyo',
        preferredContactTime: 'EVENING',
        contactTolerance: 'MONTHLY',
        tags: ['timing-sdk'],
        consents: [{ channel: 'EMAIL', granted: true }],
      }),
    ).customer;
    expect(c.timeZone).toBe('Asia/Tokyo');
    expect((await sys.followUps.contactBudget(c.id))?.contactBudget).toEqual({ max: 1, periodDays: 30, used: 0, remaining: 1 });
    unwrap(await sys.interactions.record({ customerId: c.id, channel: 'EMAIL', direction: 'OUTBOUND', type: 'MESSAGE' }));
    expect((await sys.followUps.contactBudget(c.id))?.contactBudget).toEqual({ max: 1, periodDays: 30, used: 1, remaining: 0 });
    const planned = unwrap(await sys.followUps.create({ customerId: c.id, dueAt: new Date(Date.now() + 40 * DAY).toISOString() }));
    expect(planned.budgetWarning).toBe('Contact budget spent: 1 of 1 contacts in 30 days (contact tolerance MONTHLY)');

    // News of offers to a segment's members: contacted just now, so MONTHLY's 30-day gap (checked
    // before the budget) skips the member, and the pass says why.
    const seg = unwrap(await sys.segments.create({ name: 'timing-sdk', rule: "tags CONTAINS 'timing-sdk'" })).segment;
    const r = unwrap(await sys.followUps.generateRetention({ kinds: ['OFFER'], segmentIds: [seg.id], offerName: 'Autumn' }));
    expect(r.createdCount).toBe(0);
    expect(r.skipped).toEqual([
      { customerId: c.id, kind: 'OFFER', date: expect.any(String), reason: 'Contact tolerance MONTHLY: too close to another contact' },
    ]);
    expect(r.skippedTolerance).toBe(1);
  });
});
