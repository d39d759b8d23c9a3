/** Fine-tuning jobs in OpenAI's shape: create (with Idempotency-Key), list, get, events, checkpoints, cancel. */
import { createRoute } from '@hono/zod-openapi';
import { and, between, desc, eq, inArray, lt } from 'drizzle-orm';
import { adapters, baseModels, fineTuningJobs, jobCheckpoints, jobEvents, type JobStatus } from '../../schema/index.ts';
import { versionedName } from '../adapters/versions.ts';
import { requireApiKey } from '../auth/middleware.ts';
import { sha256Hex } from '../../contracts/api/shared-secret.ts';
import type { Db } from '../db.ts';
import { ApiError } from '../errors.ts';
import { newId, nowS } from '../ids.ts';
import { queuedJob } from '../jobs/lease.ts';
import { wakeAfterQueueing } from '../jobs/wake.ts';
import { findBaseModel, findFile, findJob } from '../lookups.ts';
import { afterCursor, page, tenantPage } from '../pagination.ts';
import { IdParam, ListQuery } from '../schemas/common.ts';
import {
  CreateJobRequest,
  FineTuningCheckpointList,
  FineTuningEventList,
  FineTuningJob,
  FineTuningJobList,
  IdempotencyHeaders,
} from '../schemas/fine-tuning.ts';
import { tenantPrefix } from '../store.ts';
import { pushCancel } from '../jobs/cancel.ts';
import { commonErrors, conflictError, jsonBody, jsonResponse, notFoundError, reply, router, tenantSecurity } from './define.ts';

type JobRow = typeof fineTuningJobs.$inferSelect;

const FINISHED: JobStatus[] = ['succeeded', 'failed', 'cancelled'];

/**
 * Jobs in OpenAI's shape, with the names of their base model and result adapter: one join however many jobs.
 * `rows` are one tenant's page (or one job): a contiguous run of its ids, so an id range selects them without
 * binding every id.
 */
async function jobObjects(db: Db, rows: JobRow[]) {
  if (rows.length === 0) return [];
  const ids = rows.map((j) => j.id).sort();
  const names = await db
    .select({ id: fineTuningJobs.id, base: baseModels.name, name: adapters.name, version: adapters.version, current: adapters.current })
    .from(fineTuningJobs)
    .innerJoin(baseModels, eq(baseModels.id, fineTuningJobs.baseModelId))
    .leftJoin(adapters, eq(adapters.id, fineTuningJobs.resultAdapterId))
    .where(and(eq(fineTuningJobs.tenantId, rows[0].tenantId), between(fineTuningJobs.id, ids[0], ids[ids.length - 1])));
  const nameOf = new Map(names.map((n) => [n.id, n]));
  return rows.map((j) => {
    const n = nameOf.get(j.id)!;
    // The version the job made, named as adapters name it: bare while the name serves it, else pinned.
    const adapter =
      n.name !== null && n.version !== null && n.current !== null
        ? versionedName({ name: n.name, version: n.version, current: n.current })
        : null;
    return jobObjectNamed(j, { base: n.base, adapter });
  });
}

async function jobObject(db: Db, j: JobRow) {
  const [job] = await jobObjects(db, [j]);
  return job;
}

function jobObjectNamed(j: JobRow, names: { base: string; adapter: string | null }) {
  return {
    id: j.id,
    object: 'fine_tuning.job' as const,
    created_at: j.createdAt,
    finished_at: j.finishedAt,
    model: names.base,
    fine_tuned_model: names.adapter === null ? null : `${names.base}:${names.adapter}`,
    organization_id: j.tenantId,
    status: j.status,
    error: j.error,
    hyperparameters: j.hyperparameters,
    training_file: j.trainingFileId,
    validation_file: j.validationFileId,
    result_files: [],
    trained_tokens: j.trainedTokens,
    seed: j.seed,
    suffix: j.suffix,
    adapter_id: j.resultAdapterId,
  };
}

const route = { security: tenantSecurity, middleware: [requireApiKey], tags: ['fine-tuning'] };

export const fineTuningRoutes = router()
  .openapi(
    createRoute({
      ...route,
      method: 'post',
      path: '/v1/fine_tuning/jobs',
      summary: 'Create a fine-tuning job that trains a LoRA adapter on one of your base models',
      request: { headers: IdempotencyHeaders, ...jsonBody(CreateJobRequest) },
      responses: {
        200: jsonResponse(FineTuningJob, 'The job created earlier with this Idempotency-Key.'),
        201: jsonResponse(FineTuningJob, 'The queued job.'),
        ...commonErrors,
        ...notFoundError,
        ...conflictError,
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const idempotencyKey = c.req.valid('header')['idempotency-key'] ?? null;
      const { db, tenantId } = c.var;
      const requestHash = await sha256Hex(JSON.stringify(body));
      if (idempotencyKey) {
        const [earlier] = await db
          .select()
          .from(fineTuningJobs)
          .where(and(eq(fineTuningJobs.tenantId, tenantId), eq(fineTuningJobs.idempotencyKey, idempotencyKey)));
        if (earlier) {
          if (earlier.requestHash !== requestHash) {
            throw new ApiError(
              409,
              'idempotency_key_reused',
              `Idempotency-Key "${idempotencyKey}" was used for job ${earlier.id} with a different body; use a new key for a new job.`,
              'Idempotency-Key',
            );
          }
          return reply(c, FineTuningJob, await jobObject(db, earlier), 200);
        }
      }
      const base = await findBaseModel(db, tenantId, body.model, 'model');
      const training = await findFile(db, tenantId, body.training_file, 'training_file');
      const validation = body.validation_file ? await findFile(db, tenantId, body.validation_file, 'validation_file') : null;
      const id = newId('ftjob');
      const row: JobRow = {
        id,
        tenantId,
        baseModelId: base.id,
        trainingFileId: training.id,
        validationFileId: validation?.id ?? null,
        hyperparameters: body.hyperparameters,
        suffix: body.suffix ?? null,
        seed: body.seed ?? Math.floor(Math.random() * 2 ** 31),
        // The files were checked line by line on upload, so validation is already done: the job starts queued.
        resultAdapterId: null,
        trainedTokens: null,
        idempotencyKey,
        requestHash,
        ...queuedJob(`${tenantPrefix(tenantId)}jobs/${id}/`),
      };
      try {
        await db.insert(fineTuningJobs).values(row);
      } catch (err) {
        // Two requests with one Idempotency-Key raced; the unique index let one in. Answer with that one.
        if (!idempotencyKey) throw err;
        const [winner] = await db
          .select()
          .from(fineTuningJobs)
          .where(and(eq(fineTuningJobs.tenantId, tenantId), eq(fineTuningJobs.idempotencyKey, idempotencyKey)));
        if (!winner || winner.requestHash !== requestHash) throw err;
        return reply(c, FineTuningJob, await jobObject(db, winner), 200);
      }
      wakeAfterQueueing(c);
      return reply(c, FineTuningJob, await jobObject(db, row), 201);
    },
  )
  .openapi(
    createRoute({
      ...route,
      method: 'get',
      path: '/v1/fine_tuning/jobs',
      summary: 'List your fine-tuning jobs, newest first',
      request: { query: ListQuery },
      responses: { 200: jsonResponse(FineTuningJobList, 'A page of jobs.'), ...commonErrors },
    }),
    async (c) => {
      const listed = await tenantPage(c.var.db, fineTuningJobs, c.var.tenantId, c.req.valid('query'));
      return reply(c, FineTuningJobList, { ...listed, data: await jobObjects(c.var.db, listed.data) }, 200);
    },
  )
  .openapi(
    createRoute({
      ...route,
      method: 'get',
      path: '/v1/fine_tuning/jobs/{id}',
      summary: 'Get one fine-tuning job',
      request: { params: IdParam },
      responses: { 200: jsonResponse(FineTuningJob, 'The job.'), ...commonErrors, ...notFoundError },
    }),
    async (c) => reply(c, FineTuningJob, await jobObject(c.var.db, await findJob(c.var.db, c.var.tenantId, c.req.valid('param').id)), 200),
  )
  .openapi(
    createRoute({
      ...route,
      method: 'get',
      path: '/v1/fine_tuning/jobs/{id}/events',
      summary: "A job's events (progress, loss, throughput), newest first",
      request: { params: IdParam, query: ListQuery },
      responses: { 200: jsonResponse(FineTuningEventList, 'A page of events.'), ...commonErrors, ...notFoundError },
    }),
    async (c) => {
      const job = await findJob(c.var.db, c.var.tenantId, c.req.valid('param').id);
      const { after, limit } = c.req.valid('query');
      const afterSeq = after ? Number(after.replace(/^ftevent-/, '')) : NaN;
      if (after && !Number.isSafeInteger(afterSeq))
        throw new ApiError(400, 'invalid_field', `"after" must be an event id such as "ftevent-12", got "${after}".`, 'after');
      const rows = await c.var.db
        .select()
        .from(jobEvents)
        .where(and(eq(jobEvents.jobId, job.id), after ? lt(jobEvents.seq, afterSeq) : undefined))
        .orderBy(desc(jobEvents.seq))
        .limit(limit + 1);
      const listed = page(
        rows.map((e) => ({ ...e, id: `ftevent-${e.seq}` })),
        limit,
      );
      const data = listed.data.map((e) => ({
        id: e.id,
        object: 'fine_tuning.job.event' as const,
        created_at: e.createdAt,
        level: e.level,
        type: e.type,
        message: e.message,
        data: e.data,
      }));
      return reply(c, FineTuningEventList, { ...listed, data }, 200);
    },
  )
  .openapi(
    createRoute({
      ...route,
      method: 'get',
      path: '/v1/fine_tuning/jobs/{id}/checkpoints',
      summary: "A job's checkpoints, newest first",
      request: { params: IdParam, query: ListQuery },
      responses: { 200: jsonResponse(FineTuningCheckpointList, 'A page of checkpoints.'), ...commonErrors, ...notFoundError },
    }),
    async (c) => {
      const job = await findJob(c.var.db, c.var.tenantId, c.req.valid('param').id);
      const { after, limit } = c.req.valid('query');
      const rows = await c.var.db
        .select()
        .from(jobCheckpoints)
        .where(and(eq(jobCheckpoints.jobId, job.id), afterCursor(jobCheckpoints.id, after)))
        .orderBy(desc(jobCheckpoints.id))
        .limit(limit + 1);
      const listed = page(rows, limit);
      return reply(
        c,
        FineTuningCheckpointList,
        {
          ...listed,
          data: listed.data.map((k) => ({
            id: k.id,
            object: 'fine_tuning.job.checkpoint' as const,
            created_at: k.createdAt,
            fine_tuning_job_id: job.id,
            step_number: k.step,
            metrics: { step: k.step, train_loss: k.trainLoss, valid_loss: k.validLoss },
            fine_tuned_model_checkpoint: k.storagePrefix,
          })),
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      ...route,
      method: 'post',
      path: '/v1/fine_tuning/jobs/{id}/cancel',
      summary: 'Cancel a queued or running job; a running backend is told to stop',
      request: { params: IdParam },
      responses: { 200: jsonResponse(FineTuningJob, 'The cancelled job.'), ...commonErrors, ...notFoundError, ...conflictError },
    }),
    async (c) => {
      const { db, tenantId } = c.var;
      const job = await findJob(db, tenantId, c.req.valid('param').id);
      if (FINISHED.includes(job.status)) {
        if (job.status === 'cancelled') return reply(c, FineTuningJob, await jobObject(db, job), 200);
        throw new ApiError(409, 'job_finished', `Job ${job.id} already ${job.status}; only queued or running jobs can be cancelled.`, 'id');
      }
      const [cancelled] = await db
        .update(fineTuningJobs)
        .set({ status: 'cancelled', finishedAt: nowS() })
        .where(and(eq(fineTuningJobs.id, job.id), inArray(fineTuningJobs.status, ['validating_files', 'queued', 'running'])))
        .returning();
      if (!cancelled) return reply(c, FineTuningJob, await jobObject(db, await findJob(db, tenantId, job.id)), 200);
      if (job.status === 'running' && job.leaseOwner) await pushCancel(db, c.env.EDGE_SIGNING_KEY, job.leaseOwner, 'fine_tuning', job.id);
      return reply(c, FineTuningJob, await jobObject(db, cancelled), 200);
    },
  );
