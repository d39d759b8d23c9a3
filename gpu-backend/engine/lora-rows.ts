/**
 * Per-row adapter slots for one running batch. For every unit of projections that read the same input (q/k/v, o,
 * gate/up, down) of every layer the graph takes the members' Aᵀ side by side, [rows, in, n·R], and for each
 * projection Bᵀ [rows, R, out]; row i holds the adapter of the request in batch row i, rank-padded with zeros to
 * the largest rank R any row needs at any member of the unit. The scale (alpha/r) is folded into Bᵀ and
 * both are stored transposed, so the graph multiplies them without a Transpose node (which onnxruntime does not
 * fuse for batched non-constant operands, and which would copy every adapter every step).
 *
 * Gathering happens here, once per request admission, rather than as a Gather node in the graph, because
 * an in-graph gather copies every row's adapter on every decode step (measured ~20% slower at 32 adapters).
 * Each adapter's transposed, scaled tensors are computed once and kept with it, so filling a row is a copy.
 */
import type { AdapterModule, LoraAdapter } from '../../contracts/formats/adapter.ts';
import { projectionShape, type ModelConfig, type Projection } from '../../contracts/formats/hf-config.ts';
import { PROJECTION_UNITS, type ProjectionUnit } from './llama.ts';
import { f32, type ort } from './runtime.ts';

/** One projection's Bᵀ [rows, R, out] (R: its unit's rank). */
interface Slot {
  layer: number;
  projection: Projection;
  b: Float32Array;
  out: number;
}

/**
 * The projections of one unit (PROJECTION_UNITS) of one layer: they read the same input, so their Aᵀ sit side by
 * side in one [rows, in, n·R] (member i at columns [i·R, i·R + r)) and the graph computes x·A once and splits it
 * equally; each member's Bᵀ is rank-padded to the same R.
 */
interface Unit {
  layer: number;
  unit: ProjectionUnit;
  in: number;
  members: Slot[];
  /** R: the largest rank any row needs at any member (0: none). */
  rank: number;
  a: Float32Array;
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
  private readonly units: Unit[] = [];
  private readonly adapters: (LoraAdapter | null)[];
  /** Bumped whenever any slot's contents or layout change, so cached feed tensors are rebuilt only then. */
  private version = 0;
  private cached: { n: number; version: number; shared: boolean; tensors: [string, ort.Tensor][] } | null = null;

  constructor(
    cfg: ModelConfig,
    readonly rows: number,
  ) {
    this.adapters = new Array(rows).fill(null);
    for (let layer = 0; layer < cfg.numLayers; layer++)
      for (const { unit, members } of PROJECTION_UNITS)
        this.units.push({
          layer,
          unit,
          in: projectionShape(cfg, members[0]).in,
          members: members.map((projection) => ({ layer, projection, b: new Float32Array(0), out: projectionShape(cfg, projection).out })),
          rank: 0,
          a: new Float32Array(0),
        });
  }

  private find(layer: number, p: Projection): { unit: Unit; member: number } {
    const units = this.units.slice(layer * PROJECTION_UNITS.length, (layer + 1) * PROJECTION_UNITS.length);
    for (const unit of units) {
      const member = unit.members.findIndex((m) => m.projection === p);
      if (member >= 0) return { unit, member };
    }
    throw new Error(`no projection ${p} in layer ${layer}`);
  }

  /** Puts `adapter` (or none) in batch row `row`. */
  set(row: number, adapter: LoraAdapter | null): void {
    this.version++;
    this.adapters[row] = adapter;
    const touched = new Set<Unit>();
    const grow = new Set<Unit>();
    for (const m of adapter?.modules ?? []) {
      const { unit } = this.find(m.layer, m.projection);
      if (m.rank > unit.rank) grow.add(unit);
      touched.add(unit);
    }
    // A unit whose rank grows is laid out again from every row's adapter (this one included).
    for (const unit of grow) this.relayout(unit);
    for (const unit of touched) if (!grow.has(unit)) fillRow(unit, row, adapter);
    // Clear what a previous occupant left at units this adapter does not touch.
    for (const unit of this.units) if (!touched.has(unit) && unit.rank > 0) clearRow(unit, row);
  }

  /** Moves row `from` to row `to` (swap-remove); row `from` becomes empty. */
  move(from: number, to: number): void {
    if (from === to) return;
    this.version++;
    this.adapters[to] = this.adapters[from];
    this.adapters[from] = null;
    for (const unit of this.units) {
      if (unit.rank === 0) continue;
      const sa = unit.in * unit.members.length * unit.rank;
      unit.a.copyWithin(to * sa, from * sa, from * sa + sa);
      for (const s of unit.members) {
        const sb = unit.rank * s.out;
        s.b.copyWithin(to * sb, from * sb, from * sb + sb);
      }
      clearRow(unit, from);
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
  tensors(
    n: number,
    names: { a: (l: number, u: ProjectionUnit) => string; b: (l: number, p: Projection) => string },
  ): [string, ort.Tensor][] {
    const shared = this.sharedBy(n);
    const c = this.cached;
    if (c && c.n === n && c.version === this.version && c.shared === shared) return c.tensors;
    const rows = shared ? 1 : n;
    const tensors: [string, ort.Tensor][] = [];
    for (const u of this.units) {
      const k = u.members.length;
      const empty = u.rank === 0 || (shared && !this.adapters[0]);
      const r = empty ? 1 : u.rank;
      tensors.push([
        names.a(u.layer, u.unit),
        f32(empty ? this.zeros(rows * u.in * k) : u.a.subarray(0, rows * u.in * k * r), [rows, u.in, k * r]),
      ]);
      for (const s of u.members)
        tensors.push([
          names.b(s.layer, s.projection),
          f32(empty ? this.zeros(rows * s.out) : s.b.subarray(0, rows * r * s.out), [rows, r, s.out]),
        ]);
    }
    this.cached = { n, version: this.version, shared, tensors };
    return tensors;
  }

  /**
   * A unit no row adapts gets rank 1 of zeros rather than rank 0: onnxruntime 1.30's batched MatMul with an
   * empty inner dimension leaves every batch but the first uninitialised (the mixed-batch engine test catches it).
   * All such feeds share one zero buffer, which stays in cache, so they cost almost nothing.
   */
  private zeroBuffer = new Float32Array(0);
  private zeros(n: number): Float32Array {
    if (this.zeroBuffer.length < n) this.zeroBuffer = new Float32Array(Math.max(n, 2 * this.zeroBuffer.length));
    return this.zeroBuffer.subarray(0, n);
  }

  private relayout(unit: Unit): void {
    unit.rank = Math.max(
      unit.rank,
      ...this.adapters.flatMap((ad) =>
        (ad?.modules ?? [])
          .filter((m) => m.layer === unit.layer && unit.members.some((s) => s.projection === m.projection))
          .map((m) => m.rank),
      ),
    );
    unit.a = new Float32Array(this.rows * unit.in * unit.members.length * unit.rank);
    for (const s of unit.members) s.b = new Float32Array(this.rows * unit.rank * s.out);
    this.adapters.forEach((ad, row) => {
      if (ad) fillRow(unit, row, ad);
    });
  }
}

/** Writes row `row` of a unit from `adapter`'s modules there (zeros where it has none, and past each module's rank). */
function fillRow(unit: Unit, row: number, adapter: LoraAdapter | null): void {
  clearRow(unit, row);
  const R = unit.rank;
  const width = unit.members.length * R;
  unit.members.forEach((s, i) => {
    const m = adapter?.modules.find((mm) => mm.layer === unit.layer && mm.projection === s.projection);
    if (!m) return;
    const { aT, bT } = imageOf(m);
    const baseA = row * unit.in * width + i * R;
    for (let k = 0; k < unit.in; k++) unit.a.set(aT.subarray(k * m.rank, (k + 1) * m.rank), baseA + k * width);
    s.b.set(bT, row * R * s.out);
  });
}

function clearRow(unit: Unit, row: number): void {
  const sa = unit.in * unit.members.length * unit.rank;
  unit.a.fill(0, row * sa, (row + 1) * sa);
  for (const s of unit.members) s.b.fill(0, row * unit.rank * s.out, (row + 1) * unit.rank * s.out);
}
