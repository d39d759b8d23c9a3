/**
 * OpenAI-style completions on the engine: the request shapes are the edge's own zod schemas (one contract),
 * turned into generation requests; answers and server-sent event chunks in OpenAI's shapes. Stop strings end a
 * generation and are cut from the text, as OpenAI does; the end-of-sequence token is never part of the text.
 */
import type { z } from 'zod';
import { invalid } from '../formats/errors.ts';
import type { ChatCompletionRequest, CompletionRequest } from '../../edge/schemas/inference.ts';
import type { LoraAdapter } from '../formats/adapter.ts';
import type { GenerationRequest, GenerationResult } from '../engine/generate.ts';
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
  if (req.presence_penalty || req.frequency_penalty) invalid('unsupported_parameter', 'presence_penalty and frequency_penalty are not supported; leave them out or at 0.', req.presence_penalty ? 'presence_penalty' : 'frequency_penalty');
}

export interface Decoded {
  text: string;
  finishReason: 'stop' | 'length';
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

export function generationRequest(base: LoadedBase, adapter: LoraAdapter | null, choice: Choice, req: ChatRequest | TextRequest, index: number, maxTokens: number, stream: TextStream, signal: AbortSignal, onToken?: () => void): GenerationRequest {
  return {
    prompt: choice.prompt,
    adapter,
    maxTokens,
    temperature: req.temperature ?? 1,
    topP: req.top_p,
    seed: req.seed !== undefined ? req.seed + index : undefined,
    stop: base.eos,
    stopWhen: (tokens) => stream.update(tokens.filter((t) => !base.eos.includes(t))),
    signal,
    onToken,
  };
}

export function finishReason(res: GenerationResult): 'stop' | 'length' {
  return res.finishReason === 'length' ? 'length' : 'stop';
}
