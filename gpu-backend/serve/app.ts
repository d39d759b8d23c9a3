/**
 * The backend's HTTP surface (Hono on @hono/node-server): OpenAI-style completions for what the edge routes
 * here, and the edge's cancel push for training tasks, all behind the edge's shared secret as bearer token.
 * The edge adds `rankgate.target` (which base model and adapter to load, by storage prefix) to the client's
 * request; everything else is the client's request as sent, checked again with the edge's own schemas.
 */
import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { ChatCompletionRequest, CompletionRequest } from '../../edge/schemas/inference.ts';
import { secretMatches } from '../../contracts/api/shared-secret.ts';
import { InvalidInputError } from '../../contracts/formats/errors.ts';
import type { ModelCache } from './models.ts';
import { chatPrompt, checkSampling, finishReason, Generation, maxTokensFor, textPrompts, type ChatRequest, type Choice, type TextRequest } from './openai.ts';

const Ref = z.object({ id: z.string(), name: z.string(), storage_prefix: z.string() });
const Target = z.object({ kind: z.enum(['base', 'adapter', 'merge', 'merge_task']), base_model: Ref, adapter: Ref.nullable() });
const Routed = z.object({ rankgate: z.object({ tenant_id: z.string(), target: Target }) });

type Kind = 'chat' | 'text';
type Status = 400 | 401 | 404 | 422 | 500;

export interface BackendAppOptions {
  secret: string;
  models: ModelCache;
  /** Counts requests (choices) in flight, for heartbeats. */
  inFlight: { count: number };
  /** Stops a task this backend runs; false when it runs no such task. */
  cancelTask?: (kind: string, id: string) => boolean;
}

function errorBody(status: Status, code: string, message: string, param: string | null = null) {
  return { error: { message, type: status >= 500 ? 'server_error' : 'invalid_request_error', code, param } };
}

function error(c: Context, status: Status, code: string, message: string, param: string | null = null) {
  return c.json(errorBody(status, code, message, param), status);
}

export function backendApp(opts: BackendAppOptions): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ ok: true, in_flight: opts.inFlight.count, loaded_adapters: opts.models.loadedAdapters.length }));
  const edgeOnly = async (c: Context, next: () => Promise<void>) => {
    const token = /^Bearer (.*)$/.exec(c.req.header('authorization') ?? '')?.[1];
    if (token === undefined || !(await secretMatches(token, opts.secret))) return error(c, 401, 'unauthorized', 'This route is for the rankgate edge; send its shared secret (BACKEND_SECRET) as a bearer token.');
    await next();
  };
  app.use('/v1/*', edgeOnly);
  app.use('/internal/*', edgeOnly);
  app.onError((err, c) => {
    if (err instanceof InvalidInputError) return error(c, 400, err.code, err.message, err.param ?? null);
    console.error('backend: request failed', err);
    return error(c, 500, 'backend_error', 'The backend failed while serving this request; retry.');
  });
  app.notFound((c) => error(c, 404, 'not_found', `No route ${c.req.method} ${c.req.path} on this backend; the edge calls /v1/completions and /v1/chat/completions.`));

  const complete = async (c: Context, kind: Kind) => {
    const body = await c.req.json().catch(() => null);
    const routed = Routed.safeParse(body);
    if (!routed.success) return error(c, 400, 'bad_routing', 'The body must be JSON with a "rankgate" routing field; send requests through the edge.');
    const { rankgate: _, ...client } = body as { rankgate: unknown };
    const parsed = (kind === 'chat' ? ChatCompletionRequest : CompletionRequest).safeParse(client);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const param = issue.path.join('.') || null;
      return error(c, 400, 'invalid_request', `${param ?? 'body'}: ${issue.message}`, param);
    }
    const target = routed.data.rankgate.target;
    if (target.kind === 'merge' || target.kind === 'merge_task') {
      return error(c, 422, 'merge_serving_unavailable', 'This backend does not serve merges yet; call one of the member adapters directly.', 'model');
    }
    const req = parsed.data as ChatRequest | TextRequest;
    checkSampling(req);
    const base = await opts.models.base(target.base_model);
    const adapter = target.adapter ? await opts.models.adapter(base, target.adapter) : null;
    const prompts: Choice[] = kind === 'chat' ? [chatPrompt(base, req as ChatRequest)] : textPrompts(base, req as TextRequest);
    const n = req.n ?? 1;
    const choices = prompts.flatMap((p) => Array.from({ length: n }, () => p));
    const maxTokens = maxTokensFor(base, kind, req, Math.max(...choices.map((ch) => ch.prompt.length)));
    const controller = new AbortController();
    const generation = new Generation(base, adapter, choices, req, maxTokens, controller.signal);
    return req.stream ? streamed(c, generation, controller, req, kind) : whole(c, generation, controller, req, kind);
  };

  /** Runs a generation, counted in flight while it runs. */
  async function run(generation: Generation) {
    const rows = generation.choices.length;
    opts.inFlight.count += rows;
    try {
      return await generation.run();
    } finally {
      opts.inFlight.count -= rows;
    }
  }

  const ids = (kind: Kind) => ({ id: `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${crypto.randomUUID()}`, created: Math.floor(Date.now() / 1000) });

  async function whole(c: Context, generation: Generation, controller: AbortController, req: ChatRequest | TextRequest, kind: Kind) {
    // A client that goes away frees its batch rows at the next step.
    c.req.raw.signal.addEventListener('abort', () => controller.abort());
    const results = await run(generation);
    const { streams, choices: all } = generation;
    const choices = results.map((r, index) =>
      kind === 'chat'
        ? { index, message: { role: 'assistant' as const, content: streams[index].text }, finish_reason: finishReason(r) }
        : { index, text: all[index].echo + streams[index].text, finish_reason: finishReason(r) },
    );
    return c.json({ ...ids(kind), object: kind === 'chat' ? 'chat.completion' : 'text_completion', model: req.model, choices, usage: generation.usage(results) });
  }

  function streamed(c: Context, generation: Generation, controller: AbortController, req: ChatRequest | TextRequest, kind: Kind) {
    const head = { ...ids(kind), object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', model: req.model };
    const { streams, choices } = generation;
    const chunk = (index: number, text: string, finish: 'stop' | 'length' | null, first: boolean) =>
      JSON.stringify({
        ...head,
        choices: [kind === 'chat' ? { index, delta: first ? { role: 'assistant', content: text } : text ? { content: text } : {}, finish_reason: finish } : { index, text, finish_reason: finish }],
      });
    // Writes are chained so chunks leave in the order they were made.
    let written: Promise<void> = Promise.resolve();
    return streamSSE(
      c,
      async (sse) => {
        sse.onAbort(() => controller.abort());
        const send = (data: string) => (written = written.then(() => sse.writeSSE({ data })));
        const sent = choices.map(() => false);
        const flush = (i: number, final: boolean, finish: 'stop' | 'length' | null) => {
          const text = streams[i].delta(final);
          if (!text && !finish && sent[i]) return;
          void send(chunk(i, !sent[i] ? choices[i].echo + text : text, finish, !sent[i]));
          sent[i] = true;
        };
        generation.onToken = (i) => flush(i, false, null);
        const results = await run(generation);
        results.forEach((r, i) => flush(i, true, finishReason(r)));
        if (req.stream_options?.include_usage) void send(JSON.stringify({ ...head, choices: [], usage: generation.usage(results) }));
        void send('[DONE]');
        await written;
      },
      async (err, sse) => {
        // Headers are gone already: the failure travels as an error event, and no [DONE] follows.
        console.error('backend: stream failed', err);
        const [status, code, message] = err instanceof InvalidInputError ? [400, err.code, err.message] as const : [500, 'backend_error', 'The backend failed while streaming this completion; retry.'] as const;
        await sse.writeSSE({ data: JSON.stringify(errorBody(status, code, message)) });
      },
    );
  }

  app.post('/v1/chat/completions', (c) => complete(c, 'chat'));
  app.post('/v1/completions', (c) => complete(c, 'text'));
  app.post('/internal/v1/tasks/:kind/:id/cancel', (c) => {
    const { kind, id } = c.req.param();
    if (!opts.cancelTask?.(kind, id)) return error(c, 404, 'task_not_running', `This backend runs no ${kind} task "${id}"; nothing to cancel.`, 'id');
    return c.json({ id, kind, cancelled: true });
  });
  return app;
}
