/**
 * Routes for backends, each behind its own credential (bound to one backend_id, which every body must name):
 * heartbeats (which also register a backend), claiming jobs under a lease, renewing it, reporting events and
 * checkpoints, completing or failing, and job specs.
 */
import { createRoute } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import { backends, fineTuningJobs, jobCheckpoints, jobEvents } from '../../schema/index.ts';
import { ownBackendId } from '../auth/backend-identity.ts';
import { allowPrivateBackendUrls, privateAddressReason } from '../auth/backend-url.ts';
import { signerFor } from '../auth/edge-signer.ts';
import { requireBackendCredential } from '../auth/middleware.ts';
import { numberVar, type Env } from '../env.ts';
import { forgetBackends } from '../request-caches.ts';
import { insertChunks } from '../db.ts';
import { ApiError } from '../errors.ts';
import { PLAIN_KEY_PREFIX, PLAIN_KEY_PREFIX_RULE } from '../store.ts';
import { newId, nowS } from '../ids.ts';
import { HEARTBEAT_TTL_S, LEASE_TTL_S } from '../../contracts/api/jobs.ts';
import {
  BackendRef,
  CheckpointReport,
  ClaimRequest,
  ClaimResponse,
  CompleteRequest,
  EventsReport,
  FailRequest,
  Heartbeat,
  HeartbeatAck,
  FineTuningJobParams,
  JobRefParams,
  JobSpec,
  JobState,
} from '../../contracts/api/internal-api.ts';
import { pinsFor } from '../adapters/pins.ts';
import { completeJob } from '../jobs/complete.ts';
import { assertHolder, claimNext, failJob, heldJob, renewLease, jobState } from '../jobs/lease.ts';
import { jobSpec } from '../jobs/specs.ts';
import { ErrorResponse } from '../../contracts/api/error-body.ts';
import { backendSecurity, commonErrors, conflictError, jsonBody, jsonResponse, notFoundError, reply, router } from './define.ts';

export const heartbeatTtlS = (env: Env) => numberVar(env.HEARTBEAT_TTL_S, HEARTBEAT_TTL_S);
export const leaseTtlS = (env: Env) => numberVar(env.LEASE_TTL_S, LEASE_TTL_S);

const route = { security: backendSecurity, middleware: [requireBackendCredential], tags: ['internal'] };

const forbidden = {
  403: jsonResponse(ErrorResponse, "The body names another backend than the credential's; a backend acts only as itself."),
};

const unprocessable = { 422: jsonResponse(JobState, 'The output failed its check; the task is now failed (message says why).') };

export const internalRoutes = router()
  .openapi(
    createRoute({
      ...route,
      method: 'post',
      path: '/internal/v1/backends/heartbeat',
      summary: 'Register a backend or refresh it; only backends with a fresh heartbeat get inference traffic',
      request: jsonBody(Heartbeat),
      responses: { 200: jsonResponse(HeartbeatAck, 'Recorded.'), ...commonErrors, ...forbidden },
    }),
    async (c) => {
      const hb = c.req.valid('json');
      const backendId = ownBackendId(c, hb.backend_id);
      const refused = allowPrivateBackendUrls(c.env.ALLOW_PRIVATE_BACKEND_URLS) ? null : privateAddressReason(hb.url);
      if (refused) {
        throw new ApiError(
          400,
          'private_backend_url',
          `The url "${hb.url}" points at a ${refused} address; the edge only forwards to public addresses. Heartbeat with the URL the edge reaches this backend at (BACKEND_URL), or, on a local stack only, set ALLOW_PRIVATE_BACKEND_URLS="true" on the edge.`,
          'url',
        );
      }
      const now = Date.now();
      const fields = {
        url: hb.url,
        capacity: hb.capacity,
        inFlight: hb.in_flight,
        loadedAdapters: hb.loaded_adapters,
        lastHeartbeatAt: now,
        bootId: hb.boot_id ?? null,
      };
      await c.var.db
        .insert(backends)
        .values({ id: backendId, registeredAt: now, ...fields })
        .onConflictDoUpdate({ target: backends.id, set: fields });
      forgetBackends(c.env);
      const signer = signerFor(c.env.EDGE_SIGNING_KEY);
      return reply(
        c,
        HeartbeatAck,
        {
          backend_id: backendId,
          heartbeat_ttl_s: heartbeatTtlS(c.env),
          lease_ttl_s: leaseTtlS(c.env),
          edge_public_key: signer ? (await signer).publicKey : null,
          pinned: await pinsFor(c.var.db, backendId, heartbeatTtlS(c.env)),
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      ...route,
      method: 'post',
      path: '/internal/v1/tasks/claim',
      summary: 'Claim the oldest claimable task of the given kinds under a lease (null when there is none)',
      request: jsonBody(ClaimRequest),
      responses: {
        200: jsonResponse(ClaimResponse, 'The claimed task with everything needed to do it, or null.'),
        ...commonErrors,
        ...forbidden,
      },
    }),
    async (c) => {
      const { backend_id, kinds } = c.req.valid('json');
      const backendId = ownBackendId(c, backend_id);
      for (const kind of kinds) {
        const claimed = await claimNext(c.var.db, kind, backendId, leaseTtlS(c.env));
        if (claimed) return reply(c, ClaimResponse, { task: await jobSpec(c.var.db, kind, claimed.id) }, 200);
      }
      return reply(c, ClaimResponse, { task: null }, 200);
    },
  )
  .openapi(
    createRoute({
      ...route,
      method: 'get',
      path: '/internal/v1/tasks/{kind}/{id}',
      summary: 'The spec of a task this backend holds or held (its lease owner); others answer 404',
      request: { params: JobRefParams },
      responses: { 200: jsonResponse(JobSpec, 'The task spec.'), ...commonErrors, ...notFoundError },
    }),
    async (c) => {
      const { kind, id } = c.req.valid('param');
      await assertHolder(c.var.db, kind, id, c.var.backendId);
      return reply(c, JobSpec, await jobSpec(c.var.db, kind, id), 200);
    },
  )
  .openapi(
    createRoute({
      ...route,
      method: 'post',
      path: '/internal/v1/tasks/{kind}/{id}/renew',
      summary: 'Extend the lease; the answer says whether the user cancelled meanwhile',
      request: { params: JobRefParams, ...jsonBody(BackendRef) },
      responses: {
        200: jsonResponse(JobState, 'The task state and new lease expiry.'),
        ...commonErrors,
        ...forbidden,
        ...notFoundError,
        ...conflictError,
      },
    }),
    async (c) => {
      const { kind, id } = c.req.valid('param');
      return reply(
        c,
        JobState,
        await renewLease(c.var.db, kind, id, ownBackendId(c, c.req.valid('json').backend_id), leaseTtlS(c.env)),
        200,
      );
    },
  )
  .openapi(
    createRoute({
      ...route,
      method: 'post',
      path: '/internal/v1/tasks/{kind}/{id}/complete',
      summary:
        'Finish a task; produced adapters are verified like uploads before they are registered, merge artifacts by their manifest (contracts/formats/job-artifacts.ts)',
      request: { params: JobRefParams, ...jsonBody(CompleteRequest) },
      responses: {
        200: jsonResponse(JobState, 'Succeeded.'),
        ...commonErrors,
        ...forbidden,
        ...notFoundError,
        ...conflictError,
        ...unprocessable,
      },
    }),
    async (c) => {
      const { kind, id } = c.req.valid('param');
      const body = c.req.valid('json');
      return reply(
        c,
        JobState,
        await completeJob(c.var.db, c.var.store, kind, id, ownBackendId(c, body.backend_id), {
          trainedTokens: body.trained_tokens,
          result: body.result,
        }),
        200,
      );
    },
  )
  .openapi(
    createRoute({
      ...route,
      method: 'post',
      path: '/internal/v1/tasks/{kind}/{id}/fail',
      summary: 'Give up on a task with a reason the user will read',
      request: { params: JobRefParams, ...jsonBody(FailRequest) },
      responses: { 200: jsonResponse(JobState, 'Failed.'), ...commonErrors, ...forbidden, ...notFoundError, ...conflictError },
    }),
    async (c) => {
      const { kind, id } = c.req.valid('param');
      const body = c.req.valid('json');
      return reply(c, JobState, await failJob(c.var.db, kind, id, ownBackendId(c, body.backend_id), body.error), 200);
    },
  )
  .openapi(
    createRoute({
      ...route,
      method: 'post',
      path: '/internal/v1/fine_tuning/jobs/{id}/events',
      summary: 'Report training events (step, loss, tokens/s); the answer carries the task state',
      request: { params: FineTuningJobParams, ...jsonBody(EventsReport) },
      responses: { 200: jsonResponse(JobState, 'Recorded.'), ...commonErrors, ...forbidden, ...notFoundError, ...conflictError },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      const held = await heldJob(c.var.db, 'fine_tuning', id, ownBackendId(c, body.backend_id));
      if (held.status === 'running') {
        const now = nowS();
        const rows = body.events.map((e) => ({
          jobId: id,
          level: e.level,
          type: e.type,
          message: e.message,
          data: e.data ?? null,
          createdAt: now,
        }));
        // One round trip, in inserts small enough for D1's bound-parameter limit (a report may hold 100 events).
        const [first, ...rest] = insertChunks(c.var.db, jobEvents, rows);
        await c.var.db.batch([first, ...rest]);
      }
      return reply(c, JobState, jobState('fine_tuning', held), 200);
    },
  )
  .openapi(
    createRoute({
      ...route,
      method: 'post',
      path: '/internal/v1/fine_tuning/jobs/{id}/checkpoints',
      summary: "Record a checkpoint written under the job's output_prefix; a re-claimed job resumes from the latest",
      request: { params: FineTuningJobParams, ...jsonBody(CheckpointReport) },
      responses: { 200: jsonResponse(JobState, 'Recorded.'), ...commonErrors, ...forbidden, ...notFoundError, ...conflictError },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      const { db } = c.var;
      const held = await heldJob(db, 'fine_tuning', id, ownBackendId(c, body.backend_id));
      if (held.status !== 'running') return reply(c, JobState, jobState('fine_tuning', held), 200);
      const [job] = await db.select({ outputPrefix: fineTuningJobs.outputPrefix }).from(fineTuningJobs).where(eq(fineTuningJobs.id, id));
      if (!body.storage_prefix.startsWith(job.outputPrefix) || !PLAIN_KEY_PREFIX.test(body.storage_prefix)) {
        throw new ApiError(
          400,
          'invalid_field',
          `storage_prefix must lie under the job's output_prefix "${job.outputPrefix}" and be ${PLAIN_KEY_PREFIX_RULE}.`,
          'storage_prefix',
        );
      }
      const now = nowS();
      const values = {
        trainLoss: body.train_loss ?? null,
        validLoss: body.valid_loss ?? null,
        storagePrefix: body.storage_prefix,
        createdAt: now,
      };
      await db.batch([
        db
          .insert(jobCheckpoints)
          .values({ id: newId('ftckpt'), jobId: id, step: body.step, ...values })
          .onConflictDoUpdate({ target: [jobCheckpoints.jobId, jobCheckpoints.step], set: values }),
        db.insert(jobEvents).values({
          jobId: id,
          level: 'info',
          type: 'message',
          message: `Checkpoint at step ${body.step}.`,
          data: { step: body.step },
          createdAt: now,
        }),
      ]);
      return reply(c, JobState, jobState('fine_tuning', held), 200);
    },
  );
