import { parsePrismaCursor } from '@pothos/plugin-prisma';
import { bail, col, registerRootCompiler } from '../../compiled/compiler.ts';
import { connectionFromRows, pageNodeSql, rowIdOrBail } from '../../compiled/connection.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import { MAX_PAGE_SIZE } from '../common/graphql-helpers.ts';
import { isUuid } from '../customers/customer.service.ts';
import * as agenda from './follow-up.agenda.ts';
import { requestTimeZone } from './follow-up.settings.ts';
import { accessOf } from './follow-up.type.ts';

/**
 * `agenda(...)` on the compiled path (compiled/compiler.ts): the page in one statement (each
 * follow-up's node built as JSON with its customer) and, when asked, the section counts in the same
 * statement (agendaCountsSql); the shop's time zone for "today" when none is asked comes from the
 * request's settings (the settings cache). Mirrors the resolver in
 * follow-up.graphql.ts; tests/compiled-reads.test.ts holds both paths to the same answers.
 */
registerRootCompiler('agenda', async (c, field, nodes) => {
  const node = nodes[0] ?? bail('agenda');
  const args = c.args(field, node) as {
    first?: number | null;
    after?: string | null;
    last?: number | null;
    before?: string | null;
    assigneeId?: string | null;
    filter?: { stages?: agenda.AgendaArgs['stages']; minLikelihood?: number | null; maxLikelihood?: number | null } | null;
    section?: agenda.AgendaSection | null;
    timeZone?: string | null;
  };
  if (args.last != null || args.before != null) bail('agenda: backwards');
  const first = args.first ?? 20;
  if (first < 0 || first > MAX_PAGE_SIZE) bail('agenda: page size');
  const assigneeId = args.assigneeId != null ? rowIdOrBail(args.assigneeId, 'StaffUser', 'agenda: assignee') : null;
  const after = args.after != null ? parsePrismaCursor(args.after) : null;
  if (after !== null && (typeof after !== 'string' || !isUuid(after))) bail('agenda: cursor');

  const { access } = accessOf(c.ctx);
  const now = new Date();
  const timeZone = args.timeZone ?? (await requestTimeZone(c.ctx));
  const agendaArgs: agenda.AgendaArgs = {
    assigneeId,
    stages: args.filter?.stages,
    minLikelihood: args.filter?.minLikelihood,
    maxLikelihood: args.filter?.maxLikelihood,
    section: args.section,
    timeZone,
  };
  // Its checks (an agent asking for another's agenda, bad bounds, an unknown time zone): the executor reports them.
  let eod: Date;
  try {
    eod = agenda.agendaWhere(access, agendaArgs, now).endOfDay;
  } catch {
    return bail('agenda: arguments');
  }
  const scope = agenda.agendaScope(access, agendaArgs);

  const { connType, p, nodeSql } = pageNodeSql(c, field, nodes, 'FollowUp');
  const f = c.alias();
  const conds: Prisma.Sql[] = [Prisma.sql`${col(f, 'status')} = 'PLANNED'`];
  if (scope.assigneeId) conds.push(Prisma.sql`${col(f, 'assigneeId')} = ${scope.assigneeId}::uuid`);
  const byCustomer: Prisma.Sql[] = [];
  if (agendaArgs.stages?.length) byCustomer.push(Prisma.sql`k."stage" = ANY(${agendaArgs.stages}::text[]::"LifecycleStage"[])`);
  if (agendaArgs.minLikelihood != null) byCustomer.push(Prisma.sql`k."dealLikelihood" >= ${agendaArgs.minLikelihood}`);
  if (agendaArgs.maxLikelihood != null) byCustomer.push(Prisma.sql`k."dealLikelihood" <= ${agendaArgs.maxLikelihood}`);
  if (byCustomer.length)
    conds.push(
      Prisma.sql`EXISTS (SELECT 1 FROM "Customer" k WHERE k."id" = ${col(f, 'customerId')} AND k."shopId" = ${col(f, 'shopId')} AND ${Prisma.join(byCustomer, ' AND ')})`,
    );
  if (args.section === 'OVERDUE') conds.push(Prisma.sql`${col(f, 'dueAt')} < ${now}::timestamptz`);
  if (args.section === 'DUE_TODAY')
    conds.push(Prisma.sql`${col(f, 'dueAt')} >= ${now}::timestamptz AND ${col(f, 'dueAt')} < ${eod}::timestamptz`);
  if (args.section === 'UPCOMING') conds.push(Prisma.sql`${col(f, 'dueAt')} >= ${eod}::timestamptz`);
  if (after !== null)
    conds.push(
      Prisma.sql`(${col(f, 'dueAt')}, ${col(f, 'id')}) >= (SELECT x."dueAt", x."id" FROM "FollowUp" x WHERE x."shopId" = ${col(f, 'shopId')} AND x."id" = ${after}::uuid)`,
    );
  const take = first + 1;
  const order = (x: string) => Prisma.sql`${col(x, 'dueAt')} ASC, ${col(x, 'id')} ASC`;
  const COUNT_FIELDS = ['totalCount', 'overdueCount', 'dueTodayCount', 'upcomingCount'];
  const wantCounts = [...c.subfields(connType, nodes).values()].some((n) => COUNT_FIELDS.includes(n[0]?.name.value ?? ''));
  type Row = { id: string | null; node: string | null; dueAt: Date | null; overdue?: number; dueToday?: number; upcoming?: number };
  const rows = await c.ctx.rows<Row>((shop) => {
    const page = Prisma.sql`SELECT ${col(p, 'shopId')}, ${col(p, 'id')}, ${col(p, 'dueAt')}, ${nodeSql} AS "node" FROM (
      SELECT * FROM "FollowUp" ${Prisma.raw(f)} WHERE ${col(f, 'shopId')} = ${shop} AND ${Prisma.join(conds, ' AND ')}
      ORDER BY ${order(f)} LIMIT ${take} OFFSET ${after === null ? 0 : 1}) ${Prisma.raw(p)}`;
    if (!wantCounts) return Prisma.sql`${page} ORDER BY ${order(p)}`;
    // Page and section counts in ONE statement, each its own sub-select (so the page keeps its index
    // order and limit): one row with NULL page columns when the page is empty, none when nothing counts.
    const q = c.alias();
    const k = c.alias();
    return Prisma.sql`SELECT COALESCE(${col(q, 'shopId')}, ${col(k, 'shopId')}, ${shop}) AS "shopId", ${col(q, 'id')}, ${col(q, 'dueAt')}, ${col(q, 'node')},
        ${col(k, 'overdue')}, ${col(k, 'dueToday')}, ${col(k, 'upcoming')}
      FROM (SELECT 1) AS one
      LEFT JOIN (${agenda.agendaCountsSql(shop, access, agendaArgs, now)}) ${Prisma.raw(k)} ON true
      LEFT JOIN (${page}) ${Prisma.raw(q)} ON true
      ORDER BY ${order(q)}`;
  });
  const counts = agenda.agendaCountsOf(rows[0]);
  const pageRows = rows.filter((r): r is Row & { id: string } => r.id !== null);
  return connectionFromRows(c, connType, nodes, {
    rows: pageRows,
    take,
    after: after !== null,
    fields: {
      totalCount: () => agenda.agendaTotal(counts, args.section),
      overdueCount: () => counts.overdue,
      dueTodayCount: () => counts.dueToday,
      upcomingCount: () => counts.upcoming,
    },
    edgeFields: { section: (r) => agenda.sectionOf(new Date(r.dueAt as Date), now, eod) },
  });
});
