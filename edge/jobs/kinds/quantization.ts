/**
 * Quantization: a base model's projections and LM head quantized once to int4/int8 MatMulNBits weights and
 * stored (layout quantized_base), so `<base>@int<bits>` loads them as they are instead of quantizing at each load.
 */
import { eq } from 'drizzle-orm';
import { QuantizationResult } from '../../../contracts/api/internal-api.ts';
import { InvalidInputError } from '../../../contracts/formats/errors.ts';
import { PACKED_WEIGHTS_FILE } from '../../../contracts/formats/job-artifacts.ts';
import { quantizations } from '../../../schema/index.ts';
import { nowS } from '../../ids.ts';
import { publishedArtifact } from '../artifact-check.ts';
import { asJobTable, type JobKindDefinition } from '../kind.ts';
import { stillHeld } from '../lease.ts';
import { checkedResult, lostMeanwhile, rejectOutput } from '../outputs.ts';
import { baseRef, leaseRef } from '../spec-refs.ts';

export const quantizationKind: JobKindDefinition<'quantization'> = {
  kind: 'quantization',
  table: asJobTable(quantizations),
  async spec(db, id) {
    const [q] = await db.select().from(quantizations).where(eq(quantizations.id, id));
    if (!q) return null;
    return { kind: 'quantization', ...leaseRef(q), base_model: await baseRef(db, q.baseModelId), bits: q.bits, group_size: q.groupSize };
  },
  async complete({ db, store, id, backendId, done }) {
    const [q] = await db.select().from(quantizations).where(eq(quantizations.id, id));
    const measured = checkedResult(QuantizationResult, 'quantization', done.result);
    try {
      await publishedArtifact(store, q.outputPrefix, id, 'quantized_base', [PACKED_WEIGHTS_FILE]);
    } catch (err) {
      if (!(err instanceof InvalidInputError)) throw err;
      return rejectOutput(db, 'quantization', id, backendId, err);
    }
    const updated = await db
      .update(quantizations)
      .set({ status: 'succeeded', finishedAt: nowS(), leaseExpiresAt: null, result: measured })
      .where(stillHeld('quantization', id, backendId))
      .returning({ id: quantizations.id });
    if (updated.length === 0) await lostMeanwhile(db, 'quantization', id, backendId);
  },
};
