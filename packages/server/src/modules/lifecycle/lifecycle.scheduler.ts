import type { PrismaClient } from '../../generated/prisma/client.ts';
import type { Logger } from '../../logger.ts';
import { periodic } from '../../periodic.ts';
import { evaluateLifecycle } from './lifecycle.service.ts';

/**
 * The background pass of the lifecycle ladder: every LIFECYCLE_INTERVAL_MS, one set-based
 * evaluation per shop (lifecycle.sql.ts). It catches what time alone changes (churn risk from the
 * loyalty recompute, reviews leaving the advocate window) and migrates legacy PARTNER customers;
 * changes from orders / interactions are evaluated right after the loyalty fold as well.
 */
export function createLifecycleScheduler(opts: { prisma: PrismaClient; logger: Logger; intervalMs: number }) {
  async function tick(at?: Date): Promise<{ moved: number }> {
    let moved = 0;
    const shops = await opts.prisma.shop.findMany({ select: { id: true } });
    for (const { id } of shops) {
      try {
        moved += await evaluateLifecycle(opts.prisma, id, { kind: 'shop' }, at);
      } catch (err) {
        opts.logger.error('lifecycle pass failed', { shopId: id, error: String(err) });
      }
    }
    return { moved };
  }
  return { tick, ...periodic({ name: 'lifecycle', intervalMs: opts.intervalMs, logger: opts.logger }, () => tick()) };
}

type Startable = { start(): void; stop(): Promise<void> };

/** Runs the lifecycle pass alongside another scheduler (app.ts registers it with one line next to loyalty). */
export function withLifecycle<S extends Startable>(scheduler: S, lifecycle: ReturnType<typeof createLifecycleScheduler>) {
  return {
    ...scheduler,
    lifecycle,
    start() {
      scheduler.start();
      lifecycle.start();
    },
    async stop() {
      await scheduler.stop();
      await lifecycle.stop();
    },
  };
}
