/** Compressions: truncated SVD (rank, energy or byte budget) plus quantization, producing a new adapter. */
import { createRoute } from '@hono/zod-openapi';
import { compressions } from '../../schema/index.ts';
import { requireApiKey } from '../auth/middleware.ts';
import { ApiError } from '../errors.ts';
import { newId } from '../ids.ts';
import { queuedJob } from '../jobs/lease.ts';
import { wakeAfterQueueing } from '../jobs/wake.ts';
import { findAdapter, findCompression, servableNameOwner } from '../lookups.ts';
import { tenantPage } from '../pagination.ts';
import { IdParam, ListQuery } from '../schemas/common.ts';
import { Compression, CompressionList, CreateCompressionRequest } from '../schemas/compressions.ts';
import { tenantPrefix } from '../store.ts';
import { commonErrors, conflictError, jsonBody, jsonResponse, notFoundError, reply, router, tenantSecurity } from './define.ts';

type Row = typeof compressions.$inferSelect;

function compressionObject(k: Row) {
  return {
    id: k.id,
    object: 'compression' as const,
    name: k.name,
    source_adapter_id: k.sourceAdapterId,
    rank: k.rank,
    energy: k.energy,
    budget_bytes: k.budgetBytes,
    bits: k.bits,
    status: k.status,
    error: k.error,
    result_adapter_id: k.resultAdapterId,
    result: k.result,
    created_at: k.createdAt,
    finished_at: k.finishedAt,
  };
}

const route = { security: tenantSecurity, middleware: [requireApiKey], tags: ['compressions'] };

export const compressionRoutes = router()
  .openapi(
    createRoute({
      ...route,
      method: 'post',
      path: '/v1/compressions',
      summary: 'Compress a ready adapter to a rank, an energy fraction or a byte budget, optionally quantized',
      request: jsonBody(CreateCompressionRequest),
      responses: {
        202: jsonResponse(Compression, 'The queued compression; its adapter appears when it succeeds.'),
        ...commonErrors,
        ...notFoundError,
        ...conflictError,
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const { db, tenantId } = c.var;
      const source = await findAdapter(db, tenantId, body.adapter, 'adapter');
      if (source.status !== 'ready')
        throw new ApiError(
          409,
          'adapter_not_ready',
          `Adapter "${source.name}" is ${source.status}; only ready adapters can be compressed.`,
          'adapter',
        );
      if (body.rank !== undefined && source.rank !== null && body.rank >= source.rank) {
        throw new ApiError(
          400,
          'invalid_field',
          `rank ${body.rank} is not below the adapter's rank ${source.rank}; ask for a smaller rank.`,
          'rank',
        );
      }
      const name = body.name ?? `${source.name}-c${body.bits}`.slice(0, 64);
      const taken = await servableNameOwner(db, tenantId, name);
      if (taken) throw new ApiError(409, 'name_taken', `The name "${name}" is taken by ${taken}; pass another "name".`, 'name');
      const id = newId('cmpr');
      const row: Row = {
        id,
        tenantId,
        sourceAdapterId: source.id,
        name,
        rank: body.rank ?? null,
        energy: body.energy ?? null,
        budgetBytes: body.budget_bytes ?? null,
        bits: body.bits,
        result: null,
        resultAdapterId: null,
        ...queuedJob(`${tenantPrefix(tenantId)}compressions/${id}/`),
      };
      await db.insert(compressions).values(row);
      wakeAfterQueueing(c);
      return reply(c, Compression, compressionObject(row), 202);
    },
  )
  .openapi(
    createRoute({
      ...route,
      method: 'get',
      path: '/v1/compressions',
      summary: 'List your compressions, newest first',
      request: { query: ListQuery },
      responses: { 200: jsonResponse(CompressionList, 'A page of compressions.'), ...commonErrors },
    }),
    async (c) => {
      const listed = await tenantPage(c.var.db, compressions, c.var.tenantId, c.req.valid('query'));
      return reply(c, CompressionList, { ...listed, data: listed.data.map(compressionObject) }, 200);
    },
  )
  .openapi(
    createRoute({
      ...route,
      method: 'get',
      path: '/v1/compressions/{id}',
      summary: 'Get one compression',
      request: { params: IdParam },
      responses: { 200: jsonResponse(Compression, 'The compression.'), ...commonErrors, ...notFoundError },
    }),
    async (c) => reply(c, Compression, compressionObject(await findCompression(c.var.db, c.var.tenantId, c.req.valid('param').id)), 200),
  );
