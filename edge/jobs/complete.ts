/**
 * A backend reports a job done. Results are checked before anything is recorded: a produced adapter passes
 * the same verification as an upload, and a job whose output fails it is marked failed with the reason.
 */
import { eq } from 'drizzle-orm';
import { InvalidInputError } from '../../contracts/formats/errors.ts';
import type { ObjectStore } from '../../contracts/storage/object-store.ts';
import { adapters, baseModels, compressions, fineTuningJobs, mergeReverts, merges, type AdapterSource } from '../../schema/index.ts';
import { verifyProducedAdapter, type AdapterRow } from '../adapters/registry.ts';
import type { Db } from '../db.ts';
import { ApiError } from '../errors.ts';
import { nowS } from '../ids.ts';
import { servableNameOwner } from '../lookups.ts';
import type { JobKind } from '../../contracts/api/jobs.ts';
import { jobTable } from './kinds.ts';
import { failJob, heldJob, jobState, stillHeld } from './lease.ts';

/** Produced adapters live here, under the job's output prefix. */
export function producedAdapterPrefix(outputPrefix: string): string {
  return `${outputPrefix}adapter/`;
}

/** The name asked for at creation, unless something took it meanwhile. */
async function availableName(db: Db, tenantId: string, wanted: string, jobId: string): Promise<string> {
  return (await servableNameOwner(db, tenantId, wanted)) ? `${wanted}-${jobId.slice(-8)}` : wanted;
}

async function baseOf(db: Db, id: string) {
  const [b] = await db.select().from(baseModels).where(eq(baseModels.id, id));
  return b;
}

/** What each kind produces: an adapter (name, base, source) or, for merges, an opaque artifact. */
async function producedAdapter(db: Db, kind: Exclude<JobKind, 'merge'>, id: string) {
  if (kind === 'fine_tuning') {
    const [job] = await db.select().from(fineTuningJobs).where(eq(fineTuningJobs.id, id));
    return {
      tenantId: job.tenantId,
      base: await baseOf(db, job.baseModelId),
      name: `${job.suffix ?? 'ft'}-${job.id.slice(-12)}`,
      source: 'training' as AdapterSource,
      sourceId: job.id,
      outputPrefix: job.outputPrefix,
    };
  }
  if (kind === 'compression') {
    const [k] = await db.select().from(compressions).where(eq(compressions.id, id));
    const [source] = await db.select().from(adapters).where(eq(adapters.id, k.sourceAdapterId));
    return {
      tenantId: k.tenantId,
      base: await baseOf(db, source.baseModelId),
      name: k.name,
      source: 'compression' as AdapterSource,
      sourceId: k.id,
      outputPrefix: k.outputPrefix,
    };
  }
  const [r] = await db.select().from(mergeReverts).where(eq(mergeReverts.id, id));
  const [m] = await db.select().from(merges).where(eq(merges.id, r.mergeId));
  return {
    tenantId: r.tenantId,
    base: await baseOf(db, m.baseModelId),
    name: r.name,
    source: 'revert' as AdapterSource,
    sourceId: m.id,
    outputPrefix: r.outputPrefix,
  };
}

/** Output that fails its check fails the job, with the reason for the user, and answers the backend 422. */
async function rejectOutput(db: Db, kind: JobKind, id: string, backendId: string, err: InvalidInputError): Promise<never> {
  await failJob(db, kind, id, backendId, { code: err.code, message: `The result failed the check: ${err.message}` });
  throw new ApiError(422, err.code, `The result failed the check, so the job is now failed: ${err.message}`, err.param ?? null);
}

export async function completeJob(db: Db, store: ObjectStore, kind: JobKind, id: string, backendId: string, trainedTokens?: number) {
  const held = await heldJob(db, kind, id, backendId);
  if (held.status === 'cancelled')
    throw new ApiError(409, 'task_cancelled', `The ${kind} job ${id} was cancelled; discard its results.`, 'id');
  const t = jobTable(kind);

  if (kind === 'merge') {
    const [m] = await db.select().from(merges).where(eq(merges.id, id));
    if ((await store.list(m.outputPrefix)).length === 0) {
      await rejectOutput(
        db,
        kind,
        id,
        backendId,
        new InvalidInputError(
          'output_missing',
          `nothing under "${m.outputPrefix}"; write the merged artifact there before completing.`,
          'output_prefix',
        ),
      );
    }
    await db
      .update(merges)
      .set({ status: 'succeeded', finishedAt: nowS(), leaseExpiresAt: null })
      .where(stillHeld(kind, id, backendId));
    return jobState(kind, { ...held, status: 'succeeded', leaseExpiresAt: null });
  }

  const produced = await producedAdapter(db, kind, id);
  let adapter: AdapterRow;
  try {
    adapter = await verifyProducedAdapter(store, {
      tenantId: produced.tenantId,
      base: produced.base,
      name: await availableName(db, produced.tenantId, produced.name, id),
      source: produced.source,
      sourceId: produced.sourceId,
      prefix: producedAdapterPrefix(produced.outputPrefix),
    });
  } catch (err) {
    if (!(err instanceof InvalidInputError)) throw err;
    return rejectOutput(db, kind, id, backendId, err);
  }
  const result = {
    status: 'succeeded' as const,
    finishedAt: nowS(),
    leaseExpiresAt: null,
    resultAdapterId: adapter.id,
    ...(kind === 'fine_tuning' ? { trainedTokens: trainedTokens ?? null } : {}),
  };
  await db.batch([
    db.insert(adapters).values(adapter),
    db
      .update(t)
      .set(result)
      .where(stillHeld(kind, id, backendId)),
  ]);
  return jobState(kind, { ...held, status: 'succeeded', leaseExpiresAt: null });
}
