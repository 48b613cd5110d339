/**
 * The queries of the peer comparison, each in three forms: the API's GraphQL document, the
 * PostGraphile (v5, amber preset) document reading the same rows, and the raw baseline's SQL
 * answering with the API's exact body. `canonical*` map each answer to one shape (same rows, same
 * nested data, uuids instead of global ids, ISO instants) so the three can be compared before timing.
 */
import type { SqlRunner } from '../packages/server/src/db/migrate.ts';
import { rawTimelineBody, TIMELINE_PAGE_SIZE, TIMELINE_QUERY, TIMELINE_RAW_SQL, type TimelineRawRow } from './timeline-harness.ts';

export const LIST_SIZE = 50;
export const ORDERS_SIZE = 20;

export type PeerQueryName = 'customers' | 'customersCount' | 'customerOrders' | 'timeline';
export const PEER_QUERY_NAMES: PeerQueryName[] = ['customers', 'customersCount', 'customerOrders', 'timeline'];

const b64 = (s: string) => Buffer.from(s).toString('base64');
const gid = (type: string, id: string) => b64(`${type}:${id}`);
const uuidOf = (globalId: string) => Buffer.from(globalId, 'base64').toString('utf8').split(':')[1] ?? globalId;
const iso = (v: unknown) => (v == null ? null : new Date(v as string).toISOString());
const displayName = (c: {
  firstName: string | null;
  lastName: string | null;
  company: string | null;
  email: string | null;
  phone: string | null;
}) => [c.firstName, c.lastName].filter(Boolean).join(' ') || c.company || c.email || c.phone || 'Unnamed customer';

// ---------------------------------------------------------------------------------------------
// Documents

const apiCustomers = (count: boolean) =>
  `query ${count ? 'CustomersListCount' : 'CustomersList'} { customers(first: ${LIST_SIZE}) { ${count ? 'totalCount ' : ''}edges { node { id displayName email stage owner { name } tags { name } consents { channel granted } } } pageInfo { hasNextPage endCursor } } }`;

const peerCustomers = (count: boolean) =>
  `query ${count ? 'CustomersListCount' : 'CustomersList'}($shopId: UUID!) { allCustomers(first: ${LIST_SIZE}, condition: { shopId: $shopId, status: ACTIVE }, orderBy: [CREATED_AT_DESC, ROW_ID_DESC]) { ${count ? 'totalCount ' : ''}nodes { rowId firstName lastName company email phone stage staffUserByOwnerId { name } customerTagsByShopIdAndCustomerId { nodes { tagByShopIdAndTagId { name } } } consentsByShopIdAndCustomerId { nodes { channel granted } } } pageInfo { hasNextPage endCursor } } }`;

const API_ORDERS = `query CustomerOrders($id: ID!) { customer(id: $id) { id orders(first: ${ORDERS_SIZE}) { edges { node { id externalId status placedAt currency } } pageInfo { hasNextPage } } } }`;
const PEER_ORDERS = `query CustomerOrders($id: UUID!) { customerByRowId(rowId: $id) { rowId ordersByShopIdAndCustomerId(first: ${ORDERS_SIZE}, orderBy: [PLACED_AT_DESC, ROW_ID_DESC]) { nodes { rowId externalId status placedAt currency } pageInfo { hasNextPage } } } }`;

/** PostGraphile has no union over tables: the stock way is a computed column (PEER_TIMELINE_SQL) returning a view. */
const PEER_TIMELINE = `query Timeline($id: UUID!) { customerByRowId(rowId: $id) { rowId timeline(first: ${TIMELINE_PAGE_SIZE}) {
  nodes { kind eventId at iType iChannel iDirection iSubject oExternalId oStatus oTotal oCurrency sFrom sTo sSource cChannel cGranted }
  pageInfo { hasNextPage } } } }`;

/**
 * Added to the bench database for the peer only: the customer's events as one view and a computed
 * column `Customer.timeline` over it, newest first with the API's tie-breaks (kind, then id).
 */
export const PEER_TIMELINE_SQL = `
CREATE VIEW "TimelineEvent" AS
  SELECT 'consent'::text AS kind, x.id AS "eventId", x."shopId", x."customerId", x."changedAt" AS at,
    NULL::text AS "iType", NULL::text AS "iChannel", NULL::text AS "iDirection", NULL::text AS "iSubject",
    NULL::text AS "oExternalId", NULL::text AS "oStatus", NULL::numeric AS "oTotal", NULL::text AS "oCurrency",
    NULL::text AS "sFrom", NULL::text AS "sTo", NULL::text AS "sSource", x.channel::text AS "cChannel", x.granted AS "cGranted"
  FROM "ConsentChange" x
  UNION ALL
  SELECT 'interaction', x.id, x."shopId", x."customerId", x."occurredAt", x.type::text, x.channel::text, x.direction::text, x.subject,
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM "Interaction" x WHERE x."deletedAt" IS NULL
  UNION ALL
  SELECT 'order', x.id, x."shopId", x."customerId", x."placedAt", NULL, NULL, NULL, NULL,
    x."externalId", x.status::text, x.total, x.currency, NULL, NULL, NULL, NULL, NULL
  FROM "Order" x
  UNION ALL
  SELECT 'stage', x.id, x."shopId", x."customerId", x.at, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    x."fromStage"::text, x."toStage"::text, x.source::text, NULL, NULL
  FROM "StageTransition" x;
CREATE FUNCTION "Customer_timeline"(c "Customer") RETURNS SETOF "TimelineEvent" LANGUAGE sql STABLE AS $$
  SELECT e.* FROM "TimelineEvent" e WHERE e."shopId" = c."shopId" AND e."customerId" = c.id ORDER BY e.at DESC, e.kind ASC, e."eventId" DESC
$$;`;

export type PeerIds = { shopId: string; customerId: string; secretKey: string };

export type PeerRequest = { method: 'POST'; headers: Record<string, string>; body: string };

/** The request each target receives for `name` (the raw baseline gets the API's). */
export function peerRequests(name: PeerQueryName, ids: PeerIds): { api: PeerRequest; peer: PeerRequest } {
  const post = (body: unknown, auth?: string): PeerRequest => ({
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
    body: JSON.stringify(body),
  });
  switch (name) {
    case 'customers':
    case 'customersCount': {
      const count = name === 'customersCount';
      return {
        api: post({ query: apiCustomers(count) }, ids.secretKey),
        peer: post({ query: peerCustomers(count), variables: { shopId: ids.shopId } }),
      };
    }
    case 'customerOrders':
      return {
        api: post({ query: API_ORDERS, variables: { id: gid('Customer', ids.customerId) } }, ids.secretKey),
        peer: post({ query: PEER_ORDERS, variables: { id: ids.customerId } }),
      };
    case 'timeline':
      return {
        api: post({ query: TIMELINE_QUERY, variables: { id: gid('Customer', ids.customerId) } }, ids.secretKey),
        peer: post({ query: PEER_TIMELINE, variables: { id: ids.customerId } }),
      };
  }
}

// ---------------------------------------------------------------------------------------------
// Raw baseline (one statement per request, answering with the API's body)

const RAW_CUSTOMERS = `
WITH page AS (
  SELECT c."id", c."firstName", c."lastName", c."company", c."email", c."phone", c."stage", c."ownerId", c."createdAt"
  FROM "Customer" c
  WHERE c."shopId" = $1 AND c."status" = 'ACTIVE'
  ORDER BY c."createdAt" DESC, c."id" DESC
  LIMIT $2
)
SELECT p."id", p."firstName", p."lastName", p."company", p."email", p."phone", p."stage"::text AS "stage", s."name" AS "ownerName",
       COALESCE((SELECT json_agg(t."name" ORDER BY t."name") FROM "CustomerTag" ct JOIN "Tag" t ON t."id" = ct."tagId"
                 WHERE ct."customerId" = p."id"), '[]'::json) AS "tags",
       COALESCE((SELECT json_agg(json_build_object('channel', k."channel", 'granted', k."granted") ORDER BY k."channel")
                 FROM "Consent" k WHERE k."customerId" = p."id"), '[]'::json) AS "consents",
       CASE WHEN $3::boolean THEN (SELECT count(*)::int FROM "Customer" WHERE "shopId" = $1 AND "status" = 'ACTIVE') END AS "totalCount"
FROM page p LEFT JOIN "StaffUser" s ON s."id" = p."ownerId"
ORDER BY p."createdAt" DESC, p."id" DESC`;

type RawCustomer = {
  id: string;
  firstName: string | null;
  lastName: string | null;
  company: string | null;
  email: string | null;
  phone: string | null;
  stage: string;
  ownerName: string | null;
  tags: string[];
  consents: { channel: string; granted: boolean }[];
  totalCount: number | null;
};

const RAW_ORDERS = `
SELECT c."id" AS "customerId", o."id", o."externalId", o."status"::text AS "status", o."placedAt", o."currency"
FROM "Customer" c
LEFT JOIN LATERAL (
  SELECT x."id", x."externalId", x."status", x."placedAt", x."currency" FROM "Order" x
  WHERE x."shopId" = $1 AND x."customerId" = c."id" ORDER BY x."placedAt" DESC, x."id" DESC LIMIT $3
) o ON true
WHERE c."shopId" = $1 AND c."id" = $2
ORDER BY o."placedAt" DESC, o."id" DESC`;

type RawOrder = { customerId: string; id: string | null; externalId: string; status: string; placedAt: Date; currency: string };

type Body = { operationName?: string; query?: string; variables?: { id?: string } };

/** The raw baseline's answer to a request of the API (dispatched on the operation name). */
export async function answerRaw(requestBody: string, runner: SqlRunner, shopId: string): Promise<string> {
  const body = JSON.parse(requestBody) as Body;
  const op = /^query (\w+)/.exec(body.query ?? '')?.[1];
  if (op === 'CustomersList' || op === 'CustomersListCount') {
    const count = op === 'CustomersListCount';
    const rows = await runner.query<RawCustomer>(RAW_CUSTOMERS, [shopId, LIST_SIZE + 1, count]);
    const page = rows.slice(0, LIST_SIZE);
    const last = page.at(-1);
    return JSON.stringify({
      data: {
        customers: {
          ...(count ? { totalCount: rows[0]?.totalCount ?? 0 } : {}),
          edges: page.map((c) => ({
            node: {
              id: gid('Customer', c.id),
              displayName: displayName(c),
              email: c.email,
              stage: c.stage,
              owner: c.ownerName == null ? null : { name: c.ownerName },
              tags: c.tags.map((name) => ({ name })),
              consents: c.consents,
            },
          })),
          pageInfo: { hasNextPage: rows.length > LIST_SIZE, endCursor: last ? b64(`GPC:S:${last.id}`) : null },
        },
      },
    });
  }
  const customerId = uuidOf(body.variables?.id ?? '');
  if (op === 'CustomerOrders') {
    const rows = await runner.query<RawOrder>(RAW_ORDERS, [shopId, customerId, ORDERS_SIZE + 1]);
    if (!rows.length) return JSON.stringify({ data: { customer: null } });
    const orders = rows.filter((r) => r.id != null);
    return JSON.stringify({
      data: {
        customer: {
          id: gid('Customer', customerId),
          orders: {
            edges: orders.slice(0, ORDERS_SIZE).map((o) => ({
              node: {
                id: gid('Order', o.id as string),
                externalId: o.externalId,
                status: o.status,
                placedAt: iso(o.placedAt),
                currency: o.currency,
              },
            })),
            pageInfo: { hasNextPage: orders.length > ORDERS_SIZE },
          },
        },
      },
    });
  }
  if (op === 'Timeline') {
    const rows = await runner.query<TimelineRawRow>(TIMELINE_RAW_SQL, [shopId, customerId, TIMELINE_PAGE_SIZE + 1]);
    return rawTimelineBody(customerId, rows.length ? rows : null);
  }
  throw new Error(`raw baseline: unknown operation ${op}`);
}

// ---------------------------------------------------------------------------------------------
// Canonical forms (for the equality check)

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON answers of three servers, read by path and compared whole
type Json = Record<string, any>;

/** Consents as a set (PostGraphile orders related rows only by indexed leading columns; channel is not one). */
const consentSet = (list: Json[]) =>
  list.map((k) => ({ channel: k.channel as string, granted: k.granted as boolean })).sort((a, b) => a.channel.localeCompare(b.channel));

/** The API's (and raw baseline's) answer in the canonical shape. */
export function canonicalApi(name: PeerQueryName, json: Json): unknown {
  const d = json.data;
  switch (name) {
    case 'customers':
    case 'customersCount':
      return {
        ...(name === 'customersCount' ? { totalCount: d.customers.totalCount } : {}),
        hasNextPage: d.customers.pageInfo.hasNextPage,
        rows: d.customers.edges.map(({ node: c }: Json) => ({
          id: uuidOf(c.id),
          displayName: c.displayName,
          email: c.email,
          stage: c.stage,
          owner: c.owner?.name ?? null,
          tags: c.tags.map((t: Json) => t.name).sort(),
          consents: consentSet(c.consents),
        })),
      };
    case 'customerOrders':
      return {
        customer: uuidOf(d.customer.id),
        hasNextPage: d.customer.orders.pageInfo.hasNextPage,
        rows: d.customer.orders.edges.map(({ node: o }: Json) => ({
          id: uuidOf(o.id),
          externalId: o.externalId,
          status: o.status,
          placedAt: iso(o.placedAt),
          currency: o.currency,
        })),
      };
    case 'timeline':
      return {
        customer: uuidOf(d.customer.id),
        hasNextPage: d.customer.timeline.pageInfo.hasNextPage,
        rows: d.customer.timeline.edges.map(({ at, node: n }: Json) => {
          switch (n.__typename) {
            case 'Interaction':
              return {
                kind: 'interaction',
                id: uuidOf(n.id),
                at: iso(at),
                type: n.type,
                channel: n.channel,
                direction: n.direction,
                subject: n.subject,
              };
            case 'Order':
              return {
                kind: 'order',
                id: uuidOf(n.id),
                at: iso(at),
                externalId: n.externalId,
                status: n.status,
                total: Number(n.total),
                currency: n.currency,
              };
            case 'StageTransition':
              return { kind: 'stage', id: n.id, at: iso(at), from: n.fromStage, to: n.toStage, source: n.source };
            default:
              return { kind: 'consent', at: iso(at), channel: n.consentChannel, granted: n.granted };
          }
        }),
      };
  }
}

/** PostGraphile's answer in the canonical shape. */
export function canonicalPeer(name: PeerQueryName, json: Json): unknown {
  const d = json.data;
  switch (name) {
    case 'customers':
    case 'customersCount':
      return {
        ...(name === 'customersCount' ? { totalCount: d.allCustomers.totalCount } : {}),
        hasNextPage: d.allCustomers.pageInfo.hasNextPage,
        rows: d.allCustomers.nodes.map((c: Json) => ({
          id: c.rowId,
          displayName: displayName(c as never),
          email: c.email,
          stage: c.stage,
          owner: c.staffUserByOwnerId?.name ?? null,
          tags: c.customerTagsByShopIdAndCustomerId.nodes.map((t: Json) => t.tagByShopIdAndTagId.name).sort(),
          consents: consentSet(c.consentsByShopIdAndCustomerId.nodes),
        })),
      };
    case 'customerOrders':
      return {
        customer: d.customerByRowId.rowId,
        hasNextPage: d.customerByRowId.ordersByShopIdAndCustomerId.pageInfo.hasNextPage,
        rows: d.customerByRowId.ordersByShopIdAndCustomerId.nodes.map((o: Json) => ({
          id: o.rowId,
          externalId: o.externalId,
          status: o.status,
          placedAt: iso(o.placedAt),
          currency: o.currency,
        })),
      };
    case 'timeline':
      return {
        customer: d.customerByRowId.rowId,
        hasNextPage: d.customerByRowId.timeline.pageInfo.hasNextPage,
        rows: d.customerByRowId.timeline.nodes.map((e: Json) => {
          const at = iso(e.at);
          switch (e.kind) {
            case 'interaction':
              return { kind: e.kind, id: e.eventId, at, type: e.iType, channel: e.iChannel, direction: e.iDirection, subject: e.iSubject };
            case 'order':
              return {
                kind: e.kind,
                id: e.eventId,
                at,
                externalId: e.oExternalId,
                status: e.oStatus,
                total: Number(e.oTotal),
                currency: e.oCurrency,
              };
            case 'stage':
              return { kind: e.kind, id: e.eventId, at, from: e.sFrom, to: e.sTo, source: e.sSource };
            default:
              return { kind: 'consent', at, channel: e.cChannel, granted: e.cGranted };
          }
        }),
      };
  }
}
