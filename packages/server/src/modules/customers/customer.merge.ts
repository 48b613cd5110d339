import type { ScopedDb, ScopedTx } from '../../db/tenant.ts';
import { AlreadyMergedError, NotFoundError, ValidationError } from '../../errors.ts';
import type { Customer } from '../../generated/prisma/client.ts';
import type { ConsentChannel, LifecycleStage } from '../../generated/prisma/enums.ts';
import { emitEvent, gid } from '../events/event.service.ts';
import { LOCATION_COLUMNS, PROFILE_COLUMNS, SOURCE_COLUMNS } from './customer.columns.ts';
import { LOCKING_TX } from './customer.erase.ts';
import { type Actor, getCustomer, isUuid, recordStage, STAGE_ORDER, tx } from './customer.service.ts';

/**
 * Merging a duplicate into a survivor: locks, the plan (what moves, what conflicts), the registered
 * merge steps of other modules (modules/registry.ts). Split from customer.service.ts by role;
 * customer.service.ts re-exports it.
 */
/**
 * Steps other modules add to a merge (moving their rows from the duplicate to the survivor), run in
 * the merge's transaction. The list, in order, is in modules/registry.ts (the composition root).
 */
export type MergeStep = (tx: ScopedTx, survivorId: string, duplicateId: string) => Promise<void>;
const mergeSteps: MergeStep[] = [];
export function registerMergeStep(step: MergeStep) {
  mergeSteps.push(step);
}

/** What a merge fills on the survivor from the duplicate where the survivor has nothing. */
const FILLABLE = [
  ...PROFILE_COLUMNS.filter((k): k is Exclude<(typeof PROFILE_COLUMNS)[number], 'email' | 'phone'> => k !== 'email' && k !== 'phone'),
  ...LOCATION_COLUMNS,
  ...SOURCE_COLUMNS,
];

const stageRank = (s: LifecycleStage) => STAGE_ORDER.indexOf(s);

/**
 * Locks both customers of a merge, in one canonical order (by id), so two merges that share a
 * customer serialise instead of deadlocking or both passing their checks: `x into y` and `y into x`
 * sent together, five identical merges, or a chain (A<-B and B<-C at once). The scoped client has
 * no raw SQL (so no `SELECT ... FOR UPDATE`); an UPDATE takes the same row lock (FOR NO KEY UPDATE,
 * which conflicts with itself) and is the version bump the merge does anyway. Under READ COMMITTED
 * the rows read after the locks are the committed state left by whichever merge went first.
 */
export async function lockForMerge(t: ScopedTx, ids: string[]) {
  for (const id of [...new Set(ids)].sort()) {
    await t.customer.updateMany({ where: { id }, data: { version: { increment: 1 } } });
  }
}

/** The rows of a merge, checked: both exist in this shop, neither is merged already. */
async function loadMergePair(t: ScopedTx, survivorId: string, duplicateId: string) {
  const load = async (id: string, path: string[]) => {
    const c = await getCustomer(t, id);
    if (!c) throw new NotFoundError('Customer', path);
    if (c.status === 'MERGED') throw new AlreadyMergedError(c.id, c.mergedIntoId, path);
    return c;
  };
  const survivor = await load(survivorId, ['input', 'survivorId']);
  const dup = await load(duplicateId, ['input', 'duplicateId']);
  return { survivor, dup };
}

/** What a merge would do (or did): see `planMerge`. Values are the stored column values. */
export type MergePlan = {
  /** Fields the survivor lacks and takes from the duplicate. */
  filled: { field: string; value: unknown }[];
  /** Fields both have with different values: the survivor's value stays, the duplicate's is kept only in the merge snapshot. */
  conflicts: { field: string; survivorValue: unknown; duplicateValue: unknown }[];
  /** Identifiers of the duplicate the survivor gains as secondary ones. */
  addedEmails: string[];
  addedPhones: string[];
  /** The duplicate's externalId when the survivor has one too (it stays on the tombstone; lookups by it follow the merge). */
  conflictingExternalId: string | null;
  consents: {
    channel: ConsentChannel;
    survivorGranted: boolean | null;
    duplicateGranted: boolean | null;
    resultGranted: boolean;
    conflict: boolean;
  }[];
  points: { survivorBalance: number; duplicateBalance: number; resultBalance: number };
  owner: { survivorOwnerId: string | null; duplicateOwnerId: string | null; resultOwnerId: string | null; conflict: boolean };
  stage: { survivor: LifecycleStage; duplicate: LifecycleStage; result: LifecycleStage };
  /** Rows that move from the duplicate to the survivor, per kind. */
  moves: { kind: string; count: number }[];
};

const same = (a: unknown, b: unknown) =>
  a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : JSON.stringify(a) === JSON.stringify(b);

function mergedStage(survivor: Customer, dup: Customer): LifecycleStage {
  let stage = survivor.stage;
  if (survivor.stage !== 'CHURNED' && dup.stage !== 'CHURNED' && stageRank(dup.stage) > stageRank(survivor.stage)) stage = dup.stage;
  if (survivor.stage === 'CHURNED' && dup.stage !== 'CHURNED') stage = dup.stage;
  return stage;
}

/** Reads what merging `dup` into `survivor` moves and where the two disagree; writes nothing. */
async function planMerge(t: ScopedTx, survivor: Customer, dup: Customer): Promise<MergePlan> {
  const filled: MergePlan['filled'] = [];
  const conflicts: MergePlan['conflicts'] = [];
  for (const k of FILLABLE) {
    if (k === 'externalId' || k === 'ownerId') continue;
    if (survivor[k] == null && dup[k] != null) filled.push({ field: k, value: dup[k] });
    else if (survivor[k] != null && dup[k] != null && !same(survivor[k], dup[k])) {
      conflicts.push({ field: k, survivorValue: survivor[k], duplicateValue: dup[k] });
    }
  }
  const emails = new Set([survivor.email, ...survivor.otherEmails]);
  const phones = new Set([survivor.phone, ...survivor.otherPhones]);
  const addedEmails = [dup.email, ...dup.otherEmails].filter((e): e is string => !!e && !emails.has(e));
  const addedPhones = [dup.phone, ...dup.otherPhones].filter((e): e is string => !!e && !phones.has(e));
  const [sc, dc] = await Promise.all([
    t.consent.findMany({ where: { customerId: survivor.id } }),
    t.consent.findMany({ where: { customerId: dup.id } }),
  ]);
  const channels = [...new Set([...sc, ...dc].map((c) => c.channel))].sort();
  const consents = channels.map((channel) => {
    const s = sc.find((c) => c.channel === channel);
    const d = dc.find((c) => c.channel === channel);
    const result = !s ? d : !d ? s : d.updatedAt > s.updatedAt ? d : s;
    return {
      channel,
      survivorGranted: s?.granted ?? null,
      duplicateGranted: d?.granted ?? null,
      resultGranted: result?.granted ?? false,
      conflict: !!s && !!d && s.granted !== d.granted,
    };
  });
  const [sp, dp] = await Promise.all([
    t.pointsAccount.findUnique({ where: { customerId: survivor.id }, select: { balance: true } }),
    t.pointsAccount.findUnique({ where: { customerId: dup.id }, select: { balance: true } }),
  ]);
  const where = { customerId: dup.id };
  const counts = await Promise.all([
    t.order.count({ where }),
    t.interaction.count({ where }),
    t.followUp.count({ where }),
    t.customerTag.count({ where }),
    t.consentChange.count({ where }),
    t.stageTransition.count({ where }),
    t.pointsMovement.count({ where }),
    t.customer.count({ where: { sourceReferrerId: dup.id, id: { not: survivor.id } } }),
  ]);
  const kinds = ['orders', 'interactions', 'followUps', 'tags', 'consentChanges', 'stageTransitions', 'pointsMovements', 'referrals'];
  return {
    filled,
    conflicts,
    addedEmails,
    addedPhones,
    conflictingExternalId: survivor.externalId && dup.externalId ? dup.externalId : null,
    consents,
    points: {
      survivorBalance: sp?.balance ?? 0,
      duplicateBalance: dp?.balance ?? 0,
      resultBalance: (sp?.balance ?? 0) + (dp?.balance ?? 0),
    },
    owner: {
      survivorOwnerId: survivor.ownerId,
      duplicateOwnerId: dup.ownerId,
      resultOwnerId: survivor.ownerId ?? dup.ownerId,
      conflict: !!survivor.ownerId && !!dup.ownerId && survivor.ownerId !== dup.ownerId,
    },
    stage: { survivor: survivor.stage, duplicate: dup.stage, result: mergedStage(survivor, dup) },
    moves: kinds.map((kind, i) => ({ kind, count: counts[i] ?? 0 })),
  };
}

/**
 * `mergeCustomers(dryRun: true)`: what the merge would move and where the two customers disagree,
 * checked like the merge itself (same errors), without writing anything.
 */
export async function previewMerge(db: ScopedDb, survivorId: string, duplicateId: string): Promise<MergePlan> {
  if (survivorId === duplicateId) throw ValidationError.field(['input', 'duplicateId'], 'Cannot merge a customer into itself');
  return db.$transaction(async (t) => {
    const { survivor, dup } = await loadMergePair(t, survivorId, duplicateId);
    return planMerge(t, survivor, dup);
  });
}

/**
 * Merges `duplicateId` into `survivorId`. The survivor keeps its values and gains the duplicate's
 * where it had none; lists and identifiers are united; tags, consents (newest wins), stage history,
 * consent history, referrals and every registered module's rows move to the survivor. The duplicate
 * stays as a MERGED tombstone pointing at the survivor (lookups by its old identifiers follow it),
 * and a snapshot of it is kept in the merge record (erased with the survivor). Both rows are locked
 * first (`lockForMerge`); a customer already merged is refused with AlreadyMergedError, so
 * concurrent merges leave exactly one consistent outcome and one snapshot per merge.
 */
export async function mergeCustomers(db: ScopedDb, actor: Actor, survivorId: string, duplicateId: string): Promise<Customer> {
  return (await mergeCustomersWithPlan(db, actor, survivorId, duplicateId)).customer;
}

/** `mergeCustomers`, also returning what moved and what conflicted (read under the merge's locks). */
export async function mergeCustomersWithPlan(
  db: ScopedDb,
  actor: Actor,
  survivorId: string,
  duplicateId: string,
): Promise<{ customer: Customer; plan: MergePlan }> {
  if (survivorId === duplicateId) throw ValidationError.field(['input', 'duplicateId'], 'Cannot merge a customer into itself');
  if (!isUuid(survivorId)) throw new NotFoundError('Customer', ['input', 'survivorId']);
  if (!isUuid(duplicateId)) throw new NotFoundError('Customer', ['input', 'duplicateId']);
  return tx(
    db,
    async (t) => {
      await lockForMerge(t, [survivorId, duplicateId]);
      const { survivor, dup } = await loadMergePair(t, survivorId, duplicateId);
      const plan = await planMerge(t, survivor, dup);
      const data: Record<string, unknown> = {};
      for (const k of FILLABLE) {
        if (survivor[k] == null && dup[k] != null && !(k === 'externalId')) data[k] = dup[k];
      }
      if (data.sourceReferrerId === survivor.id) data.sourceReferrerId = undefined;
      const union = <T>(a: T[], b: T[]) => [...new Set([...a, ...b])];
      data.otherEmails = union(
        survivor.otherEmails,
        [dup.email, ...dup.otherEmails].filter((e): e is string => !!e && e !== survivor.email),
      );
      data.otherPhones = union(
        survivor.otherPhones,
        [dup.phone, ...dup.otherPhones].filter((e): e is string => !!e && e !== survivor.phone),
      );
      data.productInterests = union(survivor.productInterests, dup.productInterests);
      data.hobbies = union(survivor.hobbies, dup.hobbies);
      data.focusFactors = union(survivor.focusFactors, dup.focusFactors);
      const handles = [...(survivor.imHandles as object[]), ...(dup.imHandles as object[])];
      data.imHandles = handles.filter((h, i) => handles.findIndex((x) => JSON.stringify(x) === JSON.stringify(h)) === i);
      data.attributes = { ...(dup.attributes as object), ...(survivor.attributes as object) };
      let stage = mergedStage(survivor, dup);

      await t.customerMerge.create({
        data: { survivorId: survivor.id, mergedId: dup.id, snapshot: JSON.parse(JSON.stringify(dup)) } as never,
      });
      // Tags: copy those the survivor lacks, then drop the duplicate's.
      const dupTags = await t.customerTag.findMany({ where: { customerId: dup.id }, select: { tagId: true } });
      if (dupTags.length) {
        await t.customerTag.createMany({
          data: dupTags.map((x) => ({ customerId: survivor.id, tagId: x.tagId })) as never,
          skipDuplicates: true,
        });
        await t.customerTag.deleteMany({ where: { customerId: dup.id } });
      }
      // Consents: the most recent decision per channel wins.
      const dupConsents = await t.consent.findMany({ where: { customerId: dup.id } });
      for (const dc of dupConsents) {
        const sc = await t.consent.findUnique({ where: { customerId_channel: { customerId: survivor.id, channel: dc.channel } } });
        if (!sc) await t.consent.update({ where: { id: dc.id }, data: { customerId: survivor.id } });
        else {
          if (dc.updatedAt > sc.updatedAt)
            await t.consent.update({ where: { id: sc.id }, data: { granted: dc.granted, source: dc.source, updatedAt: dc.updatedAt } });
          await t.consent.delete({ where: { id: dc.id } });
        }
      }
      await t.consentChange.updateMany({ where: { customerId: dup.id }, data: { customerId: survivor.id } });
      await t.stageTransition.updateMany({ where: { customerId: dup.id }, data: { customerId: survivor.id } });
      await t.customer.updateMany({
        where: { sourceReferrerId: dup.id, id: { not: survivor.id } },
        data: { sourceReferrerId: survivor.id },
      });
      await t.customer.updateMany({ where: { mergedIntoId: dup.id }, data: { mergedIntoId: survivor.id } });
      for (const step of mergeSteps) await step(t, survivor.id, dup.id);
      // A step may have moved the survivor forward itself (the merged orders make it a REPEAT buyer):
      // keep the furthest stage, and record the merge's move from where the steps left it.
      const afterSteps = (await t.customer.findUnique({ where: { id: survivor.id }, select: { stage: true } }))?.stage ?? survivor.stage;
      if (afterSteps !== survivor.stage && afterSteps !== 'CHURNED' && (stage === 'CHURNED' || stageRank(afterSteps) > stageRank(stage))) {
        stage = afterSteps;
      }
      await t.customer.update({
        where: { id: dup.id },
        data: { status: 'MERGED', mergedIntoId: survivor.id, sourceReferrerId: null },
      });
      if (stage !== afterSteps) {
        await recordStage(t, survivor.id, afterSteps, stage, 'MERGE', actor, `Merged with ${dup.id}`);
      }
      const merged = await t.customer.update({ where: { id: survivor.id }, data: { ...data, stage } as never });
      const survivorGid = gid('Customer', survivor.id);
      await emitEvent(t, {
        type: 'CUSTOMER_MERGED',
        customerId: survivor.id,
        payload: { customerId: survivorGid, duplicateId: gid('Customer', dup.id), version: merged.version },
      });
      // One STAGE_CHANGED for the merge's net move (order automation in a merge step included).
      if (stage !== survivor.stage) {
        const source = stage === afterSteps ? 'AUTOMATIC' : 'MERGE';
        await emitEvent(t, {
          type: 'STAGE_CHANGED',
          customerId: survivor.id,
          payload: { customerId: survivorGid, from: survivor.stage, to: stage, source },
        });
      }
      return { customer: merged, plan };
    },
    LOCKING_TX,
  );
}
