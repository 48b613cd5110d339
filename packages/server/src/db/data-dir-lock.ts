import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * One owner per embedded data folder. PGlite is a single-process database: a second process
 * opening the same folder (a second `pnpm start`, or `pnpm crm` beside a running server) works on
 * its own copy in memory and the two overwrite each other's files, so rows (and API keys) vanish.
 *
 * The owner writes `<folder>.lock` (created exclusively) with its PID, host, start time and
 * command; a second process gets DataDirLockedError naming that holder. A lock whose PID is dead
 * on this host is stale (a crash or kill -9) and is taken over. Hand-written because the rule is
 * this product's: what the file holds is what the error message shows.
 */
export type LockHolder = { pid: number; host: string; startedAt: string; command: string };

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder,
  ) {
    super(
      `The embedded database in ${dataDir} is in use by process ${holder.pid} on ${holder.host} ` +
        `(started ${holder.startedAt}: ${holder.command}). Only one process may open it: stop that process first, ` +
        'or set DATABASE_URL to use PostgreSQL, which any number of processes can share.',
    );
    this.name = 'DataDirLockedError';
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

function readHolder(file: string): LockHolder | null {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
    return typeof h.pid === 'number' && typeof h.host === 'string' ? h : null;
  } catch {
    return null;
  }
}

/** Takes the folder's lock or throws DataDirLockedError; returns the release function. */
export function lockDataDir(dataDir: string): () => void {
  const file = `${dataDir.replace(/\/+$/, '')}.lock`;
  const me: LockHolder = {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    command: process.argv.slice(1).join(' ').slice(0, 200),
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      return () => {
        if (readHolder(file)?.pid === process.pid) rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readHolder(file);
    if (holder) {
      if (holder.host !== me.host || alive(holder.pid)) throw new DataDirLockedError(dataDir, holder);
    } else {
      // Unreadable: being written this instant, or left half-written by a crash long ago.
      let age = 0;
      try {
        age = Date.now() - statSync(file).mtimeMs;
      } catch {}
      if (age < 2000) continue;
    }
    // Stale (its process is gone): take it over.
    rmSync(file, { force: true });
  }
  const holder = readHolder(file);
  throw new DataDirLockedError(dataDir, holder ?? { pid: 0, host: 'unknown', startedAt: 'unknown', command: 'unknown' });
}
