/** Fine-tuning: a backend trains an adapter from the job's files, checkpointing as it goes; the adapter is written last. */
import { and, desc, eq } from 'drizzle-orm';
import { adapters, files, fineTuningJobs, jobCheckpoints } from '../../../schema/index.ts';
import type { Db } from '../../db.ts';
import { asJobTable, type JobKindDefinition } from '../kind.ts';
import { baseOf, checkedResult, completeWithAdapter } from '../outputs.ts';
import { baseRef, leaseRef } from '../spec-refs.ts';

async function fileRef(db: Db, fileId: string) {
  const [f] = await db.select().from(files).where(eq(files.id, fileId));
  return { id: f.id, storage_key: f.storageKey };
}

export const fineTuningKind: JobKindDefinition<'fine_tuning'> = {
  kind: 'fine_tuning',
  table: asJobTable(fineTuningJobs),
  async spec(db, id) {
    const [job] = await db.select().from(fineTuningJobs).where(eq(fineTuningJobs.id, id));
    if (!job) return null;
    const [last] = await db.select().from(jobCheckpoints).where(eq(jobCheckpoints.jobId, id)).orderBy(desc(jobCheckpoints.step)).limit(1);
    return {
      kind: 'fine_tuning',
      ...leaseRef(job),
      base_model: await baseRef(db, job.baseModelId),
      training_file: await fileRef(db, job.trainingFileId),
      validation_file: job.validationFileId ? await fileRef(db, job.validationFileId) : null,
      hyperparameters: job.hyperparameters,
      seed: job.seed,
      suffix: job.suffix,
      resume_from: last ? { checkpoint_id: last.id, step: last.step, storage_prefix: last.storagePrefix } : null,
    };
  },
  async complete(ctx) {
    checkedResult(null, 'fine_tuning', ctx.done.result);
    const [job] = await ctx.db.select().from(fineTuningJobs).where(eq(fineTuningJobs.id, ctx.id));
    // A suffix that names an adapter of this base trains its next version; any other suffix starts a new name.
    const [named] = job.suffix
      ? await ctx.db
          .select({ id: adapters.id })
          .from(adapters)
          .where(and(eq(adapters.tenantId, job.tenantId), eq(adapters.baseModelId, job.baseModelId), eq(adapters.name, job.suffix)))
          .limit(1)
      : [];
    const produced = {
      tenantId: job.tenantId,
      base: await baseOf(ctx.db, job.baseModelId),
      name: named ? job.suffix! : `${job.suffix ?? 'ft'}-${job.id.slice(-12)}`,
      newVersion: Boolean(named),
      source: 'training' as const,
      sourceId: job.id,
      outputPrefix: job.outputPrefix,
    };
    // Training writes its adapter last, after checkpoints: there is no artifact manifest to check.
    await completeWithAdapter(ctx, 'fine_tuning', this.table, produced, {
      published: false,
      finished: { trainedTokens: ctx.done.trainedTokens ?? null },
    });
  },
};
