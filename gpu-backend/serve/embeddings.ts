/**
 * OpenAI-style embeddings on the engine: each input is one prefill-only row in the base model's shared batch
 * (generate.ts ends it at its prefill with the pooled hidden state), so inputs of different adapters, and
 * generating rows, share engine runs. The request shape is contracts/api/embeddings.ts.
 */
import type { z } from 'zod';
import type { EmbeddingList, EmbeddingRequest } from '../../contracts/api/embeddings.ts';
import { invalid } from '../../contracts/formats/errors.ts';
import { checkRequest, type GenerationRequest } from '../engine/generate.ts';
import type { SharedTask } from '../engine/shared-basis-rows.ts';
import type { LoraAdapter } from '../../contracts/formats/adapter.ts';
import type { LoadedBase } from './models.ts';
import type { Flow } from './scheduler.ts';

export type EmbeddingReq = z.infer<typeof EmbeddingRequest>;

/** The inputs as token ids: texts tokenized as for a text completion (with BOS), token ids used as given. */
export async function embeddingPrompts(base: LoadedBase, req: EmbeddingReq): Promise<number[][]> {
  const hidden = base.decoder.cfg.hiddenSize;
  if (req.dimensions !== undefined && req.dimensions !== hidden)
    invalid(
      'unsupported_dimensions',
      `This model's embeddings have ${hidden} dimensions and cannot be shortened (it was not trained for truncated embeddings); leave "dimensions" out, or give ${hidden}.`,
      'dimensions',
    );
  const { input } = req;
  if (typeof input === 'string' || typeof input[0] === 'string') {
    const texts = typeof input === 'string' ? [input] : (input as string[]);
    const tok =
      base.tokenizer ??
      invalid('no_tokenizer', 'this base model has no tokenizer.json; send "input" as token ids instead of text.', 'model');
    return Promise.all(texts.map((t) => tok.encode(t, true)));
  }
  return typeof input[0] === 'number' ? [input as number[]] : (input as number[][]);
}

/** Embeds every prompt through the base model's scheduler; each is checked before any is queued. */
export async function embedAll(
  base: LoadedBase,
  runWith: { adapter: LoraAdapter | null; shared?: SharedTask },
  prompts: number[][],
  req: EmbeddingReq,
  signal: AbortSignal,
  flow: Flow,
): Promise<Float32Array[]> {
  const rows: GenerationRequest[] = prompts.map((prompt) => ({
    prompt,
    ...runWith,
    maxTokens: 1,
    embedding: req.pooling ?? 'mean',
    signal,
  }));
  rows.forEach((r, i) => checkRequest(base.decoder, r, prompts.length > 1 ? `input ${i}` : 'input'));
  base.scheduler.checkRoom(rows.length);
  const results = await Promise.all(rows.map((r) => base.scheduler.submit(r, flow)));
  // Only a cancelled row (the client went away) has none; nobody reads the answer then.
  return results.map((r) => r.embedding ?? new Float32Array(base.decoder.cfg.hiddenSize));
}

export function embeddingList(req: EmbeddingReq, prompts: number[][], vectors: Float32Array[]): z.input<typeof EmbeddingList> {
  const tokens = prompts.reduce((s, p) => s + p.length, 0);
  return {
    object: 'list',
    data: vectors.map((v, index) => ({
      object: 'embedding',
      index,
      embedding: req.encoding_format === 'base64' ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') : Array.from(v),
    })),
    model: req.model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}
