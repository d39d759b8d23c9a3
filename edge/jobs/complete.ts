/**
 * A backend reports a job done. Results are checked before anything is recorded: a produced adapter passes
 * the same verification as an upload; merges, reverts and compressions must also have published their
 * artifact (its manifest, written last, lists every file with its size and hash), and a reversible merge's
 * basis must match the merge. A job whose output fails the check is marked failed with the reason.
 */
import { eq } from 'drizzle-orm';
import type { z } from 'zod';
import { CompressionResult, MergeResult } from '../../contracts/api/internal-api.ts';
import { isReversibleMerge, reversibleBasisSize } from '../../contracts/api/merge-methods.ts';
import { describeIssues } from '../../contracts/api/zod-issues.ts';
import { InvalidInputError, invalid } from '../../contracts/formats/errors.ts';
import { ADAPTER_DIR, BASIS_MANIFEST, BASIS_TENSORS, type ArtifactManifest } from '../../contracts/formats/job-artifacts.ts';
import type { ObjectStore } from '../../contracts/storage/object-store.ts';
import {
  adapters,
  baseModels,
  compressions,
  fineTuningJobs,
  mergeMembers,
  mergeReverts,
  merges,
  type AdapterSource,
} from '../../schema/index.ts';
import { verifyProducedAdapter, type AdapterRow } from '../adapters/registry.ts';
import type { Db } from '../db.ts';
import { ApiError } from '../errors.ts';
import { nowS } from '../ids.ts';
import { servableNameOwner } from '../lookups.ts';
import type { JobKind } from '../../contracts/api/jobs.ts';
import { checkBasis, listedSha256, publishedArtifact } from './artifact-check.ts';
import { jobTable } from './kinds.ts';
import { failJob, heldJob, jobState, stillHeld } from './lease.ts';

const ADAPTER_CONFIG = `${ADAPTER_DIR}adapter_config.json`;
const ADAPTER_WEIGHTS = `${ADAPTER_DIR}adapter_model.safetensors`;

export interface Completion {
  trainedTokens?: number;
  result?: unknown;
}

/** Produced adapters live here, under the job's output prefix. */
export function producedAdapterPrefix(outputPrefix: string): string {
  return outputPrefix + ADAPTER_DIR;
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

/** The result a kind reports, in its own shape; anything else is the backend's mistake (400). */
function checkedResult<T extends z.ZodType>(schema: T, kind: JobKind, result: unknown): z.infer<T> | null {
  if (result === undefined) return null;
  const parsed = schema.safeParse(result);
  if (!parsed.success) {
    const issue = describeIssues(parsed.error, `the ${kind} result`);
    throw new ApiError(400, 'invalid_field', issue.message, issue.param ? `result.${issue.param}` : 'result');
  }
  return parsed.data;
}

/** The adapter files of a published peft_adapter artifact, verified like an upload and matching the manifest. */
async function publishedAdapter(
  store: ObjectStore,
  id: string,
  opts: Parameters<typeof verifyProducedAdapter>[1] & { outputPrefix: string },
): Promise<AdapterRow> {
  const manifest: ArtifactManifest = await publishedArtifact(
    store,
    opts.outputPrefix,
    id,
    'peft_adapter',
    [ADAPTER_CONFIG, ADAPTER_WEIGHTS],
    [ADAPTER_WEIGHTS],
  );
  const row = await verifyProducedAdapter(store, opts);
  if (listedSha256(manifest, ADAPTER_WEIGHTS) !== row.sha256)
    invalid(
      'output_incomplete',
      `${ADAPTER_WEIGHTS} does not have the SHA-256 its manifest lists; it was replaced after the manifest.`,
      'output_prefix',
    );
  return row;
}

async function completeMerge(db: Db, store: ObjectStore, id: string, backendId: string, result: unknown) {
  const [m] = await db.select().from(merges).where(eq(merges.id, id));
  const measured = checkedResult(MergeResult, 'merge', result);
  const members = await db.select({ adapterId: mergeMembers.adapterId }).from(mergeMembers).where(eq(mergeMembers.mergeId, id));
  try {
    if (isReversibleMerge(m.method)) {
      await publishedArtifact(store, m.outputPrefix, id, 'reversible_basis', [BASIS_MANIFEST, BASIS_TENSORS]);
      await checkBasis(store, m.outputPrefix, {
        memberIds: members.map((r) => r.adapterId),
        basisSize: reversibleBasisSize(m.basisSize, members.length),
      });
    } else {
      // A collapsed merge is served as an adapter under the merge's own name, so it gets no adapter row.
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
}

/**
 * The job stopped being this backend's between the check and the write (another completion of it won, or
 * its lease went elsewhere): answers what heldJob says now, a 409.
 */
async function lostMeanwhile(db: Db, kind: JobKind, id: string, backendId: string): Promise<never> {
  await heldJob(db, kind, id, backendId);
  throw new ApiError(409, 'task_finished', `The ${kind} job ${id} was finished meanwhile; nothing more to report.`, 'id');
}

export async function completeJob(db: Db, store: ObjectStore, kind: JobKind, id: string, backendId: string, done: Completion = {}) {
  const held = await heldJob(db, kind, id, backendId);
  if (held.status === 'cancelled')
    throw new ApiError(409, 'task_cancelled', `The ${kind} job ${id} was cancelled; discard its results.`, 'id');
  const t = jobTable(kind);

  if (kind === 'merge') {
    await completeMerge(db, store, id, backendId, done.result);
    return jobState(kind, { ...held, status: 'succeeded', leaseExpiresAt: null });
  }

  const measured = kind === 'compression' ? checkedResult(CompressionResult, kind, done.result) : null;
  if (kind !== 'compression' && done.result !== undefined)
    throw new ApiError(400, 'invalid_field', `A ${kind} job reports no result; leave "result" out.`, 'result');
  const produced = await producedAdapter(db, kind, id);
  let adapter: AdapterRow;
  try {
    const opts = {
      tenantId: produced.tenantId,
      base: produced.base,
      name: await availableName(db, produced.tenantId, produced.name, id),
      source: produced.source,
      sourceId: produced.sourceId,
      prefix: producedAdapterPrefix(produced.outputPrefix),
    };
    // Training writes its adapter last, after checkpoints; the other kinds publish through a manifest.
    adapter =
      kind === 'fine_tuning'
        ? await verifyProducedAdapter(store, opts)
        : await publishedAdapter(store, id, { ...opts, outputPrefix: produced.outputPrefix });
  } catch (err) {
    if (!(err instanceof InvalidInputError)) throw err;
    return rejectOutput(db, kind, id, backendId, err);
  }
  const finished = {
    status: 'succeeded' as const,
    finishedAt: nowS(),
    leaseExpiresAt: null,
    resultAdapterId: adapter.id,
    ...(kind === 'fine_tuning' ? { trainedTokens: done.trainedTokens ?? null } : {}),
  };
  // One transaction: the adapter and the job's completion. A completion that raced another one (the backend
  // retried, or its lease moved) registers nothing: its adapter is refused by the name's unique index, or
  // removed when the job was no longer held.
  let updated: { id: string }[];
  try {
    [, updated] = await db.batch([
      db.insert(adapters).values(adapter),
      kind === 'compression'
        ? db
            .update(compressions)
            .set({ ...finished, result: measured })
            .where(stillHeld(kind, id, backendId))
            .returning({ id: compressions.id })
        : db
            .update(t)
            .set(finished)
            .where(stillHeld(kind, id, backendId))
            .returning({ id: t.id }),
    ]);
  } catch (err) {
    await heldJob(db, kind, id, backendId);
    throw err;
  }
  if (updated.length === 0) {
    await db.delete(adapters).where(eq(adapters.id, adapter.id));
    await lostMeanwhile(db, kind, id, backendId);
  }
  return jobState(kind, { ...held, status: 'succeeded', leaseExpiresAt: null });
}
