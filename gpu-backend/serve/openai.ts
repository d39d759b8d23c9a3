/**
 * OpenAI-style requests on the engine: the request shapes are contracts/api/openai.ts (the edge checks the
 * same ones), turned into prompts and into one generation per choice, run in the base model's shared batch.
 * Stop strings end a choice and are cut from its text, as OpenAI does; the end-of-sequence token is never
 * part of the text.
 */
import type { z } from 'zod';
import { invalid } from '../../contracts/formats/errors.ts';
import type { ChatCompletionRequest, CompletionRequest } from '../../contracts/api/openai.ts';
import type { LoraAdapter } from '../../contracts/formats/adapter.ts';
import { checkRequest, type GenerationRequest, type GenerationResult } from '../engine/generate.ts';
import type { TokenLogprobs } from '../engine/sampling.ts';
import { maxContext } from '../../contracts/formats/hf-config.ts';
import { utf8Bytes } from '../../contracts/api/openai.ts';
import type { ServedTokenizer } from '../formats/served-tokenizer.ts';
import type { SharedTask } from '../engine/shared-basis-rows.ts';
import type { LoadedBase } from './models.ts';
import type { Flow } from './scheduler.ts';
import { jsonGrammarsFor, type JsonFormat, type JsonGrammar, type MatcherConstraint } from '../grammar/json-grammars.ts';

export type ChatRequest = z.infer<typeof ChatCompletionRequest>;
export type TextRequest = z.infer<typeof CompletionRequest>;

export interface Choice {
  prompt: number[];
  /** Text that precedes the completion in `text` (echo). */
  echo: string;
}

export async function chatPrompt(base: LoadedBase, req: ChatRequest): Promise<Choice> {
  const tok = base.tokenizer ?? invalid('no_tokenizer', 'this base model has no tokenizer.json; chat completions need one.', 'model');
  const messages = req.messages.map((m) => ({
    role: m.role === 'developer' ? 'system' : m.role,
    content: typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join(''),
  }));
  const text = await tok.applyChatTemplate(messages, true);
  checkFits(base, tok, text, 'messages', 'the rendered conversation');
  return { prompt: await tok.encode(text), echo: '' };
}

export async function textPrompts(base: LoadedBase, req: TextRequest): Promise<Choice[]> {
  const tok = base.tokenizer ?? invalid('no_tokenizer', 'this base model has no tokenizer.json; text completions need one.', 'model');
  const prompts = typeof req.prompt === 'string' ? [req.prompt] : req.prompt;
  prompts.forEach((p, i) => checkFits(base, tok, p, 'prompt', prompts.length > 1 ? `prompt ${i}` : 'the prompt'));
  return Promise.all(prompts.map(async (p) => ({ prompt: await tok.encode(p, true), echo: req.echo ? p : '' })));
}

/** A text too long in bytes to fit the context in any tokenization is refused before it is tokenized. */
function checkFits(base: LoadedBase, tok: ServedTokenizer, text: string, param: string, what: string): void {
  const context = maxContext(base.decoder.cfg);
  const limit = tok.maxBytesFor(context - 1);
  const bytes = utf8Bytes(text);
  if (bytes > limit)
    invalid(
      'context_too_long',
      `${what} is ${bytes} bytes; no token of this model covers more than ${tok.longestTokenBytes} bytes, so it cannot fit in the model's context of ${context} tokens. Shorten it.`,
      param,
    );
}

/** How many alternatives per token to report, or null when the request asks for no logprobs. */
export function topLogprobsOf(kind: 'chat' | 'text', req: ChatRequest | TextRequest): number | null {
  if (kind === 'text') return (req as TextRequest).logprobs ?? null;
  const chat = req as ChatRequest;
  return chat.logprobs ? (chat.top_logprobs ?? 0) : null;
}

/** The grammar a chat request's JSON response_format asks for (compiled, or a 400), or null for plain text. */
export async function responseGrammar(base: LoadedBase, req: ChatRequest): Promise<JsonGrammar | null> {
  const format = req.response_format;
  if (!format || format.type === 'text') return null;
  const tok = base.tokenizer ?? invalid('no_tokenizer', 'this base model has no tokenizer.json; JSON output needs one.', 'model');
  const grammars = await jsonGrammarsFor(tok, base.decoder.cfg.vocabSize, base.eos);
  return grammars.grammar(format as JsonFormat);
}

/** Unsupported sampling options are refused rather than ignored. */
export function checkSampling(kind: 'chat' | 'text', req: ChatRequest | TextRequest): void {
  if (kind === 'chat' && (req as ChatRequest).top_logprobs && !(req as ChatRequest).logprobs)
    invalid('invalid_field', '"top_logprobs" needs "logprobs": true; set both, or leave top_logprobs out.', 'top_logprobs');
  if (kind === 'text' && (req as TextRequest).echo && topLogprobsOf(kind, req) !== null)
    invalid(
      'unsupported_parameter',
      '"logprobs" with "echo" (log-probabilities of the prompt) is not supported; ask for one of the two.',
      'logprobs',
    );
  if (req.presence_penalty || req.frequency_penalty)
    invalid(
      'unsupported_parameter',
      'presence_penalty and frequency_penalty are not supported; leave them out or at 0.',
      req.presence_penalty ? 'presence_penalty' : 'frequency_penalty',
    );
}

/** Tracks one choice's text while it is generated, honouring stop strings. */
export class TextStream {
  private readonly stops: string[];
  private emitted = 0;
  /** Tokens whose logprobs were sent (streaming). */
  private sentTokens = 0;
  /** Where each token's text ends in the text before any stop-string cut. */
  private readonly ends: number[] = [];
  text = '';
  stopped = false;

  constructor(
    private readonly base: LoadedBase,
    stop: string | string[] | undefined,
  ) {
    this.stops = (stop === undefined ? [] : Array.isArray(stop) ? stop : [stop]).filter((s) => s.length > 0);
  }

  /** Updates the text from all tokens so far; true when a stop string has appeared. */
  update(tokens: number[]): boolean {
    const text = this.base.tokenizer!.decode(tokens);
    while (this.ends.length < tokens.length) this.ends.push(text.length);
    for (const s of this.stops) {
      const at = text.indexOf(s);
      if (at >= 0) {
        this.text = text.slice(0, at);
        this.stopped = true;
        return true;
      }
    }
    this.text = text;
    return false;
  }

  /** New text safe to send: held back while it could still turn into a stop string or is a partial character. */
  delta(final: boolean): string {
    let end = this.text.length;
    if (!final) {
      const hold = Math.max(0, ...this.stops.map((s) => s.length - 1));
      end = Math.max(this.emitted, end - hold);
      while (end > this.emitted && this.text.charCodeAt(end - 1) === 0xfffd) end--;
    }
    const out = this.text.slice(this.emitted, end);
    this.emitted = end;
    return out;
  }

  /** Where token k's text starts in `text`. */
  start(k: number): number {
    return k === 0 ? 0 : this.ends[k - 1];
  }

  /** Tokens that are part of the text: all but those a stop string cut off. */
  keptTokens(): number {
    let n = 0;
    while (n < this.ends.length && (this.start(n) < this.text.length || !this.stopped)) n++;
    return n;
  }

  /** The tokens whose logprobs go with the text sent so far ([from, to)), each sent once. */
  tokensSent(final: boolean): [number, number] {
    const from = this.sentTokens;
    let to = from;
    if (final) to = Math.max(from, this.keptTokens());
    else while (to < this.ends.length && this.ends[to] <= this.emitted) to++;
    this.sentTokens = to;
    return [from, to];
  }
}

/** The choices of one request, generated together in the base model's shared batch. */
export class Generation {
  readonly streams: TextStream[];
  /** Per choice, the logprobs of its visible tokens (when asked for). */
  readonly logprobs: TokenLogprobs[][];
  private readonly requests: GenerationRequest[];
  /** Called after each new token of choice i (streaming sends the text that became final). */
  onToken: (choice: number) => void = () => {};

  constructor(
    private readonly base: LoadedBase,
    /** What the rows run with: an adapter, or a task of a shared basis (ModelCache.targetRequest). */
    { adapter, shared }: { adapter: LoraAdapter | null; shared?: SharedTask },
    readonly choices: Choice[],
    req: ChatRequest | TextRequest,
    maxTokens: number,
    signal: AbortSignal,
    topLogprobs: number | null,
    /** The JSON grammar every choice is decoded under (response_format), or null. */
    private readonly grammar: JsonGrammar | null = null,
  ) {
    this.streams = choices.map(() => new TextStream(base, req.stop));
    this.logprobs = choices.map(() => []);
    this.requests = choices.map((choice, i) => ({
      prompt: choice.prompt,
      adapter,
      shared,
      maxTokens,
      temperature: req.temperature ?? 1,
      topP: req.top_p,
      seed: req.seed !== undefined ? req.seed + i : undefined,
      stop: base.eos,
      stopWhen: (tokens) => this.streams[i].update(this.visible(tokens)),
      signal,
      onToken: () => this.onToken(i),
      logprobs:
        topLogprobs === null
          ? undefined
          : { top: topLogprobs, onToken: (lp) => void (base.eos.includes(lp.token) || this.logprobs[i].push(lp)) },
    }));
    // Every choice is checked before any is queued, so a bad request is refused whole (and before a stream starts).
    this.requests.forEach((r, i) => checkRequest(base.decoder, r, choices.length > 1 ? `prompt ${i}` : 'request'));
  }

  /** End-of-sequence tokens end a choice but are never part of its text. */
  private visible(tokens: number[]): number[] {
    return tokens.filter((t) => !this.base.eos.includes(t));
  }

  /** The `logprobs` of choice i's tokens [from, to) in the kind's shape; null when the request asked for none. */
  logprobsField(kind: 'chat' | 'text', i: number, from: number, to: number) {
    if (this.requests[i].logprobs === undefined) return null;
    return kind === 'chat'
      ? chatLogprobs(this.base, this.logprobs[i], from, to)
      : textLogprobs(this.base, this.logprobs[i], this.streams[i], from, to, this.choices[i].echo.length);
  }

  /** Queues every choice at once (as `flow`, for fair admission), and resolves when all have finished. */
  async run(flow?: Flow): Promise<GenerationResult[]> {
    // Each choice gets its own matcher, made here so that it is disposed however the run ends.
    const constraints: MatcherConstraint[] = [];
    try {
      if (this.grammar)
        for (const r of this.requests) {
          const constraint = await this.grammar.constraint();
          constraints.push(constraint);
          r.constraint = constraint;
        }
      const results = await Promise.all(this.requests.map((r) => this.base.scheduler.submit(r, flow)));
      results.forEach((r, i) => this.streams[i].update(this.visible(r.tokens)));
      return results;
    } finally {
      for (const c of constraints) c.dispose();
    }
  }

  usage(results: GenerationResult[]) {
    const prompt = this.choices.reduce((s, ch) => s + ch.prompt.length, 0);
    const completion = results.reduce((s, r) => s + r.tokens.length, 0);
    return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  }
}

/** OpenAI's max_tokens default: 16 for text completions; chat runs to the end of the context (capped). */
export function maxTokensFor(base: LoadedBase, kind: 'chat' | 'text', req: ChatRequest | TextRequest, longestPrompt: number): number {
  const asked = kind === 'chat' ? ((req as ChatRequest).max_completion_tokens ?? req.max_tokens) : (req.max_tokens ?? 16);
  return asked ?? Math.max(1, Math.min(maxContext(base.decoder.cfg) - longestPrompt, 512));
}

/** Chat's logprobs for tokens [from, to) of a choice. */
export function chatLogprobs(base: LoadedBase, lps: TokenLogprobs[], from: number, to: number) {
  const tok = base.tokenizer!;
  const entry = (id: number, logprob: number) => {
    const { text, bytes } = tok.piece(id);
    return { token: text, logprob, bytes };
  };
  return {
    content: lps
      .slice(from, to)
      .map((lp) => ({ ...entry(lp.token, lp.logprob), top_logprobs: lp.top.map((t) => entry(t.token, t.logprob)) })),
  };
}

/** Text completions' (legacy) logprobs for tokens [from, to) of a choice; offsets count from the start of its text. */
export function textLogprobs(base: LoadedBase, lps: TokenLogprobs[], stream: TextStream, from: number, to: number, offset: number) {
  const tok = base.tokenizer!;
  const range = lps.slice(from, to);
  return {
    tokens: range.map((lp) => tok.piece(lp.token).text),
    token_logprobs: range.map((lp) => lp.logprob),
    top_logprobs: range.map((lp) => Object.fromEntries(lp.top.map((t) => [tok.piece(t.token).text, t.logprob]))),
    text_offset: range.map((_, k) => offset + stream.start(from + k)),
  };
}

export function finishReason(res: GenerationResult): 'stop' | 'length' {
  return res.finishReason === 'length' ? 'length' : 'stop';
}
