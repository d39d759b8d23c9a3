/**
 * Checking and recording what a job produced, shared by the kinds (edge/jobs/kinds/): a produced adapter passes
 * the same verification as an upload, an artifact must be published under its manifest (artifact-check.ts), and
 * output that fails its check fails the job with the reason.
 */
import { eq } from 'drizzle-orm';
import type { z } from 'zod';
import type { JobKind } from '../../contracts/api/jobs.ts';
import { describeIssues } from '../../contracts/api/zod-issues.ts';
import { InvalidInputError, invalid } from '../../contracts/formats/errors.ts';
import { ADAPTER_DIR, type ArtifactManifest } from '../../contracts/formats/job-artifacts.ts';
import type { ObjectStore } from '../../contracts/storage/object-store.ts';
import { adapters, baseModels, type AdapterSource } from '../../schema/index.ts';
import { verifyProducedAdapter, type AdapterRow } from '../adapters/registry.ts';
import { nextVersionSql, promoteStatements } from '../adapters/versions.ts';
import type { Db } from '../db.ts';
import { ApiError } from '../errors.ts';
import { nowS } from '../ids.ts';
import { servableNameOwner } from '../lookups.ts';
import { listedSha256, publishedArtifact } from './artifact-check.ts';
import type { CompletionContext, JobTable } from './kind.ts';
import { failJob, heldJob, stillHeld } from './lease.ts';

const ADAPTER_CONFIG = `${ADAPTER_DIR}adapter_config.json`;
const ADAPTER_WEIGHTS = `${ADAPTER_DIR}adapter_model.safetensors`;

/** Produced adapters live here, under the job's output prefix. */
export function producedAdapterPrefix(outputPrefix: string): string {
  return outputPrefix + ADAPTER_DIR;
}

/** The name asked for at creation, unless something took it meanwhile. */
async function availableName(db: Db, tenantId: string, wanted: string, jobId: string): Promise<string> {
  return (await servableNameOwner(db, tenantId, wanted)) ? `${wanted}-${jobId.slice(-8)}` : wanted;
}

export async function baseOf(db: Db, id: string) {
  const [b] = await db.select().from(baseModels).where(eq(baseModels.id, id));
  return b;
}

/** Output that fails its check fails the job, with the reason for the user, and answers the backend 422. */
export async function rejectOutput(db: Db, kind: JobKind, id: string, backendId: string, err: InvalidInputError): Promise<never> {
  await failJob(db, kind, id, backendId, { code: err.code, message: `The result failed the check: ${err.message}` });
  throw new ApiError(422, err.code, `The result failed the check, so the job is now failed: ${err.message}`, err.param ?? null);
}

/** The result a kind reports, in its own shape (none where `schema` is null); anything else is the backend's mistake (400). */
export function checkedResult<T extends z.ZodType>(schema: T | null, kind: JobKind, result: unknown): z.infer<T> | null {
  if (result === undefined) return null;
  if (!schema) throw new ApiError(400, 'invalid_field', `A ${kind} job reports no result; leave "result" out.`, 'result');
  const parsed = schema.safeParse(result);
  if (!parsed.success) {
    const issue = describeIssues(parsed.error, `the ${kind} result`);
    throw new ApiError(400, 'invalid_field', issue.message, issue.param ? `result.${issue.param}` : 'result');
  }
  return parsed.data;
}

/** The adapter files of a published peft_adapter artifact, verified like an upload and matching the manifest. */
export async function publishedAdapter(
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

/**
 * The job stopped being this backend's between the check and the write (another completion of it won, or
 * its lease went elsewhere): answers what heldJob says now, a 409.
 */
export async function lostMeanwhile(db: Db, kind: JobKind, id: string, backendId: string): Promise<never> {
  await heldJob(db, kind, id, backendId);
  throw new ApiError(409, 'task_finished', `The ${kind} job ${id} was finished meanwhile; nothing more to report.`, 'id');
}

/** What a job that makes an adapter produced: whose, of which base, under which name, from what. */
export interface ProducedAdapter {
  tenantId: string;
  base: Awaited<ReturnType<typeof baseOf>>;
  name: string;
  source: AdapterSource;
  sourceId: string;
  outputPrefix: string;
  /** `name` is an adapter of this base already: the result is its next version, served by the name once recorded. */
  newVersion?: boolean;
}

/**
 * Records a job that makes an adapter: the adapter is verified (`published`: through its artifact manifest;
 * otherwise, as training writes it, last), then registered together with the job's success, plus the kind's own
 * `finished` columns.
 */
export async function completeWithAdapter(
  ctx: CompletionContext,
  kind: JobKind,
  table: JobTable,
  produced: ProducedAdapter,
  opts: { published: boolean; finished?: Record<string, unknown> },
): Promise<void> {
  const { db, store, id, backendId } = ctx;
  let adapter: AdapterRow;
  try {
    const verify = {
      tenantId: produced.tenantId,
      base: produced.base,
      name: produced.newVersion ? produced.name : await availableName(db, produced.tenantId, produced.name, id),
      source: produced.source,
      sourceId: produced.sourceId,
      prefix: producedAdapterPrefix(produced.outputPrefix),
    };
    adapter = opts.published
      ? await publishedAdapter(store, id, { ...verify, outputPrefix: produced.outputPrefix })
      : await verifyProducedAdapter(store, verify);
  } catch (err) {
    if (!(err instanceof InvalidInputError)) throw err;
    return rejectOutput(db, kind, id, backendId, err);
  }
  const finished = {
    status: 'succeeded' as const,
    finishedAt: nowS(),
    leaseExpiresAt: null,
    resultAdapterId: adapter.id,
    ...opts.finished,
  };
  // One transaction: the adapter and the job's completion. A completion that raced another one (the backend
  // retried, or its lease moved) registers nothing: its adapter is refused by the name's unique index, or
  // removed when the job was no longer held.
  let updated: { id: string }[];
  try {
    [, updated] = await db.batch([
      db
        .insert(adapters)
        .values(produced.newVersion ? { ...adapter, version: nextVersionSql(adapter.tenantId, adapter.name), current: false } : adapter),
      db
        .update(table)
        .set(finished)
        .where(stillHeld(kind, id, backendId))
        .returning({ id: table.id }),
    ]);
  } catch (err) {
    await heldJob(db, kind, id, backendId);
    throw err;
  }
  if (updated.length === 0) {
    await db.delete(adapters).where(eq(adapters.id, adapter.id));
    await lostMeanwhile(db, kind, id, backendId);
  }
  // Promoted only once recorded: a completion that lost its race above never moved the name.
  if (produced.newVersion) await db.batch(promoteStatements(db, adapter));
}
