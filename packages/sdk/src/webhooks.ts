import { CrmError } from './errors.js';

/** Options of {@link verifyWebhookSignature}. */
export type VerifyWebhookOptions = {
  /**
   * The raw request body exactly as received: a string, or the bytes (a Node `Buffer`, a
   * `Uint8Array`, an `ArrayBuffer`). Not re-serialised JSON: any change breaks the signature.
   */
  body: string | Uint8Array | ArrayBuffer;
  /**
   * The `X-CRM-Signature` header value. Takes Node's header type as is
   * (`req.headers['x-crm-signature']`: `string | string[] | undefined`); a repeated header is malformed.
   */
  header: string | readonly string[] | null | undefined;
  /** The endpoint's signing secret (`whsec_…`). */
  secret: string;
  /**
   * Maximum age (and clock skew) of the signature timestamp in seconds (replay protection).
   * @default 300
   */
  toleranceSeconds?: number;
  /**
   * Current time in ms, for tests.
   * @default Date.now()
   */
  now?: number;
};

/** Why a webhook signature was rejected. */
export type WebhookSignatureFailure =
  /** No `X-CRM-Signature` header. */
  | 'MISSING_HEADER'
  /** Not `t=<unix seconds>,v1=<hex>` (or the header was repeated). */
  | 'MALFORMED_HEADER'
  /** The timestamp is further than `toleranceSeconds` from now (a replay, or a wrong clock). */
  | 'STALE_TIMESTAMP'
  /** No `v1` signature matches the body and secret (wrong secret, or a changed body). */
  | 'BAD_SIGNATURE';

/** A webhook delivery failed verification; `reason` (also the `code`) says why. Answer it with HTTP 400. */
export class CrmWebhookSignatureError extends CrmError {
  /** Why the signature was rejected. */
  declare readonly reason: WebhookSignatureFailure;
  constructor(reason: WebhookSignatureFailure, message: string) {
    super(message, { code: reason });
    Object.assign(this, { reason });
  }
}

/** What a verified delivery's signature said. */
export type VerifiedWebhook = {
  /** The signature timestamp (unix seconds). */
  timestamp: number;
};

const hex = (buf: ArrayBuffer) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');

/** Constant-time comparison of two hex strings. */
function safeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * Verifies a webhook delivery: `X-CRM-Signature: t=<unix seconds>,v1=<hex>` where v1 is the
 * HMAC-SHA256 of `"<t>.<raw body>"` keyed with the endpoint's secret (several `v1` entries are
 * accepted, any one matching). Uses WebCrypto, so it runs in Node 20+, browsers, Deno and edge
 * runtimes. Resolves to the signature's timestamp; rejects with a {@link CrmWebhookSignatureError}
 * whose `reason` is `MISSING_HEADER`, `MALFORMED_HEADER`, `STALE_TIMESTAMP` or `BAD_SIGNATURE`.
 *
 * @example
 * try {
 *   await verifyWebhookSignature({ body: rawBody, header: req.headers['x-crm-signature'], secret });
 * } catch (e) {
 *   if (e instanceof CrmWebhookSignatureError) return res.status(400).send(e.reason);
 *   throw e;
 * }
 */
export async function verifyWebhookSignature(options: VerifyWebhookOptions): Promise<VerifiedWebhook> {
  const { header, secret } = options;
  if (header == null || header === '' || (typeof header !== 'string' && header.length === 0)) {
    throw new CrmWebhookSignatureError('MISSING_HEADER', 'No X-CRM-Signature header');
  }
  if (typeof header !== 'string' && header.length > 1) {
    throw new CrmWebhookSignatureError('MALFORMED_HEADER', 'The X-CRM-Signature header was sent more than once');
  }
  const value = typeof header === 'string' ? header : (header[0] as string);
  let t: number | undefined;
  const signatures: string[] = [];
  for (const part of value.split(',')) {
    const i = part.indexOf('=');
    const k = part.slice(0, i).trim();
    const v = part.slice(i + 1).trim();
    if (i > 0 && k === 't' && /^\d{1,12}$/.test(v)) t = Number(v);
    else if (i > 0 && k === 'v1' && /^[0-9a-fA-F]{64}$/.test(v)) signatures.push(v.toLowerCase());
  }
  if (t === undefined || signatures.length === 0) {
    throw new CrmWebhookSignatureError('MALFORMED_HEADER', 'X-CRM-Signature is not "t=<unix seconds>,v1=<hex sha256>"');
  }
  const tolerance = options.toleranceSeconds ?? 300;
  const age = (options.now ?? Date.now()) / 1000 - t;
  if (Math.abs(age) > tolerance) {
    throw new CrmWebhookSignatureError('STALE_TIMESTAMP', `The signature timestamp is ${Math.round(age)} s old (tolerance ${tolerance} s)`);
  }
  const enc = new TextEncoder();
  const prefix = enc.encode(`${t}.`);
  const body = typeof options.body === 'string' ? enc.encode(options.body) : new Uint8Array(options.body);
  const signed = new Uint8Array(prefix.length + body.length);
  signed.set(prefix);
  signed.set(body, prefix.length);
  const key = await globalThis.crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = hex(await globalThis.crypto.subtle.sign('HMAC', key, signed));
  if (!signatures.some((s) => safeEqual(mac, s))) {
    throw new CrmWebhookSignatureError('BAD_SIGNATURE', 'No v1 signature matches this body and secret');
  }
  return { timestamp: t };
}
