import { decodeGlobalID } from '@pothos/plugin-relay';
import type { Plugin } from 'graphql-yoga';
import { type Context, createContextInner, credentialsFromHeaders, resolveViewer, type Services } from '../../context.ts';
import type { DatabaseOptions } from '../../db/database.ts';
import { AppError, ForbiddenError, PayloadTooLargeError, UnauthenticatedError, ValidationError } from '../../errors.ts';
import type { ImportFormat, ImportKind } from '../../generated/prisma/enums.ts';
import { allows } from '../auth/auth.policy.ts';
import { isUuid } from '../customers/customer.service.ts';
import {
  IMPORT_READ_SCOPES,
  IMPORT_WRITE_SCOPES,
  importGid,
  prewarmImportWorker,
  rejectionsCsv,
  storeUpload,
  WORKER_MIN_BYTES,
} from './import.service.ts';

/**
 * The HTTP side of bulk imports (docs/import.md):
 * - POST /imports?kind=customers|orders|interactions[&format=csv|jsonl]: the file as the request body
 *   (secret key with contacts:write for customers, orders:write for orders and interactions), streamed into the database in
 *   256 KiB chunks, at most IMPORT_MAX_BYTES (else 413 PAYLOAD_TOO_LARGE, nothing kept). Answers 201
 *   with the upload's id for `startImport`.
 * - GET /imports/{id}/rejections: the rejected rows as CSV (line, field, reason, value), with the
 *   read scope of the import's kind.
 */
const UPLOAD_PATH = /^\/imports\/?$/;
const REPORT_PATH = /^\/imports\/([^/]+)\/rejections$/;
const STATUS: Record<string, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  VALIDATION_FAILED: 400,
};

function jsonError(e: AppError) {
  const extensions: Record<string, unknown> = { code: e.code };
  if (e instanceof PayloadTooLargeError) extensions.maxBytes = e.maxBytes;
  return new Response(JSON.stringify({ errors: [{ message: e.message, extensions }] }), {
    status: STATUS[e.code] ?? 400,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  });
}

const KINDS: Record<string, ImportKind> = { customers: 'CUSTOMERS', orders: 'ORDERS', interactions: 'INTERACTIONS' };

function formatOf(url: URL, request: Request): ImportFormat {
  const f = url.searchParams.get('format')?.toLowerCase();
  if (f === 'csv') return 'CSV';
  if (f === 'jsonl' || f === 'ndjson') return 'JSONL';
  if (f) throw ValidationError.field(['format'], 'csv or jsonl');
  const type = request.headers.get('content-type') ?? '';
  return /ndjson|jsonl|json/i.test(type) ? 'JSONL' : 'CSV';
}

async function contextOf(services: Services, request: Request): Promise<Context> {
  const viewer = await resolveViewer(
    services,
    credentialsFromHeaders((h) => request.headers.get(h)),
  );
  if (viewer.kind === 'anonymous') throw new UnauthenticatedError();
  if (viewer.kind !== 'secret') throw new ForbiddenError('A secret key is required');
  return createContextInner(services, viewer);
}

async function upload(services: Services, url: URL, request: Request): Promise<Response> {
  if (request.method !== 'POST') return jsonError(new AppError('VALIDATION_FAILED', 'Use POST'));
  const ctx = await contextOf(services, request);
  const kind = KINDS[url.searchParams.get('kind')?.toLowerCase() ?? ''];
  if (!kind) throw ValidationError.field(['kind'], 'customers, orders or interactions');
  if (!allows(IMPORT_WRITE_SCOPES[kind], ctx.viewer, await ctx.agentGrants())) {
    throw new ForbiddenError(`This key lacks the scope ${IMPORT_WRITE_SCOPES[kind].scope}`);
  }
  const format = formatOf(url, request);
  const max = services.config.imports.maxBytes;
  const declared = Number(request.headers.get('content-length') ?? 'NaN');
  if (declared > max) throw new PayloadTooLargeError(max);
  const v = ctx.viewer.kind === 'secret' ? ctx.viewer : null;
  const job = await storeUpload(
    ctx.db,
    ctx.driverWrite,
    { kind, format, apiKeyId: v?.keyId ?? null, staffId: v?.staff?.id ?? null },
    request.body,
    max,
    ctx.workerDatabase ? warmWorker(services, ctx.workerDatabase) : undefined,
  );
  return new Response(JSON.stringify({ id: importGid(job.id), kind: job.kind, format: job.format, bytes: job.bytes, status: job.status }), {
    status: 201,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  });
}

/** An upload big enough to run in a worker process starts one while its bytes arrive. */
const warmWorker = (services: Services, reopen: DatabaseOptions) => ({
  atBytes: services.config.imports.workerMinBytes ?? WORKER_MIN_BYTES,
  start: () => prewarmImportWorker(reopen, services.logger, services.config.imports),
});

async function report(services: Services, request: Request, gid: string): Promise<Response> {
  if (request.method !== 'GET') return jsonError(new AppError('VALIDATION_FAILED', 'Use GET'));
  const ctx = await contextOf(services, request);
  let id: string | null = null;
  try {
    const d = decodeGlobalID(gid);
    if (d.typename === 'ImportJob' && isUuid(d.id)) id = d.id;
  } catch {
    id = null;
  }
  const job = id ? await ctx.db.importJob.findFirst({ where: { id } }) : null;
  if (!job || !allows(IMPORT_READ_SCOPES[job.kind], ctx.viewer, await ctx.agentGrants())) {
    return jsonError(new AppError('NOT_FOUND', 'Import not found'));
  }
  return new Response(rejectionsCsv(ctx.db, job.id), {
    status: 200,
    headers: {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="import-${job.id}-rejections.csv"`,
      'cache-control': 'no-store',
    },
  });
}

export function importHttpPlugin(services: Services): Plugin {
  return {
    async onRequest({ url, request, endResponse }) {
      const m = REPORT_PATH.exec(url.pathname);
      if (!m && !UPLOAD_PATH.test(url.pathname)) return;
      try {
        endResponse(m ? await report(services, request, decodeURIComponent(m[1] as string)) : await upload(services, url, request));
      } catch (e) {
        if (e instanceof AppError) return endResponse(jsonError(e));
        throw e;
      }
    },
  };
}
