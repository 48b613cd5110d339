import { redactAuditFor } from './audit/audit.service.ts';
import { BEHAVIOUR_DAY_EXPORT_SECTION } from './behaviour/behaviour.rollup.ts';
import { BEHAVIOUR_EXPORT_SECTION, eraseBehaviour, mergeBehaviour, VISITOR_EXPORT_SECTION } from './behaviour/track.service.ts';
import {
  AUDIT_EXPORT_SECTION,
  CORE_EXPORT_SECTIONS,
  type ExportSection,
  LEAD_LOSS_EXPORT_SECTION,
  registerExportSection,
} from './customers/customer.export.ts';
import { type EraseStep, type MergeStep, registerEraseStep, registerMergeStep } from './customers/customer.service.ts';
import { mergeFollowUps } from './follow-ups/follow-up.service.ts';
import { eraseImportRejections } from './imports/import.service.ts';
import { mergeInteractions } from './interactions/interaction.service.ts';
import { mergePoints } from './loyalty/points.service.ts';
import { mergeOrders } from './orders/order.service.ts';
import { eraseSegmentMemberships } from './segments/segment.service.ts';

/**
 * The composition root's one list of what modules add to the customer lifecycle, in order: the steps
 * a merge runs in its transaction (moving the duplicate's rows to the survivor), the steps an
 * erasure runs before the customer's own rows go, and the sections of a personal-data export. A
 * module that keeps rows about a customer adds its step or section HERE (not by an import side
 * effect, whose order would depend on who imports what first).
 */
export const MERGE_STEPS: readonly MergeStep[] = [mergePoints, mergeOrders, mergeInteractions, mergeFollowUps, mergeBehaviour];

/** The audit redaction runs last: it must see (and redact) whatever the steps before it touched. */
export const ERASE_STEPS: readonly EraseStep[] = [eraseSegmentMemberships, eraseBehaviour, eraseImportRejections, redactAuditFor];

export const EXPORT_SECTIONS: readonly ExportSection[] = [
  ...CORE_EXPORT_SECTIONS,
  LEAD_LOSS_EXPORT_SECTION,
  VISITOR_EXPORT_SECTION,
  BEHAVIOUR_EXPORT_SECTION,
  BEHAVIOUR_DAY_EXPORT_SECTION,
  AUDIT_EXPORT_SECTION,
];

let registered = false;

/** Registers the lists above once (schema.ts calls it; service-level tests call it too). */
export function registerModules(): void {
  if (registered) return;
  registered = true;
  for (const step of MERGE_STEPS) registerMergeStep(step);
  for (const step of ERASE_STEPS) registerEraseStep(step);
  for (const section of EXPORT_SECTIONS) registerExportSection(section);
}
