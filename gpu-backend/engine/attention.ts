/**
 * Scaled dot-product attention with grouped key/value heads (GQA), over this step's keys and values and, when
 * serving, the static cache in front of them. Laid out so that every product is one plain batched GEMM:
 *  - the query heads that share a key/value head are stacked with their positions as one M dimension
 *    ([B, kv_heads, groups·T, hd], a free reshape of [B, heads, T, hd]), so keys and values are never expanded
 *    or broadcast, and each GEMM is groups× taller than one per query head;
 *  - the 1/√hd scale is applied to the queries (by the caller, through the RoPE tables), not to the scores,
 *    which are T/hd× larger in prefill;
 *  - the mask is added and the softmax taken on a [B, heads, 1, T, total] view of the same scores.
 */
import type { Graph, Value } from './graph.ts';
import { add, concat, matmul, reshape, softmax, split, squeeze, transpose, transposeLast2, unsqueeze } from './ops.ts';

export interface AttentionInputs {
  /** Queries after RoPE and the 1/√hd scale, [B, heads, T, hd]. */
  q: Value;
  /** This step's keys (after RoPE) and values, [B, kv_heads, T, hd]. */
  k: Value;
  v: Value;
  /** Additive mask [B, 1, 1, T, P+T] (P = 0 without a cache). */
  mask: Value;
  /** The static cache of earlier positions, [B, kv_heads, P, hd] each. */
  past?: { key: Value; value: Value };
}

/** Returns the attention's output with heads merged, [B, T, heads·hd]. */
export function groupedAttention(g: Graph, heads: number, inp: AttentionInputs): Value {
  const { k, v, past } = inp;
  const [B, kvH, , hd] = k.shape as [Value['shape'][0], number, Value['shape'][0], number];
  const q = reshape(g, inp.q, [B, kvH, -1, hd]);
  let scores = matmul(g, q, transposeLast2(g, k));
  // Scores against the cache are computed in place and concatenated: the cache itself is never copied.
  if (past) scores = concat(g, [matmul(g, q, transposeLast2(g, past.key)), scores], -1);
  const total = scores.shape[3];
  // [B, heads, 1, T, total]: the view the mask [B, 1, 1, T, total] broadcasts over (reshapes and (un)squeezes are free).
  // The Add reads the mask input itself, which keeps it float32 under ENGINE_PRECISION=fp16 (load.ts, KEEP_FLOAT32).
  const perHead = unsqueeze(g, reshape(g, scores, [B, heads, -1, total]), [2]);
  const probs = reshape(g, squeeze(g, softmax(g, add(g, perHead, inp.mask), -1), [2]), [B, kvH, -1, total]);
  let ctx: Value;
  if (past) {
    const [pPast, pNew] = split(g, probs, -1, [
      { value: past.key, axis: 2 },
      { value: k, axis: 2 },
    ]);
    ctx = add(g, matmul(g, pPast, past.value), matmul(g, pNew, v));
  } else ctx = matmul(g, probs, v);
  // [B, kvH, groups·T, hd] -> [B, heads, T, hd] -> [B, T, heads, hd] -> [B, T, heads·hd]
  const merged = transpose(g, reshape(g, ctx, [B, heads, -1, hd]), [0, 2, 1, 3]);
  return reshape(g, merged, [B, merged.shape[1], heads * hd]);
}
