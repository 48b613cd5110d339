import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tenantSql } from './db/tenant-sql.ts';
import { findActiveKey } from './modules/auth/api-key.service.ts';
import { DEFAULT_LOYALTY } from './modules/loyalty/loyalty.settings.ts';
import { satisfactionIndex } from './modules/loyalty/satisfaction.service.ts';
import { seedDemo } from './seed-demo.ts';
import { createTestDatabase, type TestDatabase } from './testing.ts';

let db: TestDatabase;
let dir: string;
beforeAll(async () => {
  db = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), 'crm-demo-'));
});
afterAll(async () => {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

it('seeds a believable demo shop once, and prints the same working keys on later starts', async () => {
  const keysFile = join(dir, 'demo-keys.json');
  const first = await seedDemo(db.prisma, keysFile);
  const shopId = first.shop.id;
  expect(await db.prisma.customer.count({ where: { shopId } })).toBe(40);
  expect(await db.prisma.staffUser.count({ where: { shopId } })).toBe(4);
  expect(await db.prisma.order.count({ where: { shopId } })).toBeGreaterThan(10);
  expect(await db.prisma.interaction.count({ where: { shopId } })).toBeGreaterThanOrEqual(40);
  expect(await db.prisma.followUp.count({ where: { shopId } })).toBeGreaterThan(0);
  // Purchase history and stages agree: nobody with an order is still a lead.
  const buyers = await db.prisma.customer.findMany({ where: { shopId, orders: { some: {} } }, select: { stage: true } });
  expect(buyers.every((b) => !['SUSPECT', 'PROSPECT'].includes(b.stage))).toBe(true);
  // Every rung of the ladder is reached; LOYAL, ADVOCATE, STRATEGIC and CHURNED by the rules, with reasons.
  const stages = new Set((await db.prisma.customer.findMany({ where: { shopId }, select: { stage: true } })).map((c) => c.stage));
  expect([...stages].sort()).toEqual(
    ['ADVOCATE', 'CHURNED', 'FIRST_PURCHASE', 'LOYAL', 'PARTNER', 'PROSPECT', 'REPEAT', 'STRATEGIC', 'SUSPECT'].sort(),
  );
  const automatic = await db.prisma.stageTransition.findMany({
    where: { shopId, source: 'AUTOMATIC' },
    select: { toStage: true, reason: true },
  });
  // A referral: the STRATEGIC customer has a referral code, and referred customers who bought.
  const referrer = await db.prisma.customer.findFirstOrThrow({ where: { shopId, stage: 'STRATEGIC', referralCode: { not: null } } });
  expect(await db.prisma.customer.count({ where: { shopId, sourceReferrerId: referrer.id, orders: { some: {} } } })).toBeGreaterThanOrEqual(
    2,
  );
  for (const s of ['LOYAL', 'ADVOCATE', 'STRATEGIC', 'CHURNED'] as const) {
    expect(automatic.find((t) => t.toStage === s)?.reason).toMatch(/orders over|referred customers bought|Churn risk HIGH/);
  }
  expect(await db.prisma.customer.count({ where: { shopId, stage: 'PARTNER', partnerKind: null } })).toBe(0);
  // Loyalty is computed: every customer has a metrics row; buyers have points and an RFM code.
  expect(await db.prisma.customerMetrics.count({ where: { shopId } })).toBe(40);
  expect(await db.prisma.customerMetrics.count({ where: { shopId, rfm: { not: null } } })).toBe(buyers.length);
  expect(await db.prisma.pointsAccount.count({ where: { shopId, balance: { gt: 0 } } })).toBeGreaterThan(0);
  // Satisfaction: buyers answered CSAT / NPS surveys; some are very satisfied.
  expect(await db.prisma.interaction.count({ where: { shopId, surveyKind: { not: null } } })).toBeGreaterThan(buyers.length);
  expect(await db.prisma.customerMetrics.count({ where: { shopId, verySatisfied: true } })).toBeGreaterThan(0);
  const index = await satisfactionIndex(tenantSql(db.prisma, shopId), DEFAULT_LOYALTY, 6);
  expect(index.filter((m) => m.index != null).length).toBeGreaterThanOrEqual(4);
  const segments = await db.prisma.segment.findMany({ where: { shopId }, orderBy: { name: 'asc' } });
  expect(segments.map((x) => x.name)).toEqual(['At risk of churning', 'Open leads', 'Repeat and loyal buyers']);
  expect(segments.every((x) => x.memberCount > 0)).toBe(true);
  expect(await findActiveKey(db.prisma, first.secretKey)).not.toBeNull();
  expect(await findActiveKey(db.prisma, first.publishableKey)).not.toBeNull();

  const again = await seedDemo(db.prisma, keysFile);
  expect(again).toEqual(first);
  expect(await db.prisma.customer.count({ where: { shopId } })).toBe(40);
});
