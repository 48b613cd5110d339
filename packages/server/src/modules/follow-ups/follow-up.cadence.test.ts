import { describe, expect, it } from 'vitest';
import {
  type CadenceFacts,
  cadenceSettingsSchema,
  chooseChannel,
  DEFAULT_CADENCE,
  endOfDay,
  nextBirthday,
  proposeNext,
  toleranceAllows,
} from './follow-up.cadence.ts';

const NOW = new Date('2026-03-10T10:00:00.000Z');
const DAY = 86_400_000;
const days = (n: number) => new Date(NOW.getTime() + n * DAY);
const base: CadenceFacts = {
  now: NOW,
  dealLikelihood: null,
  expectedPurchaseAt: null,
  interestValue: null,
  tolerance: null,
  preferredChannel: null,
  consented: ['EMAIL', 'PHONE'],
  lastContactAt: null,
};

type Case = [name: string, facts: Partial<CadenceFacts>, dueInDays: number | null, channel: string | null, reason?: RegExp];
const cases: Case[] = [
  ['unknown likelihood: default interval', {}, 7, 'PHONE', /unknown/],
  ['likelihood 90: every 2 days', { dealLikelihood: 90 }, 2, 'PHONE', /90%/],
  ['likelihood 80 is in the top band', { dealLikelihood: 80 }, 2, 'PHONE'],
  ['likelihood 60: every 4 days', { dealLikelihood: 60 }, 4, 'PHONE'],
  ['likelihood 30: weekly', { dealLikelihood: 30 }, 7, 'PHONE'],
  ['likelihood 5: every 14 days', { dealLikelihood: 5 }, 14, 'PHONE'],
  ['purchase soon halves the interval', { dealLikelihood: 30, expectedPurchaseAt: days(10) }, 4, 'PHONE', /Expected purchase within 10/],
  ['never after the expected purchase date', { dealLikelihood: 5, expectedPurchaseAt: days(20) }, 14, 'PHONE'],
  ['lands the day before a purchase in 5 days', { dealLikelihood: 5, expectedPurchaseAt: days(5) }, 4, 'PHONE', /Before the expected/],
  ['passed purchase date: shortest interval', { dealLikelihood: 5, expectedPurchaseAt: days(-3) }, 1, 'PHONE', /passed/],
  ['high value: more attention', { dealLikelihood: 5, interestValue: 5000 }, 10, 'PHONE', /High-value/],
  ['low value: less attention', { dealLikelihood: 5, interestValue: 20 }, 21, 'PHONE', /Low-value/],
  ['middle value: unchanged', { dealLikelihood: 5, interestValue: 500 }, 14, 'PHONE'],
  [
    'tolerance MONTHLY pushes past the last contact',
    { dealLikelihood: 90, tolerance: 'MONTHLY', lastContactAt: days(-1) },
    29,
    'PHONE',
    /MONTHLY/,
  ],
  ['tolerance WEEKLY satisfied already', { dealLikelihood: 5, tolerance: 'WEEKLY', lastContactAt: days(-1) }, 14, 'PHONE'],
  ['tolerance NEVER: nothing proposed', { dealLikelihood: 90, tolerance: 'NEVER' }, null, null, /NEVER/],
  ['preferred channel with consent', { preferredChannel: 'EMAIL' }, 7, 'EMAIL', /Preferred channel EMAIL/],
  ['preferred channel without consent is not used', { preferredChannel: 'SMS' }, 7, 'PHONE', /SMS has no consent/],
  ['no consent at all: no channel', { consented: [] }, 7, null, /No channel with consent/],
  ['only IM consent', { consented: ['IM'] }, 7, 'IM'],
  ['THIRD_PARTY_SHARING is no contact channel', { consented: ['THIRD_PARTY_SHARING'] }, 7, null],
  ['in person needs no consent when preferred', { preferredChannel: 'IN_PERSON', consented: [] }, 7, 'IN_PERSON'],
  [
    'tolerance wins over maxIntervalDays',
    { dealLikelihood: 5, interestValue: 1, tolerance: 'QUARTERLY', lastContactAt: days(-1) },
    90,
    'PHONE',
    /QUARTERLY/,
  ],
];

describe('cadence engine: proposeNext', () => {
  it.each(cases)('%s', (_name, facts, dueIn, channel, reason) => {
    const p = proposeNext({ ...base, ...facts });
    if (dueIn == null) expect(p.dueAt).toBeNull();
    else expect(p.dueAt?.toISOString()).toBe(days(dueIn).toISOString());
    expect(p.channel).toBe(channel);
    expect(p.reasons.length).toBeGreaterThan(0);
    if (reason) expect(p.reasons.join(' | ')).toMatch(reason);
  });

  it('is pure: same facts, same proposal', () => {
    const f = { ...base, dealLikelihood: 55, interestValue: 2000, tolerance: 'BIWEEKLY' as const, lastContactAt: days(-3) };
    expect(proposeNext(f)).toEqual(proposeNext(f));
  });

  it('follows the shop settings', () => {
    const s = cadenceSettingsSchema.parse({
      ...DEFAULT_CADENCE,
      likelihoodBands: [{ minLikelihood: 0, intervalDays: 3 }],
      channelOrder: ['EMAIL', 'PHONE'],
      highValueThreshold: null,
    });
    const p = proposeNext({ ...base, dealLikelihood: 10, interestValue: 99999 }, s);
    expect(p.dueAt?.toISOString()).toBe(days(3).toISOString());
    expect(p.channel).toBe('EMAIL');
  });

  it('settings validation rejects nonsense', () => {
    expect(cadenceSettingsSchema.safeParse({ ...DEFAULT_CADENCE, minIntervalDays: 10, maxIntervalDays: 5 }).success).toBe(false);
    expect(cadenceSettingsSchema.safeParse({ ...DEFAULT_CADENCE, likelihoodBands: [] }).success).toBe(false);
    expect(cadenceSettingsSchema.safeParse({ ...DEFAULT_CADENCE, extra: 1 }).success).toBe(false);
    expect(cadenceSettingsSchema.safeParse(DEFAULT_CADENCE).success).toBe(true);
  });
});

describe('cadence helpers', () => {
  it('chooseChannel never picks a channel without consent', () => {
    for (const pref of ['EMAIL', 'SMS', 'PHONE', 'IM', 'POSTAL', null] as const) {
      const r = chooseChannel(pref, ['POSTAL'], DEFAULT_CADENCE.channelOrder);
      expect(r.channel).toBe('POSTAL');
    }
  });
  it('toleranceAllows checks the gap to every other contact', () => {
    expect(toleranceAllows(null, NOW, [days(-1)])).toBe(true);
    expect(toleranceAllows('WEEKLY', NOW, [days(-6)])).toBe(false);
    expect(toleranceAllows('WEEKLY', NOW, [days(-7), days(8)])).toBe(true);
    expect(toleranceAllows('WEEKLY', NOW, [days(3)])).toBe(false);
    expect(toleranceAllows('NEVER', NOW, [])).toBe(false);
  });
  it('endOfDay in UTC and other zones', () => {
    expect(endOfDay(NOW).toISOString()).toBe('2026-03-11T00:00:00.000Z');
    expect(endOfDay(NOW, 'Europe/Berlin').toISOString()).toBe('2026-03-10T23:00:00.000Z');
    expect(endOfDay(new Date('2026-03-10T23:30:00Z'), 'Europe/Berlin').toISOString()).toBe('2026-03-11T23:00:00.000Z');
    expect(endOfDay(NOW, 'America/New_York').toISOString()).toBe('2026-03-11T04:00:00.000Z');
    expect(() => endOfDay(NOW, 'Mars/Olympus')).toThrow(RangeError);
  });
  it('nextBirthday', () => {
    expect(nextBirthday(new Date('1990-03-12'), NOW).toISOString().slice(0, 10)).toBe('2026-03-12');
    expect(nextBirthday(new Date('1990-03-10'), NOW).toISOString().slice(0, 10)).toBe('2026-03-10');
    expect(nextBirthday(new Date('1990-03-09'), NOW).toISOString().slice(0, 10)).toBe('2027-03-09');
    expect(nextBirthday(new Date('1992-02-29'), NOW).toISOString().slice(0, 10)).toBe('2027-02-28');
  });
});
