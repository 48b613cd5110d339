import { builder } from '../../builder.ts';
import type { Context } from '../../context.ts';
import type { ImportJob } from '../../generated/prisma/client.ts';
import { ImportFormat, ImportKind, ImportMapping, ImportStatus } from '../../generated/prisma/enums.ts';
import { allows } from '../auth/auth.policy.ts';
import { COMMON_ERRORS } from '../common/common.type.ts';
import { rowIdOf } from '../common/graphql-helpers.ts';
import { IMPORT_READ_SCOPES, IMPORT_WRITE_SCOPES, importGid, rejectionsOf, startImport } from './import.service.ts';

/**
 * Bulk imports over GraphQL (docs/import.md): `startImport` runs an uploaded file (POST /imports),
 * `importJob` reads its progress and rejected rows, `importProgress` streams the progress until the
 * job ends. The file itself goes over plain HTTP (import.http.ts), as do the rejected-row report
 * (GET /imports/{id}/rejections).
 */

/** Either write scope: the job's own kind is checked against the key when the job is known. */
const ANY_WRITE = { $any: { scope: 'contacts:write', $any: { scope: 'orders:write' } } } as const;
const ANY_READ = { $any: { scope: 'contacts:read', $any: { scope: 'orders:read' } } } as const;

export const ImportKindEnum = builder.enumType(ImportKind, { name: 'ImportKind', description: 'What an import brings in.' });
export const ImportMappingEnum = builder.enumType(ImportMapping, {
  name: 'ImportMapping',
  description:
    "How the file's columns map to fields: SHOPIFY (Shopify's customers / orders CSV exports) or GENERIC (the CRM's field names; the only one for interactions). See docs/import.md.",
});
export const ImportFormatEnum = builder.enumType(ImportFormat, { name: 'ImportFormat' });
export const ImportStatusEnum = builder.enumType(ImportStatus, {
  name: 'ImportStatus',
  description: 'UPLOADED (waiting for startImport), RUNNING, COMPLETED or FAILED.',
});

const ImportRejectionRef = builder
  .objectRef<{ line: number; field: string; reason: string; value: string | null }>('ImportRejection')
  .implement({
    description: 'A rejected row of an import: where, which field, why.',
    fields: (t) => ({
      line: t.exposeInt('line', { description: 'Line of the file (a CSV header is line 1).' }),
      field: t.exposeString('field', { description: 'The field (generic name) or `row` / `line`.' }),
      reason: t.exposeString('reason'),
      value: t.exposeString('value', { nullable: true, description: 'The rejected value (at most 200 characters).' }),
    }),
  });

/** Only the kinds the key may read: a contacts-only key does not see order imports. */
async function readable(ctx: Context, job: ImportJob | null): Promise<ImportJob | null> {
  if (!job) return null;
  return allows(IMPORT_READ_SCOPES[job.kind], ctx.viewer, await ctx.agentGrants()) ? job : null;
}

export const ImportJobNode = builder.prismaNode('ImportJob', {
  id: { field: 'id' },
  nullable: true,
  // The job's own kind decides (also through node(id)): contacts:read for customers, orders:read for orders and interactions.
  authScopes: (job) => IMPORT_READ_SCOPES[job.kind],
  description:
    'A bulk import: the uploaded file and the progress and outcome of running it. Readable with contacts:read (customer imports) or orders:read (order and interaction imports).',
  findUnique: (id) => ({ id }),
  fields: (t) => ({
    kind: t.expose('kind', { type: ImportKindEnum }),
    format: t.expose('format', { type: ImportFormatEnum }),
    mapping: t.expose('mapping', { type: ImportMappingEnum, nullable: true }),
    status: t.expose('status', { type: ImportStatusEnum }),
    dryRun: t.exposeBoolean('dryRun', { description: 'Validated and reported only: nothing was written.' }),
    rowEvents: t.exposeBoolean('rowEvents', {
      description: 'Per-row events (CUSTOMER_CREATED, ORDER_RECORDED, ...) besides IMPORT_COMPLETED.',
    }),
    bytes: t.exposeInt('bytes', { description: 'Size of the upload.' }),
    bytesRead: t.exposeInt('bytesRead', { description: 'How much of the upload has been read: progress is bytesRead / bytes.' }),
    rowsRead: t.exposeInt('rowsRead', { description: 'Rows read so far (orders: orders, whose CSV lines may be several).' }),
    created: t.exposeInt('created'),
    updated: t.exposeInt('updated'),
    unchanged: t.exposeInt('unchanged', { description: 'Rows that matched an existing record with nothing different.' }),
    rejected: t.exposeInt('rejected'),
    error: t.exposeString('error', { nullable: true, description: 'Why a FAILED import stopped.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    reportPath: t.string({
      description: 'Where the rejected rows are downloadable as CSV (GET, same key; kept IMPORT_REPORT_RETENTION_DAYS).',
      resolve: (j) => `/imports/${encodeURIComponent(importGid(j.id))}/rejections`,
    }),
    rejections: t.field({
      type: [ImportRejectionRef],
      description: 'The first rejected rows (at most 100; the whole report: `reportPath`).',
      args: { first: t.arg.int({ defaultValue: 20 }) },
      resolve: (j, args, ctx) => rejectionsOf(ctx.db, j.id, null, Math.min(Math.max(args.first ?? 20, 0), 100)),
    }),
  }),
});

const StartImportInput = builder.inputType('StartImportInput', {
  fields: (t) => ({
    uploadId: t.globalID({ required: true, for: ImportJobNode, description: 'The `id` POST /imports answered.' }),
    mapping: t.field({ type: ImportMappingEnum, required: true }),
    dryRun: t.boolean({ description: 'Validate and report only; nothing is written (default false).' }),
    rowEvents: t.boolean({
      description:
        'Also write per-row events (CUSTOMER_CREATED, LEAD_CAPTURED, CUSTOMER_UPDATED, ORDER_RECORDED, STAGE_CHANGED, ...); default false: one IMPORT_COMPLETED only.',
    }),
  }),
});

builder.mutationFields((t) => ({
  startImport: t.field({
    authScopes: ANY_WRITE,
    type: ImportJobNode,
    description:
      'Runs an uploaded file (POST /imports) in the background: follow it with `importJob` or the `importProgress` subscription. Upserts customers by externalId, then email, then phone (orders by externalId; interactions by externalId, else by customer, time, type, channel, direction and subject); every rejected row is reported with its line, field and reason; a row is written whole or not at all. Secret key with contacts:write (customers) or orders:write (orders, interactions).',
    errors: {
      types: [...COMMON_ERRORS],
      result: { name: 'StartImportSuccess' },
      union: { name: 'StartImportResult' },
      dataField: { name: 'importJob' },
    },
    args: { input: t.arg({ type: StartImportInput, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      const v = ctx.viewer;
      const starter =
        v.kind === 'secret'
          ? { kind: v.staff ? ('STAFF' as const) : ('API_KEY' as const), key: v.keyId, staff: v.staff?.id ?? null }
          : null;
      if (!starter) throw new Error('unreachable: declared secret scopes');
      const grants = await ctx.agentGrants();
      return startImport(
        ctx.shop,
        ctx.services.logger,
        starter,
        { id: input.uploadId.id, mapping: input.mapping, dryRun: input.dryRun ?? false, rowEvents: input.rowEvents ?? false },
        ctx.services.config.imports,
        async (kind) => allows(IMPORT_WRITE_SCOPES[kind], v, grants),
        ctx.workerDatabase,
      );
    },
  }),
}));

builder.queryFields((t) => ({
  importJob: t.field({
    authScopes: ANY_READ,
    type: ImportJobNode,
    nullable: true,
    description: 'A bulk import by id, with its progress; null when not in this shop (or of a kind this key may not read).',
    args: { id: t.arg.globalID({ required: true, for: ImportJobNode }) },
    resolve: async (_r, { id }, ctx) => readable(ctx, await ctx.db.importJob.findFirst({ where: { id: id.id } })),
  }),
}));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

builder.subscriptionField('importProgress', (t) =>
  t.field({
    authScopes: ANY_READ,
    type: ImportJobNode,
    description:
      'The progress of an import: its state now, then each change (at most about 4 a second), ending when it is COMPLETED or FAILED.',
    args: { id: t.arg.id({ required: true }) },
    subscribe: (_root, args, ctx) => {
      const id = rowIdOf(String(args.id), 'ImportJob', ['id']);
      return (async function* () {
        let last = '';
        for (;;) {
          const job = await readable(ctx, await ctx.db.importJob.findFirst({ where: { id } }));
          if (!job) return;
          const sig = `${job.status}:${job.bytesRead}:${job.rowsRead}:${job.created}:${job.updated}:${job.unchanged}:${job.rejected}`;
          if (sig !== last) {
            last = sig;
            yield job;
          }
          if (job.status === 'COMPLETED' || job.status === 'FAILED') return;
          await sleep(250);
        }
      })();
    },
    resolve: (j: ImportJob) => j,
  }),
);
