/** Merges of several adapters into one servable model, and reverts that rebuild one member task from a merge. */
import { createRoute } from '@hono/zod-openapi';
import { and, asc, between, eq } from 'drizzle-orm';
import {
  MERGE_METHODS,
  MERGE_PARAM_NAMES,
  REVERSIBLE_MERGE_METHODS,
  type GivenParams,
  isReversibleMerge,
  mergeLayout,
  rankRefusal,
} from '../../contracts/api/merge-methods.ts';
import { adapters, baseModels, mergeMembers, mergeReverts, merges } from '../../schema/index.ts';
import { requireApiKey } from '../auth/middleware.ts';
import { type Db, insertChunks } from '../db.ts';
import { ApiError } from '../errors.ts';
import { newId, nowS } from '../ids.ts';
import { queuedJob } from '../jobs/lease.ts';
import { wakeAfterQueueing } from '../jobs/wake.ts';
import { findAdapter, findBaseModel, findMemberTask, findMerge, servableNameOwner } from '../lookups.ts';
import { tenantPage } from '../pagination.ts';
import { IdParam, ListQuery } from '../schemas/common.ts';
import { CreateMergeRequest, CreateRevertRequest, Merge, MergeDownload, MergeList, Revert } from '../schemas/merges.ts';
import { ADAPTER_DIR, BASIS_MANIFEST, BASIS_TENSORS } from '../../contracts/formats/job-artifacts.ts';
import { tenantPrefix } from '../store.ts';
import { commonErrors, conflictError, jsonBody, jsonResponse, notFoundError, reply, router, tenantSecurity } from './define.ts';

type MergeRow = typeof merges.$inferSelect;
type RevertRow = typeof mergeReverts.$inferSelect;

function revertObject(r: RevertRow, memberName: string) {
  return {
    id: r.id,
    object: 'merge.revert' as const,
    merge_id: r.mergeId,
    adapter: memberName,
    name: r.name,
    status: r.status,
    error: r.error,
    result_adapter_id: r.resultAdapterId,
    created_at: r.createdAt,
    finished_at: r.finishedAt,
  };
}

/**
 * Merges in the API's shape, with base model, members and reverts: one join and one query, however many merges.
 * `rows` are one tenant's page (or one merge): a contiguous run of its ids, so an id range selects their members
 * and reverts without binding every id.
 */
async function mergeObjects(db: Db, rows: MergeRow[]) {
  if (rows.length === 0) return [];
  const ids = rows.map((m) => m.id).sort();
  const tenantId = rows[0].tenantId;
  const [joined, reverts] = await Promise.all([
    db
      .select({
        mergeId: merges.id,
        base: baseModels.name,
        id: adapters.id,
        name: adapters.name,
        version: adapters.version,
        weight: mergeMembers.weight,
      })
      .from(merges)
      .innerJoin(baseModels, eq(baseModels.id, merges.baseModelId))
      .leftJoin(mergeMembers, eq(mergeMembers.mergeId, merges.id))
      .leftJoin(adapters, eq(adapters.id, mergeMembers.adapterId))
      .where(and(eq(merges.tenantId, tenantId), between(merges.id, ids[0], ids[ids.length - 1])))
      .orderBy(asc(mergeMembers.position)),
    db
      .select()
      .from(mergeReverts)
      .where(and(eq(mergeReverts.tenantId, tenantId), between(mergeReverts.mergeId, ids[0], ids[ids.length - 1])))
      .orderBy(asc(mergeReverts.id)),
  ]);
  return rows.map((m) => {
    const own = joined.filter((j) => j.mergeId === m.id);
    const members = own.flatMap((a) =>
      a.id !== null && a.name !== null && a.version !== null
        ? [{ adapter_id: a.id, name: a.name, version: a.version, model: `${a.base}:${a.name}@v${a.version}`, weight: a.weight }]
        : [],
    );
    const nameOf = new Map(members.map((a) => [a.adapter_id, a.name]));
    const base = own[0].base;
    return {
      id: m.id,
      object: 'merge' as const,
      name: m.name,
      base_model: base,
      model: m.status === 'succeeded' ? `${base}:${m.name}` : null,
      method: m.method,
      basis_size: m.basisSize,
      density: m.density,
      params: shownParams(m),
      members,
      status: m.status,
      error: m.error,
      result: m.result,
      reverts: reverts.filter((r) => r.mergeId === m.id).map((r) => revertObject(r, nameOf.get(r.adapterId) ?? r.adapterId)),
      created_at: m.createdAt,
      finished_at: m.finishedAt,
    };
  });
}

async function mergeObject(db: Db, m: MergeRow) {
  const [merge] = await mergeObjects(db, [m]);
  return merge;
}

/** Parameters with a column of their own (weights: one per member row); the rest are kept together in `params`. */
const OWN_COLUMNS = ['basis_size', 'density', 'weights'];

function extraParams(params: GivenParams): Record<string, number> | null {
  const rest = Object.entries(params).filter(([p]) => !OWN_COLUMNS.includes(p));
  return rest.length ? (Object.fromEntries(rest) as Record<string, number>) : null;
}

/** Every parameter a merge was given but its weights, as the API shows them. */
function shownParams(m: MergeRow): Record<string, number> {
  const own = { basis_size: m.basisSize, density: m.density };
  return { ...Object.fromEntries(Object.entries(own).filter(([, v]) => v !== null)), ...(m.params ?? {}) } as Record<string, number>;
}

/** The parameters a merge request gave (weights included), as the method declarations read them. */
function givenParams(body: Record<string, unknown>): GivenParams {
  return Object.fromEntries(MERGE_PARAM_NAMES.flatMap((p) => (body[p] === undefined ? [] : [[p, body[p] as number | number[]]])));
}

const route = { security: tenantSecurity, middleware: [requireApiKey], tags: ['merges'] };

export const mergeRoutes = router()
  .openapi(
    createRoute({
      ...route,
      method: 'post',
      path: '/v1/merges',
      summary: `Merge ready adapters of one base model (${MERGE_METHODS.join(', ')})`,
      request: jsonBody(CreateMergeRequest),
      responses: {
        201: jsonResponse(Merge, 'The queued merge; a backend builds it.'),
        ...commonErrors,
        ...notFoundError,
        ...conflictError,
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const { db, tenantId } = c.var;
      const base = await findBaseModel(db, tenantId, body.base_model, 'base_model');
      const members = [];
      for (const [i, ref] of body.adapters.entries()) {
        const a = await findAdapter(db, tenantId, ref, `adapters.${i}`);
        const first = members.findIndex((m) => m.id === a.id);
        if (first >= 0)
          throw new ApiError(
            400,
            'duplicate_adapter',
            `adapters.${i} ("${ref}") and adapters.${first} ("${body.adapters[first]}") are the same adapter (${a.id}); list each adapter once, by name or by id.`,
            `adapters.${i}`,
          );
        if (a.baseModelId !== base.id)
          throw new ApiError(
            400,
            'base_model_mismatch',
            `Adapter "${a.name}" was made for another base model than "${base.name}"; merge adapters of one base model.`,
            `adapters.${i}`,
          );
        if (a.status !== 'ready')
          throw new ApiError(
            409,
            'adapter_not_ready',
            `Adapter "${a.name}" is ${a.status}; only ready adapters can be merged.`,
            `adapters.${i}`,
          );
        members.push(a);
      }
      const params = givenParams(body);
      const refused = rankRefusal(
        body.method,
        params,
        members.map((a) => ({ name: a.name, rank: a.rank ?? 0 })),
      );
      if (refused) throw new ApiError(400, refused.code, refused.message, refused.param);
      const taken = await servableNameOwner(db, tenantId, body.name);
      if (taken) throw new ApiError(409, 'name_taken', `The name "${body.name}" is taken by ${taken}; choose another name.`, 'name');
      const id = newId('merge');
      const row: MergeRow = {
        id,
        tenantId,
        baseModelId: base.id,
        name: body.name,
        method: body.method,
        basisSize: body.basis_size ?? null,
        density: body.density ?? null,
        params: extraParams(params),
        result: null,
        ...queuedJob(`${tenantPrefix(tenantId)}merges/${id}/`),
      };
      await db.batch([
        db.insert(merges).values(row),
        ...insertChunks(
          db,
          mergeMembers,
          members.map((a, i) => ({ mergeId: id, adapterId: a.id, position: i, weight: body.weights?.[i] ?? null })),
        ),
      ]);
      wakeAfterQueueing(c);
      return reply(c, Merge, await mergeObject(db, row), 201);
    },
  )
  .openapi(
    createRoute({
      ...route,
      method: 'get',
      path: '/v1/merges',
      summary: 'List your merges, newest first',
      request: { query: ListQuery },
      responses: { 200: jsonResponse(MergeList, 'A page of merges.'), ...commonErrors },
    }),
    async (c) => {
      const listed = await tenantPage(c.var.db, merges, c.var.tenantId, c.req.valid('query'));
      return reply(c, MergeList, { ...listed, data: await mergeObjects(c.var.db, listed.data) }, 200);
    },
  )
  .openapi(
    createRoute({
      ...route,
      method: 'get',
      path: '/v1/merges/{id}',
      summary: 'Get one merge (by id or name), with its reverts',
      request: { params: IdParam },
      responses: { 200: jsonResponse(Merge, 'The merge.'), ...commonErrors, ...notFoundError },
    }),
    async (c) => reply(c, Merge, await mergeObject(c.var.db, await findMerge(c.var.db, c.var.tenantId, c.req.valid('param').id)), 200),
  )
  .openapi(
    createRoute({
      ...route,
      method: 'get',
      path: '/v1/merges/{id}/download',
      summary: "Presigned GET URLs of a succeeded merge's files: a collapsed merge's PEFT adapter, or an rmm_* merge's basis",
      request: { params: IdParam },
      responses: {
        200: jsonResponse(MergeDownload, 'Download URLs, valid for an hour.'),
        ...commonErrors,
        ...notFoundError,
        ...conflictError,
      },
    }),
    async (c) => {
      const m = await findMerge(c.var.db, c.var.tenantId, c.req.valid('param').id);
      if (m.status !== 'succeeded')
        throw new ApiError(409, 'merge_not_ready', `Merge "${m.name}" is ${m.status}; it can be downloaded once it succeeded.`, 'id');
      const ttl = 3600;
      const layout = mergeLayout(m.method);
      const names =
        layout === 'reversible_basis'
          ? [BASIS_MANIFEST, BASIS_TENSORS]
          : [`${ADAPTER_DIR}adapter_config.json`, `${ADAPTER_DIR}adapter_model.safetensors`];
      const files = await Promise.all(
        names.map(async (name) => {
          const key = m.outputPrefix + name;
          const [info, url] = await Promise.all([c.var.store.head(key), c.var.store.presignGet(key, ttl)]);
          return { filename: name.slice(name.lastIndexOf('/') + 1), bytes: info?.size ?? 0, url: url.url };
        }),
      );
      return reply(c, MergeDownload, { merge_id: m.id, layout, expires_at: nowS() + ttl, files }, 200);
    },
  )
  .openapi(
    createRoute({
      ...route,
      method: 'post',
      path: '/v1/merges/{id}/revert',
      summary: 'Rebuild one member task of a merge as a standalone adapter (a backend does it)',
      request: { params: IdParam, ...jsonBody(CreateRevertRequest) },
      responses: {
        202: jsonResponse(Revert, 'The queued revert; its adapter appears when it succeeds.'),
        ...commonErrors,
        ...notFoundError,
        ...conflictError,
      },
    }),
    async (c) => {
      const { db, tenantId } = c.var;
      const m = await findMerge(db, tenantId, c.req.valid('param').id);
      const body = c.req.valid('json');
      if (m.status !== 'succeeded')
        throw new ApiError(
          409,
          'merge_not_ready',
          `Merge "${m.name}" is ${m.status}; a task can be reverted once the merge succeeded.`,
          'id',
        );
      if (!isReversibleMerge(m.method))
        throw new ApiError(
          400,
          'merge_not_reversible',
          `Merge "${m.name}" is a ${m.method} merge: it collapsed its members into one adapter and keeps no task to revert. Revert tasks of ${REVERSIBLE_MERGE_METHODS.join(', ')} merges, or call the member adapter itself.`,
          'id',
        );
      // The member the merge was built from, whichever version its name serves now.
      const member = await findMemberTask(db, m.id, body.adapter, 'adapter');
      if (!member) {
        await findAdapter(db, tenantId, body.adapter, 'adapter');
        throw new ApiError(
          400,
          'not_a_member',
          `Adapter "${body.adapter}" is not a member of merge "${m.name}"; revert one of its members (GET /v1/merges/${m.id}).`,
          'adapter',
        );
      }
      const name = body.name ?? `${m.name}-${member.name}`.slice(0, 64);
      const taken = await servableNameOwner(db, tenantId, name);
      if (taken) throw new ApiError(409, 'name_taken', `The name "${name}" is taken by ${taken}; pass another "name".`, 'name');
      const id = newId('revert');
      const row: RevertRow = {
        id,
        tenantId,
        mergeId: m.id,
        adapterId: member.id,
        name,
        resultAdapterId: null,
        ...queuedJob(`${tenantPrefix(tenantId)}reverts/${id}/`),
      };
      await db.insert(mergeReverts).values(row);
      wakeAfterQueueing(c);
      return reply(c, Revert, revertObject(row, member.name), 202);
    },
  );
