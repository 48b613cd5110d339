import pino from 'pino';

/**
 * Structured JSON logs on pino, one line per event: `{"level":"info","time":"…","msg":"…",…fields}`.
 * Never pass customer data (names, emails, phones, free text) as fields: log ids and codes. As a
 * safety net, pino's path-based redaction replaces the values at REDACT_PATHS (top level and one
 * level down) with "[redacted]"; ids, codes and kinds (requestId, shopId, keyId, keyKind) are kept.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type Logger = {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
};

const SENSITIVE = [
  'email',
  'phone',
  'name',
  'firstName',
  'lastName',
  'company',
  'token',
  'customerToken',
  'apiKey',
  'key',
  'secret',
  'password',
  'authorization',
  'cookie',
  'address',
  'body',
  'message',
  'variables',
];
export const REDACT_PATHS = [...SENSITIVE, ...SENSITIVE.map((k) => `*.${k}`), 'headers["x-customer-token"]', 'headers["x-api-key"]'];

export function createLogger(level: LogLevel = 'info', write?: (line: string) => void): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  const p = write ? pino(options, { write: (s: string) => write(s.endsWith('\n') ? s.slice(0, -1) : s) }) : pino(options);
  return {
    debug: (m, f) => p.debug(f ?? {}, m),
    info: (m, f) => p.info(f ?? {}, m),
    warn: (m, f) => p.warn(f ?? {}, m),
    error: (m, f) => p.error(f ?? {}, m),
  };
}
