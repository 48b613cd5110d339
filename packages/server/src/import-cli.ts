import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';

/**
 * `pnpm crm import <file> --kind customers|orders|interactions --mapping shopify|generic [--dry-run] [--row-events]`
 * (docs/import.md): uploads the file to a running server (POST /imports), starts the import, draws a
 * progress bar until it ends, and saves the rejected-row report next to the file. The server and
 * key: CRM_URL (default http://127.0.0.1:4000) and CRM_SECRET_KEY (or --url / --key).
 */
export const IMPORT_USAGE =
  'usage: pnpm crm import <file.csv|file.jsonl> --kind customers|orders|interactions --mapping shopify|generic [--dry-run] [--row-events] [--url http://127.0.0.1:4000] [--key sk_...]';

type Job = {
  id: string;
  status: string;
  bytes: number;
  bytesRead: number;
  rowsRead: number;
  created: number;
  updated: number;
  unchanged: number;
  rejected: number;
  error: string | null;
  reportPath: string;
};
const JOB = 'id status bytes bytesRead rowsRead created updated unchanged rejected error reportPath';

const n = (x: number) => x.toLocaleString('en-US');

function bar(job: Job, width = 30): string {
  const share = job.bytes ? Math.min(1, job.bytesRead / job.bytes) : 0;
  const full = Math.round(share * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${String(Math.round(share * 100)).padStart(3)}%  ${n(job.rowsRead)} read · ${n(job.created)} created · ${n(job.updated)} updated · ${n(job.unchanged)} unchanged · ${n(job.rejected)} rejected`;
}

export async function importCommand(
  args: string[],
  env: Record<string, string | undefined> = process.env,
  out: { log: (s: string) => void; progress: (s: string) => void } = {
    log: (s) => console.log(s),
    progress: (s) => process.stderr.write(process.stderr.isTTY ? `\r${s}` : `${s}\n`),
  },
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      kind: { type: 'string' },
      mapping: { type: 'string' },
      format: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      'row-events': { type: 'boolean', default: false },
      url: { type: 'string' },
      key: { type: 'string' },
      'poll-ms': { type: 'string' },
    },
  });
  const file = positionals[0];
  const kind = values.kind?.toLowerCase();
  const mapping = values.mapping?.toUpperCase();
  if (!file || !kind || !['customers', 'orders', 'interactions'].includes(kind) || !mapping || !['SHOPIFY', 'GENERIC'].includes(mapping)) {
    out.log(IMPORT_USAGE);
    return 2;
  }
  const key = values.key ?? env.CRM_SECRET_KEY;
  if (!key) {
    out.log('Set CRM_SECRET_KEY (a secret key with contacts:write / orders:write; `pnpm start` prints the demo one) or pass --key.');
    return 2;
  }
  // `pnpm crm` runs in packages/server: a relative path is the caller's (INIT_CWD).
  const path = resolve(env.INIT_CWD ?? process.cwd(), file);
  const base = (values.url ?? env.CRM_URL ?? 'http://127.0.0.1:4000').replace(/\/graphql\/?$/, '').replace(/\/$/, '');
  const format = values.format ?? (/\.(jsonl|ndjson)$/i.test(path) ? 'jsonl' : 'csv');
  const auth = { authorization: `Bearer ${key}` };

  const size = statSync(path).size;
  out.log(`Uploading ${basename(path)} (${n(size)} bytes) to ${base} ...`);
  const up = await fetch(`${base}/imports?kind=${kind}&format=${format}`, {
    method: 'POST',
    headers: { ...auth, 'content-type': format === 'csv' ? 'text/csv' : 'application/x-ndjson', 'content-length': String(size) },
    body: Readable.toWeb(createReadStream(path)) as ReadableStream,
    duplex: 'half',
  } as RequestInit);
  const upBody = (await up.json().catch(() => ({}))) as { id?: string; errors?: { message: string; extensions?: { code?: string } }[] };
  if (up.status !== 201 || !upBody.id) {
    const e = upBody.errors?.[0];
    out.log(`Upload refused (${up.status}${e?.extensions?.code ? ` ${e.extensions.code}` : ''}): ${e?.message ?? 'unknown error'}`);
    return 1;
  }
  const gql = async <T>(query: string, variables: Record<string, unknown>): Promise<T> => {
    const r = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await r.json()) as { data?: T; errors?: { message: string }[] };
    if (body.errors?.length || !body.data) throw new Error(body.errors?.[0]?.message ?? `HTTP ${r.status}`);
    return body.data;
  };
  const started = await gql<{ startImport: { __typename: string; message?: string; importJob?: Job } }>(
    `mutation($i: StartImportInput!) { startImport(input: $i) { __typename ... on StartImportSuccess { importJob { ${JOB} } } ... on Error { message } } }`,
    { i: { uploadId: upBody.id, mapping, dryRun: values['dry-run'], rowEvents: values['row-events'] } },
  );
  if (!started.startImport.importJob) {
    out.log(`Not started (${started.startImport.__typename}): ${started.startImport.message ?? ''}`);
    return 1;
  }
  let job = started.startImport.importJob;
  const pollMs = Number(values['poll-ms'] ?? 300);
  while (job.status === 'RUNNING' || job.status === 'UPLOADED') {
    out.progress(bar(job));
    await new Promise((r) => setTimeout(r, pollMs));
    job = (await gql<{ importJob: Job }>(`query($id: ID!) { importJob(id: $id) { ${JOB} } }`, { id: job.id })).importJob;
  }
  out.progress(`${bar(job)}\n`);
  out.log(
    `${values['dry-run'] ? 'Dry run ' : 'Import '}${job.status === 'COMPLETED' ? 'completed' : 'FAILED'}: ${n(job.rowsRead)} rows read, ${n(job.created)} created, ${n(job.updated)} updated, ${n(job.unchanged)} unchanged, ${n(job.rejected)} rejected.`,
  );
  if (job.error) out.log(`Error: ${job.error}`);
  if (job.rejected > 0) {
    const reportFile = join(dirname(path), `${basename(path).replace(/\.[^.]+$/, '')}.rejected.csv`);
    const r = await fetch(`${base}${job.reportPath}`, { headers: auth });
    if (r.ok && r.body) {
      await pipeline(Readable.fromWeb(r.body as never), createWriteStream(reportFile));
      out.log(`Rejected rows (line, field, reason): ${reportFile}`);
    } else {
      out.log(`Rejected rows: GET ${base}${job.reportPath} (with the same key)`);
    }
  }
  return job.status === 'COMPLETED' ? 0 : 1;
}
