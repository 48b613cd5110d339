import { type GraphQLSchema, getOperationAST, Kind, type OperationDefinitionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../../context.ts';
import type { Database } from '../../db/database.ts';
import { forShop } from '../../db/tenant.ts';
import type { Event } from '../../generated/prisma/client.ts';
import type { Logger } from '../../logger.ts';
import { latestEventId, readEvents } from './event.service.ts';

/**
 * Per-process fan-out of the Event table to subscribers.
 *
 * The table is the stream: ordering, no gaps and resume come from event ids (allocated per shop in
 * commit order by the trigger in the `events` migration). The bus only decides WHEN to look:
 *   - doorbells: `NOTIFY crm_events '<shopId>'` from the insert trigger, delivered at commit to
 *     every instance LISTENing on the database (a dedicated pg connection, or PGlite's listen);
 *     with Redis (REDIS_URL) also a Redis pub/sub channel (see redis-doorbell.ts);
 *   - a safety poll every `pollMs` (missed notifications, a listener reconnecting).
 *
 * Per shop with live subscribers there is one "tail": on a bell it reads `id > head` once and
 * hands the rows to every live subscriber of that shop (one query per shop and bell, not one per
 * subscriber). A subscriber starting from an older cursor (resume with `after`) or falling behind
 * (more than `maxQueue` rows buffered) reads the table on its own until it reaches the tail's
 * head, then joins the live feed; each subscriber drops ids <= its own cursor, so the handover
 * has neither duplicates nor gaps.
 */
export type EventBusOptions = {
  database: Database;
  logger: Logger;
  /** Safety poll interval, ms (default 2000). */
  pollMs?: number;
  /** LISTEN on the database for the outbox trigger's NOTIFY (default true). */
  pgListen?: boolean;
  /** Rows buffered per live subscriber before it falls back to reading the table itself. */
  maxQueue?: number;
  /** Extra doorbells (Redis): `start(ring)` resolves to a stop function. */
  doorbells?: Doorbell[];
};

export type Doorbell = {
  name: string;
  start(ring: (shopId: string) => void): Promise<() => Promise<void>>;
  /** Rings every instance for `shopId` (after a commit made by this one); optional. */
  publish?(shopId: string): void;
  /** Releases what `publish` opened (called by EventBus.close, started or not). */
  close?(): Promise<void>;
};

export const EVENTS_CHANNEL = 'crm_events';
const PAGE = 500;

type LiveSub = { push(rows: Event[]): void };
type Ctl = { stopped: boolean; wake: (() => void) | null };

class ShopTail {
  head: bigint | null = null;
  readonly subs = new Set<LiveSub>();
  private reading = false;
  private again = false;
  constructor(
    private readonly bus: EventBus,
    readonly shopId: string,
  ) {}

  /** Reads what is new since `head` and hands it to every live subscriber. */
  async pull(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return;
    }
    if (this.head === null || !this.subs.size) return;
    this.reading = true;
    try {
      do {
        this.again = false;
        for (;;) {
          const rows = await readEvents(forShop(this.bus.database.prisma, this.shopId), this.head, PAGE);
          const last = rows.at(-1);
          if (last) {
            this.head = last.id;
            for (const s of this.subs) s.push(rows);
          }
          if (rows.length < PAGE) break;
        }
      } while (this.again);
    } catch (err) {
      this.bus.logger.warn('event tail read failed', { shopId: this.shopId, error: String(err) });
    } finally {
      this.reading = false;
    }
  }
}

export class EventBus {
  readonly database: Database;
  readonly logger: Logger;
  private readonly pollMs: number;
  private readonly pgListen: boolean;
  private readonly maxQueue: number;
  private readonly doorbells: Doorbell[];
  private readonly tails = new Map<string, ShopTail>();
  private started: Promise<void> | null = null;
  private stops: (() => Promise<void>)[] = [];
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(opts: EventBusOptions) {
    this.database = opts.database;
    this.logger = opts.logger;
    this.pollMs = opts.pollMs ?? 2000;
    this.pgListen = opts.pgListen ?? true;
    this.maxQueue = opts.maxQueue ?? 1000;
    this.doorbells = opts.doorbells ?? [];
  }

  /** Live subscribers per shop and how far each shop's tail has read (metrics). */
  tailStats(): { shopId: string; head: bigint | null; subscribers: number }[] {
    return [...this.tails.values()].map((t) => ({ shopId: t.shopId, head: t.head, subscribers: t.subs.size }));
  }

  /** Starts the doorbells and the poll; called on the first subscription. */
  start(): Promise<void> {
    this.started ??= (async () => {
      const ring = (shopId: string) => this.ring(shopId);
      const bells: Doorbell[] = [
        ...(this.pgListen ? [{ name: 'postgres', start: () => this.database.listen(EVENTS_CHANNEL, ring) }] : []),
        ...this.doorbells,
      ];
      for (const b of bells) {
        try {
          const stop = await b.start(ring);
          if (this.closed) await stop();
          else this.stops.push(stop);
        } catch (err) {
          this.logger.warn('event doorbell unavailable; polling', { doorbell: b.name, error: String(err) });
        }
      }
      if (this.closed) return;
      this.timer = setInterval(() => {
        for (const t of this.tails.values()) void t.pull();
      }, this.pollMs);
      this.timer.unref();
    })();
    return this.started;
  }

  /** "Look now" for one shop (a doorbell rang). */
  ring(shopId: string) {
    this.changed(shopId, 'doorbell');
    void this.tails.get(shopId)?.pull();
  }

  /** Tells other instances that this one committed events of `shopId` (no-op without Redis). */
  published(shopId: string) {
    if (this.closed) return;
    this.changed(shopId, 'local');
    for (const b of this.doorbells) b.publish?.(shopId);
  }

  private readonly changeListeners = new Set<(shopId: string, source: 'local' | 'doorbell') => void>();

  /**
   * Calls `listener` whenever events of a shop were committed, by this instance (after a mutation)
   * or any instance (a doorbell, the outbox trigger's NOTIFY, which reaches this one too): the hook
   * of the read caches (api-key cache, counts, responses), which drop what they hold of that shop. Other instances are heard once the bus is started
   * (start(): the app starts it when a cache is on). Returns a function that removes the listener.
   */
  onShopChange(listener: (shopId: string, source: 'local' | 'doorbell') => void): () => void {
    this.changeListeners.add(listener);
    return () => void this.changeListeners.delete(listener);
  }

  private changed(shopId: string, source: 'local' | 'doorbell') {
    for (const l of this.changeListeners) {
      try {
        l(shopId, source);
      } catch (err) {
        this.logger.warn('shop change listener failed', { error: String(err) });
      }
    }
  }

  /**
   * The shop's events after `after` (exclusive; null = from now), oldest first, forever: missed
   * events first, then live ones. `filter` picks what to yield (every event still moves the
   * cursor). Ends when the consumer stops (return(), which also ends a stream waiting for a bell)
   * or the bus closes.
   */
  stream(shopId: string, after: bigint | null, filter: (e: Event) => boolean = () => true): AsyncIterableIterator<Event> {
    const ctl: Ctl = { stopped: false, wake: null };
    const gen = this.run(shopId, after, filter, ctl);
    const it: AsyncIterableIterator<Event> = {
      next: () => gen.next(),
      return: (value?: unknown) => {
        // An async generator's return() waits behind a pending next(): wake it so it can end.
        ctl.stopped = true;
        ctl.wake?.();
        return gen.return(value as never);
      },
      throw: (err?: unknown) => {
        ctl.stopped = true;
        ctl.wake?.();
        return gen.throw(err);
      },
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  }

  private async *run(shopId: string, after: bigint | null, filter: (e: Event) => boolean, ctl: Ctl): AsyncGenerator<Event> {
    await this.start();
    const db = forShop(this.database.prisma, shopId);
    let cursor = after ?? (await latestEventId(db));
    // Live rows this subscriber wants, and the highest live row id handed to it (`seen`): rows
    // the filter rejects are passed over right here, so they neither queue nor wake the stream
    // (most subscribers want few of a shop's event types). The cursor moves to `seen` once the
    // queue is drained; the filter runs again in the stream when it threw here.
    const queue: Event[] = [];
    let seen = cursor;
    let overflow = false;
    const sub: LiveSub = {
      push: (rows) => {
        if (overflow) return;
        const before = queue.length;
        for (const r of rows) {
          if (r.id <= seen) continue;
          seen = r.id;
          let wanted = true;
          try {
            wanted = filter(r);
          } catch {
            // queued: the stream calls the filter again and fails there, for this subscriber only
          }
          if (wanted) queue.push(r);
        }
        if (queue.length > this.maxQueue) {
          overflow = true;
          queue.length = 0;
        }
        if (queue.length !== before || overflow) ctl.wake?.();
      },
    };
    let tail: ShopTail | null = null;
    const leave = () => {
      if (!tail) return;
      tail.subs.delete(sub);
      if (!tail.subs.size && this.tails.get(shopId) === tail) this.tails.delete(shopId);
      tail = null;
    };
    const onClose = () => ctl.wake?.();
    this.closeWaiters.add(onClose);
    try {
      while (!this.closed && !ctl.stopped) {
        if (!tail) {
          // Catching up on our own: read the table until nothing is left, then join the live feed.
          const rows = await readEvents(db, cursor, PAGE);
          for (const r of rows) {
            cursor = r.id;
            if (filter(r)) yield r;
          }
          if (rows.length === PAGE) continue;
          let t = this.tails.get(shopId);
          if (!t) {
            t = new ShopTail(this, shopId);
            this.tails.set(shopId, t);
          }
          // The tail already handed out rows we have not read: read again (no await between the
          // check and joining, so nothing slips between them).
          if (t.head !== null && t.head > cursor) continue;
          const fresh = t.head === null;
          t.head ??= cursor;
          t.subs.add(sub);
          tail = t;
          overflow = false;
          seen = cursor;
          // A new tail has heard no bell yet: rows committed between our last read (or the
          // yields since) and now would otherwise wait for the next bell or the safety poll.
          if (fresh) void t.pull();
          continue;
        }
        const next = queue.shift();
        if (next) {
          if (next.id <= cursor) continue;
          cursor = next.id;
          if (filter(next)) yield next;
          continue;
        }
        if (overflow) {
          // Fell too far behind: back to reading the table from our cursor (the last row yielded).
          leave();
          continue;
        }
        // Everything handed over so far is yielded or filtered out.
        if (seen > cursor) cursor = seen;
        await new Promise<void>((resolve) => {
          ctl.wake = resolve;
        });
        ctl.wake = null;
      }
    } finally {
      this.closeWaiters.delete(onClose);
      leave();
    }
  }

  private readonly closeWaiters = new Set<() => void>();

  /** After close(): lets a restarted app use the bus again (doorbells restart with the next subscriber). */
  reopen() {
    if (!this.closed) return;
    this.closed = false;
    this.started = null;
  }

  /** Stops doorbells and the poll; open streams end. */
  async close() {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const w of this.closeWaiters) w();
    await this.started?.catch(() => undefined);
    const stops = this.stops;
    this.stops = [];
    await Promise.all(stops.map((s) => s().catch(() => undefined)));
    await Promise.all(this.doorbells.map((b) => b.close?.().catch(() => undefined)));
    this.tails.clear();
  }
}

/**
 * A mutation whose every root field declares `extensions.writesNoEvents` (it writes no outbox
 * event: trackEvents, called for every storefront page view) leaves the read caches alone.
 */
function writesNoEvents(schema: GraphQLSchema, op: OperationDefinitionNode): boolean {
  const fields = schema.getMutationType()?.getFields() ?? {};
  return op.selectionSet.selections.every(
    (s) => s.kind === Kind.FIELD && (s.name.value === '__typename' || fields[s.name.value]?.extensions?.writesNoEvents === true),
  );
}

/**
 * Yoga plugin: after a mutation (its transactions have committed), drop this instance's read
 * caches of the caller's shop and ring the other instances through the doorbells that need it
 * (Redis). PostgreSQL NOTIFY needs nothing.
 */
export function eventPublishPlugin(bus: EventBus): Plugin<Context> {
  return {
    onExecute({ args }) {
      const op = getOperationAST(args.document, args.operationName);
      if (op?.operation !== 'mutation' || writesNoEvents(args.schema, op)) return;
      return {
        onExecuteDone() {
          const v = (args.contextValue as Context).viewer;
          if (v.kind !== 'anonymous') bus.published(v.shopId);
        },
      };
    },
  };
}
