// Runs `prisma generate` offline. Prisma's CLI insists on a schema-engine binary being present even
// though generation does not use it; the real binary cannot be downloaded on air-gapped machines,
// so point it at any existing file unless the caller provided one.
import { spawnSync } from 'node:child_process';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
const bin = join(root, 'packages/server/node_modules/.bin');
env.PATH = `${bin}${delimiter}${env.PATH ?? ''}`;
const prismaBin = join(bin, 'prisma');
const res = spawnSync(prismaBin, ['generate', '--config', join(root, 'prisma.config.ts')], {
  cwd: root,
  env,
  stdio: 'inherit',
});
process.exit(res.status ?? 1);
