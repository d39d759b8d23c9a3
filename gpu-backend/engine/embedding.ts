/**
 * Sentence embeddings from a decoder's last hidden state after the final norm (the serving graph's `hidden`
 * output): pooled over a row's real positions, then L2-normalized, so a dot product is the cosine similarity.
 * `mean` averages every position of the prompt (special tokens such as BOS included, as sentence-transformers'
 * mean pooling does under its attention mask); `last` takes the final position, which alone has attended to the
 * whole prompt in a causal decoder.
 */
import type { Pooling } from '../../contracts/api/embeddings.ts';

export type { Pooling };

/**
 * Row `row`'s embedding from `hidden` [rows, seq, dim]: positions [0, length) pooled, then scaled to unit length
 * (a zero vector stays zero).
 */
export function pooledEmbedding(
  hidden: Float32Array,
  dim: number,
  seq: number,
  row: number,
  length: number,
  pooling: Pooling,
): Float32Array {
  const out = new Float32Array(dim);
  const from = pooling === 'last' ? length - 1 : 0;
  // Summed in float64: a long prompt's mean would otherwise lose the low bits of each position.
  const sum = new Float64Array(dim);
  for (let t = from; t < length; t++) {
    const at = (row * seq + t) * dim;
    for (let d = 0; d < dim; d++) sum[d] += hidden[at + d];
  }
  let norm = 0;
  for (let d = 0; d < dim; d++) norm += sum[d] * sum[d];
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let d = 0; d < dim; d++) out[d] = sum[d] * scale;
  return out;
}
