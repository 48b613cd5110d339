import { CrmAuthError, CrmError, type CrmErrorOptions, CrmNetworkError } from './errors.js';
import { CrmNotFoundError } from './generated/errors.js';

/** Options of `crm.segments.export`. */
export type SegmentExportOptions = {
  /**
   * `csv` (header row first; cells starting with = + - @ are prefixed with ') or `jsonl` (one JSON object per line).
   * @default 'csv'
   */
  format?: 'csv' | 'jsonl';
  /** Aborts the download. */
  signal?: AbortSignal;
};

export type ExportConfig = {
  url: string;
  fetch: typeof fetch;
  getToken: () => string | Promise<string>;
  staffId?: string;
  headers?: Record<string, string>;
};

/**
 * Streams GET /segments/{id}/export as records: CSV rows (without their line break; a quoted cell
 * may contain one) or JSONL lines. Reads the response body as it arrives (browser and Node), so a
 * large segment never sits in memory.
 */
export async function* exportSegment(
  cfg: ExportConfig,
  id: string,
  opts: SegmentExportOptions = {},
): AsyncGenerator<string, void, undefined> {
  const format = opts.format ?? 'csv';
  const url = new URL(`segments/${encodeURIComponent(id)}/export?format=${format}`, cfg.url);
  const headers: Record<string, string> = { ...cfg.headers, authorization: `Bearer ${await cfg.getToken()}` };
  if (cfg.staffId) headers['x-crm-staff-id'] = cfg.staffId;
  let res: Response;
  try {
    res = await cfg.fetch(url.toString(), { headers, signal: opts.signal });
  } catch (cause) {
    throw new CrmNetworkError(`Network error: GET ${url} failed`, { code: 'NETWORK_ERROR', url: url.toString(), cause });
  }
  if (!res.ok || !res.body) {
    const body = (await res.json().catch(() => null)) as { errors?: { message?: string; extensions?: { code?: string } }[] } | null;
    const e = body?.errors?.[0];
    const code = e?.extensions?.code ?? `HTTP_${res.status}`;
    const message = e?.message ?? `Segment export failed with HTTP ${res.status}`;
    if (res.status === 404) throw new CrmNotFoundError(message, { code, status: res.status, resource: 'Segment' } as CrmErrorOptions);
    if (res.status === 401 || res.status === 403) throw new CrmAuthError(message, { code, status: res.status });
    throw new CrmError(message, { code, status: res.status });
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  let quotes = 0;
  let scanned = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      buf += done ? decoder.decode() : decoder.decode(value, { stream: true });
      for (;;) {
        let cut = -1;
        for (let i = scanned; i < buf.length; i++) {
          const ch = buf[i];
          if (ch === '"' && format === 'csv') quotes++;
          else if (ch === '\n' && quotes % 2 === 0) {
            cut = i;
            break;
          }
        }
        if (cut < 0) {
          scanned = buf.length;
          break;
        }
        const record = buf.slice(0, cut).replace(/\r$/, '');
        buf = buf.slice(cut + 1);
        scanned = 0;
        quotes = 0;
        yield record;
      }
      if (done) break;
    }
    if (buf) yield buf.replace(/\r$/, '');
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
