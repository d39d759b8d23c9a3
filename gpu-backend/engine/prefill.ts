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
 * At most this many bytes of attention scores per prefill step (rows × heads × positions × (cache + positions)
 * floats), which is what sets the step's share of the arena: the scores and the tensors made from them (mask
 * added, softmax, split between cache and new positions) are the step's largest. At the Llama-3.2-1B shape a
 * 1,024-token prompt then runs 128 positions a step (256 before: 44 MB of scores a step, and about 160 MB more
 * arena, for 1/1.05 of the prefill's CPU; README, "Prefill"), while a single prompt of up to 256 tokens still runs
 * as one.
 */
export const PREFILL_SCORES_BYTES = 24 * 2 ** 20;

/** Chunks are a multiple of this many positions (the KV cache's growth step). */
const CHUNK_STEP = 64;

/**
 * Positions per step for `rows` prompts of `seq` positions over a cache of `capacity`: the most, up to
 * PREFILL_CHUNK, whose scores stay within PREFILL_SCORES_BYTES; below `seq`, a multiple of CHUNK_STEP, at least one.
 */
export function prefillChunk(rows: number, heads: number, seq: number, capacity: number): number {
  // A prompt in one step reads no cache (one masked position); in several, each step reads the whole cache.
  const scoresBytes = (t: number) => 4 * rows * heads * t * ((t >= seq ? 1 : capacity) + t);
  const most = Math.min(seq, PREFILL_CHUNK);
  if (scoresBytes(most) <= PREFILL_SCORES_BYTES) return most;
  let chunk = Math.floor((most - 1) / CHUNK_STEP) * CHUNK_STEP;
  while (chunk > CHUNK_STEP && scoresBytes(chunk) > PREFILL_SCORES_BYTES) chunk -= CHUNK_STEP;
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
