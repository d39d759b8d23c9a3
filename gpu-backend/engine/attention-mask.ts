/**
 * The additive attention mask both the serving graph and the training graphs take: 0 where a query may look,
 * MASKED where it may not. Built on the host, once per step, in one place so serving and training mask alike.
 */

/** Additive mask value for positions a query may not see (finite, so a fully masked row stays finite). */
export const MASKED = -1e30;

export interface MaskShape {
  rows: number;
  /** New tokens per row in this step. */
  seq: number;
  /** Cached positions in front of the new ones (0 when there is no KV cache). */
  past: number;
  /** Cached keys of each row that are real (the rest of `past` is free cache). */
  start: ArrayLike<number>;
  /** Real new tokens of each row (the rest of `seq` is right padding). */
  newLengths: ArrayLike<number>;
  /** Sliding-window attention: keys further back than this are masked. */
  window?: number | null;
}

/**
 * [rows, 1, 1, seq, past+seq]: a query at absolute position p sees the row's cached keys and the new keys up to
 * itself (causal, and not padding; a padded query still sees itself, so its row stays finite); with a sliding
 * window, only keys within the window.
 */
export function attentionMask({ rows, seq, past, start, newLengths, window }: MaskShape): Float32Array {
  const total = past + seq;
  const span = window ?? Infinity;
  const m = new Float32Array(rows * seq * total).fill(MASKED);
  for (let r = 0; r < rows; r++) {
    for (let t = 0; t < seq; t++) {
      const qPos = start[r] + t;
      const at = (r * seq + t) * total;
      for (let j = 0; j < start[r]; j++) if (qPos - j < span) m[at + j] = 0;
      for (let s = 0; s <= t; s++) if ((s < newLengths[r] || s === t) && t - s < span) m[at + past + s] = 0;
    }
  }
  return m;
}

/** [B, 1, 1, T, T] for whole sequences without a cache (training): causal, keys past a row's length masked. */
export function causalMask(lengths: number[], T: number): Float32Array {
  return attentionMask({ rows: lengths.length, seq: T, past: 0, start: new Array<number>(lengths.length).fill(0), newLengths: lengths });
}
