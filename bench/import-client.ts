/**
 * The import benchmark's clients (import-harness.ts): the uploader, which streams each file to
 * POST /imports, starts it and polls `importJob` as the CLI does (import-cli.ts), and the other
 * shop's reader of `customers(first: 50)`. By default they run in their own process, as real
 * clients do: in the API's process their request building, response parsing and garbage would be
 * counted as the API's latency (a 12 MB upload built from a string held the shared event loop
 * 360-700 ms in one go). Times are `performance.timeOrigin + performance.now()` (ms), comparable
 * across the two processes.
 *
 * IPC (child.ts): warm | idle | run | stop.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { serveChild } from './child.ts';
import { clock } from './fanout-clients.ts';

export type ReadSpec = { base: string; key: string /** Reads per second, open loop; 0: back to back. */; rate: number };
export type ImportSpec = { key: string; kind: 'customers' | 'orders'; path: string };
export type ImportRun = {
  /** Each import's time, upload to COMPLETED, ms. */
  ms: number[];
  /** The reads' latencies during the imports (empty without a reader). */
  during: number[];
  /** [ms since t0 the read was due, its latency ms]. */
  trace: [number, number][];
  /** [ms since t0, kind, rows read, status] as polled. */
  progress: [number, string, number, string][];
  /** Clock of the start and the end of the run. */
  t0: number;
  end: number;
};

const QUERY = JSON.stringify({ query: '{ customers(first: 50) { edges { node { id displayName email stage } } } }' });

async function readOnce(r: ReadSpec, due = clock()): Promise<number> {
  const res = await fetch(`${r.base}/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${r.key}`, 'content-type': 'application/json' },
    body: QUERY,
  });
  const text = await res.text();
  if (!res.ok || !text.includes('"edges"')) throw new Error(`read failed: ${res.status} ${text.slice(0, 200)}`);
  return clock() - due;
}

/**
 * Reads until `more()` says stop: at `r.rate` per second, each timed from when it was due (open
 * loop: a stall delays every read due during it, no coordinated omission), else back to back.
 */
async function readLoop(r: ReadSpec, more: (taken: number) => boolean, sample: (ms: number, due: number) => void) {
  if (!r.rate) {
    for (let i = 0; more(i); i++) {
      const at = clock();
      sample(await readOnce(r, at), at);
    }
    return;
  }
  const start = clock();
  const inFlight: Promise<void>[] = [];
  // A failed read is kept (not an unhandled rejection meanwhile) and fails the run at the end.
  let failed: unknown = null;
  for (let i = 0; more(i) && !failed; i++) {
    const due = start + (i * 1000) / r.rate;
    const wait = due - clock();
    if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    inFlight.push(
      readOnce(r, due).then(
        (ms) => sample(ms, due),
        (e) => {
          failed ??= e;
        },
      ),
    );
  }
  await Promise.all(inFlight);
  if (failed) throw failed;
}

/** One import as the CLI runs it: the file streamed to POST /imports, startImport, importJob polled every 100 ms. */
async function importFile(base: string, spec: ImportSpec, onProgress: (rowsRead: number, status: string) => void): Promise<number> {
  const t0 = clock();
  const auth = { authorization: `Bearer ${spec.key}` };
  const up = await fetch(`${base}/imports?kind=${spec.kind}&format=csv`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'text/csv' },
    body: Readable.toWeb(createReadStream(spec.path)) as ReadableStream,
    duplex: 'half',
  } as RequestInit);
  const { id } = (await up.json()) as { id: string };
  const gql = async (query: string, variables: object) =>
    (await (
      await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables }),
      })
    ).json()) as { data: Record<string, { status?: string; rejected?: number; error?: string | null; rowsRead?: number }> };
  await gql('mutation($i: StartImportInput!) { startImport(input: $i) { __typename } }', { i: { uploadId: id, mapping: 'GENERIC' } });
  for (;;) {
    const j = (await gql('query($id: ID!) { importJob(id: $id) { status rejected error rowsRead } }', { id })).data.importJob;
    onProgress(j?.rowsRead ?? 0, j?.status ?? '');
    if (j?.status === 'COMPLETED' || j?.status === 'FAILED') {
      if (j.status !== 'COMPLETED' || j.rejected) throw new Error(`import ${spec.kind}: ${JSON.stringify(j)}`);
      return clock() - t0;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The clients' operations (used in this process or a forked one). */
export function importClient() {
  return {
    /** `n` reads, back to back, not counted (the API's warm-up). */
    async warm({ read, n }: { read: ReadSpec; n: number }) {
      for (let i = 0; i < n; i++) await readOnce(read);
    },
    /** `n` reads at the reader's rate with nothing else running: their latencies. */
    async idle({ read, n }: { read: ReadSpec; n: number }): Promise<number[]> {
      const out: number[] = [];
      await readLoop(
        read,
        (i) => i < n,
        (ms) => out.push(ms),
      );
      return out;
    },
    /** The imports one after another, with the reader (when given) reading until the last has completed. */
    async run({ base, imports, read }: { base: string; imports: ImportSpec[]; read?: ReadSpec }): Promise<ImportRun> {
      const t0 = clock();
      const run: ImportRun = { ms: [], during: [], trace: [], progress: [], t0, end: t0 };
      let importing = true;
      const reading = read
        ? readLoop(
            read,
            () => importing,
            (ms, due) => {
              run.during.push(ms);
              run.trace.push([Math.round(due - t0), Math.round(ms * 10) / 10]);
            },
          )
        : Promise.resolve();
      try {
        for (const spec of imports) {
          run.ms.push(
            await importFile(base, spec, (rows, status) => run.progress.push([Math.round(clock() - t0), spec.kind, rows, status])),
          );
        }
      } finally {
        importing = false;
        await reading;
      }
      run.end = clock();
      return run;
    },
  };
}

export type ImportClient = ReturnType<typeof importClient> & { stop(): Promise<void> };

// Forked by the harness: the clients over IPC.
const client = process.env.IMPORT_CLIENT_CHILD === '1' ? importClient() : null;
if (client) serveChild('IMPORT_CLIENT_CHILD', client);
