import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { applyMigrations, readMigrations } from './migrate.ts';

/**
 * The embedded database's empty cluster, prepared once per machine and PGlite version.
 *
 * PGlite runs initdb in WebAssembly for every new data folder, and that is most of a first start
 * (seconds; tens of seconds on a busy machine). A fresh cluster is always the same bytes, so it
 * is made once, kept as a tarball under node_modules/.cache, and every new folder (and every
 * in-memory test database) starts from it through PGlite's documented `loadDataDir` option. The
 * `migrated` template also has every migration applied (keyed by the migrations' checksums), so a
 * first start only checks that there is nothing left to apply.
 * `pnpm install` prepares it (scripts/pglite-template.mjs); otherwise the first open does.
 */
const serverDir = join(dirname(fileURLToPath(import.meta.url)), '../..');

export function templateFile(kind: TemplateKind = 'migrated'): string {
  const require = createRequire(join(serverDir, 'package.json'));
  const entry = require.resolve('@electric-sql/pglite');
  const pkgDir = entry.slice(0, entry.lastIndexOf('@electric-sql/pglite') + '@electric-sql/pglite'.length);
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string };
  const dir = process.env.CRM_PGLITE_TEMPLATE_DIR ?? join(serverDir, 'node_modules/.cache/crm-pglite');
  if (kind === 'empty') return join(dir, `pglite-${pkg.version}.tar.gz`);
  // Keyed by the migrations too: a new or changed migration makes a new template.
  const hash = createHash('sha256');
  for (const m of readMigrations()) hash.update(`${m.name}:${m.checksum}\n`);
  return join(dir, `pglite-${pkg.version}-migrated-${hash.digest('hex').slice(0, 16)}.tar.gz`);
}

/** `empty`: a fresh cluster (what initdb makes); `migrated`: that plus every migration applied. */
export type TemplateKind = 'empty' | 'migrated';

const cached = new Map<TemplateKind, Promise<Blob>>();

/** The prepared cluster as a Blob for `PGlite.create(dir, { loadDataDir })`; made (and saved) if missing. */
export function loadTemplate(kind: TemplateKind = 'migrated'): Promise<Blob> {
  let p = cached.get(kind);
  if (!p) {
    p = make(kind);
    cached.set(kind, p);
    p.catch(() => cached.delete(kind));
  }
  return p;
}

async function make(kind: TemplateKind): Promise<Blob> {
  const file = templateFile(kind);
  if (existsSync(file)) return new Blob([readFileSync(file)]);
  const lite =
    kind === 'empty' ? await PGlite.create('memory://') : await PGlite.create('memory://', { loadDataDir: await loadTemplate('empty') });
  if (kind === 'migrated') {
    await applyMigrations({
      exec: async (s) => void (await lite.exec(s)),
      query: async <T>(s: string, p?: unknown[]) => (await lite.query<T>(s, p)).rows,
    });
  }
  const blob = await lite.dumpDataDir('gzip');
  await lite.close();
  // Written beside and renamed, so concurrent processes never read half a file; a read-only
  // cache folder only costs the next start the same work again.
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(tmp, Buffer.from(await blob.arrayBuffer()));
    renameSync(tmp, file);
  } catch {
    rmSync(tmp, { force: true });
  }
  return blob;
}
