/** OpenAI-style inference (completions, embeddings), proxied to the backend that the model's routing key hashes to; and /v1/models. */
import { createRoute, z } from '@hono/zod-openapi';
import { and, asc, desc, eq } from 'drizzle-orm';
import type { Context } from 'hono';
import { isReversibleMerge } from '../../contracts/api/merge-methods.ts';
import { SERVED_WEIGHT_BITS, type Routing } from '../../contracts/api/routed-target.ts';
import { adapters, baseModels, mergeMembers, merges, quantizations } from '../../schema/index.ts';
import { requireApiKey } from '../auth/middleware.ts';
import { type AppEnv, numberVar } from '../env.ts';
import type { Db } from '../db.ts';
import { ApiError, notFound } from '../errors.ts';
import { versionedName } from '../adapters/versions.ts';
import { resolveMix, resolveModel } from '../inference/model-ref.ts';
import { modelKey, requestCaches } from '../request-caches.ts';
import { pickCandidates, proxyToBackend } from '../inference/proxy.ts';
import { withCertainEnd } from '../inference/stream-end.ts';
import {
  type AdapterMix,
  ChatCompletion,
  ChatCompletionRequest,
  Completion,
  CompletionRequest,
  DEFAULT_MAX_MIX_RANK,
  EventStream,
  ModelList,
  ModelObject,
} from '../../contracts/api/openai.ts';
import { EmbeddingList, EmbeddingRequest } from '../../contracts/api/embeddings.ts';
import { heartbeatTtlS } from './internal.ts';
import {
  badGatewayError,
  commonErrors,
  conflictError,
  jsonBody,
  jsonResponse,
  notFoundError,
  reply,
  router,
  tenantSecurity,
  unavailableError,
} from './define.ts';

const route = { security: tenantSecurity, middleware: [requireApiKey], tags: ['inference'] };

/**
 * The backend gets the request as the client sent it, plus `rankgate`: the tenant and what to load. Its JSON
 * answer is checked against the OpenAI shape; a stream is passed through as it arrives.
 */
async function forward(
  c: Context<AppEnv>,
  path: string,
  body: { model: string; stream?: boolean; adapters?: z.infer<typeof AdapterMix> },
  answer: z.ZodType,
) {
  const { db, tenantId } = c.var;
  const { model, adapters: mix } = body;
  const maxMixRank = numberVar(c.env.MAX_MIX_RANK, DEFAULT_MAX_MIX_RANK);
  // A mix is cached under its whole spec (names and weights): the same model with other adapters is another target.
  const key = mix ? modelKey(tenantId, `${model}\u0000${JSON.stringify(mix)}`) : modelKey(tenantId, model);
  const { target, routingKey } = await requestCaches(c.env).models.getOrLoad(key, () =>
    mix ? resolveMix(db, tenantId, model, mix, maxMixRank) : resolveModel(db, tenantId, model),
  );
  const candidates = await pickCandidates(db, c.env, routingKey, heartbeatTtlS(c.env));
  const rankgate: Routing = { tenant_id: c.var.tenantId, target };
  const { response, backendId } = await proxyToBackend(candidates, path, { ...body, rankgate }, c.env.EDGE_SIGNING_KEY);
  c.header('x-rankgate-backend', backendId);
  if (response.status >= 400) {
    // The backend refused the input (e.g. a prompt longer than the context): its OpenAI-shaped error stands.
    return new Response(response.body, {
      status: response.status,
      headers: { 'content-type': 'application/json', 'x-rankgate-backend': backendId },
    });
  }
  if (body.stream && response.body) {
    return new Response(withCertainEnd(response.body, backendId), {
      status: 200,
      headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-rankgate-backend': backendId },
    });
  }
  const parsed = answer.safeParse(await response.json().catch(() => null));
  if (!parsed.success) throw new ApiError(502, 'bad_backend_response', `Backend ${backendId} answered with a malformed completion; retry.`);
  return c.json(parsed.data as object, 200);
}

const inferenceErrors = { ...commonErrors, ...notFoundError, ...conflictError, ...badGatewayError, ...unavailableError };

/** The two completion routes differ only in path, request and answer shapes. */
function completionRoute<Req extends z.ZodType, Res extends z.ZodType>(path: string, kind: string, request: Req, answer: Res) {
  return createRoute({
    ...route,
    method: 'post',
    path,
    summary: `${kind} completion with a base model, an adapter, a mix of adapters, a merge or a reverted task of a merge`,
    request: jsonBody(request),
    responses: {
      200: {
        description: 'The completion (JSON), or server-sent events when `stream` is true.',
        content: { 'application/json': { schema: answer }, 'text/event-stream': { schema: EventStream } },
      },
      ...inferenceErrors,
    },
  });
}

export const inferenceRoutes = router()
  .openapi(completionRoute('/v1/chat/completions', 'Chat', ChatCompletionRequest, ChatCompletion), (c) =>
    forward(c, '/v1/chat/completions', c.req.valid('json'), ChatCompletion),
  )
  .openapi(completionRoute('/v1/completions', 'Text', CompletionRequest, Completion), (c) =>
    forward(c, '/v1/completions', c.req.valid('json'), Completion),
  )
  .openapi(
    createRoute({
      ...route,
      method: 'post',
      path: '/v1/embeddings',
      summary:
        'Embeddings of texts or token ids from a base model, an adapter, a mix of adapters, a merge or a reverted task of a merge: the last hidden state (after the final norm), mean-pooled (or the last token with `pooling: "last"`), L2-normalized',
      request: jsonBody(EmbeddingRequest),
      responses: { 200: jsonResponse(EmbeddingList, 'The embeddings, in input order.'), ...inferenceErrors },
    }),
    // forward() checks the backend's answer against EmbeddingList, but returns a plain Response (it also passes streams).
    async (c) => (await forward(c, '/v1/embeddings', c.req.valid('json'), EmbeddingList)) as never,
  )
  .openapi(
    createRoute({
      ...route,
      method: 'get',
      path: '/v1/models',
      summary:
        'Every model id you can call: base models, ready adapters (each name at the version it serves, other ready versions as `<name>@v<n>`), succeeded merges and their member tasks',
      responses: { 200: jsonResponse(ModelList, 'The models.'), ...commonErrors },
    }),
    async (c) => reply(c, ModelList, { object: 'list', data: await tenantModels(c.var.db, c.var.tenantId) }, 200),
  )
  .openapi(
    createRoute({
      ...route,
      method: 'get',
      path: '/v1/models/{id}',
      summary: 'One model id you can call (as listed by GET /v1/models); URL-encode it, e.g. tiny-llama%3Atask-a',
      request: { params: z.object({ id: z.string().min(1).max(300) }) },
      responses: { 200: jsonResponse(ModelObject, 'The model.'), ...commonErrors, ...notFoundError },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const model = (await tenantModels(c.var.db, c.var.tenantId)).find((m) => m.id === id);
      if (!model) throw notFound('model', id, 'model', 'GET /v1/models');
      return reply(c, ModelObject, model, 200);
    },
  );

/** Every model id the tenant can call: base models, ready adapters, succeeded merges and their member tasks. */
async function tenantModels(db: Db, tenantId: string): Promise<z.input<typeof ModelObject>[]> {
  const owned_by = tenantId;
  const bases = await db.select().from(baseModels).where(eq(baseModels.tenantId, tenantId)).orderBy(asc(baseModels.name));
  const ready = await db
    .select()
    .from(adapters)
    .where(and(eq(adapters.tenantId, tenantId), eq(adapters.status, 'ready')))
    .orderBy(asc(adapters.name), desc(adapters.current), desc(adapters.version));
  const done = await db
    .select()
    .from(merges)
    .where(and(eq(merges.tenantId, tenantId), eq(merges.status, 'succeeded')))
    .orderBy(asc(merges.name));
  // Every succeeded merge's member tasks in one join, rather than one query per merge.
  const members = await db
    .select({ mergeId: mergeMembers.mergeId, name: adapters.name })
    .from(mergeMembers)
    .innerJoin(merges, eq(merges.id, mergeMembers.mergeId))
    .innerJoin(adapters, eq(adapters.id, mergeMembers.adapterId))
    .where(and(eq(merges.tenantId, tenantId), eq(merges.status, 'succeeded')))
    .orderBy(asc(mergeMembers.position));
  const baseName = new Map(bases.map((b) => [b.id, b.name]));
  // Each base also as the quantized variants whose weights a quantization job stored (`<base>@int8:<adapter>`
  // works the same, and is not listed).
  const stored = new Set(
    (
      await db
        .selectDistinct({ baseModelId: quantizations.baseModelId, bits: quantizations.bits })
        .from(quantizations)
        .where(and(eq(quantizations.tenantId, tenantId), eq(quantizations.status, 'succeeded')))
    ).map((q) => `${q.baseModelId}@${q.bits}`),
  );
  const data = bases.flatMap((b) =>
    [b.name, ...SERVED_WEIGHT_BITS.filter((bits) => stored.has(`${b.id}@${bits}`)).map((bits) => `${b.name}@int${bits}`)].map((id) => ({
      id,
      object: 'model' as const,
      created: b.createdAt,
      owned_by,
    })),
  );
  for (const a of ready)
    data.push({ id: `${baseName.get(a.baseModelId)}:${versionedName(a)}`, object: 'model', created: a.readyAt ?? a.createdAt, owned_by });
  const membersOf = new Map<string, typeof members>();
  for (const a of members) {
    const list = membersOf.get(a.mergeId);
    if (list) list.push(a);
    else membersOf.set(a.mergeId, [a]);
  }
  for (const m of done) {
    const id = `${baseName.get(m.baseModelId)}:${m.name}`;
    data.push({ id, object: 'model', created: m.finishedAt ?? m.createdAt, owned_by });
    // Only a reversible merge keeps its tasks callable.
    for (const a of isReversibleMerge(m.method) ? (membersOf.get(m.id) ?? []) : [])
      data.push({ id: `${id}/${a.name}`, object: 'model', created: m.finishedAt ?? m.createdAt, owned_by });
  }
  return data;
}
