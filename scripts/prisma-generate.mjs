// Runs `prisma generate` offline. Prisma's CLI insists on a schema-engine binary being present even
// though generation does not use it; the real binary cannot be downloaded on air-gapped machines,
// so point it at any existing file unless the caller provided one.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
const bin = join(root, 'packages/server/node_modules/.bin');
env.PATH = `${bin}${delimiter}${env.PATH ?? ''}`;
// Prisma's CLI by package resolution, run with this Node, not through the `.bin/prisma` shim:
// pnpm 11 can run this root postinstall before it has linked packages/server's bins (seen under
// load: "cannot open …/node_modules/.bin/prisma"); the package itself is linked by then.
const serverRequire = createRequire(join(root, 'packages/server/package.json'));
const pkgFile = serverRequire.resolve('prisma/package.json');
const pkgBin = JSON.parse(readFileSync(pkgFile, 'utf8')).bin;
const cli = join(dirname(pkgFile), typeof pkgBin === 'string' ? pkgBin : pkgBin.prisma);
// prisma.config.ts (at the root) imports `prisma/config`: found where the shim would point it.
env.NODE_PATH = [dirname(dirname(pkgFile)), join(root, 'packages/server/node_modules'), env.NODE_PATH].filter(Boolean).join(delimiter);
const res = spawnSync(process.execPath, [cli, 'generate', '--config', join(root, 'prisma.config.ts')], {
  cwd: root,
  env,
  stdio: 'inherit',
});
process.exit(res.status ?? 1);
