/**
 * Verifies a webhook delivery: `X-CRM-Signature: t=<unix seconds>,v1=<hex>` where v1 is the
 * HMAC-SHA256 of `"<t>.<raw body>"` keyed with the endpoint's secret (`whsec_…`). Uses WebCrypto,
 * so it runs in Node 20+, browsers, Deno and edge runtimes. Pass the raw request body exactly as
 * received (not re-serialised JSON).
 *
 * @example
 * const ok = await verifyWebhookSignature({ body: rawBody, header: req.headers['x-crm-signature'], secret });
 * if (!ok) return res.status(400).end();
 */
export type VerifyWebhookOptions = {
  /** The raw request body. */
  body: string;
  /** The `X-CRM-Signature` header value. */
  header: string | null | undefined;
  /** The endpoint's signing secret. */
  secret: string;
  /** Maximum age of the signature timestamp in seconds (replay protection). @default 300 */
  toleranceSeconds?: number;
  /** Current time in ms, for tests. @default Date.now() */
  now?: number;
};

const hex = (buf: ArrayBuffer) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');

/** Constant-time comparison of two hex strings. */
function safeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export async function verifyWebhookSignature(options: VerifyWebhookOptions): Promise<boolean> {
  const { body, header, secret } = options;
  if (!header) return false;
  const parts: Record<string, string> = {};
  for (const p of header.split(',')) {
    const i = p.indexOf('=');
    if (i > 0) parts[p.slice(0, i).trim()] = p.slice(i + 1).trim();
  }
  const t = Number(parts.t);
  const now = options.now ?? Date.now();
  if (!Number.isInteger(t) || !parts.v1 || Math.abs(now / 1000 - t) > (options.toleranceSeconds ?? 300)) return false;
  const enc = new TextEncoder();
  const key = await globalThis.crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = hex(await globalThis.crypto.subtle.sign('HMAC', key, enc.encode(`${t}.${body}`)));
  return safeEqual(mac, parts.v1.toLowerCase());
}
