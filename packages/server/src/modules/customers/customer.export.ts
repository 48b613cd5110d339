import { encodeGlobalID } from '@pothos/plugin-relay';
import type { Plugin } from 'graphql-yoga';
import { type Context, createContextInner, credentialsFromHeaders, resolveViewer, type Services } from '../../context.ts';
import type { ScopedDb } from '../../db/tenant.ts';
import { AppError, ForbiddenError, NotFoundError, UnauthenticatedError } from '../../errors.ts';
import { allows, type ScopeDeclaration } from '../auth/auth.policy.ts';
import { emitEvent } from '../events/event.service.ts';
import { indicatorScores } from '../loyalty/loyalty.service.ts';
import { getLoyaltySettings } from '../loyalty/loyalty.settings.ts';
import { getCustomer, isUuid } from './customer.service.ts';

/**
 * Data access export (GDPR Art. 15, Shopify's customers/data_request): one JSON document with
 * everything held about a person, built from SECTIONS. Each section names the tables it covers;
 * a test enumerates every table with a customer reference (foreign key to Customer or a
 * `customerId` column) from information_schema and fails when one is not covered, so a module that
 * adds such a table adds its section to the list in modules/registry.ts.
 *
 * A section is either a value (`load`) or a list read in keyset pages (`pages`), so the HTTP
 * variant (GET /customers/{id}/export, GET /me/export) streams long histories without holding
 * them in memory; the GraphQL fields collect the same sections into one value.
 */
export type ExportScope = {
  /** The customer's own id. */
  customerId: string;
  /** Its id and the ids of the tombstones merged into it (their history is its history). */
  customerIds: string[];
};
export type ExportSection = {
  /** Key in the export document. */
  key: string;
  /** Tables (as named in the database) whose rows about the person this section carries. */
  tables: string[];
  /** What the section holds, shown in the document's `sections` index. */
  description: string;
} & (
  | { load: (db: ScopedDb, scope: ExportScope) => Promise<unknown> }
  | { pages: (db: ScopedDb, scope: ExportScope, after: string | null) => Promise<{ items: unknown[]; next: string | null }> }
);

export const EXPORT_PAGE = 500;
const sections: ExportSection[] = [];

/** Adds a section to every export (a module holding personal data in a table of its own). */
export function registerExportSection(section: ExportSection) {
  if (sections.some((s) => s.key === section.key)) throw new Error(`Export section ${section.key} registered twice`);
  sections.push(section);
}
export const exportSections = (): readonly ExportSection[] => sections;

/** A row as exported: without the tenant column. */
function clean<T extends Record<string, unknown>>(row: T): Omit<T, 'shopId'> {
  const { shopId: _s, ...rest } = row;
  return rest;
}

/** Keyset pages of a model by id, for `pages` sections. */
function byId<T extends { id: string }>(
  find: (args: { where: object; orderBy: { id: 'asc' }; take: number }) => Promise<T[]>,
  where: (scope: ExportScope) => object,
  map: (row: T) => unknown = (r) => clean(r as never),
) {
  return async (_db: ScopedDb, scope: ExportScope, after: string | null) => {
    const rows = await find({
      where: { ...where(scope), ...(after ? { id: { gt: after } } : {}) },
      orderBy: { id: 'asc' },
      take: EXPORT_PAGE,
    });
    return { items: rows.map(map), next: rows.length === EXPORT_PAGE ? (rows.at(-1)?.id ?? null) : null };
  };
}

/** Pages of a table with bigint ids (outbox, behaviour events) about the person's customer ids. */
export function byCustomerBigId<T extends { id: bigint }>(
  find: (args: { where: object; orderBy: { id: 'asc' }; take: number }) => Promise<T[]>,
  map: (row: T) => unknown,
) {
  return async (_db: ScopedDb, scope: ExportScope, after: string | null) => {
    const rows = await find({
      where: { customerId: { in: scope.customerIds }, ...(after ? { id: { gt: BigInt(after) } } : {}) },
      orderBy: { id: 'asc' },
      take: EXPORT_PAGE,
    });
    return { items: rows.map(map), next: rows.length === EXPORT_PAGE ? String(rows.at(-1)?.id) : null };
  };
}

// The core sections.
const of = (scope: ExportScope) => ({ customerId: { in: scope.customerIds } });

/** The core sections, in document order (registered by the composition root, modules/registry.ts). */
export const CORE_EXPORT_SECTIONS: ExportSection[] = [
  {
    key: 'profile',
    tables: ['Customer'],
    description: 'The profile (identifiers, contact data, subjective facet, source, owner, stage), and the profiles merged into it.',
    load: async (db, scope) => {
      const rows = await db.customer.findMany({ where: { id: { in: scope.customerIds } } });
      const main = rows.find((r) => r.id === scope.customerId);
      const referrals = await db.customer.findMany({
        where: { sourceReferrerId: scope.customerId },
        select: { id: true, createdAt: true },
      });
      return {
        ...(main ? clean(main) : {}),
        mergedProfiles: rows.filter((r) => r.id !== scope.customerId).map(clean),
        referredCustomerIds: referrals.map((r) => r.id),
      };
    },
  },
  {
    key: 'merges',
    tables: ['CustomerMerge'],
    description: 'Merges into this customer, with the snapshot of each merged profile as it was.',
    load: async (db, scope) =>
      (
        await db.customerMerge.findMany({
          where: { OR: [{ survivorId: { in: scope.customerIds } }, { mergedId: { in: scope.customerIds } }] },
        })
      ).map(clean),
  },
  {
    key: 'tags',
    tables: ['CustomerTag'],
    description: 'Tags given to the customer.',
    load: async (db, scope) =>
      (await db.customerTag.findMany({ where: of(scope), include: { tag: { select: { name: true } } } })).map((t) => ({
        name: t.tag.name,
        addedAt: t.createdAt,
      })),
  },
  {
    key: 'consents',
    tables: ['Consent'],
    description:
      'Current consent per channel, with its proof (wording or text version, source, IP, user agent, legal basis, double opt-in state).',
    load: async (db, scope) =>
      (await db.consent.findMany({ where: of(scope), orderBy: { channel: 'asc' } })).map(({ confirmationTokenHash: _h, ...c }) => clean(c)),
  },
  {
    key: 'consentHistory',
    tables: ['ConsentChange'],
    description: 'Every consent grant, withdrawal, request and confirmation, with its proof.',
    pages: (db, scope, after) => byId((a) => db.consentChange.findMany(a), of)(db, scope, after),
  },
  {
    key: 'stageHistory',
    tables: ['StageTransition'],
    description: 'Every lifecycle stage move.',
    pages: (db, scope, after) => byId((a) => db.stageTransition.findMany(a), of)(db, scope, after),
  },
  {
    key: 'interactions',
    tables: ['Interaction'],
    description: 'Every recorded touchpoint (calls, emails, visits, reviews, ...), deleted ones included while they are kept.',
    pages: (db, scope, after) => byId((a) => db.interaction.findMany(a), of)(db, scope, after),
  },
  {
    key: 'orders',
    tables: ['Order', 'OrderItem'],
    description: 'Orders with their items.',
    pages: (db, scope, after) => byId((a) => db.order.findMany({ ...a, include: { items: true } }), of)(db, scope, after),
  },
  {
    key: 'followUps',
    tables: ['FollowUp'],
    description: 'Planned and done follow-ups (goal, notes, outcome).',
    pages: (db, scope, after) => byId((a) => db.followUp.findMany(a), of)(db, scope, after),
  },
  {
    key: 'followUpDoubts',
    tables: ['FollowUpDoubt'],
    description: 'Doubts and objections raised in follow-ups, and their resolutions.',
    pages: (db, scope, after) => byId((a) => db.followUpDoubt.findMany(a), of)(db, scope, after),
  },
  {
    key: 'leadAssignments',
    tables: ['LeadAssignment'],
    description: 'Who the customer was assigned to as a lead, and when.',
    pages: (db, scope, after) => byId((a) => db.leadAssignment.findMany(a), of)(db, scope, after),
  },
  {
    key: 'segmentMemberships',
    tables: ['SegmentMember'],
    description: 'Saved segments the customer is in (name, rule, since).',
    load: async (db, scope) =>
      (await db.segmentMember.findMany({ where: of(scope), include: { segment: { select: { name: true, rule: true } } } })).map((m) => ({
        segmentId: m.segmentId,
        name: m.segment.name,
        rule: m.segment.rule,
        enteredAt: m.enteredAt,
      })),
  },
  {
    key: 'loyalty',
    tables: ['CustomerMetrics'],
    description: 'Loyalty metrics (RFM, values, indicators, score, churn risk, latest satisfaction answers) with how the score is made up.',
    load: async (db, scope) => {
      const m = await db.customerMetrics.findUnique({ where: { customerId: scope.customerId } });
      if (!m) return null;
      const settings = await getLoyaltySettings(db);
      return {
        ...clean(m),
        explanation: {
          indicators: indicatorScores(m as never, settings),
          churnReasons: m.churnReasons,
          rfm: 'recency, frequency and monetary quintile scores (1-5) within the shop; 0 = never bought',
        },
      };
    },
  },
  {
    key: 'points',
    tables: ['PointsAccount'],
    description: 'Points balance, points earned over time and tier.',
    load: async (db, scope) => {
      const a = await db.pointsAccount.findUnique({ where: { customerId: scope.customerId } });
      return a ? clean(a) : null;
    },
  },
  {
    key: 'pointsMovements',
    tables: ['PointsMovement'],
    description: 'Every points movement (earned, redeemed, expired, adjusted).',
    pages: (db, scope, after) => byId((a) => db.pointsMovement.findMany(a), of)(db, scope, after),
  },
  {
    key: 'tierChanges',
    tables: ['TierChange'],
    description: 'Every tier change.',
    pages: (db, scope, after) => byId((a) => db.tierChange.findMany(a), of)(db, scope, after),
  },
  {
    key: 'events',
    tables: ['Event'],
    description: 'Change events about the customer still kept in the outbox (ids and facts).',
    pages: (db, scope, after) =>
      byCustomerBigId(
        (a) => db.event.findMany(a),
        (e) => ({ id: String(e.id), type: e.type, payload: e.payload, createdAt: e.createdAt }),
      )(db, scope, after),
  },
];

/** Lost and disqualified leads (modules/leads), listed in modules/registry.ts. */
export const LEAD_LOSS_EXPORT_SECTION: ExportSection = {
  key: 'leadLosses',
  tables: ['LeadLoss'],
  description: 'Times the customer, as a lead, was recorded lost or disqualified (reason, note, stage reached), and when they came back.',
  pages: (db, scope, after) => byId((a) => db.leadLoss.findMany(a), of)(db, scope, after),
};
/** The audit entries about the customer (modules/audit), listed in modules/registry.ts. */
export const AUDIT_EXPORT_SECTION: ExportSection = {
  key: 'auditLog',
  tables: ['AuditEntry'],
  description:
    'Audit entries about the customer: which operation changed which fields of their records, when, and who acted (values are redacted after erasure).',
  pages: async (db, scope, after) => {
    const rows = await db.auditEntry.findMany({
      where: { customerId: { in: scope.customerIds }, ...(after ? { id: { gt: BigInt(after) } } : {}) },
      orderBy: { id: 'asc' },
      take: EXPORT_PAGE,
    });
    return {
      items: rows.map(({ shopId: _s, id, ...e }) => ({ ...e, id: String(id) })),
      next: rows.length === EXPORT_PAGE ? String(rows.at(-1)?.id) : null,
    };
  },
};

/** Resolves the customer (following merges) and the ids its history is filed under. */
export async function exportScope(db: ScopedDb, id: string, path: string[] = ['id']): Promise<ExportScope> {
  const c = isUuid(id) ? await getCustomer(db, id, true) : null;
  if (!c || c.status === 'MERGED') throw new NotFoundError('Customer', path);
  const tombstones = await db.customer.findMany({ where: { mergedIntoId: c.id }, select: { id: true } });
  return { customerId: c.id, customerIds: [c.id, ...tombstones.map((t) => t.id)] };
}

export type ExportRequester = 'SECRET_KEY' | 'CUSTOMER';

/** Records CUSTOMER_DATA_REQUESTED (who asked, through which door). */
export async function recordDataRequest(db: ScopedDb, scope: ExportScope, requestedBy: ExportRequester, via: 'graphql' | 'http') {
  await db.$transaction(async (t) => {
    await emitEvent(t, {
      type: 'CUSTOMER_DATA_REQUESTED',
      customerId: scope.customerId,
      payload: { customerId: encodeGlobalID('Customer', scope.customerId), requestedBy, via },
    });
  });
}

const header = (scope: ExportScope) => ({
  customerId: encodeGlobalID('Customer', scope.customerId),
  exportedAt: new Date().toISOString(),
  sections: Object.fromEntries(sections.map((s) => [s.key, { tables: s.tables, description: s.description }])),
});

/** The whole export as one value (GraphQL). */
export async function buildCustomerExport(db: ScopedDb, scope: ExportScope): Promise<Record<string, unknown>> {
  const doc: Record<string, unknown> = header(scope);
  for (const s of sections) {
    if ('load' in s) doc[s.key] = await s.load(db, scope);
    else {
      const items: unknown[] = [];
      let after: string | null = null;
      do {
        const page: { items: unknown[]; next: string | null } = await s.pages(db, scope, after);
        items.push(...page.items);
        after = page.next;
      } while (after);
      doc[s.key] = items;
    }
  }
  return JSON.parse(toJson(doc));
}

/** JSON of exported rows: bigints as strings, Decimals and Dates through their toJSON. */
export const toJson = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? String(x) : x));

/** The same document as a stream of JSON text: one section (or one page of one) at a time. */
export function streamCustomerExport(db: ScopedDb, scope: ExportScope, onError: (e: unknown) => void): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  const head = toJson(header(scope));
  let i = 0;
  let after: string | null = null;
  let inList = false;
  let first = true;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(enc.encode(head.slice(0, -1)));
    },
    async pull(controller) {
      try {
        const s = sections[i];
        if (!s) {
          controller.enqueue(enc.encode('}\n'));
          controller.close();
          return;
        }
        if ('load' in s) {
          controller.enqueue(enc.encode(`,${JSON.stringify(s.key)}:${toJson((await s.load(db, scope)) ?? null)}`));
          i++;
          return;
        }
        const page: { items: unknown[]; next: string | null } = await s.pages(db, scope, after);
        let chunk = inList ? '' : `,${JSON.stringify(s.key)}:[`;
        inList = true;
        for (const item of page.items) {
          chunk += `${first ? '' : ','}${toJson(item)}`;
          first = false;
        }
        after = page.next;
        if (!after) {
          chunk += ']';
          inList = false;
          first = true;
          i++;
        }
        controller.enqueue(enc.encode(chunk));
      } catch (e) {
        onError(e);
        controller.error(e);
      }
    },
  });
}

/** Who may export a customer's data (the `customerDataExport` field declares the same). */
export const CUSTOMER_EXPORT_SCOPES: ScopeDeclaration = { scope: 'contacts:read' };

const CUSTOMER_PATH = /^\/customers\/([^/]+)\/export$/;
const ME_PATH = /^\/me\/export$/;

function jsonError(status: number, code: string, message: string) {
  return new Response(JSON.stringify({ errors: [{ message, extensions: { code } }] }), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

async function exportResponse(services: Services, request: Request, customerGid: string | null): Promise<Response> {
  if (request.method !== 'GET') return jsonError(405, 'METHOD_NOT_ALLOWED', 'Use GET');
  let ctx: Context;
  let customerId: string;
  let requestedBy: ExportRequester;
  try {
    ctx = createContextInner(
      services,
      await resolveViewer(
        services,
        credentialsFromHeaders((h) => request.headers.get(h)),
      ),
    );
    const viewer = ctx.viewer;
    if (viewer.kind === 'anonymous') throw new UnauthenticatedError();
    if (customerGid === null) {
      // GET /me/export: the customer named by the token (as `myDataExport`).
      if (viewer.kind !== 'publishable' || !viewer.customerId) {
        throw new ForbiddenError('A publishable key with an x-customer-token is required');
      }
      customerId = viewer.customerId;
      requestedBy = 'CUSTOMER';
    } else {
      // GET /customers/{id}/export: the declaration of `customerDataExport`.
      if (!allows(CUSTOMER_EXPORT_SCOPES, viewer, await ctx.agentGrants())) {
        throw new ForbiddenError('This key lacks the scope contacts:read (included in customers:read)');
      }
      const decoded = Buffer.from(customerGid, 'base64').toString('utf8');
      customerId = decoded.startsWith('Customer:') ? decoded.slice('Customer:'.length) : customerGid;
      requestedBy = 'SECRET_KEY';
    }
  } catch (e) {
    if (e instanceof AppError) return jsonError(e.code === 'UNAUTHENTICATED' ? 401 : 403, e.code, e.message);
    throw e;
  }
  let scope: ExportScope;
  try {
    scope = await exportScope(ctx.db, customerId);
  } catch (e) {
    if (e instanceof NotFoundError) return jsonError(404, 'NOT_FOUND', 'Customer not found');
    throw e;
  }
  await recordDataRequest(ctx.db, scope, requestedBy, 'http');
  const body = streamCustomerExport(ctx.db, scope, (e) => services.logger.error('customer export failed', { error: String(e) }));
  return new Response(body, {
    status: 200,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'content-disposition': `attachment; filename="customer-${scope.customerId}.json"`,
      'cache-control': 'no-store',
    },
  });
}

/**
 * GET /customers/{id}/export (secret key with customers:read) and GET /me/export (publishable key
 * with x-customer-token): the data access export, streamed.
 */
export function customerExportPlugin(services: Services): Plugin {
  return {
    async onRequest({ url, request, endResponse }) {
      const m = CUSTOMER_PATH.exec(url.pathname);
      if (m) return endResponse(await exportResponse(services, request, decodeURIComponent(m[1] as string)));
      if (ME_PATH.test(url.pathname)) return endResponse(await exportResponse(services, request, null));
    },
  };
}
