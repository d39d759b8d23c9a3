/**
 * A prefill in chunks of positions, written straight into the rows of a KV cache. The first chunk runs without a
 * cache; each later one attends to the cache the earlier chunks filled, as a decode step does. What a step holds in
 * onnxruntime's arena grows with the positions it takes (the attention scores are heads × positions × cache), and
 * the arena keeps its largest step's memory for the session's life: a 1,024-token prompt at the Llama-3.2-1B shape
 * in one step added about 850 MB to the serving process for good (engine/README.md, "Prefill").
 */
import type { Decoder } from './decoder.ts';
import type { KvCache } from './kv-cache.ts';
import type { LoraFeeds } from './lora-rows.ts';

/** At most this many positions per prefill step. */
export const PREFILL_CHUNK = 256;

/**
 * At most this many bytes of attention scores (rows × heads × positions × (1 + positions) floats: one step reads
 * no cache but one masked position) in a prefill that runs as one step, which is what sets the step's share of the
 * arena: the scores and the tensors made from them (mask added, softmax, split between cache and new positions) are
 * the step's largest. A single prompt of up to 256 tokens at the Llama-3.2-1B shape, and bench engine's 8 × 256 at
 * 135M (19 MB), run as one step.
 */
export const PREFILL_SCORES_BYTES = 24 * 2 ** 20;

/**
 * The same bound for each step of a prompt prefilled in several (rows × heads × positions × (cache + positions)
 * floats): its steps read the whole cache, and the process holds the prompt's cache on top of the largest step. At
 * the Llama-3.2-1B shape a 1,024-token prompt runs 64 positions a step: at 128 (20 MB of scores, within the one-step
 * budget) the serving backend's RSS peak read 35–55 MB higher, over `bench scale`'s int4_serving_rss_mb budget,
 * for 4% less prefill CPU (README, "Prefill").
 */
export const PREFILL_CHUNKED_SCORES_BYTES = 12 * 2 ** 20;

/** Chunks are a multiple of this many positions (the KV cache's growth step). */
const CHUNK_STEP = 64;

/**
 * Positions per step for `rows` prompts of `seq` positions over a cache of `capacity`: all of them when their scores
 * stay within PREFILL_SCORES_BYTES (and PREFILL_CHUNK); else the most, a multiple of CHUNK_STEP, whose scores over
 * the cache stay within PREFILL_CHUNKED_SCORES_BYTES, at least one CHUNK_STEP.
 */
export function prefillChunk(rows: number, heads: number, seq: number, capacity: number): number {
  // A prompt in one step reads no cache (one masked position); in several, each step reads the whole cache.
  const fits = (t: number) =>
    t >= seq
      ? 4 * rows * heads * t * (1 + t) <= PREFILL_SCORES_BYTES
      : 4 * rows * heads * t * (capacity + t) <= PREFILL_CHUNKED_SCORES_BYTES;
  const most = Math.min(seq, PREFILL_CHUNK);
  if (fits(most)) return most;
  let chunk = Math.floor((most - 1) / CHUNK_STEP) * CHUNK_STEP;
  while (chunk > CHUNK_STEP && !fits(chunk)) chunk -= CHUNK_STEP;
  return Math.max(chunk, Math.min(seq, CHUNK_STEP));
}

export interface PrefillInput {
  /** Token ids [rows, seq], right-padded. */
  tokens: ArrayLike<number>;
  rows: number;
  seq: number;
  /** Real tokens per row. */
  lengths: number[];
  lora: LoraFeeds;
  /** The cache rows [firstRow, firstRow + rows) to fill: empty, in a cache that fits `seq` positions. */
  cache: KvCache;
  firstRow: number;
  /** Rows [0, keptRows) keep their keys and values in the cache afterwards; the others (embeddings) are cleared. */
  keptRows: number;
  /** Whether to return every position's last hidden state (embeddings pool it). */
  hidden: boolean;
  /** Positions per step (default: `prefillChunk`'s). */
  chunk?: number;
}

export interface PrefillOutput {
  /** [rows, vocab]: each row's logits at its last real token. */
  logits: Float32Array;
  /** [rows, seq, hidden_size], when asked for. */
  hidden: Float32Array | null;
}

export async function prefill(decoder: Decoder, inp: PrefillInput): Promise<PrefillOutput> {
  const { rows, seq, lengths, cache, firstRow } = inp;
  const { vocabSize: vocab, hiddenSize: hs, numLayers } = decoder.cfg;
  const chunk = Math.min(seq, inp.chunk ?? prefillChunk(rows, decoder.cfg.numHeads, seq, cache.capacity));
  if (firstRow + rows > cache.rows) throw new Error(`prefill of ${rows} rows at row ${firstRow} overflows a cache of ${cache.rows} rows`);
  for (let r = 0; r < rows; r++) cache.clear(firstRow + r);
  const logits = new Float32Array(rows * vocab);
  const hidden = inp.hidden ? new Float32Array(rows * seq * hs) : null;
  for (let from = 0; from < seq; from += chunk) {
    const width = Math.min(chunk, seq - from);
    const tokens = new Array<number>(rows * width);
    for (let r = 0; r < rows; r++) for (let t = 0; t < width; t++) tokens[r * width + t] = inp.tokens[r * seq + from + t];
    const counts = lengths.map((len) => Math.max(0, Math.min(width, len - from)));
    // A row whose last token is in another chunk reads its logits at position 0 here, and they are dropped.
    const last = lengths.map((len) => len - 1 - from);
    const out = await decoder.step({
      tokens,
      rows,
      seq: width,
      newLengths: counts,
      cache: from === 0 ? null : cache,
      cacheRow: firstRow,
      lora: inp.lora,
      logitsAt: last.map((p) => [p >= 0 && p < width ? p : 0]),
    });
    for (let r = 0; r < rows; r++) {
      if (last[r] >= 0 && last[r] < width) logits.set(out.logits.subarray(r * vocab, (r + 1) * vocab), r * vocab);
      if (hidden)
        for (let t = 0; t < width; t++)
          hidden.set(out.hidden.subarray((r * width + t) * hs, (r * width + t + 1) * hs), (r * seq + from + t) * hs);
      if (counts[r] === 0 || (r >= inp.keptRows && from + width >= seq)) continue;
      for (let l = 0; l < numLayers; l++) cache.write(l, firstRow + r, out.present[l], r, width, 0, counts[r]);
      cache.advance(firstRow + r, counts[r]);
    }
  }
  for (let r = inp.keptRows; r < rows; r++) cache.clear(firstRow + r);
  return { logits, hidden };
}
