/**
 * Per-row adapter slots for one running batch. For every projection of every layer the graph takes
 * Aᵀ [rows, in, r] and Bᵀ [rows, r, out]; row i holds the adapter of the request in batch row i, rank-padded
 * with zeros to the largest rank any row needs at that projection. The scale (alpha/r) is folded into Bᵀ and
 * both are stored transposed, so the graph multiplies them without a Transpose node (which onnxruntime does not
 * fuse for batched non-constant operands, and which would copy every adapter every step).
 *
 * Gathering happens here, once per request admission, rather than as a Gather node in the graph, because
 * an in-graph gather copies every row's adapter on every decode step (measured ~20% slower at 32 adapters).
 * Each adapter's transposed, scaled tensors are computed once and kept with it, so filling a row is a copy.
 */
import type { AdapterModule, LoraAdapter } from '../../contracts/formats/adapter.ts';
import { PROJECTIONS, projectionShape, type ModelConfig, type Projection } from '../../contracts/formats/hf-config.ts';
import { f32, type ort } from './runtime.ts';

interface Slot {
  layer: number;
  projection: Projection;
  rank: number;
  a: Float32Array;
  b: Float32Array;
  in: number;
  out: number;
}

/** Aᵀ [in, r] and scale·Bᵀ [r, out] of one adapter module. */
interface Image {
  aT: Float32Array;
  bT: Float32Array;
}

const images = new WeakMap<AdapterModule, Image>();

function imageOf(m: AdapterModule): Image {
  let img = images.get(m);
  if (!img) {
    const aT = new Float32Array(m.in * m.rank);
    for (let j = 0; j < m.rank; j++) for (let i = 0; i < m.in; i++) aT[i * m.rank + j] = m.a[j * m.in + i];
    const bT = new Float32Array(m.rank * m.out);
    for (let o = 0; o < m.out; o++) for (let j = 0; j < m.rank; j++) bT[j * m.out + o] = m.b[o * m.rank + j] * m.scale;
    img = { aT, bT };
    images.set(m, img);
  }
  return img;
}

export class LoraRows {
  private readonly slots: Slot[] = [];
  private readonly adapters: (LoraAdapter | null)[];
  /** Bumped whenever any slot's contents or layout change, so cached feed tensors are rebuilt only then. */
  private version = 0;
  private cached: { n: number; version: number; shared: boolean; tensors: [string, ort.Tensor][] } | null = null;

  constructor(
    cfg: ModelConfig,
    readonly rows: number,
  ) {
    this.adapters = new Array(rows).fill(null);
    for (let layer = 0; layer < cfg.numLayers; layer++) {
      for (const projection of PROJECTIONS) {
        const { in: fanIn, out } = projectionShape(cfg, projection);
        this.slots.push({ layer, projection, rank: 0, a: new Float32Array(0), b: new Float32Array(0), in: fanIn, out });
      }
    }
  }

  private slotOf(layer: number, p: Projection): Slot {
    return this.slots[layer * PROJECTIONS.length + PROJECTIONS.indexOf(p)];
  }

  /** Puts `adapter` (or none) in batch row `row`. */
  set(row: number, adapter: LoraAdapter | null): void {
    this.version++;
    this.adapters[row] = adapter;
    const touched = new Set<Slot>();
    for (const m of adapter?.modules ?? []) {
      const slot = this.slotOf(m.layer, m.projection);
      if (m.rank > slot.rank) this.relayout(slot, m.rank);
      else fillRow(slot, row, m);
      touched.add(slot);
    }
    // Clear what a previous occupant left at projections this adapter does not touch.
    for (const slot of this.slots) if (!touched.has(slot) && slot.rank > 0) clearRow(slot, row);
  }

  /** Moves row `from` to row `to` (swap-remove); row `from` becomes empty. */
  move(from: number, to: number): void {
    if (from === to) return;
    this.version++;
    this.adapters[to] = this.adapters[from];
    this.adapters[from] = null;
    for (const slot of this.slots) {
      if (slot.rank === 0) continue;
      const sa = slot.rank * slot.in;
      const sb = slot.out * slot.rank;
      slot.a.copyWithin(to * sa, from * sa, from * sa + sa);
      slot.b.copyWithin(to * sb, from * sb, from * sb + sb);
      clearRow(slot, from);
    }
  }

  /** Whether the first `n` rows all hold the same adapter (or none): a step over them takes the broadcast path. */
  sharedBy(n: number): boolean {
    return this.adapters.slice(1, n).every((a) => a === this.adapters[0]);
  }

  /**
   * Feed tensors for the first `n` rows (views, no copies), by graph input name; the same objects are returned
   * until a row changes. When all n rows share one adapter (or none), only row 0 is fed, with a leading axis
   * of 1 that MatMul broadcasts: one GEMM over the batch instead of n small ones.
   */
  tensors(n: number, names: { a: (l: number, p: Projection) => string; b: (l: number, p: Projection) => string }): [string, ort.Tensor][] {
    const shared = this.sharedBy(n);
    const c = this.cached;
    if (c && c.n === n && c.version === this.version && c.shared === shared) return c.tensors;
    const rows = shared ? 1 : n;
    const tensors: [string, ort.Tensor][] = [];
    for (const s of this.slots) {
      const [a, b] =
        s.rank === 0 || (shared && !this.adapters[0])
          ? [f32(this.zeros(rows * s.in), [rows, s.in, 1]), f32(this.zeros(rows * s.out), [rows, 1, s.out])]
          : [
              f32(s.a.subarray(0, rows * s.rank * s.in), [rows, s.in, s.rank]),
              f32(s.b.subarray(0, rows * s.out * s.rank), [rows, s.rank, s.out]),
            ];
      tensors.push([names.a(s.layer, s.projection), a], [names.b(s.layer, s.projection), b]);
    }
    this.cached = { n, version: this.version, shared, tensors };
    return tensors;
  }

  /**
   * A projection no row adapts gets rank 1 of zeros rather than rank 0: onnxruntime 1.30's batched MatMul with an
   * empty inner dimension leaves every batch but the first uninitialised (the mixed-batch engine test catches it).
   * All such feeds share one zero buffer, which stays in cache, so they cost almost nothing.
   */
  private zeroBuffer = new Float32Array(0);
  private zeros(n: number): Float32Array {
    if (this.zeroBuffer.length < n) this.zeroBuffer = new Float32Array(Math.max(n, 2 * this.zeroBuffer.length));
    return this.zeroBuffer.subarray(0, n);
  }

  private relayout(slot: Slot, rank: number): void {
    slot.rank = rank;
    slot.a = new Float32Array(this.rows * rank * slot.in);
    slot.b = new Float32Array(this.rows * slot.out * rank);
    this.adapters.forEach((ad, row) => {
      const m = ad?.modules.find((mm) => mm.layer === slot.layer && mm.projection === slot.projection);
      if (m) fillRow(slot, row, m);
    });
  }
}

/** Writes a module's Aᵀ [in, r] and scale·Bᵀ [r, out] into row `row` of a slot of rank R ≥ r (zero-padded). */
function fillRow(slot: Slot, row: number, m: AdapterModule): void {
  const { aT, bT } = imageOf(m);
  const R = slot.rank;
  const baseA = row * slot.in * R;
  if (m.rank === R) slot.a.set(aT, baseA);
  else {
    slot.a.fill(0, baseA, baseA + slot.in * R);
    for (let i = 0; i < slot.in; i++) slot.a.set(aT.subarray(i * m.rank, (i + 1) * m.rank), baseA + i * R);
  }
  const baseB = row * R * slot.out;
  slot.b.set(bT, baseB);
  slot.b.fill(0, baseB + bT.length, baseB + R * slot.out);
}

function clearRow(slot: Slot, row: number): void {
  slot.a.fill(0, row * slot.rank * slot.in, (row + 1) * slot.rank * slot.in);
  slot.b.fill(0, row * slot.out * slot.rank, (row + 1) * slot.out * slot.rank);
}
