import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { forShop } from './db/tenant.ts';
import { fakeCustomer } from './demo-data.ts';
import type { PrismaClient } from './generated/prisma/client.ts';
import { createApiKey, findActiveKey } from './modules/auth/api-key.service.ts';
import { createStaffUser } from './modules/auth/staff.service.ts';
import { createCustomer } from './modules/customers/customer.service.ts';
import { SYSTEM } from './modules/follow-ups/follow-up.access.ts';
import { createFollowUp } from './modules/follow-ups/follow-up.service.ts';
import { recordInteraction } from './modules/interactions/interaction.service.ts';
import { recomputeLoyalty, refreshLoyalty } from './modules/loyalty/loyalty.service.ts';
import { upsertOrder } from './modules/orders/order.service.ts';
import { parseRule } from './modules/segments/segment.rule.ts';
import { createSegment } from './modules/segments/segment.service.ts';
import { createShop } from './modules/shops/shop.service.ts';

type DemoKeys = { shop: { id: string; name: string; slug: string }; secretKey: string; publishableKey: string };

/**
 * Creates the demo shop ("demo") with staff and 40 customers on first run. Its keys are kept in
 * `keysFile` (local development only) so later starts print the same keys.
 */
export async function seedDemo(prisma: PrismaClient, keysFile: string): Promise<DemoKeys> {
  const existing = await prisma.shop.findUnique({ where: { slug: 'demo' } });
  if (existing) {
    if (existsSync(keysFile)) {
      const saved = JSON.parse(readFileSync(keysFile, 'utf8')) as DemoKeys;
      if (
        saved.shop.id === existing.id &&
        (await findActiveKey(prisma, saved.secretKey)) &&
        (await findActiveKey(prisma, saved.publishableKey))
      ) {
        return saved;
      }
    }
    const db = forShop(prisma, existing.id);
    const sk = await createApiKey(db, { kind: 'SECRET', name: 'Demo secret key' });
    const pk = await createApiKey(db, { kind: 'PUBLISHABLE', name: 'Demo publishable key' });
    const keys = {
      shop: { id: existing.id, name: existing.name, slug: existing.slug },
      secretKey: sk.plainKey,
      publishableKey: pk.plainKey,
    };
    writeFileSync(keysFile, JSON.stringify(keys, null, 2), { mode: 0o600 });
    return keys;
  }
  const created = await createShop(prisma, {
    name: 'Demo Furniture Store',
    slug: 'demo',
    ownerEmail: 'owner@demo.example',
    ownerName: 'Olivia Owner',
  });
  const db = forShop(prisma, created.shop.id);
  const manager = await createStaffUser(db, { email: 'manager@demo.example', name: 'Max Manager', role: 'MANAGER' });
  const agents = [
    await createStaffUser(db, { email: 'ava@demo.example', name: 'Ava Agent', role: 'AGENT' }),
    await createStaffUser(db, { email: 'sam@demo.example', name: 'Sam Sales', role: 'AGENT' }),
  ];
  void manager;
  const DAY = 86_400_000;
  for (let i = 0; i < 40; i++) {
    const f = fakeCustomer(i, 7);
    const c = await createCustomer(
      db,
      { staffId: null, source: 'import' },
      {
        firstName: f.firstName,
        lastName: f.lastName,
        company: f.company,
        email: f.email,
        phone: f.phone,
        stage: f.stage,
        incomeBand: f.incomeBand,
        dealLikelihood: f.dealLikelihood,
        productInterests: f.productInterests,
        birthDate: f.birthDate,
        location: { country: f.country, city: f.city },
        source: { channel: f.sourceChannel, campaign: f.sourceCampaign },
        ownerId: i % 3 === 2 ? null : (agents[i % 2]?.id ?? null),
        tags: f.tags,
        consents: [
          { channel: 'EMAIL', granted: i % 4 !== 0, source: 'demo-import' },
          { channel: 'SMS', granted: i % 3 === 0, source: 'demo-import' },
        ],
      },
    );
    const owner = c.ownerId;
    // Touchpoints and purchase history that fit the stage, so timelines and agendas are not empty.
    await recordInteraction(
      db,
      { staffId: owner },
      {
        customerId: c.id,
        channel: i % 2 ? 'EMAIL' : 'PHONE',
        direction: 'INBOUND',
        type: 'INQUIRY',
        subject: `Question about ${f.productInterests[0] ?? 'delivery times'}`,
        sentiment: 'NEUTRAL',
        occurredAt: new Date(Date.now() - (30 + i) * DAY),
      },
    );
    const buyer = ['FIRST_PURCHASE', 'CHURNED'].includes(f.stage)
      ? 1
      : ['REPEAT', 'LOYAL', 'ADVOCATE', 'PARTNER'].includes(f.stage)
        ? 2
        : 0;
    for (let n = 0; n < buyer; n++) {
      await upsertOrder(
        db,
        { staffId: null },
        {
          externalId: `DEMO-${1000 + i * 10 + n}`,
          customerId: c.id,
          currency: 'EUR',
          status: 'FULFILLED',
          placedAt: new Date(Date.now() - (200 - n * 90 + i) * DAY),
          items: [
            { sku: 'SOFA-3', name: 'Three-seat sofa', quantity: 1, unitPrice: '899.00' },
            ...(n === 1 ? [{ sku: 'CARE', name: 'Fabric care kit', quantity: 1, unitPrice: '19.90', addOn: true }] : []),
          ],
        },
      );
    }
    if (i % 5 === 0) {
      await recordInteraction(
        db,
        { staffId: owner },
        {
          customerId: c.id,
          channel: 'SOCIAL',
          direction: 'INBOUND',
          type: 'REVIEW',
          subject: 'Lovely sofa, fast delivery',
          sentiment: 'POSITIVE',
          occurredAt: new Date(Date.now() - i * DAY),
        },
      );
    }
    if (f.stage === 'PROSPECT' && owner) {
      await createFollowUp(db, SYSTEM, {
        customerId: c.id,
        assigneeId: owner,
        dueAt: new Date(Date.now() + ((i % 7) - 2) * DAY),
        goal: 'Call back about the offer',
      });
    }
    // A few loyalty signals: Q&A, event visits, completed surveys and suggestions.
    const signals = (['QA_PARTICIPATION', 'EVENT_ATTENDANCE', 'SURVEY_RESPONSE', 'SUGGESTION'] as const).filter(
      (_, k) => (i + k) % 3 === 0,
    );
    for (const [k, type] of signals.entries()) {
      await recordInteraction(
        db,
        { staffId: owner },
        {
          customerId: c.id,
          channel: 'WEB',
          direction: 'INBOUND',
          type,
          metadata: type === 'SURVEY_RESPONSE' ? { completed: true } : {},
          occurredAt: new Date(Date.now() - (k + 2 + i) * DAY),
        },
      );
    }
  }
  // Loyalty metrics, points from the orders and actions, churn warnings: so `pnpm start` shows them.
  await refreshLoyalty(prisma, created.shop.id);
  await recomputeLoyalty(prisma, created.shop.id);
  // A few saved segments (materialised now, refreshed by the server as data changes).
  for (const [name, rule] of [
    ['Repeat and loyal buyers', 'stage IN (REPEAT, LOYAL) AND orders.count >= 2'],
    ['At risk of churning', 'churnRisk IN (MEDIUM, HIGH)'],
    ['Open leads', 'stage IN (SUSPECT, PROSPECT) AND orders.count = 0'],
  ] as const) {
    await createSegment(prisma, db, created.shop.id, { name, rule: parseRule(rule) });
  }
  const keys = { shop: created.shop, secretKey: created.secretKey, publishableKey: created.publishableKey };
  writeFileSync(keysFile, JSON.stringify(keys, null, 2), { mode: 0o600 });
  return keys;
}
