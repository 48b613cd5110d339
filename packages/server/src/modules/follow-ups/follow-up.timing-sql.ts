import { Prisma } from '../../generated/prisma/client.ts';
import type { ContactTime, ContactTolerance } from '../../generated/prisma/enums.ts';
import { TOLERANCE_DAYS } from './follow-up.cadence.ts';
import { CONTACT_WINDOWS } from './follow-up.timing.ts';

/**
 * The timing rules of follow-up.timing.ts for set-based SQL (the churn follow-up written inside the
 * loyalty statement): the same windows, time zones and tolerance gaps, from the same constants.
 */

/** The customer's time zone, else the shop's (followUpSettings.cadence.timeZone), else UTC. */
export const timeZoneSql = (customer: Prisma.Sql, shop: Prisma.Sql) =>
  Prisma.sql`COALESCE(${customer}."timeZone", (SELECT COALESCE(sh.settings->'cadence'->>'timeZone', 'UTC') FROM "Shop" sh WHERE sh.id = ${shop}))`;

/** The tolerance gap in days for a tolerance column (text); 0 without one (NEVER is excluded before). */
export const toleranceGapSql = (tolerance: Prisma.Sql) =>
  Prisma.sql`(CASE ${Prisma.join(
    (Object.keys(TOLERANCE_DAYS) as ContactTolerance[]).map(
      (k) => Prisma.sql`WHEN ${tolerance} = ${k} THEN ${TOLERANCE_DAYS[k] ?? 0}::int`,
    ),
    ' ',
  )} ELSE 0 END)`;

/**
 * The start of the customer's contact window on the local day `days` after `now` (a WEEKEND
 * customer: the Saturday on or after it), in their time zone: the SQL twin of placeInWindow for a
 * day-based due date.
 */
export function churnDueSql(customer: Prisma.Sql, shop: Prisma.Sql, now: Prisma.Sql, days: number): Prisma.Sql {
  const hour = Prisma.sql`(CASE ${Prisma.join(
    (Object.keys(CONTACT_WINDOWS) as ContactTime[]).map(
      (k) => Prisma.sql`WHEN ${customer}."preferredContactTime"::text = ${k} THEN ${CONTACT_WINDOWS[k].startHour}::int`,
    ),
    ' ',
  )} ELSE ${CONTACT_WINDOWS.ANY.startHour}::int END)`;
  return Prisma.sql`(SELECT (w.d + make_interval(hours => ${hour})) AT TIME ZONE w.z FROM (
      SELECT v.z, CASE WHEN ${customer}."preferredContactTime"::text = 'WEEKEND' AND extract(dow FROM v.d0) BETWEEN 1 AND 5
        THEN v.d0 + (6 - extract(dow FROM v.d0))::int ELSE v.d0 END AS d
      FROM (SELECT tz.z, ((${now} + make_interval(days => ${days}::int)) AT TIME ZONE tz.z)::date AS d0
        FROM (SELECT ${timeZoneSql(customer, shop)} AS z) tz) v) w)`;
}
