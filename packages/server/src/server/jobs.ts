import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { createAuditRetentionScheduler } from '../modules/audit/audit.service.ts';
import { createBehaviourRetentionScheduler } from '../modules/behaviour/track.service.ts';
import { createRetentionScheduler } from '../modules/events/event-retention.ts';
import { createFollowUpDueScheduler } from '../modules/follow-ups/follow-up-due.ts';
import { createLeadPoolScheduler } from '../modules/follow-ups/lead-pool.scheduler.ts';
import { createRetentionFollowUpScheduler } from '../modules/follow-ups/retention.scheduler.ts';
import { createImportRetentionScheduler, importsSettled } from '../modules/imports/import.service.ts';
import { createLifecycleScheduler, withLifecycle } from '../modules/lifecycle/lifecycle.scheduler.ts';
import { createAbandonedCheckoutScheduler } from '../modules/loyalty/abandoned-checkout.ts';
import { createLoyaltyScheduler } from '../modules/loyalty/loyalty.scheduler.ts';
import { createSegmentScheduler } from '../modules/segments/segment.service.ts';
import { createDispatcher } from '../modules/webhooks/webhook.dispatcher.ts';

/**
 * The background jobs of one instance (each a periodic() loop, safe with several instances): the
 * webhook dispatcher, lead pool, daily retention follow-ups, segment refresh, due follow-ups, event, audit and behaviour retention,
 * loyalty, and the abandoned checkout pass. buildApp starts them with the server and stops them first on shutdown.
 */
export function createJobs(database: Database, config: Config, logger: Logger) {
  const webhooks = createDispatcher({
    prisma: database.prisma,
    logger,
    intervalMs: config.webhooks.intervalMs,
    maxAttempts: config.webhooks.maxAttempts,
    baseBackoffMs: config.webhooks.baseBackoffMs,
    timeoutMs: config.webhooks.timeoutMs,
    targets: config.webhookTargets,
  });

  const leadPool = createLeadPoolScheduler({ prisma: database.prisma, logger, intervalMs: config.leadPoolIntervalMs });
  const retentionFollowUps = createRetentionFollowUpScheduler({
    prisma: database.prisma,
    logger,
    intervalMs: config.retentionFollowUpsIntervalMs,
  });
  const segments = createSegmentScheduler({ prisma: database.prisma, logger, ...config.segments });
  const followUpDue = createFollowUpDueScheduler({ prisma: database.prisma, logger, intervalMs: config.followUpDueIntervalMs });
  const retention = createRetentionScheduler({
    prisma: database.prisma,
    logger,
    retentionDays: config.events.retentionDays,
    intervalMs: config.events.retentionIntervalMs,
  });
  // The loyalty fold, with the stage ladder's own pass beside it (modules/lifecycle).
  const loyalty = withLifecycle(
    createLoyaltyScheduler({ prisma: database.prisma, logger, intervalMs: config.loyaltyIntervalMs }),
    createLifecycleScheduler({ prisma: database.prisma, logger, intervalMs: config.lifecycleIntervalMs }),
  );
  const auditRetention = createAuditRetentionScheduler({ prisma: database.prisma, logger, ...config.audit });
  const importRetention = createImportRetentionScheduler({
    prisma: database.prisma,
    logger,
    intervalMs: config.events.retentionIntervalMs,
    imports: config.imports,
  });
  const abandonedCheckout = createAbandonedCheckoutScheduler({
    prisma: database.prisma,
    logger,
    intervalMs: config.abandonedCheckoutIntervalMs,
  });
  const behaviourRetention = createBehaviourRetentionScheduler({
    prisma: database.prisma,
    logger,
    retentionDays: config.behaviour.retentionDays,
    intervalMs: config.behaviour.intervalMs,
  });

  return {
    webhooks,
    leadPool,
    retentionFollowUps,
    segments,
    followUpDue,
    retention,
    loyalty,
    auditRetention,
    importRetention,
    abandonedCheckout,
    behaviourRetention,
    start() {
      if (config.webhooks.enabled) webhooks.start();
      leadPool.start();
      retentionFollowUps.start();
      segments.start();
      followUpDue.start();
      retention.start();
      auditRetention.start();
      importRetention.start();
      behaviourRetention.start();
      loyalty.start();
      abandonedCheckout.start();
    },
    async stop() {
      await webhooks.stop();
      await leadPool.stop();
      await retentionFollowUps.stop();
      await segments.stop();
      await followUpDue.stop();
      await retention.stop();
      await auditRetention.stop();
      await importRetention.stop();
      await behaviourRetention.stop();
      await loyalty.stop();
      await abandonedCheckout.stop();
      // Imports running in this process finish their current batch (a re-run after a stop is safe).
      await importsSettled({ stop: true });
    },
  };
}

export type Jobs = ReturnType<typeof createJobs>;
