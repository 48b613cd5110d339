import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forShop } from '../../db/tenant.ts';
import type { Event } from '../../generated/prisma/client.ts';
import { createLogger } from '../../logger.ts';
import { createTestDatabase, type TestDatabase } from '../../testing.ts';
import { createShop } from '../shops/shop.service.ts';
import { type EventType, emitEvent } from './event.service.ts';
import { EventBus } from './event-bus.ts';

/**
 * The bus's live feed with filters: rows a subscriber's filter rejects are passed over when the
 * tail hands them out (they neither queue nor wake the stream), yet the stream's cursor moves past
 * them, a subscriber that overflows falls back to reading the table from the last row it yielded,
 * and a filter that throws fails its own stream only.
 */
describe('EventBus live feed with filters', () => {
  let db: TestDatabase;
  let shopId: string;
  let bus: EventBus;

  beforeAll(async () => {
    db = await createTestDatabase();
    shopId = (await createShop(db.prisma, { name: 'Bus' })).shop.id;
    // A long safety poll: the doorbell (LISTEN/NOTIFY, or PGlite's listen) must do the waking.
    bus = new EventBus({ database: db, logger: createLogger('silent'), pollMs: 60_000, maxQueue: 3 });
  }, 60_000);
  afterAll(async () => {
    await bus?.close();
    await db?.close();
  });

  const emit = (types: EventType[]) =>
    forShop(db.prisma, shopId).$transaction(async (tx) => {
      const rows: Event[] = [];
      for (const type of types) rows.push((await emitEvent(tx, { type, payload: { n: rows.length } })) as Event);
      return rows;
    });

  const live = async (n: number) => {
    const tails = (bus as unknown as { tails: Map<string, { subs: Set<unknown> }> }).tails;
    for (let i = 0; i < 500 && (tails.get(shopId)?.subs.size ?? 0) < n; i++) await new Promise((r) => setTimeout(r, 10));
    expect(tails.get(shopId)?.subs.size).toBe(n);
  };

  const take = async (it: AsyncIterator<Event>, n: number) => {
    const got: Event[] = [];
    while (got.length < n) {
      const r = await it.next();
      if (r.done) break;
      got.push(r.value);
    }
    return got;
  };

  it('each stream gets exactly its rows, in order, once; an overflowing one catches up from the table', async () => {
    const leads = bus.stream(shopId, null, (e) => e.type === 'LEAD_CAPTURED');
    const all = bus.stream(shopId, null);
    const slow = bus.stream(shopId, null, (e) => e.type !== 'CUSTOMER_CREATED');
    // Start all three (each registers with the tail once its first next() runs).
    const firstLead = leads.next();
    const firstAll = all.next();
    const firstSlow = slow.next();
    await live(3);

    const written: Event[] = [];
    for (let i = 0; i < 6; i++) written.push(...(await emit(['CUSTOMER_CREATED', 'LEAD_CAPTURED', 'INTERACTION_RECORDED'])));
    const ids = (rows: Event[]) => rows.map((r) => r.id.toString());
    const want = (f: (e: Event) => boolean) => ids(written.filter(f));

    const gotLeads = [(await firstLead).value as Event, ...(await take(leads, 5))];
    expect(ids(gotLeads)).toEqual(want((e) => e.type === 'LEAD_CAPTURED'));
    const gotAll = [(await firstAll).value as Event, ...(await take(all, 17))];
    expect(ids(gotAll)).toEqual(ids(written));
    // `slow` was not read while 12 wanted rows arrived (maxQueue 3): it overflowed and re-read them.
    const gotSlow = [(await firstSlow).value as Event, ...(await take(slow, 11))];
    expect(ids(gotSlow)).toEqual(want((e) => e.type !== 'CUSTOMER_CREATED'));

    // The cursor moved past rejected rows: after more rows, the lead stream yields only the new lead.
    const more = await emit(['INTERACTION_RECORDED', 'LEAD_CAPTURED', 'ORDER_RECORDED']);
    expect(ids(await take(leads, 1))).toEqual([more[1]?.id.toString()]);
    expect(ids(await take(all, 3))).toEqual(ids(more));
    expect(ids(await take(slow, 3))).toEqual(ids(more));
    await Promise.all([leads.return?.(), all.return?.(), slow.return?.()]);
  });

  it('a filter that throws fails its own stream only', async () => {
    const bad = bus.stream(shopId, null, (e) => {
      if (e.type === 'ORDER_RECORDED') throw new Error('bad filter');
      return true;
    });
    const good = bus.stream(shopId, null, (e) => e.type === 'LEAD_CAPTURED');
    // The rejection is expected now (it may come before `emit` returns: unobserved, it would be unhandled).
    const badFirst = expect(bad.next()).rejects.toThrow('bad filter');
    const goodFirst = good.next();
    await live(2);
    const rows = await emit(['ORDER_RECORDED', 'LEAD_CAPTURED']);
    await badFirst;
    expect((await goodFirst).value?.id).toBe(rows[1]?.id);
    await good.return?.();
  });
});
