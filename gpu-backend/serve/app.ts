/**
 * The backend's HTTP surface (Hono on @hono/node-server): OpenAI-style completions for what the edge routes
 * here, with the edge's shared secret as bearer token. The edge adds `rankgate.target` (which base model and
 * adapter to load, by storage prefix) to the client's request; everything else is the client's request as sent.
 */
import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { ChatCompletionRequest, CompletionRequest } from '../../edge/schemas/inference.ts';
import { InvalidInputError } from '../formats/errors.ts';
import { maxContext } from '../formats/hf-config.ts';
import type { GenerationResult } from '../engine/generate.ts';
import type { LoraAdapter } from '../formats/adapter.ts';
import type { LoadedBase, ModelCache } from './models.ts';
import { chatPrompt, checkSampling, finishReason, generationRequest, textPrompts, TextStream, type ChatRequest, type Choice, type TextRequest } from './openai.ts';

const Target = z.object({
  kind: z.enum(['base', 'adapter', 'merge', 'merge_task']),
  base_model: z.object({ id: z.string(), name: z.string(), storage_prefix: z.string() }),
  adapter: z.object({ id: z.string(), name: z.string(), storage_prefix: z.string() }).nullable(),
});
type Adapter = LoraAdapter | null;

const Routed = z.object({ rankgate: z.object({ tenant_id: z.string(), target: Target }) });

export interface BackendAppOptions {
  secret: string;
  models: ModelCache;
  /** Counts requests in flight, for heartbeats. */
  inFlight: { count: number };
}

function error(c: Context, status: 400 | 401 | 404 | 422 | 500, code: string, message: string, param: string | null = null) {
  return c.json({ error: { message, type: status >= 500 ? 'server_error' : 'invalid_request_error', code, param } }, status);
}

export function backendApp(opts: BackendAppOptions): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ ok: true, in_flight: opts.inFlight.count, loaded_adapters: opts.models.loadedAdapters.length }));
  app.use('/v1/*', async (c, next) => {
    if (c.req.header('authorization') !== `Bearer ${opts.secret}`) return error(c, 401, 'unauthorized', 'This route is for the rankgate edge; send its shared secret as a bearer token.');
    await next();
  });
  app.onError((err, c) => {
    if (err instanceof InvalidInputError) return error(c, 400, err.code, err.message, err.param ?? null);
    console.error('backend: request failed', err);
    return error(c, 500, 'backend_error', 'The backend failed while serving this request; retry.');
  });

  const serve = async (c: Context, kind: 'chat' | 'text') => {
    const body = await c.req.json().catch(() => null);
    const routed = Routed.safeParse(body);
    if (!routed.success) return error(c, 400, 'bad_routing', 'Missing or malformed "rankgate" routing field; requests come through the edge.');
    const { rankgate: _, ...client } = body as { rankgate: unknown };
    const parsed = (kind === 'chat' ? ChatCompletionRequest : CompletionRequest).safeParse(client);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return error(c, 400, 'invalid_request', `${issue.path.join('.') || 'body'}: ${issue.message}`, issue.path.join('.') || null);
    }
    const target = routed.data.rankgate.target;
    if (target.kind === 'merge' || target.kind === 'merge_task') {
      return error(c, 422, 'merge_serving_unavailable', 'This backend does not serve merges yet; call one of the member adapters directly.', 'model');
    }
    const req = parsed.data as ChatRequest | TextRequest;
    checkSampling(req);
    const base = await opts.models.base(target.base_model);
    const adapter = target.adapter ? await opts.models.adapter(base, target.adapter) : null;
    const choices: Choice[] = kind === 'chat' ? [chatPrompt(base, req as ChatRequest)] : textPrompts(base, req as TextRequest);
    const n = req.n ?? 1;
    const all = choices.flatMap((ch) => Array.from({ length: n }, () => ch));
    const room = maxContext(base.decoder.cfg) - Math.max(...all.map((ch) => ch.prompt.length));
    const asked = kind === 'chat' ? ((req as ChatRequest).max_completion_tokens ?? req.max_tokens) : req.max_tokens ?? 16;
    const maxTokens = asked ?? Math.max(1, Math.min(room, 512));
    return req.stream ? streamed(c, base, adapter, all, req, maxTokens, kind) : whole(c, base, adapter, all, req, maxTokens, kind);
  };

  /** Generates every choice in the shared batch; `streams[i]` follows choice i's text as tokens come. */
  async function run(base: LoadedBase, adapter: Adapter, all: Choice[], req: ChatRequest | TextRequest, maxTokens: number, streams: TextStream[], signal: AbortSignal, onToken?: (i: number) => void) {
    opts.inFlight.count += all.length;
    try {
      const results = await Promise.all(all.map((ch, i) => base.scheduler.submit(generationRequest(base, adapter, ch, req, i, maxTokens, streams[i], signal, () => onToken?.(i)))));
      results.forEach((r, i) => streams[i].update(r.tokens.filter((t) => !base.eos.includes(t))));
      return results;
    } finally {
      opts.inFlight.count -= all.length;
    }
  }

  const usage = (all: Choice[], results: GenerationResult[]) => {
    const prompt = all.reduce((s, ch) => s + ch.prompt.length, 0);
    const completion = results.reduce((s, r) => s + r.tokens.length, 0);
    return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  };

  async function whole(c: Context, base: LoadedBase, adapter: Adapter, all: Choice[], req: ChatRequest | TextRequest, maxTokens: number, kind: 'chat' | 'text') {
    const streams = all.map(() => new TextStream(base, req.stop));
    const results = await run(base, adapter, all, req, maxTokens, streams, c.req.raw.signal);
    const id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${crypto.randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const choices = results.map((r, index) =>
      kind === 'chat'
        ? { index, message: { role: 'assistant' as const, content: streams[index].text }, finish_reason: finishReason(r) }
        : { index, text: all[index].echo + streams[index].text, finish_reason: finishReason(r) },
    );
    return c.json({ id, object: kind === 'chat' ? 'chat.completion' : 'text_completion', created, model: req.model, choices, usage: usage(all, results) });
  }

  function streamed(c: Context, base: LoadedBase, adapter: Adapter, all: Choice[], req: ChatRequest | TextRequest, maxTokens: number, kind: 'chat' | 'text') {
    const id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${crypto.randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const object = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
    const chunk = (index: number, text: string, finish: 'stop' | 'length' | null, first = false) =>
      JSON.stringify({
        id, object, created, model: req.model,
        choices: [kind === 'chat' ? { index, delta: first ? { role: 'assistant', content: text } : text ? { content: text } : {}, finish_reason: finish } : { index, text, finish_reason: finish }],
      });
    return streamSSE(c, async (sse) => {
      const controller = new AbortController();
      sse.onAbort(() => controller.abort());
      const streams = all.map(() => new TextStream(base, req.stop));
      const sent = all.map(() => false);
      const pending: Promise<unknown>[] = [];
      const flush = (i: number, final: boolean, finish: 'stop' | 'length' | null) => {
        const text = streams[i].delta(final);
        if (!text && !finish && sent[i]) return;
        pending.push(sse.writeSSE({ data: chunk(i, all[i].echo && !sent[i] ? all[i].echo + text : text, finish, !sent[i]) }));
        sent[i] = true;
      };
      const results = await run(base, adapter, all, req, maxTokens, streams, controller.signal, (i) => flush(i, false, null));
      results.forEach((r, i) => flush(i, true, finishReason(r)));
      if (req.stream_options?.include_usage) pending.push(sse.writeSSE({ data: JSON.stringify({ id, object, created, model: req.model, choices: [], usage: usage(all, results) }) }));
      pending.push(sse.writeSSE({ data: '[DONE]' }));
      await Promise.all(pending);
    });
  }

  app.post('/v1/chat/completions', (c) => serve(c, 'chat'));
  app.post('/v1/completions', (c) => serve(c, 'text'));
  return app;
}
