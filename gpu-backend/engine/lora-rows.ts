/**
 * Per-row adapter slots for one running batch. For every projection of every layer the graph takes
 * Aᵀ [rows, in, r] and Bᵀ [rows, r, out]; row i holds the adapter of the request in batch row i, rank-padded
 * with zeros to the largest rank any row needs at that projection. The scale (alpha/r) is folded into Bᵀ and
 * both are stored transposed when a row is filled, so the graph multiplies them without a Transpose node (which
 * onnxruntime does not fuse for batched non-constant operands, and which would copy every adapter every step).
 *
 * Gathering happens here, once per request admission, rather than as a Gather node in the graph, because
 * an in-graph gather copies every row's adapter on every decode step (measured ~20% slower at 32 adapters).
 */
import type { LoraAdapter } from '../formats/adapter.ts';
import { PROJECTIONS, projectionShape, type ModelConfig, type Projection } from '../formats/hf-config.ts';

interface Slot {
  rank: number;
  a: Float32Array;
  b: Float32Array;
  in: number;
  out: number;
}

export class LoraRows {
  private readonly slots = new Map<string, Slot>();
  private readonly adapters: (LoraAdapter | null)[];

  constructor(
    private readonly cfg: ModelConfig,
    readonly rows: number,
  ) {
    this.adapters = new Array(rows).fill(null);
    for (let l = 0; l < cfg.numLayers; l++) {
      for (const p of PROJECTIONS) {
        const { in: fanIn, out } = projectionShape(cfg, p);
        this.slots.set(key(l, p), { rank: 0, a: new Float32Array(0), b: new Float32Array(0), in: fanIn, out });
      }
    }
  }

  adapterAt(row: number): LoraAdapter | null {
    return this.adapters[row];
  }

  /** Puts `adapter` (or none) in batch row `row`. */
  set(row: number, adapter: LoraAdapter | null): void {
    this.adapters[row] = adapter;
    const touched = new Set<string>();
    for (const m of adapter?.modules ?? []) {
      const slot = this.slots.get(key(m.layer, m.projection))!;
      if (m.rank > slot.rank) this.relayout(slot, m.rank, key(m.layer, m.projection));
      else fillRow(slot, row, m);
      touched.add(key(m.layer, m.projection));
    }
    // Clear what a previous occupant left at projections this adapter does not touch.
    for (const [k, slot] of this.slots) if (!touched.has(k) && slot.rank > 0) clearRow(slot, row);
  }

  /** Moves row `from` to row `to` (swap-remove); row `from` becomes empty. */
  move(from: number, to: number): void {
    if (from === to) return;
    this.adapters[to] = this.adapters[from];
    this.adapters[from] = null;
    for (const slot of this.slots.values()) {
      if (slot.rank === 0) continue;
      const sa = slot.rank * slot.in;
      const sb = slot.out * slot.rank;
      slot.a.copyWithin(to * sa, from * sa, from * sa + sa);
      slot.b.copyWithin(to * sb, from * sb, from * sb + sb);
      clearRow(slot, from);
    }
  }

  /** Shrinks padded ranks back to what the first `n` rows need (after the largest-rank row has left). */
  compact(n: number): void {
    for (const [k, slot] of this.slots) {
      let need = 0;
      for (let r = 0; r < n; r++) {
        const m = this.adapters[r]?.modules.find((mm) => key(mm.layer, mm.projection) === k);
        if (m) need = Math.max(need, m.rank);
      }
      if (need < slot.rank) this.relayout(slot, need, k);
    }
  }

  /**
   * Feeds for the first `n` rows: views, no copies. When all n rows share one adapter (or none), only row 0 is
   * fed, with a leading axis of 1 that MatMul broadcasts: one GEMM over the batch instead of n small ones.
   */
  feeds(n: number, each: (layer: number, p: Projection, aT: Float32Array, bT: Float32Array, dimsA: number[], dimsB: number[]) => void): void {
    const shared = this.adapters.slice(1, n).every((a) => a === this.adapters[0]);
    const rows = shared ? 1 : n;
    for (let l = 0; l < this.cfg.numLayers; l++) {
      for (const p of PROJECTIONS) {
        const s = this.slots.get(key(l, p))!;
        if (s.rank === 0 || (shared && !this.adapters[0])) each(l, p, this.zeros(rows * s.in), this.zeros(rows * s.out), [rows, s.in, 1], [rows, 1, s.out]);
        else each(l, p, s.a.subarray(0, rows * s.rank * s.in), s.b.subarray(0, rows * s.out * s.rank), [rows, s.in, s.rank], [rows, s.rank, s.out]);
      }
    }
  }

  /**
   * A projection no row adapts gets rank 1 of zeros rather than rank 0: onnxruntime 1.30's batched MatMul with an
   * empty inner dimension leaves every batch but the first uninitialised (checked in tests/backend/engine.test.ts).
   * All such feeds share one zero buffer, which stays in cache, so they cost almost nothing.
   */
  private zeroBuffer = new Float32Array(0);
  private zeros(n: number): Float32Array {
    if (this.zeroBuffer.length < n) this.zeroBuffer = new Float32Array(n);
    return this.zeroBuffer.subarray(0, n);
  }

  private relayout(slot: Slot, rank: number, k: string): void {
    slot.rank = rank;
    slot.a = new Float32Array(this.rows * rank * slot.in);
    slot.b = new Float32Array(this.rows * slot.out * rank);
    if (rank === 0) return;
    this.adapters.forEach((ad, row) => {
      const m = ad?.modules.find((mm) => key(mm.layer, mm.projection) === k);
      if (m) fillRow(slot, row, m);
    });
  }
}

function key(layer: number, p: Projection): string {
  return `${layer}.${p}`;
}

/** Writes Aᵀ [in, rank] and scale·Bᵀ [rank, out] of module `m` into row `row` of a slot (zero-padded rank). */
function fillRow(slot: Slot, row: number, m: { rank: number; a: Float32Array; b: Float32Array; scale: number }): void {
  clearRow(slot, row);
  const R = slot.rank;
  const baseA = row * slot.in * R;
  for (let j = 0; j < m.rank; j++) {
    for (let i = 0; i < slot.in; i++) slot.a[baseA + i * R + j] = m.a[j * slot.in + i];
  }
  const baseB = row * R * slot.out;
  for (let o = 0; o < slot.out; o++) {
    for (let j = 0; j < m.rank; j++) slot.b[baseB + j * slot.out + o] = m.b[o * m.rank + j] * m.scale;
  }
}

function clearRow(slot: Slot, row: number): void {
  slot.a.fill(0, row * slot.rank * slot.in, (row + 1) * slot.rank * slot.in);
  slot.b.fill(0, row * slot.out * slot.rank, (row + 1) * slot.out * slot.rank);
}
