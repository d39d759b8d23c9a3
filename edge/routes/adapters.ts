/** The adapter registry: upload (presigned or through the edge), commit, list, get, download, delete, versions, promote. */
import { createRoute, z } from '@hono/zod-openapi';
import { and, eq, sql } from 'drizzle-orm';
import { adapters, baseModels, compressions, fineTuningJobs, mergeMembers, mergeReverts } from '../../schema/index.ts';
import { ADAPTER_FILES, EDGE_PUT_MAX_BYTES, MAX_FILE_BYTES, UPLOAD_URL_TTL_S, committedKey, uploadKey } from '../adapters/files.ts';
import { pinAdapter, unpinAdapter } from '../adapters/pins.ts';
import { adapterObject, commitUpload, refuseExpiredUpload, type AdapterRow } from '../adapters/registry.ts';
import { firstOfNameSql, nextVersionSql, promoteStatements, repointStatement } from '../adapters/versions.ts';
import { requireApiKey } from '../auth/middleware.ts';
import type { ObjectStore } from '../../contracts/storage/object-store.ts';
import type { Db } from '../db.ts';
import { forgetModels } from '../request-caches.ts';
import { ApiError } from '../errors.ts';
import { newId, nowS } from '../ids.ts';
import { findAdapter, findBaseModel, servableNameOwner } from '../lookups.ts';
import { tenantPage } from '../pagination.ts';
import {
  Adapter,
  AdapterDownload,
  AdapterList,
  CreateAdapterRequest,
  CreatedAdapter,
  FileParams,
  UploadedFile,
  VersionParams,
} from '../schemas/adapters.ts';
import { ErrorResponse } from '../../contracts/api/error-body.ts';
import { Deleted, IdParam, ListQuery } from '../schemas/common.ts';
import { tenantPrefix } from '../store.ts';
import { commonErrors, conflictError, jsonBody, jsonResponse, notFoundError, reply, router, tenantSecurity } from './define.ts';

const route = { security: tenantSecurity, middleware: [requireApiKey], tags: ['adapters'] };

const unprocessable = {
  422: jsonResponse(
    z.object({ error: z.any() }).openapi('AdapterRejected'),
    'The files failed the check; the adapter is now `rejected` and the message says why.',
  ),
};

async function baseNameOf(db: Db, a: AdapterRow): Promise<string> {
  const [b] = await db.select({ name: baseModels.name }).from(baseModels).where(eq(baseModels.id, a.baseModelId));
  return b.name;
}

async function findUploading(db: Db, store: ObjectStore, tenantId: string, id: string): Promise<AdapterRow> {
  const a = await findAdapter(db, tenantId, id);
  if (a.status === 'uploading') await refuseExpiredUpload(db, store, a);
  if (a.status !== 'uploading') {
    throw new ApiError(
      409,
      'adapter_not_uploading',
      `Adapter "${a.name}" is ${a.status}; files can only be uploaded before the commit. Create a new adapter to upload other files.`,
      'id',
    );
  }
  return a;
}

export const adapterRoutes = router()
  .openapi(
    createRoute({
      ...route,
      method: 'post',
      path: '/v1/adapters',
      summary: 'Start an adapter upload: returns where to PUT adapter_config.json and adapter_model.safetensors',
      request: jsonBody(CreateAdapterRequest),
      responses: {
        201: jsonResponse(CreatedAdapter, 'The adapter (uploading) and its upload targets.'),
        ...commonErrors,
        ...notFoundError,
        ...conflictError,
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const { db, store, tenantId } = c.var;
      const base = await findBaseModel(db, tenantId, body.base_model, 'base_model');
      for (const f of body.files) {
        if (f.bytes > MAX_FILE_BYTES[f.filename])
          throw new ApiError(
            400,
            'file_too_large',
            `${f.filename} is ${f.bytes} bytes; the limit is ${MAX_FILE_BYTES[f.filename]}.`,
            'files',
          );
      }
      await refuseNameOfAnother(db, tenantId, body.name, base);

      const id = newId('adapter');
      const prefix = `${tenantPrefix(tenantId)}adapters/${id}/`;
      const now = nowS();
      const row: AdapterRow = {
        id,
        tenantId,
        baseModelId: base.id,
        name: body.name,
        version: 1,
        current: true,
        status: 'uploading',
        rejectionCode: null,
        rejectionMessage: null,
        rank: null,
        targetModules: null,
        sizeBytes: null,
        sha256: null,
        source: 'upload',
        sourceId: null,
        storagePrefix: prefix,
        declaredFiles: body.files.map((f) => ({ filename: f.filename, bytes: f.bytes, sha256: f.sha256 ?? null })),
        uploadExpiresAt: now + UPLOAD_URL_TTL_S,
        createdAt: now,
        readyAt: null,
        pinnedAt: null,
      };
      const origin = new URL(c.req.url).origin;
      const auth = { authorization: 'Bearer <your API key>' };
      const targets = await Promise.all(
        body.files.map(async (f) => ({
          filename: f.filename,
          bytes: f.bytes,
          presigned: await store.presignPut(uploadKey(prefix, f.filename), {
            contentLength: f.bytes,
            sha256Hex: f.sha256,
            expiresInS: UPLOAD_URL_TTL_S,
          }),
          edge:
            f.bytes <= EDGE_PUT_MAX_BYTES
              ? {
                  method: 'PUT' as const,
                  url: `${origin}/v1/adapters/${id}/files/${f.filename}`,
                  headers: { ...auth, 'content-length': String(f.bytes) },
                }
              : null,
        })),
      );
      // A name that exists gets its next version, which the name serves once committed.
      const [created] = await db
        .insert(adapters)
        .values({ ...row, version: nextVersionSql(tenantId, body.name), current: firstOfNameSql(tenantId, body.name) })
        .returning();
      return reply(
        c,
        CreatedAdapter,
        {
          adapter: adapterObject(created, base.name),
          upload: {
            expires_at: row.uploadExpiresAt!,
            files: targets.map((t) => ({
              ...t,
              presigned: { method: t.presigned.method, url: t.presigned.url, headers: t.presigned.headers },
            })),
            commit: { method: 'POST', url: `${origin}/v1/adapters/${id}/commit`, headers: auth },
          },
        },
        201,
      );
    },
  )
  .openapi(
    createRoute({
      ...route,
      method: 'put',
      path: '/v1/adapters/{id}/files/{filename}',
      summary: `Upload one adapter file through the edge (files up to ${EDGE_PUT_MAX_BYTES} bytes); the body is the file`,
      request: {
        params: FileParams,
        body: {
          required: true,
          content: { 'application/octet-stream': { schema: z.any().openapi({ type: 'string', format: 'binary' }) } },
        },
      },
      responses: {
        200: jsonResponse(UploadedFile, 'Stored; commit when both files are up.'),
        411: jsonResponse(z.object({ error: z.any() }), 'Content-Length is required.'),
        ...commonErrors,
        ...notFoundError,
        ...conflictError,
      },
    }),
    async (c) => {
      const { id, filename } = c.req.valid('param');
      const { db, store, tenantId } = c.var;
      const adapter = await findUploading(db, store, tenantId, id);
      const declared = adapter.declaredFiles?.find((f) => f.filename === filename);
      const length = Number(c.req.header('content-length'));
      if (!c.req.header('content-length') || !Number.isSafeInteger(length)) {
        throw new ApiError(
          411,
          'length_required',
          'Send the file with a Content-Length header; the edge streams it on and must know its size.',
        );
      }
      if (declared && length !== declared.bytes) {
        throw new ApiError(
          400,
          'upload_size_mismatch',
          `${filename} was declared as ${declared.bytes} bytes but this request sends ${length}; send the declared file, or create a new adapter.`,
          'content-length',
        );
      }
      if (length > EDGE_PUT_MAX_BYTES) {
        throw new ApiError(
          413,
          'body_too_large',
          `${filename} is ${length} bytes; the edge takes files up to ${EDGE_PUT_MAX_BYTES}. Use the presigned URL from POST /v1/adapters instead.`,
        );
      }
      const body = c.req.raw.body;
      if (!body) throw new ApiError(400, 'empty_body', `Send the contents of ${filename} as the request body.`);
      await store.put(uploadKey(adapter.storagePrefix, filename), body, { contentLength: length });
      return reply(c, UploadedFile, { filename, bytes: length }, 200);
    },
  )
  .openapi(
    createRoute({
      ...route,
      method: 'post',
      path: '/v1/adapters/{id}/commit',
      summary: 'Finish an upload: the files are checked against the base model and the adapter becomes ready or rejected',
      request: { params: IdParam },
      responses: {
        200: jsonResponse(Adapter, 'The adapter, ready.'),
        ...commonErrors,
        ...notFoundError,
        ...conflictError,
        ...unprocessable,
      },
    }),
    async (c) => {
      const { db, store, tenantId } = c.var;
      const adapter = await findAdapter(db, tenantId, c.req.valid('param').id);
      const base = await findBaseModel(db, tenantId, adapter.baseModelId);
      if (adapter.status === 'ready') return reply(c, Adapter, adapterObject(adapter, base.name), 200);
      if (adapter.status === 'rejected') {
        throw new ApiError(
          409,
          'adapter_rejected',
          `Adapter "${adapter.name}" was rejected: ${adapter.rejectionMessage} Fix the files and upload them as a new adapter.`,
          'id',
        );
      }
      const committed = await commitUpload(db, store, adapter, base);
      // The name now serves this version: this isolate stops serving the one it had cached at once.
      forgetModels(c.env, tenantId);
      return reply(c, Adapter, adapterObject(committed, base.name), 200);
    },
  )
  .openapi(
    createRoute({
      ...route,
      method: 'get',
      path: '/v1/adapters',
      summary: 'List your adapters, newest first: each name once, at the version it serves (GET …/versions lists the others)',
      request: { query: ListQuery },
      responses: { 200: jsonResponse(AdapterList, 'A page of adapters.'), ...commonErrors },
    }),
    async (c) => {
      const listed = await tenantPage(c.var.db, adapters, c.var.tenantId, c.req.valid('query'), eq(adapters.current, true));
      const bases = await c.var.db
        .select({ id: baseModels.id, name: baseModels.name })
        .from(baseModels)
        .where(eq(baseModels.tenantId, c.var.tenantId));
      const baseName = new Map(bases.map((b) => [b.id, b.name]));
      return reply(c, AdapterList, { ...listed, data: listed.data.map((a) => adapterObject(a, baseName.get(a.baseModelId)!)) }, 200);
    },
  )
  .openapi(
    createRoute({
      ...route,
      method: 'get',
      path: '/v1/adapters/{id}',
      summary: 'Get one adapter version (by id, by name: the version it serves, or by `name@v<n>`)',
      request: { params: IdParam },
      responses: { 200: jsonResponse(Adapter, 'The adapter.'), ...commonErrors, ...notFoundError },
    }),
    async (c) => {
      const a = await findAdapter(c.var.db, c.var.tenantId, c.req.valid('param').id);
      return reply(c, Adapter, adapterObject(a, await baseNameOf(c.var.db, a)), 200);
    },
  )
  .openapi(
    createRoute({
      ...route,
      method: 'post',
      path: '/v1/adapters/{id}/pin',
      summary:
        'Pin a ready adapter: kept loaded on the backend its requests route to, exempt from eviction, and on the next backend when routing moves (backends take pins at their next heartbeat)',
      request: { params: IdParam },
      responses: {
        200: jsonResponse(Adapter, 'The adapter, pinned (pinning a pinned adapter changes nothing).'),
        ...commonErrors,
        ...notFoundError,
        409: jsonResponse(
          ErrorResponse,
          'The adapter is not ready (`adapter_not_ready`), or the tenant has MAX_PINNED_ADAPTERS pinned already (`pin_limit_reached`).',
        ),
      },
    }),
    async (c) => {
      const a = await findAdapter(c.var.db, c.var.tenantId, c.req.valid('param').id);
      const pinned = await pinAdapter(c.var.db, c.env, a);
      return reply(c, Adapter, adapterObject(pinned, await baseNameOf(c.var.db, a)), 200);
    },
  )
  .openapi(
    createRoute({
      ...route,
      method: 'delete',
      path: '/v1/adapters/{id}/pin',
      summary: 'Unpin an adapter: its backend may evict it again (from its next heartbeat)',
      request: { params: IdParam },
      responses: {
        200: jsonResponse(Adapter, 'The adapter, not pinned (unpinning one not pinned changes nothing).'),
        ...commonErrors,
        ...notFoundError,
      },
    }),
    async (c) => {
      const a = await findAdapter(c.var.db, c.var.tenantId, c.req.valid('param').id);
      return reply(c, Adapter, adapterObject(await unpinAdapter(c.var.db, a), await baseNameOf(c.var.db, a)), 200);
    },
  )
  .openapi(
    createRoute({
      ...route,
      method: 'get',
      path: '/v1/adapters/{id}/download',
      summary: "Presigned GET URLs of a ready adapter's PEFT files",
      request: { params: IdParam },
      responses: {
        200: jsonResponse(AdapterDownload, 'Download URLs, valid for an hour.'),
        ...commonErrors,
        ...notFoundError,
        ...conflictError,
      },
    }),
    async (c) => {
      const a = await findAdapter(c.var.db, c.var.tenantId, c.req.valid('param').id);
      if (a.status !== 'ready')
        throw new ApiError(409, 'adapter_not_ready', `Adapter "${a.name}" is ${a.status}; only ready adapters can be downloaded.`, 'id');
      const ttl = 3600;
      const files = await Promise.all(
        ADAPTER_FILES.map(async (f) => {
          const key = committedKey(a.storagePrefix, f);
          const [info, url] = await Promise.all([c.var.store.head(key), c.var.store.presignGet(key, ttl)]);
          return { filename: f, bytes: info?.size ?? 0, url: url.url };
        }),
      );
      return reply(c, AdapterDownload, { adapter_id: a.id, expires_at: nowS() + ttl, files }, 200);
    },
  )
  .openapi(
    createRoute({
      ...route,
      method: 'delete',
      path: '/v1/adapters/{id}',
      summary:
        'Delete one adapter version and its files (refused while a merge or compression uses it); deleting the version a name serves repoints the name to its newest ready version left',
      request: { params: IdParam },
      responses: { 200: jsonResponse(Deleted, 'Deleted.'), ...commonErrors, ...notFoundError, ...conflictError },
    }),
    async (c) => {
      const { db, store, tenantId } = c.var;
      const a = await findAdapter(db, tenantId, c.req.valid('param').id);
      const [member] = await db.select({ id: mergeMembers.mergeId }).from(mergeMembers).where(eq(mergeMembers.adapterId, a.id)).limit(1);
      const [source] = await db.select({ id: compressions.id }).from(compressions).where(eq(compressions.sourceAdapterId, a.id)).limit(1);
      const user = member?.id ?? source?.id;
      if (user) throw new ApiError(409, 'adapter_in_use', `Adapter "${a.name}" is used by ${user}; delete that first.`, 'id');
      // Results keep their history but no longer point at the deleted adapter.
      await db.batch([
        db.update(fineTuningJobs).set({ resultAdapterId: null }).where(eq(fineTuningJobs.resultAdapterId, a.id)),
        db.update(compressions).set({ resultAdapterId: null }).where(eq(compressions.resultAdapterId, a.id)),
        db.update(mergeReverts).set({ resultAdapterId: null }).where(eq(mergeReverts.resultAdapterId, a.id)),
        db.delete(adapters).where(eq(adapters.id, a.id)),
        repointStatement(db, tenantId, a.name),
      ]);
      forgetModels(c.env, tenantId);
      await store.deletePrefix(a.storagePrefix);
      return reply(c, Deleted, { id: a.id, object: 'adapter', deleted: true }, 200);
    },
  )
  .openapi(
    createRoute({
      ...route,
      method: 'get',
      path: '/v1/adapters/{id}/versions',
      summary: 'List the versions of an adapter name (by name, or by the id of any version), newest first',
      request: { params: IdParam, query: ListQuery },
      responses: {
        200: jsonResponse(AdapterList, 'A page of versions; `current` marks the one the name serves.'),
        ...commonErrors,
        ...notFoundError,
      },
    }),
    async (c) => {
      const { db, tenantId } = c.var;
      const a = await findAdapter(db, tenantId, c.req.valid('param').id);
      const listed = await tenantPage(db, adapters, tenantId, c.req.valid('query'), eq(adapters.name, a.name));
      const baseName = await baseNameOf(db, a);
      return reply(c, AdapterList, { ...listed, data: listed.data.map((v) => adapterObject(v, baseName)) }, 200);
    },
  )
  .openapi(
    createRoute({
      ...route,
      method: 'post',
      path: '/v1/adapters/{id}/versions/{version}/promote',
      summary: 'Make one version the one its name serves (a rollback, or a roll forward); requests in flight finish on theirs',
      request: { params: VersionParams },
      responses: {
        200: jsonResponse(Adapter, 'The version, now current.'),
        ...commonErrors,
        ...notFoundError,
        ...conflictError,
      },
    }),
    async (c) => {
      const { db, tenantId } = c.var;
      const { id, version } = c.req.valid('param');
      const named = await findAdapter(db, tenantId, id);
      const v = await findAdapter(db, tenantId, `${named.name}@v${version}`, 'version');
      if (v.status !== 'ready')
        throw new ApiError(
          409,
          'adapter_not_ready',
          `Version ${v.version} of "${v.name}" is ${v.status}; only a ready version can be served. GET /v1/adapters/${v.name}/versions lists them.`,
          'version',
        );
      // Only a version still ready is marked: one deleted meanwhile leaves the name where it was.
      await db.batch(promoteStatements(db, v, sql`exists (select 1 from adapters where id = ${v.id} and status = 'ready')`));
      forgetModels(c.env, tenantId);
      const promoted = await findAdapter(db, tenantId, v.id);
      return reply(c, Adapter, adapterObject(promoted, await baseNameOf(db, promoted)), 200);
    },
  );

/**
 * A name is one adapter's versions, of one base: an upload to it makes the next version, unless the name is a
 * merge's or an adapter's of another base model (409).
 */
async function refuseNameOfAnother(db: Db, tenantId: string, name: string, base: { id: string; name: string }): Promise<void> {
  const [sibling] = await db
    .select({ baseModelId: adapters.baseModelId })
    .from(adapters)
    .where(and(eq(adapters.tenantId, tenantId), eq(adapters.name, name)))
    .limit(1);
  if (sibling && sibling.baseModelId !== base.id)
    throw new ApiError(
      409,
      'name_taken',
      `The name "${name}" is an adapter of another base model; the versions of a name share one base, so choose another name for an adapter of "${base.name}".`,
      'name',
    );
  const taken = sibling ? null : await servableNameOwner(db, tenantId, name);
  if (taken)
    throw new ApiError(409, 'name_taken', `The name "${name}" is taken by ${taken}; choose another name or delete that one.`, 'name');
}
