/**
 * Deterministic fake customers (same seed, same people), used by the demo seed and the benchmark.
 */
export function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = [
  'Anna',
  'Ben',
  'Chen',
  'Dana',
  'Emil',
  'Fatima',
  'Grace',
  'Hiro',
  'Ines',
  'Jonas',
  'Kofi',
  'Lena',
  'Mateo',
  'Nora',
  'Omar',
  'Priya',
  'Quinn',
  'Rosa',
  'Sami',
  'Tara',
  'Umar',
  'Vera',
  'Wei',
  'Yara',
  'Zoe',
];
const LAST = [
  'Schmidt',
  'Garcia',
  'Wang',
  'Okafor',
  'Rossi',
  'Novak',
  'Silva',
  'Kim',
  'Dubois',
  'Larsen',
  'Haddad',
  'Tanaka',
  'Meyer',
  'Costa',
  'Ahmed',
  'Fischer',
  'Lopez',
  'Ivanova',
  'Nguyen',
  'Berg',
];
const COMPANIES = [null, null, null, 'Atelier Nord', 'Kaffeehaus GmbH', 'Blue Pine Studio', 'Okafor & Sons', 'Lumen Design'];
const INTERESTS = ['sofas', 'lighting', 'kitchen', 'outdoor', 'rugs', 'beds', 'office chairs', 'storage'];
const TAGS = ['vip', 'newsletter', 'b2b', 'designer', 'wholesale', 'event-2026', 'complaint-resolved'];
export const STAGES = [
  'SUSPECT',
  'PROSPECT',
  'PROSPECT',
  'PROSPECT',
  'FIRST_PURCHASE',
  'FIRST_PURCHASE',
  'REPEAT',
  'LOYAL',
  'ADVOCATE',
  'PARTNER',
  'CHURNED',
] as const;
export const SOURCES = [
  'ORGANIC_SEARCH',
  'PAID_SEARCH',
  'SOCIAL',
  'ADVERTISING',
  'ARTICLE',
  'REFERRAL',
  'WALK_IN',
  'PARTNER',
  'MARKETPLACE',
  'EVENT',
] as const;
const CAMPAIGNS = [null, 'spring-sale', 'black-friday', 'designer-week', 'newsletter-12'];
const CITIES: [string, string][] = [
  ['DE', 'Berlin'],
  ['DE', 'Hamburg'],
  ['FR', 'Lyon'],
  ['GB', 'Leeds'],
  ['US', 'Austin'],
  ['CN', 'Shanghai'],
];
const INCOME = ['LOW', 'LOWER_MIDDLE', 'MIDDLE', 'UPPER_MIDDLE', 'HIGH'] as const;

export type FakeCustomer = {
  firstName: string;
  lastName: string;
  company: string | null;
  email: string;
  phone: string;
  stage: (typeof STAGES)[number];
  sourceChannel: (typeof SOURCES)[number];
  sourceCampaign: string | null;
  country: string;
  city: string;
  incomeBand: (typeof INCOME)[number];
  dealLikelihood: number;
  productInterests: string[];
  tags: string[];
  birthDate: Date;
  createdAt: Date;
};

/** The i-th fake customer for a seed; emails and phones are unique per index. */
export function fakeCustomer(i: number, seed = 42): FakeCustomer {
  const r = rng(seed * 1_000_003 + i);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)] as T;
  const firstName = pick(FIRST);
  const lastName = pick(LAST);
  const [country, city] = pick(CITIES);
  const tags = TAGS.filter(() => r() < 0.15);
  return {
    firstName,
    lastName,
    company: pick(COMPANIES),
    email: `${firstName}.${lastName}.${i}@example.com`.toLowerCase(),
    phone: `+49151${String(10_000_000 + i).slice(-8)}`,
    stage: pick(STAGES),
    sourceChannel: pick(SOURCES),
    sourceCampaign: pick(CAMPAIGNS),
    country,
    city,
    incomeBand: pick(INCOME),
    dealLikelihood: Math.floor(r() * 101),
    productInterests: INTERESTS.filter(() => r() < 0.2),
    tags,
    birthDate: new Date(Date.UTC(1950 + Math.floor(r() * 55), Math.floor(r() * 12), 1 + Math.floor(r() * 28))),
    createdAt: new Date(Date.UTC(2025, 0, 1) + Math.floor(r() * 600 * 86_400_000)),
  };
}
