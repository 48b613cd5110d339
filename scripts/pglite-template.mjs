// Prepares the embedded database's empty cluster once per machine and PGlite version (run by
// `pnpm install`), so the first `pnpm start` loads it instead of running initdb, the slowest step
// of a first start. See packages/server/src/db/pglite-template.ts.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const serverDir = join(dirname(fileURLToPath(import.meta.url)), '../packages/server');
const tsx = pathToFileURL(createRequire(join(serverDir, 'package.json')).resolve('tsx')).href;
const mod = pathToFileURL(join(serverDir, 'src/db/pglite-template.ts')).href;
const code = `const m = await import(${JSON.stringify(mod)}); await m.loadTemplate(); console.log('embedded database template: ' + m.templateFile());`;
const res = spawnSync(process.execPath, ['--import', tsx, '--input-type=module', '-e', code], { stdio: 'inherit' });
process.exit(res.status ?? 1);
