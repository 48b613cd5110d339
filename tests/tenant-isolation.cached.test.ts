import { expect, it } from 'vitest';
import { createTestApp } from '../packages/server/src/testing.ts';

/**
 * The tenant-isolation suite again, with the response cache on (RESPONSE_CACHE_MS): every case of
 * tests/tenant-isolation.test.ts must hold when answers are served from the cache too. The suite's
 * test apps read TEST_RESPONSE_CACHE_MS (testing.ts) when they are created; vitest runs each file
 * in its own process, so the setting stays in this one.
 */
process.env.TEST_RESPONSE_CACHE_MS = '60000';
await import('./tenant-isolation.test.ts');

it('the suite above ran with the response cache on', async () => {
  const t = await createTestApp();
  try {
    expect(t.config.caches.responseMs).toBe(60_000);
    expect(t.app.services.caches?.responses).toBeDefined();
  } finally {
    await t.close();
  }
});
