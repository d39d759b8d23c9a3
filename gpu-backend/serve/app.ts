/**
 * The backend's HTTP surface (Hono on @hono/node-server): OpenAI-style completions for what the edge routes
 * here, and the edge's cancel push for leased jobs and its wake when it queues one, all signed by the edge for this backend (serve/edge-auth.ts).
 * The edge adds `rankgate` (the tenant, and the routed target: which base model and adapter to load, by
 * storage prefix) to the client's request; everything else is the client's request as sent, checked again
 * with the same schemas the edge checked it with (contracts/api/).
 */
import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { errorBody } from '../../contracts/api/error-body.ts';
import { ChatCompletionRequest, CompletionRequest } from '../../contracts/api/openai.ts';
import { Routing, type RoutedTarget } from '../../contracts/api/routed-target.ts';
import { secretMatches } from '../../contracts/api/shared-secret.ts';
import { describeIssues } from '../../contracts/api/zod-issues.ts';
import { InvalidInputError, TransientFailure, invalid } from '../../contracts/formats/errors.ts';
import { EmbeddingRequest } from '../../contracts/api/embeddings.ts';
import { JOB_WAKE_PATH } from '../../contracts/api/jobs.ts';
import { edgeSigned, type EdgeAuth } from './edge-auth.ts';
import { embedAll, embeddingList, embeddingPrompts } from './embeddings.ts';
import { ModelCacheFullError, type LoadedBase, type ModelCache } from './models.ts';
import { QueueFullError, type Flow } from './scheduler.ts';
import {
  chatPrompt,
  checkSampling,
  finishReason,
  Generation,
  responseGrammar,
  maxTokensFor,
  textPrompts,
  topLogprobsOf,
  type ChatRequest,
  type Choice,
  type TextRequest,
} from './openai.ts';

type Kind = 'chat' | 'text';
type Status = 400 | 401 | 404 | 422 | 429 | 500 | 503;
type InFlight = { count: number };

export interface BackendAppOptions {
  /** Who may call: the edge, signing for this backend. */
  edgeAuth: EdgeAuth;
  models: ModelCache;
  /** Counts requests (choices) in flight, for heartbeats. */
  inFlight: InFlight;
  /** Stops a job this backend runs; false when it runs no such job. */
  cancelJob?: (kind: string, id: string) => boolean;
  /** The edge's wake: a job was queued, so claim now rather than at the next poll. */
  wakeJobs?: () => void;
  /** Prometheus text for GET /metrics, and who may read it: the bearer of `token`, or anyone when `open` (local stacks). */
  metrics?: { text(): Promise<string>; contentType: string; token: string | null; open: boolean };
  /** Whether what serving needs is reachable (GET /readyz): object storage and the edge. */
  readiness?: () => Promise<Readiness>;
}

export interface Readiness {
  storage: boolean;
  edge: boolean;
}

export function backendApp(opts: BackendAppOptions): Hono {
  const app = new Hono();
  // Liveness alone for anyone; what is loaded and running is the edge's to know (/internal/v1/status).
  app.get('/healthz', (c) => c.json({ ok: true }));
  // Booleans only: what is loaded stays the edge's to know.
  app.get('/readyz', async (c) => {
    const checks = (await opts.readiness?.()) ?? { storage: true, edge: true };
    const ready = checks.storage && checks.edge;
    return c.json({ ready, ...checks }, ready ? 200 : 503);
  });
  app.get('/metrics', (c) => metrics(c, opts));
  app.use('/v1/*', edgeSigned(opts.edgeAuth));
  app.use('/internal/*', edgeSigned(opts.edgeAuth));
  app.onError(onError);
  app.notFound((c) =>
    error(
      c,
      404,
      'not_found',
      `No route ${c.req.method} ${c.req.path} on this backend; the edge calls /v1/completions, /v1/chat/completions and /v1/embeddings.`,
    ),
  );
  app.post('/v1/chat/completions', (c) => complete(c, 'chat', opts));
  app.post('/v1/completions', (c) => complete(c, 'text', opts));
  app.post('/v1/embeddings', (c) => embeddings(c, opts));
  // The path keeps the wire's first name for jobs (tasks), which the edge's cancel push calls.
  app.post('/internal/v1/tasks/:kind/:id/cancel', (c) => cancel(c, opts));
  app.post(JOB_WAKE_PATH, (c) => {
    opts.wakeJobs?.();
    return c.json({ woken: opts.wakeJobs !== undefined });
  });
  app.get('/internal/v1/status', (c) =>
    c.json({ ok: true, in_flight: opts.inFlight.count, loaded_adapters: opts.models.loadedAdapters.length }),
  );
  // What is loaded, with bytes and last use: the operator's GET /admin/v1/residency gathers it from every backend.
  app.get('/internal/v1/residency', (c) => c.json(opts.models.residency()));
  return app;
}

function error(c: Context, status: Status, code: string, message: string, param: string | null = null) {
  return c.json(errorBody(status, code, message, param), status);
}

function onError(err: Error, c: Context) {
  if (err instanceof InvalidInputError) return error(c, 400, err.code, err.message, err.param ?? null);
  // Both are the edge's cue to try another backend (edge/inference/proxy.ts), and the client's to retry.
  if (err instanceof QueueFullError) {
    c.header('retry-after', String(err.retryAfterS));
    return error(c, 429, 'queue_full', err.message);
  }
  if (err instanceof TransientFailure) {
    c.header('retry-after', String(err.retryAfterS));
    return error(c, 503, err.code, err.message);
  }
  if (err instanceof ModelCacheFullError) {
    c.header('retry-after', '5');
    return error(c, 503, 'models_busy', err.message);
  }
  console.error('backend: request failed', err);
  return error(c, 500, 'backend_error', 'The backend failed while serving this request; retry.');
}

async function complete(c: Context, kind: Kind, opts: BackendAppOptions) {
  const body = await c.req.json().catch(() => null);
  const { target, tenant, req } = readRequest<ChatRequest | TextRequest>(body, kind === 'chat' ? ChatCompletionRequest : CompletionRequest);
  checkSampling(kind, req);
  const base = await opts.models.base(target.base_model, tenant, target.weight_bits, target.quantized_weights);
  const runWith = await opts.models.targetRequest(base, target);
  const controller = new AbortController();
  const generation = await newGeneration(base, runWith, kind, req, controller.signal);
  // Queued now, before any answer starts: a full queue is a 429 here, not an error inside a 200 stream.
  base.scheduler.checkRoom(generation.choices.length);
  // Fair across tenants; within one (a mix included), arrival order (fair-queue.ts).
  const running = counted(opts.inFlight, generation, { tenant });
  // Awaited by whole() or inside the stream; this keeps a failure before then from counting as unhandled.
  running.catch(() => {});
  return req.stream ? streamed(c, generation, running, controller, req, kind) : whole(c, generation, running, controller, req, kind);
}

/** The edge's routing field, which every forwarded body carries beside the client's request. */
const RoutedBody = z.object({ rankgate: Routing });

/** Where the edge routed the request, and the client's request, checked as the edge checked it. */
function readRequest<T>(body: unknown, schema: z.ZodType<T>): { target: RoutedTarget; tenant: string; req: T } {
  const routed = RoutedBody.safeParse(body);
  if (!routed.success) invalid('bad_routing', 'The body must be JSON with a "rankgate" routing field; send requests through the edge.');
  const { rankgate: _, ...client } = body as { rankgate: unknown };
  const parsed = schema.safeParse(client);
  if (!parsed.success) {
    const issue = describeIssues(parsed.error, 'the request body');
    invalid(issue.code, issue.message, issue.param ?? undefined);
  }
  return { target: routed.data.rankgate.target, tenant: routed.data.rankgate.tenant_id, req: parsed.data };
}

/** One generation for all of the request's choices: each prompt `n` times. */
async function newGeneration(
  base: LoadedBase,
  runWith: ConstructorParameters<typeof Generation>[1],
  kind: Kind,
  req: ChatRequest | TextRequest,
  signal: AbortSignal,
): Promise<Generation> {
  const prompts: Choice[] = kind === 'chat' ? [await chatPrompt(base, req as ChatRequest)] : await textPrompts(base, req as TextRequest);
  const n = req.n ?? 1;
  const choices = prompts.flatMap((p) => Array.from({ length: n }, () => p));
  const maxTokens = maxTokensFor(base, kind, req, Math.max(...choices.map((ch) => ch.prompt.length)));
  const grammar = kind === 'chat' ? await responseGrammar(base, req as ChatRequest) : null;
  return new Generation(base, runWith, choices, req, maxTokens, signal, topLogprobsOf(kind, req), grammar);
}

/** Each input one prefill-only row in the base model's batch (serve/embeddings.ts). */
async function embeddings(c: Context, opts: BackendAppOptions) {
  const { target, tenant, req } = readRequest(await c.req.json().catch(() => null), EmbeddingRequest);
  const base = await opts.models.base(target.base_model, tenant, target.weight_bits, target.quantized_weights);
  const runWith = await opts.models.targetRequest(base, target);
  const prompts = await embeddingPrompts(base, req);
  const controller = new AbortController();
  c.req.raw.signal.addEventListener('abort', () => controller.abort());
  opts.inFlight.count += prompts.length;
  try {
    const vectors = await embedAll(base, runWith, prompts, req, controller.signal, { tenant });
    return c.json(embeddingList(req, prompts, vectors));
  } finally {
    opts.inFlight.count -= prompts.length;
  }
}

/** Runs a generation, counted in flight while it runs. */
async function counted(inFlight: InFlight, generation: Generation, flow: Flow) {
  const rows = generation.choices.length;
  inFlight.count += rows;
  try {
    return await generation.run(flow);
  } finally {
    inFlight.count -= rows;
  }
}

type Results = Awaited<ReturnType<Generation['run']>>;

const ids = (kind: Kind) => ({
  id: `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${crypto.randomUUID()}`,
  created: Math.floor(Date.now() / 1000),
});

async function whole(
  c: Context,
  generation: Generation,
  running: Promise<Results>,
  controller: AbortController,
  req: ChatRequest | TextRequest,
  kind: Kind,
) {
  // A client that goes away leaves the queue at once, or frees its batch rows at the next step.
  c.req.raw.signal.addEventListener('abort', () => controller.abort());
  const results = await running;
  const { streams, choices: all } = generation;
  const choices = results.map((r, index) => {
    const logprobs = generation.logprobsField(kind, index, 0, streams[index].keptTokens());
    return kind === 'chat'
      ? { index, message: { role: 'assistant' as const, content: streams[index].text }, logprobs, finish_reason: finishReason(r) }
      : { index, text: all[index].echo + streams[index].text, logprobs, finish_reason: finishReason(r) };
  });
  return c.json({
    ...ids(kind),
    object: kind === 'chat' ? 'chat.completion' : 'text_completion',
    model: req.model,
    choices,
    usage: generation.usage(results),
  });
}

function streamed(
  c: Context,
  generation: Generation,
  running: Promise<Results>,
  controller: AbortController,
  req: ChatRequest | TextRequest,
  kind: Kind,
) {
  const head = { ...ids(kind), object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', model: req.model };
  const { streams, choices } = generation;
  const chunk = (index: number, text: string, finish: 'stop' | 'length' | null, first: boolean, logprobs: unknown) =>
    JSON.stringify({
      ...head,
      choices: [
        kind === 'chat'
          ? { index, delta: first ? { role: 'assistant', content: text } : text ? { content: text } : {}, logprobs, finish_reason: finish }
          : { index, text, logprobs, finish_reason: finish },
      ],
    });
  // Writes are chained so chunks leave in the order they were made.
  let written: Promise<void> = Promise.resolve();
  // No onError for streamSSE: after it, Hono writes the exception's own text as an `event: error`.
  return streamSSE(c, async (sse) => {
    sse.onAbort(() => controller.abort());
    const send = (data: string) => (written = written.then(() => sse.writeSSE({ data })));
    const sent = choices.map(() => false);
    const flush = (i: number, final: boolean, finish: 'stop' | 'length' | null) => {
      const text = streams[i].delta(final);
      if (!text && !finish && sent[i]) return;
      const logprobs = generation.logprobsField(kind, i, ...streams[i].tokensSent(final));
      void send(chunk(i, !sent[i] ? choices[i].echo + text : text, finish, !sent[i], logprobs));
      sent[i] = true;
    };
    generation.onToken = (i) => flush(i, false, null);
    try {
      const results = await running;
      results.forEach((r, i) => flush(i, true, finishReason(r)));
      if (req.stream_options?.include_usage) void send(JSON.stringify({ ...head, choices: [], usage: generation.usage(results) }));
      void send('[DONE]');
      await written;
    } catch (err) {
      // Headers are gone already: as OpenAI does, one `data: {"error": …}` ends the stream, with no [DONE].
      console.error('backend: stream failed', err);
      await written.catch(() => {});
      await sse.writeSSE({ data: JSON.stringify(streamFailure(err)) }).catch(() => {});
    }
  });
}

/** A user's own input error keeps its message (written for them); anything else is generic, never internal text. */
function streamFailure(err: unknown) {
  return err instanceof InvalidInputError
    ? errorBody(400, err.code, err.message, err.param ?? null)
    : errorBody(500, 'backend_error', 'The backend failed while streaming this completion; retry.');
}

/** Prometheus metrics, behind METRICS_TOKEN (counts of what runs here are not for anyone who can reach the port). */
async function metrics(c: Context, opts: BackendAppOptions) {
  const m = opts.metrics;
  if (!m || (m.token === null && !m.open))
    return error(c, 404, 'not_found', 'This backend serves metrics only with METRICS_TOKEN set (send it as a bearer token).');
  if (m.token !== null) {
    const token = /^Bearer (.+)$/.exec(c.req.header('authorization') ?? '')?.[1] ?? '';
    if (!(await secretMatches(token, m.token)))
      return error(c, 401, 'unauthorized', 'GET /metrics needs "Authorization: Bearer <METRICS_TOKEN>".');
  }
  return c.body(await m.text(), 200, { 'content-type': m.contentType });
}

/** The edge's cancel push for a job this backend runs. */
function cancel(c: Context, opts: BackendAppOptions) {
  const { kind, id } = c.req.param();
  if (!opts.cancelJob?.(kind, id))
    return error(c, 404, 'task_not_running', `This backend runs no ${kind} job "${id}"; nothing to cancel.`, 'id');
  return c.json({ id, kind, cancelled: true });
}
