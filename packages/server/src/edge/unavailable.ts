import type { Logger } from '../logger.ts';

/**
 * Telling "the database is unreachable" apart from a bug, so clients get HTTP 503 UNAVAILABLE
 * with Retry-After (and retry) instead of INTERNAL, and the log gets one line per outage window
 * instead of a stack trace per request.
 */
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
const ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections', 'DatabaseUnavailable']);
const NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);
/** PostgreSQL SQLSTATEs: connection exceptions (08xxx), shutdown / cannot connect now (57P01-57P03), too many connections. */
const PG_STATE = /^(08\d{3}|57P0[123]|53300)$/;
const MESSAGES =
  /Connection terminated|Can't reach database server|connect ECONNREFUSED|Server has closed the connection|Timed out fetching a new connection|Client has encountered a connection error/i;

/** True when `err` (or anything in its cause chain) says the database cannot be reached. */
export function isDatabaseUnavailable(err: unknown): boolean {
  const seen = new Set<unknown>();
  let e: unknown = err;
  while (e && typeof e === 'object' && !seen.has(e)) {
    seen.add(e);
    const x = e as { code?: unknown; kind?: unknown; name?: unknown; message?: unknown; cause?: unknown; originalCode?: unknown };
    const code = typeof x.code === 'string' ? x.code : typeof x.originalCode === 'string' ? x.originalCode : '';
    if (PRISMA_CODES.has(code) || NODE_CODES.has(code) || PG_STATE.test(code)) return true;
    if (typeof x.kind === 'string' && ADAPTER_KINDS.has(x.kind)) return true;
    if (typeof x.message === 'string' && MESSAGES.test(x.message)) return true;
    e =
      x.cause ??
      (x as { originalError?: unknown }).originalError ??
      (x as { meta?: { driverAdapterError?: unknown } }).meta?.driverAdapterError;
  }
  return false;
}

/** Logs the first failure of an outage, then at most one summary per `windowMs`. */
export function outageLog(logger: Logger, windowMs = 60_000, now = Date.now) {
  let windowStart = 0;
  let suppressed = 0;
  return (err: unknown) => {
    const t = now();
    if (t - windowStart < windowMs) {
      suppressed++;
      return;
    }
    const previous = suppressed;
    windowStart = t;
    suppressed = 0;
    logger.error('database unavailable', {
      error: String((err as Error)?.message ?? err).slice(0, 300),
      ...(previous ? { requestsSincePreviousLog: previous } : {}),
    });
  };
}
