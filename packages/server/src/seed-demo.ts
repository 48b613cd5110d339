import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { forShop } from './db/tenant.ts';
import { fakeCustomer } from './demo-data.ts';
import type { PrismaClient } from './generated/prisma/client.ts';
import { createApiKey, findActiveKey } from './modules/auth/api-key.service.ts';
import { createStaffUser } from './modules/auth/staff.service.ts';
import { createCustomer } from './modules/customers/customer.service.ts';
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
  for (let i = 0; i < 40; i++) {
    const f = fakeCustomer(i, 7);
    await createCustomer(
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
  }
  const keys = { shop: created.shop, secretKey: created.secretKey, publishableKey: created.publishableKey };
  writeFileSync(keysFile, JSON.stringify(keys, null, 2), { mode: 0o600 });
  return keys;
}
