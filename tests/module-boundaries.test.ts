import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Module boundaries, checked on the source: resolvers reach data only through the context's
 * shop-scoped client (`ctx.db`) and shop-bound raw SQL (`ctx.sql`), never through the unscoped
 * client of the services (`ctx.services.database`), and permissions are declared (`authScopes`),
 * not checked by hand.
 */

const MODULES = join(import.meta.dirname, '..', 'packages', 'server', 'src', 'modules');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

const files = sources(MODULES).map((p) => ({ path: relative(MODULES, p), text: readFileSync(p, 'utf8') }));
const occurrences = (pattern: RegExp) =>
  files
    .flatMap((f) => (f.text.match(pattern) ?? []).map(() => f.path))
    .reduce<Record<string, number>>((acc, p) => {
      acc[p] = (acc[p] ?? 0) + 1;
      return acc;
    }, {});

/**
 * The one exception (services that run set-based SQL in their own transactions take `ctx.shop`, a
 * ShopBound from db/shop-bound.ts, whose transactions hand out only shop-bound doors).
 */
const REMAINING_UNSCOPED: Record<string, number> = {};

describe('module boundaries', () => {
  it('no module reaches the unscoped client through the context (except the shrinking list above)', () => {
    const found = occurrences(/services\.database/g);
    for (const [path, n] of Object.entries(found)) {
      expect(REMAINING_UNSCOPED[path], `${path} uses ctx.services.database ${n}x: use ctx.db / ctx.sql`).toBeDefined();
      expect(n, `${path}: more unscoped uses than before`).toBeLessThanOrEqual(REMAINING_UNSCOPED[path] as number);
    }
    expect(files.length).toBeGreaterThan(40);
  });

  it('no hand-written permission checks in modules: fields declare authScopes', () => {
    expect(occurrences(/\b(requireScope|requireShop|requireCustomerSelf|requireManager)\(/g)).toEqual({});
    expect(occurrences(/viewer\.scopes\.has\(/g)).toEqual({});
  });
});
