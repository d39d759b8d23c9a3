/**
 * Merge: several adapters of one base combined. A reversible merge (rmm_*) publishes a shared basis that must
 * match the merge; a collapsed one publishes an adapter, served under the merge's own name (no adapter row).
 */
import { eq } from 'drizzle-orm';
import { MergeResult } from '../../../contracts/api/internal-api.ts';
import { isReversibleMerge, reversibleBasisSize } from '../../../contracts/api/merge-methods.ts';
import { InvalidInputError } from '../../../contracts/formats/errors.ts';
import { BASIS_MANIFEST, BASIS_TENSORS, type ReversibleFloatBits } from '../../../contracts/formats/job-artifacts.ts';
import { mergeMembers, merges } from '../../../schema/index.ts';
import { nowS } from '../../ids.ts';
import { checkBasis, publishedArtifact } from '../artifact-check.ts';
import { asJobTable, type JobKindDefinition } from '../kind.ts';
import { stillHeld } from '../lease.ts';
import { baseOf, checkedResult, lostMeanwhile, producedAdapterPrefix, publishedAdapter, rejectOutput } from '../outputs.ts';
import { baseRef, leaseRef, mergeMembersOf } from '../spec-refs.ts';

export const mergeKind: JobKindDefinition<'merge'> = {
  kind: 'merge',
  table: asJobTable(merges),
  async spec(db, id) {
    const [m] = await db.select().from(merges).where(eq(merges.id, id));
    if (!m) return null;
    return {
      kind: 'merge',
      ...leaseRef(m),
      base_model: await baseRef(db, m.baseModelId),
      method: m.method,
      basis_size: m.basisSize,
      density: m.density,
      params: m.params ?? {},
      members: await mergeMembersOf(db, m.id),
    };
  },
  async complete({ db, store, id, backendId, done }) {
    const [m] = await db.select().from(merges).where(eq(merges.id, id));
    const measured = checkedResult(MergeResult, 'merge', done.result);
    const members = await db.select({ adapterId: mergeMembers.adapterId }).from(mergeMembers).where(eq(mergeMembers.mergeId, id));
    try {
      if (isReversibleMerge(m.method)) {
        await publishedArtifact(store, m.outputPrefix, id, 'reversible_basis', [BASIS_MANIFEST, BASIS_TENSORS]);
        await checkBasis(store, m.outputPrefix, {
          memberIds: members.map((r) => r.adapterId),
          basisSize: reversibleBasisSize(m.basisSize, members.length),
          floatBits: (m.params?.float_bits as ReversibleFloatBits | undefined) ?? 32,
        });
      } else {
        await publishedAdapter(store, id, {
          tenantId: m.tenantId,
          base: await baseOf(db, m.baseModelId),
          name: m.name,
          source: 'merge',
          sourceId: m.id,
          prefix: producedAdapterPrefix(m.outputPrefix),
          outputPrefix: m.outputPrefix,
        });
      }
    } catch (err) {
      if (!(err instanceof InvalidInputError)) throw err;
      return rejectOutput(db, 'merge', id, backendId, err);
    }
    const updated = await db
      .update(merges)
      .set({ status: 'succeeded', finishedAt: nowS(), leaseExpiresAt: null, result: measured })
      .where(stillHeld('merge', id, backendId))
      .returning({ id: merges.id });
    if (updated.length === 0) await lostMeanwhile(db, 'merge', id, backendId);
  },
};
