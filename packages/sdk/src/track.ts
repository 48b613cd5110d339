/**
 * `@crm/sdk/track`: storefront behaviour events for web pages (docs/behaviour.md), a tiny entry of
 * its own (no GraphQL client; under 1.5 KB gzip, checked by tests/sdk-package.test.ts).
 *
 * - an anonymous first-party visitor id (a UUID kept in localStorage and a first-party cookie
 *   `crm_vid`), and a session id that changes after 30 minutes without activity;
 * - `track(type, props)` buffers events and sends them in batches (`trackEvents`, at most 100 a
 *   call) when `batchSize` are waiting or `flushIntervalMs` after the first;
 * - on page hide (`pagehide`, `visibilitychange` to hidden) what is left goes with
 *   `navigator.sendBeacon` to `POST /events`, which survives the page being closed.
 * `@crm/sdk/storefront`'s `leads.capture` sends the stored visitor id, so the visitor's events
 * become the lead's.
 *
 * @example
 * import { createTracker } from '@crm/sdk/track';
 * const crm = createTracker({ url: 'https://crm.example.com/graphql', apiKey: 'pk_live_…' });
 * crm.track('PAGE_VIEWED');
 * crm.track('PRODUCT_VIEWED', { sku: 'SKU-1' });
 */

/** What a visitor did. */
export type BehaviourEventType = 'PAGE_VIEWED' | 'PRODUCT_VIEWED' | 'SEARCHED' | 'ADDED_TO_CART' | 'CHECKOUT_STARTED';

/** Event properties (all optional; `sku` is required for PRODUCT_VIEWED / ADDED_TO_CART, `searchQuery` for SEARCHED). */
export type TrackProps = {
  sku?: string;
  searchQuery?: string;
  /** Default: `location.href`. */
  url?: string;
  /** Default: `document.referrer` on PAGE_VIEWED. */
  referrer?: string;
  durationMs?: number;
  /** Default on PAGE_VIEWED: the page URL's `utm_source`, `utm_medium`, `utm_campaign`. */
  utmSource?: string;
  utmMedium?: string;
  utmCampaign?: string;
  /** Anything else (quantity, price, …): at most 20 keys, 2,000 bytes. */
  properties?: Record<string, unknown>;
};

/** Options of {@link createTracker}. */
export type TrackerOptions = {
  /** The GraphQL endpoint, e.g. `https://crm.example.com/graphql`. */
  url: string;
  /** The shop's publishable key (`pk_live_…`). */
  apiKey: string;
  /** The signed-in customer's token: events are theirs and the visitor is stitched to them. */
  customerToken?: string;
  /**
   * The beacon endpoint.
   * @default the GraphQL URL with `/graphql` replaced by `/events`
   */
  beaconUrl?: string;
  /**
   * Events sent together (1-100).
   * @default 20
   */
  batchSize?: number;
  /**
   * Longest wait before a partial batch is sent, in milliseconds.
   * @default 5000
   */
  flushIntervalMs?: number;
  /**
   * The fetch implementation.
   * @default globalThis.fetch
   */
  fetch?: typeof fetch;
};

/** The tracker {@link createTracker} returns. */
export interface Tracker {
  /** The anonymous visitor id (stable across visits of this browser). */
  readonly visitorId: string;
  /** The current session id (new after 30 minutes without activity). */
  sessionId(): string;
  /** Buffers one event; it is sent with the next batch. */
  track(type: BehaviourEventType, props?: TrackProps): void;
  /** Sends what is buffered now (fetch); resolves when the server answered. */
  flush(): Promise<void>;
  /** Sends what is buffered with `navigator.sendBeacon` (done automatically on page hide). */
  beacon(): void;
}

const VID = 'crm_vid';
const SID = 'crm_sid';
const SESSION_MS = 30 * 60_000;
const MAX_BUFFER = 500;

const uuid = (): string =>
  globalThis.crypto?.randomUUID?.() ??
  '10000000-1000-4000-8000-100000000000'.replace(/[018]/g, (c) =>
    (+c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (+c / 4)))).toString(16),
  );

const get = (k: string): string | null => {
  try {
    return localStorage.getItem(k);
  } catch {
    return null;
  }
};
const set = (k: string, v: string) => {
  try {
    localStorage.setItem(k, v);
  } catch {
    /* storage off: the cookie keeps the visitor id */
  }
};
const cookie = (): string | undefined => globalThis.document?.cookie.match(/(?:^|; )crm_vid=([^;]+)/)?.[1];

/**
 * The browser's visitor id: from localStorage or the `crm_vid` cookie, created (and kept in both,
 * the cookie for 395 days) when missing.
 */
export function visitorId(): string {
  const id = get(VID) ?? cookie() ?? uuid();
  set(VID, id);
  // biome-ignore lint/suspicious/noDocumentCookie: one first-party cookie; the Cookie Store API is async and not in every browser
  if (globalThis.document) document.cookie = `${VID}=${id}; path=/; max-age=34128000; samesite=lax`;
  return id;
}

/** Creates the tracker (browsers; in Node it buffers and sends with fetch). */
export function createTracker(o: TrackerOptions): Tracker {
  const vid = visitorId();
  const size = Math.min(100, Math.max(1, o.batchSize ?? 20));
  const beaconUrl = `${o.beaconUrl ?? o.url.replace(/\/graphql\/?$/, '/events')}?key=${encodeURIComponent(o.apiKey)}`;
  let buffer: Record<string, unknown>[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;

  const sessionId = () => {
    const now = Date.now();
    const [id, at] = (get(SID) ?? '').split(' ');
    const sid = id && now - Number(at) < SESSION_MS ? id : uuid();
    set(SID, `${sid} ${now}`);
    return sid;
  };
  const take = () => {
    clearTimeout(timer);
    timer = undefined;
    return buffer.splice(0, 100);
  };
  const flush = async (): Promise<void> => {
    const events = take();
    if (!events.length) return;
    try {
      const res = await (o.fetch ?? fetch)(o.url, {
        method: 'POST',
        keepalive: true,
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${o.apiKey}`,
          ...(o.customerToken ? { 'x-customer-token': o.customerToken } : {}),
        },
        body: JSON.stringify({
          query: 'mutation($e:[BehaviourEventInput!]!){trackEvents(events:$e){__typename}}',
          variables: { e: events },
        }),
      });
      // Retry later only what the server could not take for now (rate limit, outage); refused input is dropped.
      if (res.status === 429 || res.status >= 500) throw 0;
    } catch {
      buffer = [...events, ...buffer].slice(0, MAX_BUFFER);
    }
    if (buffer.length) schedule();
  };
  const schedule = () => {
    if (buffer.length >= size) void flush();
    else timer ??= setTimeout(flush, o.flushIntervalMs ?? 5_000);
  };
  const beacon = () => {
    while (buffer.length) {
      const body = JSON.stringify({ customerToken: o.customerToken, events: take() });
      if (!globalThis.navigator?.sendBeacon?.(beaconUrl, body)) {
        void (o.fetch ?? fetch)(beaconUrl, { method: 'POST', keepalive: true, body }).catch(() => {});
      }
    }
  };

  if (globalThis.document) {
    addEventListener('pagehide', beacon);
    addEventListener('visibilitychange', () => document.visibilityState === 'hidden' && beacon());
  }

  return {
    visitorId: vid,
    sessionId,
    track(type, props = {}) {
      const loc = globalThis.location;
      const q = loc ? new URLSearchParams(loc.search) : null;
      const page = type === 'PAGE_VIEWED';
      buffer.push({
        type,
        visitorId: vid,
        sessionId: sessionId(),
        occurredAt: new Date().toISOString(),
        url: loc?.href,
        ...(page && {
          referrer: globalThis.document?.referrer || undefined,
          utmSource: q?.get('utm_source') ?? undefined,
          utmMedium: q?.get('utm_medium') ?? undefined,
          utmCampaign: q?.get('utm_campaign') ?? undefined,
        }),
        ...props,
      });
      if (buffer.length > MAX_BUFFER) buffer.shift();
      schedule();
    },
    flush,
    beacon,
  };
}
