/**
 * A bench module run as its own Node process, driven over IPC: the clients of a benchmark (the
 * fan-out's subscribers, the import's uploader and reader) and a second API instance run apart
 * from the server being measured, as they would in production, so their work and garbage do not
 * share its event loop and heap.
 *
 * IPC: the parent sends {id, op, arg}; the child answers {id, value} or {id, error}, and {ready}
 * once it listens. The op `stop` ends the child.
 */
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Forks `file` (a bench module, relative to this directory) under tsx's loader with `flag`=1 set.
 * `ownSession`: in a session of its own (setsid), as a client on its own machine would be: Linux
 * shares the CPU between sessions first (autogroup), so a client in the bench's session takes its
 * CPU out of the measured server's share (the server runs in the bench's process).
 */
export async function forkChild(file: string, flag: string, nodeFlags: string[] = [], ownSession = false) {
  const child = fork(fileURLToPath(new URL(file, import.meta.url)), [], {
    detached: ownSession,
    // tsx's loader by absolute URL: the child may start in any working directory.
    execArgv: ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href, ...nodeFlags],
    env: { ...process.env, [flag]: '1' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let seq = 0;
  let exited = false;
  const ready = new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      exited = true;
      const err = new Error(`${file} process exited (${code})`);
      reject(err);
      for (const w of waiting.values()) w.reject(err);
    });
    child.on('message', (m: { ready?: true; id?: number; value?: unknown; error?: string }) => {
      if (m.ready) return resolve();
      const w = waiting.get(m.id as number);
      waiting.delete(m.id as number);
      if (m.error) w?.reject(new Error(m.error));
      else w?.resolve(m.value);
    });
  });
  await ready;
  const call = <T>(op: string, arg?: unknown) =>
    new Promise<T>((resolve, reject) => {
      const id = ++seq;
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, op, arg });
    });
  return {
    call,
    async stop() {
      if (exited) return;
      const gone = new Promise((r) => child.once('exit', r));
      await Promise.race([call('stop').catch(() => undefined), new Promise((r) => setTimeout(r, 10_000).unref())]);
      if (!exited) child.kill();
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5_000).unref())]);
    },
  };
}

/**
 * The child's side, when this process was forked with `flag`=1: answers each op with its
 * handler's value; `stop` runs `onStop` and disconnects.
 */
export function serveChild(flag: string, ops: Record<string, (arg: never) => unknown>, onStop: () => Promise<void> | void = () => {}) {
  if (process.env[flag] !== '1' || !process.send) return;
  const send = (m: unknown) => process.send?.(m);
  let stopped = false;
  process.on('message', async (m: { id: number; op: string; arg?: unknown }) => {
    try {
      if (m.op === 'stop') {
        stopped = true;
        await onStop();
        send({ id: m.id, value: null });
        process.disconnect();
        return;
      }
      const op = ops[m.op];
      if (!op) throw new Error(`unknown op ${m.op}`);
      send({ id: m.id, value: (await op(m.arg as never)) ?? null });
    } catch (err) {
      send({ id: m.id, error: String((err as Error)?.stack ?? err) });
    }
  });
  // Its bench gone (killed, crashed) without a stop: this process ends too (one in a session of
  // its own would otherwise outlive it).
  process.on('disconnect', () => {
    if (!stopped) process.exit(0);
  });
  send({ ready: true });
}

/** `--max-semi-space-size=n` when this process was started with it (tsx passes it in execArgv). */
export const semiSpaceFlag = () => process.execArgv.filter((a) => a.startsWith('--max-semi-space-size'));
