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
import { maxContext } from '../../contracts/formats/hf-config.ts';
import type { LoadedBase } from './models.ts';

export type ChatRequest = z.infer<typeof ChatCompletionRequest>;
export type TextRequest = z.infer<typeof CompletionRequest>;

export interface Choice {
  prompt: number[];
  /** Text that precedes the completion in `text` (echo). */
  echo: string;
}

export function chatPrompt(base: LoadedBase, req: ChatRequest): Choice {
  const tok = base.tokenizer ?? invalid('no_tokenizer', 'this base model has no tokenizer.json; chat completions need one.', 'model');
  const messages = req.messages.map((m) => ({
    role: m.role === 'developer' ? 'system' : m.role,
    content: typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join(''),
  }));
  return { prompt: tok.encode(tok.applyChatTemplate(messages, true)), echo: '' };
}

export function textPrompts(base: LoadedBase, req: TextRequest): Choice[] {
  const tok = base.tokenizer ?? invalid('no_tokenizer', 'this base model has no tokenizer.json; text completions need one.', 'model');
  const prompts = typeof req.prompt === 'string' ? [req.prompt] : req.prompt;
  return prompts.map((p) => ({ prompt: tok.encode(p, true), echo: req.echo ? p : '' }));
}

/** Unsupported sampling options are refused rather than ignored. */
export function checkSampling(req: ChatRequest | TextRequest): void {
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
}

/** The choices of one request, generated together in the base model's shared batch. */
export class Generation {
  readonly streams: TextStream[];
  private readonly requests: GenerationRequest[];
  /** Called after each new token of choice i (streaming sends the text that became final). */
  onToken: (choice: number) => void = () => {};

  constructor(
    private readonly base: LoadedBase,
    adapter: LoraAdapter | null,
    readonly choices: Choice[],
    req: ChatRequest | TextRequest,
    maxTokens: number,
    signal: AbortSignal,
  ) {
    this.streams = choices.map(() => new TextStream(base, req.stop));
    this.requests = choices.map((choice, i) => ({
      prompt: choice.prompt,
      adapter,
      maxTokens,
      temperature: req.temperature ?? 1,
      topP: req.top_p,
      seed: req.seed !== undefined ? req.seed + i : undefined,
      stop: base.eos,
      stopWhen: (tokens) => this.streams[i].update(this.visible(tokens)),
      signal,
      onToken: () => this.onToken(i),
    }));
    // Every choice is checked before any is queued, so a bad request is refused whole (and before a stream starts).
    this.requests.forEach((r, i) => checkRequest(base.decoder, r, choices.length > 1 ? `prompt ${i}` : 'request'));
  }

  /** End-of-sequence tokens end a choice but are never part of its text. */
  private visible(tokens: number[]): number[] {
    return tokens.filter((t) => !this.base.eos.includes(t));
  }

  async run(): Promise<GenerationResult[]> {
    const results = await Promise.all(this.requests.map((r) => this.base.scheduler.submit(r)));
    results.forEach((r, i) => this.streams[i].update(this.visible(r.tokens)));
    return results;
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

export function finishReason(res: GenerationResult): 'stop' | 'length' {
  return res.finishReason === 'length' ? 'length' : 'stop';
}
