import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory, type SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaPGlite } from 'pglite-prisma-adapter';

/**
 * Prisma's schema engine, run offline from @prisma/schema-engine-wasm (the native binary cannot be
 * downloaded everywhere). Used for the drift check (migrated database vs schema.prisma) and to
 * write new migrations (`pnpm migrate:new <name>`). The wasm is instantiated by hand so no
 * `--experimental-wasm-modules` flag is needed; Prisma's own bundled copy is preferred when present.
 */
export const schemaPath = join(dirname(fileURLToPath(import.meta.url)), '../../../../prisma/schema.prisma');

type Engine = {
  diff(params: unknown): Promise<{ exitCode: number; stdout?: string }>;
  free(): void;
};
type EngineModule = { SchemaEngine: { new: (opts: unknown, log: (s: string) => void, adapter: unknown) => Promise<Engine> } };

let enginePromise: Promise<EngineModule> | undefined;
function loadEngine(): Promise<EngineModule> {
  enginePromise ??= (async () => {
    const require = createRequire(import.meta.url);
    const bg = (await import('@prisma/schema-engine-wasm/schema_engine_bg')) as unknown as Record<string, unknown> & {
      __wbg_set_wasm(x: unknown): void;
    };
    const bundled = join(dirname(require.resolve('prisma/package.json')), 'build/schema_engine_bg.wasm');
    const wasm = existsSync(bundled)
      ? bundled
      : require.resolve('@prisma/schema-engine-wasm').replace(/schema_engine\.js$/, 'schema_engine_bg.wasm');
    const { instance } = await WebAssembly.instantiate(readFileSync(wasm), { './schema_engine_bg.js': bg as WebAssembly.ModuleImports });
    bg.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return bg as unknown as EngineModule;
  })();
  return enginePromise;
}

type Queryable = {
  performIO?: (q: unknown) => Promise<{ fields?: { dataTypeID: number }[] }>;
  startTransaction?: (...a: unknown[]) => Promise<unknown>;
};

/** adapter-pg does not map Postgres' internal "char" type (OID 18) that introspection returns. */
function fixCharOid<T>(q: T): T {
  const x = q as Queryable;
  if (x.performIO) {
    const io = x.performIO.bind(x);
    x.performIO = async (query) => {
      const res = await io(query);
      for (const f of res?.fields ?? []) if (f.dataTypeID === 18) f.dataTypeID = 25;
      return res;
    };
  }
  if (x.startTransaction) {
    const start = x.startTransaction.bind(x);
    x.startTransaction = async (...a) => fixCharOid(await start(...a));
  }
  return q;
}

/** Migration-aware adapter for a PostgreSQL URL; the shadow database is created and dropped beside it. */
export type EngineAdapter = ReturnType<typeof bindMigrationAwareSqlAdapterFactory>;

export function postgresEngineAdapter(url: string): EngineAdapter {
  const f = new PrismaPg({ connectionString: url });
  const connect = f.connect.bind(f);
  f.connect = async () => fixCharOid(await connect());
  // adapter-pg's own shadow connection keeps the main database name; build the URL ourselves.
  f.connectToShadowDb = async () => {
    const main = await connect();
    const name = `prisma_shadow_${randomUUID().replaceAll('-', '')}`;
    await main.executeScript(`CREATE DATABASE "${name}"`);
    const u = new URL(url);
    u.pathname = `/${name}`;
    const shadow = await new PrismaPg({ connectionString: u.toString() }).connect();
    const dispose = shadow.dispose.bind(shadow);
    shadow.dispose = async () => {
      await dispose();
      try {
        await main.executeScript(`DROP DATABASE IF EXISTS "${name}"`);
      } finally {
        await main.dispose();
      }
    };
    return fixCharOid(shadow);
  };
  return bindMigrationAwareSqlAdapterFactory(f);
}

export function pgliteEngineAdapter(db: PGlite): EngineAdapter {
  // PGlite's adapter maps "char" itself (and PGlite is PostgreSQL 18, whose NOT NULL constraints
  // the engine reads as "char" rows): no OID fix here.
  return bindMigrationAwareSqlAdapterFactory(new PrismaPGlite(db) as unknown as SqlMigrationAwareDriverAdapterFactory);
}

const FILTERS = { externalTables: [], externalEnums: [] };

/**
 * SQL that would bring the live database behind `adapter` to schema.prisma; empty when they match
 * (no drift). `_prisma_migrations` is ignored, as Prisma does.
 */
export async function diffDatabaseToSchema(adapter: EngineAdapter, schema = schemaPath): Promise<string> {
  const { SchemaEngine } = await loadEngine();
  const files = [{ path: schema, content: readFileSync(schema, 'utf8') }];
  const engine = await SchemaEngine.new({ datamodels: files.map((f) => [f.path, f.content]) }, () => {}, adapter);
  try {
    const res = await engine.diff({
      from: { tag: 'schemaDatasource', files, configDir: dirname(schema) },
      to: { tag: 'schemaDatamodel', files },
      script: true,
      exitCode: true,
      filters: FILTERS,
    });
    return res.exitCode === 0 ? '' : (res.stdout ?? '');
  } finally {
    engine.free();
  }
}
