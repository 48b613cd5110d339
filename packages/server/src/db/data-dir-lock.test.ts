import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { findActiveKey } from '../modules/auth/api-key.service.ts';
import { testBackend } from '../testing.ts';
import { DataDirLockedError } from './data-dir-lock.ts';
import { openDatabase } from './database.ts';

/**
 * One owner per embedded folder: a second opener gets an error naming the holder, a stale lock
 * (dead PID) is taken over, and `pnpm crm shop:create` refuses while a server holds the folder and
 * otherwise prints keys that the next server start accepts. About the embedded database only, so
 * it runs in the pglite project (the postgres project would repeat the same thing).
 */
const serverDir = join(dirname(fileURLToPath(import.meta.url)), '../..');
const root = mkdtempSync(join(tmpdir(), 'crm-lock-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// The CLI on the embedded database, whatever the test run's environment points at.
const { DATABASE_URL: _, ...env } = process.env;

function cli(dataDir: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', ...args],
      { cwd: serverDir, env: { ...env, DATA_DIR: dataDir } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe.skipIf(testBackend() !== 'pglite')('embedded data folder lock', () => {
  it('a second opener gets an error naming the process that holds the folder; closing releases it', async () => {
    const dir = join(root, 'a', 'pglite');
    const first = await openDatabase({ dataDir: dir });
    const lock = JSON.parse(readFileSync(`${dir}.lock`, 'utf8'));
    expect(lock).toMatchObject({ pid: process.pid, host: hostname() });
    const second = await openDatabase({ dataDir: dir }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(DataDirLockedError);
    expect((second as Error).message).toContain(`in use by process ${process.pid} on ${hostname()}`);
    await first.close();
    expect(existsSync(`${dir}.lock`)).toBe(false);
    const again = await openDatabase({ dataDir: dir });
    await again.close();
  });

  it('takes over a stale lock left by a process that is gone', async () => {
    const dir = join(root, 'b', 'pglite');
    const dead = spawnSync(process.execPath, ['-e', 'process.pid']).pid as number;
    const stale = { pid: dead, host: hostname(), startedAt: '2020-01-01T00:00:00.000Z', command: 'crashed' };
    const db0 = await openDatabase({ dataDir: dir });
    await db0.close();
    writeFileSync(`${dir}.lock`, JSON.stringify(stale));
    const db = await openDatabase({ dataDir: dir });
    expect(JSON.parse(readFileSync(`${dir}.lock`, 'utf8')).pid).toBe(process.pid);
    await db.close();
  });

  it('pnpm crm refuses while a server holds the folder; the keys it prints otherwise work', async () => {
    const dataDir = join(root, 'c');
    const server = await openDatabase({ dataDir: join(dataDir, 'pglite') });
    const refused = await cli(dataDir, ['shop:create', '--name', 'Nordic Living']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`in use by process ${process.pid}`);
    expect(await server.prisma.shop.count({ where: { name: 'Nordic Living' } })).toBe(0);
    await server.close();

    const ok = await cli(dataDir, ['shop:create', '--name', 'Nordic Living']);
    expect(ok.code, ok.stderr).toBe(0);
    const created = JSON.parse(ok.stdout) as { secretKey: string; publishableKey: string };
    const restarted = await openDatabase({ dataDir: join(dataDir, 'pglite') });
    expect(await findActiveKey(restarted.prisma, created.secretKey)).not.toBeNull();
    expect(await findActiveKey(restarted.prisma, created.publishableKey)).not.toBeNull();
    await restarted.close();
  });
});
