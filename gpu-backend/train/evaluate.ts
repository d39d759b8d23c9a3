/**
 * Held-out exact-match accuracy: greedy generation from each prompt, compared with the expected completion
 * (the whole completion, nothing more, then end of sequence). This is what "the adapter learned the task" means
 * for the default model's task suite, and what the learning test measures.
 */
import type { LoraAdapter } from '../../contracts/formats/adapter.ts';
import type { TextTokenizer } from '../formats/tokenizer.ts';
import type { Decoder } from '../engine/decoder.ts';
import { generate } from '../engine/generate.ts';

export interface EvalExample {
  prompt: string;
  completion: string;
}

export async function exactMatch(
  decoder: Decoder,
  tok: TextTokenizer,
  adapter: LoraAdapter | null,
  examples: EvalExample[],
  maxBatch = 32,
): Promise<number> {
  const eos = tok.eosId;
  const requests = examples.map((ex) => ({
    prompt: tok.encode(ex.prompt, true),
    adapter,
    maxTokens: tok.encode(ex.completion).length + 2,
    stop: eos === null ? [] : [eos],
  }));
  const results = await generate(decoder, requests, { maxBatch });
  let correct = 0;
  results.forEach((res, i) => {
    const ended = eos === null || res.tokens[res.tokens.length - 1] === eos;
    if (ended && tok.decode(res.tokens) === examples[i].completion) correct++;
  });
  return correct / examples.length;
}
