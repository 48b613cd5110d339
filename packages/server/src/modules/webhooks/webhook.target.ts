import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Where webhooks may be sent (SSRF protection). A target must be https (http only with
 * WEBHOOK_ALLOW_HTTP=1), carry no credentials, and its host must resolve to public unicast
 * addresses only: loopback, private, link-local (cloud metadata), CGNAT, unique-local, multicast,
 * unspecified, reserved and the IPv4-mapped / translated forms of those are refused (unless
 * WEBHOOK_ALLOW_PRIVATE=1, for local development and tests). The URL parser normalises decimal
 * and hex IPv4 forms (http://2130706433/, http://0x7f.1/) to dotted quads before this check, and
 * ipaddr.js classifies the address (an IPv4-mapped IPv6 address is checked as its IPv4).
 *
 * Checked at registration, and again at delivery: the dispatcher connects through `safeLookup`,
 * which resolves, checks and hands the socket the checked address, so a name that re-resolves
 * to an internal address later (DNS rebinding) is refused at connect time.
 */
export type TargetPolicy = { allowHttp: boolean; allowPrivate: boolean };

/** Why `address` may not be connected to, or null when it is a public unicast address. */
export function addressProblem(address: string): string | null {
  if (!ipaddr.isValid(address)) return 'not an IP address';
  const range = ipaddr.process(address).range();
  return range === 'unicast' ? null : `resolves to a ${range} address`;
}

/** Problems that need no DNS: scheme, credentials, IP literals, localhost names. */
export function urlProblem(raw: string, policy: TargetPolicy): string | null {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return 'Must be an absolute https URL';
  }
  if (u.protocol !== 'https:' && !(policy.allowHttp && u.protocol === 'http:')) {
    return policy.allowHttp ? 'Must be an http(s) URL' : 'Must be an https URL';
  }
  if (u.username || u.password) return 'Must not contain credentials (user:password@)';
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (policy.allowPrivate) return null;
  if (isIP(host)) {
    const p = addressProblem(host);
    return p ? `Not allowed: the host ${p}` : null;
  }
  if (host === 'localhost' || host.endsWith('.localhost')) return 'Not allowed: the host resolves to a loopback address';
  return null;
}

function resolveAll(host: string, timeoutMs: number): Promise<string[] | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), timeoutMs);
    dnsLookup(host, { all: true }, (err, addresses) => {
      clearTimeout(timer);
      resolve(err ? null : (addresses as LookupAddress[]).map((a) => a.address));
    });
  });
}

/**
 * The registration check: urlProblem, then every address the host resolves to must be public. A
 * name that does not resolve (yet) is accepted: delivery checks it again when it connects.
 */
export async function targetProblem(raw: string, policy: TargetPolicy, timeoutMs = 2000): Promise<string | null> {
  const p = urlProblem(raw, policy);
  if (p || policy.allowPrivate) return p;
  const host = new URL(raw).hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return null;
  const addresses = await resolveAll(host, timeoutMs);
  for (const a of addresses ?? []) {
    const ap = addressProblem(a);
    if (ap) return `Not allowed: the host ${ap}`;
  }
  return null;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http(s).request: resolves the name, refuses it unless every address is public,
 * and connects to the checked address (no second resolution between check and connect).
 */
export function safeLookup(policy: TargetPolicy): LookupFunction {
  return ((hostname: string, options: { all?: boolean; family?: number } | number, callback: LookupCallback) => {
    dnsLookup(hostname, { all: true }, (err, addresses) => {
      if (err) return callback(err, '', undefined);
      const list = addresses as LookupAddress[];
      if (!policy.allowPrivate) {
        for (const a of list) {
          const p = addressProblem(a.address);
          if (p) {
            const e = Object.assign(new Error(`Webhook target refused: ${hostname} ${p}`), { code: 'EWEBHOOKTARGET' });
            return callback(e, '', undefined);
          }
        }
      }
      const all = typeof options === 'object' && options.all;
      if (all) return callback(null, list);
      const first = list[0];
      if (!first) return callback(Object.assign(new Error(`No address for ${hostname}`), { code: 'ENOTFOUND' }), '', undefined);
      callback(null, first.address, first.family);
    });
  }) as LookupFunction;
}
