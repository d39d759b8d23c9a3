/**
 * Per-row adapter slots for one running batch. Each row holds a plain adapter, a task of a shared basis, or nothing,
 * and every unit of projections that read the same input (q/k/v, o, gate/up, down) of every layer computes its delta
 * as x·A·C·B with three factors the graph takes per unit:
 *   A [a_rows, in, n·R]   the members' Aᵀ side by side (member i at columns [i·R, i·R + r)), or a basis' V;
 *   C [c_rows, n·R, n·R]  block-diagonal: identity for a plain adapter, the task's core Σᵢᵀ for a shared-basis task;
 *   B [a_rows, R, out]    per member: scale·Bᵀ, or the basis' Uᵀ;
 * rank-padded with zeros to the largest rank R any row needs at any member of the unit. A factor every row has in
 * common is fed once, with a leading axis of 1 that MatMul broadcasts: one adapter on every row, or tasks of one basis
 * (A = V and B = Uᵀ shared, each row its own k×k core) cost one GEMM over the batch instead of one small one per row.
 * So the shared basis is the same path as the adapters, not a second one beside it: a graph with both paths ran
 * every node of both on every step, and the unused one cost ~9% of a batch-1 step (engine/README.md).
 *
 * Both factors are stored transposed, the scale folded into B, so the graph multiplies them without a Transpose node
 * (which onnxruntime does not fuse for batched non-constant operands, and which would copy every adapter every step).
 * Gathering happens here, once per request admission, rather than as a Gather node in the graph, because
 * an in-graph gather copies every row's adapter on every decode step (measured ~20% slower at 32 adapters).
 * Each adapter's transposed, scaled tensors are computed once and kept with it, so filling a row is a copy.
 */
import type { AdapterModule, LoraAdapter } from '../../contracts/formats/adapter.ts';
import { projectionShape, type ModelConfig, type Projection } from '../../contracts/formats/hf-config.ts';
import { PROJECTION_UNITS, type ProjectionUnit } from './llama.ts';
import { f32, type ort } from './runtime.ts';
import type { SharedBasis, SharedBasisModule, SharedTask } from './shared-basis-rows.ts';

/** What a batch row runs: a plain adapter, a task of a shared basis, or the base (null). */
export type RowSource = LoraAdapter | SharedTask | null;

const isShared = (s: RowSource): s is SharedTask => s !== null && 'basis' in s;

/** One projection's B [rows, R, out] (R: its unit's rank). */
interface Slot {
  projection: Projection;
  b: Float32Array;
  out: number;
}

/** The projections of one unit (PROJECTION_UNITS) of one layer, with their A, C and B per row. */
interface Unit {
  layer: number;
  unit: ProjectionUnit;
  in: number;
  members: Slot[];
  /** R: the largest rank any row needs at any member (0: none). */
  rank: number;
  a: Float32Array;
  c: Float32Array;
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

/** A member's factors from a row's source: Aᵀ [in, r] (or V), B [r, out] (or Uᵀ), and the core [r, r] of a task. */
interface MemberFactors {
  r: number;
  aT: Float32Array;
  bT: Float32Array;
  coreT?: Float32Array;
}

function memberFactors(source: RowSource, layer: number, p: Projection): MemberFactors | null {
  if (!source) return null;
  if (isShared(source)) {
    const m = basisModule(source.basis, layer, p);
    if (!m) return null;
    return { r: m.k, aT: m.v, bT: m.uT, coreT: m.coresT.subarray(source.task * m.k * m.k, (source.task + 1) * m.k * m.k) };
  }
  const m = source.modules.find((mm) => mm.layer === layer && mm.projection === p);
  if (!m) return null;
  return { r: m.rank, ...imageOf(m) };
}

const basisIndex = new WeakMap<SharedBasis, Map<string, SharedBasisModule>>();

function basisModule(basis: SharedBasis, layer: number, p: Projection): SharedBasisModule | undefined {
  let byName = basisIndex.get(basis);
  if (!byName) {
    byName = new Map(basis.modules.map((m) => [`${m.layer}.${m.projection}`, m]));
    basisIndex.set(basis, byName);
  }
  return byName.get(`${layer}.${p}`);
}

/** The object a row's A and B come from (rows with the same one can share one fed copy). */
const factorSource = (s: RowSource): object | null => (isShared(s) ? s.basis : s);

/** Whether two rows' C are equal: identity for every row that is not a shared-basis task. */
const sameCore = (x: RowSource, y: RowSource): boolean =>
  isShared(x) || isShared(y) ? isShared(x) && isShared(y) && x.basis === y.basis && x.task === y.task : true;

export class LoraRows {
  private readonly units: Unit[] = [];
  private readonly sources: RowSource[];
  /** Bumped whenever any slot's contents or layout change, so cached feed tensors are rebuilt only then. */
  private version = 0;
  private cached: { n: number; version: number; tensors: [string, ort.Tensor][] } | null = null;

  constructor(
    cfg: ModelConfig,
    readonly rows: number,
  ) {
    this.sources = new Array(rows).fill(null);
    for (let layer = 0; layer < cfg.numLayers; layer++)
      for (const { unit, members } of PROJECTION_UNITS)
        this.units.push({
          layer,
          unit,
          in: projectionShape(cfg, members[0]).in,
          members: members.map((projection) => ({ projection, b: new Float32Array(0), out: projectionShape(cfg, projection).out })),
          rank: 0,
          a: new Float32Array(0),
          c: new Float32Array(0),
        });
  }

  /** Puts `source` (an adapter, a shared-basis task, or none) in batch row `row`. */
  set(row: number, source: RowSource): void {
    this.version++;
    this.sources[row] = source;
    for (const unit of this.units) {
      const need = rankNeeded(unit, source);
      if (need > unit.rank) this.relayout(unit, need);
      else if (unit.rank > 0) fillRow(unit, row, source);
    }
  }

  /** Moves row `from` to row `to` (swap-remove); row `from` becomes empty. */
  move(from: number, to: number): void {
    if (from === to) return;
    this.version++;
    this.sources[to] = this.sources[from];
    this.sources[from] = null;
    for (const unit of this.units) {
      if (unit.rank === 0) continue;
      const sa = unit.in * unit.members.length * unit.rank;
      unit.a.copyWithin(to * sa, from * sa, from * sa + sa);
      const sc = (unit.members.length * unit.rank) ** 2;
      unit.c.copyWithin(to * sc, from * sc, from * sc + sc);
      for (const s of unit.members) {
        const sb = unit.rank * s.out;
        s.b.copyWithin(to * sb, from * sb, from * sb + sb);
      }
      fillRow(unit, from, null);
    }
  }

  /** Whether the first `n` rows all hold the same adapter or basis (or none): A and B are then fed once. */
  sharedBy(n: number): boolean {
    const first = factorSource(this.sources[0]);
    return this.sources.slice(1, n).every((s) => factorSource(s) === first);
  }

  /**
   * Feed tensors for the first `n` rows (views, no copies), by graph input name; the same objects are returned
   * until a row changes. A factor all n rows have in common is fed from row 0 with a leading axis of 1.
   */
  tensors(
    n: number,
    names: {
      a: (l: number, u: ProjectionUnit) => string;
      c: (l: number, u: ProjectionUnit) => string;
      b: (l: number, p: Projection) => string;
    },
  ): [string, ort.Tensor][] {
    const c = this.cached;
    if (c && c.n === n && c.version === this.version) return c.tensors;
    const shared = this.sharedBy(n);
    const abRows = shared ? 1 : n;
    const cRows = this.sources.slice(1, n).every((s) => sameCore(s, this.sources[0])) ? 1 : n;
    const tensors: [string, ort.Tensor][] = [];
    for (const u of this.units) {
      const k = u.members.length;
      if (u.rank === 0 || (shared && !this.sources[0])) {
        // Rank 1 of zeros rather than rank 0: onnxruntime 1.30's batched MatMul with an empty inner dimension leaves
        // every batch but the first uninitialised (the mixed-batch engine test catches it). One shared zero buffer.
        tensors.push([names.a(u.layer, u.unit), f32(this.zeros(u.in * k), [1, u.in, k])]);
        tensors.push([names.c(u.layer, u.unit), f32(this.zeros(k * k), [1, k, k])]);
        for (const s of u.members) tensors.push([names.b(u.layer, s.projection), f32(this.zeros(s.out), [1, 1, s.out])]);
        continue;
      }
      const R = u.rank;
      tensors.push([names.a(u.layer, u.unit), f32(u.a.subarray(0, abRows * u.in * k * R), [abRows, u.in, k * R])]);
      tensors.push([names.c(u.layer, u.unit), f32(u.c.subarray(0, cRows * (k * R) ** 2), [cRows, k * R, k * R])]);
      for (const s of u.members)
        tensors.push([names.b(u.layer, s.projection), f32(s.b.subarray(0, abRows * R * s.out), [abRows, R, s.out])]);
    }
    this.cached = { n, version: this.version, tensors };
    return tensors;
  }

  private zeroBuffer = new Float32Array(0);
  private zeros(n: number): Float32Array {
    if (this.zeroBuffer.length < n) this.zeroBuffer = new Float32Array(Math.max(n, 2 * this.zeroBuffer.length));
    return this.zeroBuffer.subarray(0, n);
  }

  /** Lays `unit` out again at rank `rank` from every row's source. */
  private relayout(unit: Unit, rank: number): void {
    unit.rank = rank;
    const width = unit.members.length * rank;
    unit.a = new Float32Array(this.rows * unit.in * width);
    unit.c = new Float32Array(this.rows * width * width);
    for (const s of unit.members) s.b = new Float32Array(this.rows * rank * s.out);
    this.sources.forEach((source, row) => fillRow(unit, row, source));
  }
}

/** The rank `source` needs at `unit`: its largest module rank (or basis k) over the unit's members. */
function rankNeeded(unit: Unit, source: RowSource): number {
  let r = 0;
  for (const s of unit.members) r = Math.max(r, memberFactors(source, unit.layer, s.projection)?.r ?? 0);
  return r;
}

/** Writes row `row` of a unit from `source` (zeros where it has no module, and past each module's rank). */
function fillRow(unit: Unit, row: number, source: RowSource): void {
  const R = unit.rank;
  const width = unit.members.length * R;
  const a = unit.a.subarray(row * unit.in * width, (row + 1) * unit.in * width);
  const c = unit.c.subarray(row * width * width, (row + 1) * width * width);
  a.fill(0);
  c.fill(0);
  unit.members.forEach((s, i) => {
    const b = s.b.subarray(row * R * s.out, (row + 1) * R * s.out);
    b.fill(0);
    const at = i * R;
    const f = memberFactors(source, unit.layer, s.projection);
    // C is the identity on every block but a task's (so a row with no module, whose A and B are zeros, adds nothing).
    for (let j = 0; j < R; j++) c[(at + j) * width + at + j] = 1;
    if (!f) return;
    for (let x = 0; x < unit.in; x++) a.set(f.aT.subarray(x * f.r, (x + 1) * f.r), x * width + at);
    b.set(f.bT);
    if (f.coreT) {
      for (let j = 0; j < R; j++) c[(at + j) * width + at + j] = 0;
      for (let j = 0; j < f.r; j++) c.set(f.coreT.subarray(j * f.r, (j + 1) * f.r), (at + j) * width + at);
    }
  });
}
