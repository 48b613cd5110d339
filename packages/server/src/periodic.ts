import { withAudit } from './db/audit-context.ts';
import type { Logger } from './logger.ts';

/**
 * A background pass run every `intervalMs` (0 or less: never), never overlapping itself. A pass
 * that throws is logged and the next one runs as planned (a database that is briefly away must not
 * crash the process). `stop()` clears the timer and waits for a running pass to finish.
 */
/** Observers of every pass (metrics: runs, failures and durations per scheduler). */
export type PassObserver = (name: string, seconds: number, ok: boolean) => void;
export const passObservers = new Set<PassObserver>();

export function periodic(opts: { name: string; intervalMs: number; logger: Logger }, pass: () => Promise<unknown>) {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  return {
    start() {
      if (opts.intervalMs <= 0 || timer) return;
      timer = setInterval(() => {
        if (running) return;
        const started = performance.now();
        const observe = (ok: boolean) => {
          for (const o of passObservers) o(opts.name, (performance.now() - started) / 1000, ok);
        };
        // Changes a pass makes are audited as this system job (docs/audit.md).
        running = withAudit({ kind: 'SYSTEM', job: opts.name, op: opts.name }, pass)
          .then(
            () => observe(true),
            (err) => {
              observe(false);
              opts.logger.error(`${opts.name} pass failed`, { error: String(err) });
            },
          )
          .finally(() => {
            running = null;
          });
      }, opts.intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await running;
    },
  };
}
