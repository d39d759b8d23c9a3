/**
 * Quantizations: a base model's weights quantized once to int4 or int8 and stored, so `<base>@int4` and
 * `<base>@int8` load them as they are. A job like compressions: queued here, done by a backend under a lease.
 */
import { createRoute } from '@hono/zod-openapi';
import { and, desc, eq } from 'drizzle-orm';
import { quantizations } from '../../schema/index.ts';
import { requireApiKey } from '../auth/middleware.ts';
import { notFound } from '../errors.ts';
import { newId } from '../ids.ts';
import { queuedJob } from '../jobs/lease.ts';
import { wakeAfterQueueing } from '../jobs/wake.ts';
import { findBaseModel } from '../lookups.ts';
import { afterCursor, page } from '../pagination.ts';
import { IdParam, ListQuery } from '../schemas/common.ts';
import { CreateQuantizationRequest, Quantization, QuantizationList, QuantizationParams } from '../schemas/quantizations.ts';
import { tenantPrefix } from '../store.ts';
import { commonErrors, jsonBody, jsonResponse, notFoundError, reply, router, tenantSecurity } from './define.ts';

type Row = typeof quantizations.$inferSelect;

function quantizationObject(q: Row) {
  return {
    id: q.id,
    object: 'base_model.quantization' as const,
    base_model_id: q.baseModelId,
    bits: q.bits,
    group_size: q.groupSize,
    status: q.status,
    error: q.error,
    result: q.result,
    created_at: q.createdAt,
    finished_at: q.finishedAt,
  };
}

const route = { security: tenantSecurity, middleware: [requireApiKey], tags: ['base-models'] };

export const quantizationRoutes = router()
  .openapi(
    createRoute({
      ...route,
      method: 'post',
      path: '/v1/base-models/{id}/quantizations',
      summary: 'Quantize a base model once to int4 or int8 and store it, to serve as "<base>@int<bits>"',
      request: { params: IdParam, ...jsonBody(CreateQuantizationRequest) },
      responses: {
        202: jsonResponse(Quantization, 'The queued quantization; "<base>@int<bits>" serves it once it succeeds.'),
        ...commonErrors,
        ...notFoundError,
      },
    }),
    async (c) => {
      const { db, tenantId } = c.var;
      const base = await findBaseModel(db, tenantId, c.req.valid('param').id);
      const body = c.req.valid('json');
      const id = newId('quant');
      const row: Row = {
        id,
        tenantId,
        baseModelId: base.id,
        bits: body.bits,
        groupSize: body.group_size,
        result: null,
        ...queuedJob(`${tenantPrefix(tenantId)}quantizations/${id}/`),
      };
      await db.insert(quantizations).values(row);
      wakeAfterQueueing(c);
      return reply(c, Quantization, quantizationObject(row), 202);
    },
  )
  .openapi(
    createRoute({
      ...route,
      method: 'get',
      path: '/v1/base-models/{id}/quantizations',
      summary: "List a base model's quantizations, newest first",
      request: { params: IdParam, query: ListQuery },
      responses: { 200: jsonResponse(QuantizationList, 'A page of quantizations.'), ...commonErrors, ...notFoundError },
    }),
    async (c) => {
      const { db, tenantId } = c.var;
      const base = await findBaseModel(db, tenantId, c.req.valid('param').id);
      const { after, limit } = c.req.valid('query');
      const rows = await db
        .select()
        .from(quantizations)
        .where(and(eq(quantizations.tenantId, tenantId), eq(quantizations.baseModelId, base.id), afterCursor(quantizations.id, after)))
        .orderBy(desc(quantizations.id))
        .limit(limit + 1);
      const listed = page(rows, limit);
      return reply(c, QuantizationList, { ...listed, data: listed.data.map(quantizationObject) }, 200);
    },
  )
  .openapi(
    createRoute({
      ...route,
      method: 'get',
      path: '/v1/base-models/{id}/quantizations/{quantization_id}',
      summary: 'Get one quantization',
      request: { params: QuantizationParams },
      responses: { 200: jsonResponse(Quantization, 'The quantization.'), ...commonErrors, ...notFoundError },
    }),
    async (c) => {
      const { db, tenantId } = c.var;
      const { id, quantization_id } = c.req.valid('param');
      const base = await findBaseModel(db, tenantId, id);
      const [row] = await db
        .select()
        .from(quantizations)
        .where(and(eq(quantizations.tenantId, tenantId), eq(quantizations.baseModelId, base.id), eq(quantizations.id, quantization_id)))
        .limit(1);
      if (!row) throw notFound('quantization', quantization_id, 'quantization_id', `GET /v1/base-models/${id}/quantizations`);
      return reply(c, Quantization, quantizationObject(row), 200);
    },
  );
