import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The README's set-up commands on a copy of the repository with the newest pnpm 10 (what
 * `npm install -g pnpm@10` gives a machine with no pnpm), pnpm 11 and pnpm 12, each installed into
 * a temporary npm prefix: `pnpm install`, the nested `pnpm crm`, and `pnpm start` until /health
 * answers. See scripts/check-pnpm-versions.sh.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('install and start with any pnpm', () => {
  it('works with pnpm 10 (newest), 11 and 12', async () => {
    const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile(
        'bash',
        [join(root, 'scripts/check-pnpm-versions.sh')],
        { cwd: root, timeout: 900_000, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
      );
    });
    expect(output).toContain('pnpm version check passed');
    expect(code, output).toBe(0);
  }, 900_000);
});
