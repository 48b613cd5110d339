import { encodeGlobalID } from '@pothos/plugin-relay';
import type { Plugin } from 'graphql-yoga';
import { type Context, createContextInner, credentialsFromHeaders, resolveViewer, type Services } from '../../context.ts';
import { AppError, ForbiddenError, UnauthenticatedError } from '../../errors.ts';
import { allows, type ScopeDeclaration } from '../auth/auth.policy.ts';
import { segmentRowId } from './segment.service.ts';

/** Who may export a segment's members (the HTTP route's declaration, evaluated like a field's). */
export const SEGMENT_EXPORT_SCOPES: ScopeDeclaration = { scope: 'segments:read', $all: { scope: 'contacts:read' } };

/**
 * GET /segments/{id}/export?format=csv|jsonl — the members of a saved segment, streamed: keyset
 * pages of EXPORT_PAGE rows are read one at a time as the client consumes the body, so memory does
 * not grow with the segment. Same credentials as /graphql (secret key with customers:read); a
 * segment of another shop is a 404. CSV cells starting with = + - @ (or tab / CR) are prefixed
 * with ' so spreadsheets do not evaluate them.
 */
export const EXPORT_PAGE = 1000;
export const EXPORT_COLUMNS = [
  'id',
  'externalId',
  'email',
  'phone',
  'firstName',
  'lastName',
  'company',
  'stage',
  'country',
  'city',
  'createdAt',
  'enteredAt',
] as const;
const PATH = /^\/segments\/([^/]+)\/export$/;

export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = v instanceof Date ? v.toISOString() : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

type Row = Record<(typeof EXPORT_COLUMNS)[number], unknown>;

async function* memberRows(ctx: Context, segmentId: string): AsyncGenerator<Row> {
  let after: string | null = null;
  for (;;) {
    const page: { customerId: string; enteredAt: Date; customer: Record<string, unknown> }[] = await ctx.db.segmentMember.findMany({
      where: { segmentId, customer: { status: 'ACTIVE' }, ...(after ? { customerId: { gt: after } } : {}) },
      orderBy: { customerId: 'asc' },
      take: EXPORT_PAGE,
      select: {
        customerId: true,
        enteredAt: true,
        customer: {
          select: {
            externalId: true,
            email: true,
            phone: true,
            firstName: true,
            lastName: true,
            company: true,
            stage: true,
            country: true,
            city: true,
            createdAt: true,
          },
        },
      },
    });
    for (const m of page) {
      yield { id: encodeGlobalID('Customer', m.customerId), ...m.customer, enteredAt: m.enteredAt } as Row;
    }
    if (page.length < EXPORT_PAGE) return;
    after = (page.at(-1) as { customerId: string }).customerId;
  }
}

function json(status: number, code: string, message: string) {
  return new Response(JSON.stringify({ errors: [{ message, extensions: { code } }] }), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

export async function exportResponse(services: Services, request: Request, rawSegmentId: string, format: string): Promise<Response> {
  if (request.method !== 'GET') return json(405, 'METHOD_NOT_ALLOWED', 'Use GET');
  if (format !== 'csv' && format !== 'jsonl') return json(400, 'VALIDATION_FAILED', 'format must be csv or jsonl');
  let ctx: Context;
  try {
    const viewer = await resolveViewer(
      services,
      credentialsFromHeaders((h) => request.headers.get(h)),
    );
    ctx = createContextInner(services, viewer);
    if (viewer.kind === 'anonymous') throw new UnauthenticatedError();
    if (!allows(SEGMENT_EXPORT_SCOPES, viewer, await ctx.agentGrants())) {
      throw new ForbiddenError('This key lacks the scopes segments:read and contacts:read (included in customers:read)');
    }
  } catch (e) {
    if (e instanceof AppError) return json(e.code === 'UNAUTHENTICATED' ? 401 : 403, e.code, e.message);
    throw e;
  }
  const segmentId = segmentRowId(rawSegmentId);
  const segment = segmentId ? await ctx.db.segment.findFirst({ where: { id: segmentId }, select: { id: true, name: true } }) : null;
  if (!segment) return json(404, 'NOT_FOUND', 'Segment not found');
  const rows = memberRows(ctx, segment.id);
  const enc = new TextEncoder();
  let header = format === 'csv';
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        let chunk = '';
        if (header) {
          chunk += `${EXPORT_COLUMNS.join(',')}\r\n`;
          header = false;
        }
        // About one page per pull: the next page is read only when the client wants more.
        for (let i = 0; i < EXPORT_PAGE; i++) {
          const next = await rows.next();
          if (next.done) {
            if (chunk) controller.enqueue(enc.encode(chunk));
            controller.close();
            return;
          }
          const r = next.value;
          chunk +=
            format === 'csv'
              ? `${EXPORT_COLUMNS.map((c) => csvCell(r[c])).join(',')}\r\n`
              : `${JSON.stringify(Object.fromEntries(EXPORT_COLUMNS.map((c) => [c, r[c] ?? null])))}\n`;
        }
        controller.enqueue(enc.encode(chunk));
      } catch (e) {
        services.logger.error('segment export failed', { error: String(e) });
        controller.error(e);
      }
    },
    async cancel() {
      await rows.return(undefined);
    },
  });
  const filename = `segment-${segment.id}.${format}`;
  return new Response(body, {
    status: 200,
    headers: {
      'content-type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      'content-disposition': `attachment; filename="${filename}"`,
      'cache-control': 'no-store',
    },
  });
}

/** Serves the export route on the Yoga server (like /health). */
export function segmentExportPlugin(services: Services): Plugin {
  return {
    async onRequest({ url, request, endResponse }) {
      const m = PATH.exec(url.pathname);
      if (!m) return;
      endResponse(await exportResponse(services, request, decodeURIComponent(m[1] as string), url.searchParams.get('format') ?? 'csv'));
    },
  };
}
