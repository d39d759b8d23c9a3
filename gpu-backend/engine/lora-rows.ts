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
 * Both factors are stored transposed, the scale folded into B, so the graph multiplies them as plain MatMuls, which
 * MLAS runs at one row per product with its M = 1 kernel, reading the factor in place. (A Transpose of PEFT's B would
 * be fused into a FusedMatMul and copy nothing, but its transposed kernel was slower at batch 1 on the 1B shape and
 * faster only for 32 distinct adapters: engine/README.md, issue 18's sixth round.)
 * Rows are written lazily, the first time a step feeds them per row: a batch whose rows all run tasks of one basis
 * reads V and Uᵀ from the basis' own image and writes only each row's k×k cores, so admitting a task copies no V and no
 * Uᵀ (writing every row's factors eagerly took a task's first token from ~1× to ~3-10× the base's on the loaded machine).
 * Gathering happens here, once per request admission, rather than as a Gather node in the graph, because
 * an in-graph gather copies every row's adapter on every decode step (measured ~20% slower at 32 adapters).
 * Each source's factors are laid out once per unit as a row would hold them (`unitImage`), so a step whose rows all
 * share one source feeds that image itself and a row of a mixed batch is one contiguous copy of it: an adapter is
 * held as stored (PEFT's layout), once as its images, and once per row of a mixed batch it runs in. A prefill of
 * requests joining a batch reads the rows they will decode in (`range`), not a copy of its own.
 */
import type { LoraAdapter } from '../../contracts/formats/adapter.ts';
import { projectionShape, type ModelConfig, type Projection } from '../../contracts/formats/hf-config.ts';
import type { GraphPath } from './graph-variants.ts';
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

/**
 * The projections of one unit (PROJECTION_UNITS) of one layer, with their A, C and B per row. Rows are written
 * lazily, when a step first feeds them per row (`filledAB`, `filledC`), into buffers allocated at that point: a batch
 * whose rows share one adapter or basis feeds row 0 or the basis' own image and never touches the other rows' pages.
 */
interface Unit {
  layer: number;
  unit: ProjectionUnit;
  in: number;
  members: Slot[];
  /** R: the largest rank any row needs at any member (0: none). */
  rank: number;
  a: Float32Array;
  c: Float32Array;
  filledAB: Uint8Array;
  filledC: Uint8Array;
}

/**
 * A member's factors from a row's source: its rank, the core [r, r] of a task, and `write`, which puts Aᵀ [in, r] (an
 * adapter's A transposed, or a basis' V) into columns [col, col + r) of a unit image's A [in, width] and B [r, out]
 * (scale·Bᵀ, or Uᵀ) into the image's B, transposing straight into the image (no transposed copy in between).
 */
interface MemberFactors {
  r: number;
  write: (a: Float32Array, width: number, col: number, b: Float32Array) => void;
  coreT?: Float32Array;
}

function memberFactors(source: RowSource, layer: number, p: Projection): MemberFactors | null {
  if (!source) return null;
  if (isShared(source)) {
    const m = basisModule(source.basis, layer, p);
    if (!m) return null;
    const { k, in: fanIn } = m;
    return {
      r: k,
      coreT: m.coresT.subarray(source.task * k * k, (source.task + 1) * k * k),
      write: (a, width, col, b) => {
        for (let x = 0; x < fanIn; x++) a.set(m.v.subarray(x * k, (x + 1) * k), x * width + col);
        b.set(m.uT);
      },
    };
  }
  const m = source.modules.find((mm) => mm.layer === layer && mm.projection === p);
  if (!m) return null;
  const { rank: r, in: fanIn, out } = m;
  return {
    r,
    write: (a, width, col, b) => {
      for (let j = 0; j < r; j++) for (let x = 0; x < fanIn; x++) a[x * width + col + j] = m.a[j * fanIn + x];
      for (let o = 0; o < out; o++) for (let j = 0; j < r; j++) b[j * out + o] = m.b[o * r + j] * m.scale;
    },
  };
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

/** Graph input names of a unit's A and C and of a projection's B; no `c` for a graph without cores ('adapters'). */
export interface FeedNames {
  a: (l: number, u: ProjectionUnit) => string;
  c?: (l: number, u: ProjectionUnit) => string;
  b: (l: number, p: Projection) => string;
}

/** What a step reads of its rows' adapters: the feed tensors of its first `n` rows, and the graph path they need. */
export interface LoraFeeds {
  tensors(n: number, names: FeedNames): [string, ort.Tensor][];
  sharedBy(n: number): boolean;
  path(n: number): GraphPath;
}

export class LoraRows implements LoraFeeds {
  private readonly units: Unit[] = [];
  private readonly sources: RowSource[];
  /** Bumped whenever any slot's contents or layout change, so cached feed tensors are rebuilt only then. */
  private version = 0;
  private cached: { from: number; n: number; cores: boolean; version: number; tensors: [string, ort.Tensor][] } | null = null;

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
          filledAB: new Uint8Array(rows),
          filledC: new Uint8Array(rows),
        });
  }

  /** Puts `source` (an adapter, a shared-basis task, or none) in batch row `row`. */
  set(row: number, source: RowSource): void {
    this.version++;
    this.sources[row] = source;
    for (const unit of this.units) {
      const need = rankNeeded(unit, source);
      if (need > unit.rank) {
        // Laid out again at the new rank: every row is written afresh when next fed.
        unit.rank = need;
        unit.a = new Float32Array(0);
        unit.c = new Float32Array(0);
        for (const s of unit.members) s.b = new Float32Array(0);
        unit.filledAB.fill(0);
        unit.filledC.fill(0);
      }
      unit.filledAB[row] = 0;
      unit.filledC[row] = 0;
    }
  }

  /** Moves row `from` to row `to` (swap-remove); row `from` becomes empty. */
  move(from: number, to: number): void {
    if (from === to) return;
    this.version++;
    this.sources[to] = this.sources[from];
    this.sources[from] = null;
    for (const unit of this.units) {
      if (unit.filledAB[from]) {
        const sa = unit.in * unit.members.length * unit.rank;
        unit.a.copyWithin(to * sa, from * sa, from * sa + sa);
        for (const s of unit.members) {
          const sb = unit.rank * s.out;
          s.b.copyWithin(to * sb, from * sb, from * sb + sb);
        }
      }
      if (unit.filledC[from]) {
        const sc = (unit.members.length * unit.rank) ** 2;
        unit.c.copyWithin(to * sc, from * sc, from * sc + sc);
      }
      unit.filledAB[to] = unit.filledAB[from];
      unit.filledC[to] = unit.filledC[from];
      unit.filledAB[from] = 0;
      unit.filledC[from] = 0;
    }
  }

  /** Whether rows [from, from + n) all hold the same adapter or basis (or none): A and B are then fed once. */
  sharedBy(n: number, from = 0): boolean {
    const first = factorSource(this.sources[from]);
    return this.sources.slice(from + 1, from + n).every((s) => factorSource(s) === first);
  }

  /**
   * The graph path rows [from, from + n) need (graph-variants.ts): 'shared' when any runs a shared-basis task (its C is
   * a core, not the identity), else 'adapters' when any has an adapter, else 'base'.
   */
  path(n: number, from = 0): GraphPath {
    let path: GraphPath = 'base';
    for (let row = from; row < from + n; row++) {
      const s = this.sources[row];
      if (isShared(s)) return 'shared';
      if (s) path = 'adapters';
    }
    return path;
  }

  /**
   * Rows [from, from + n) as a step's LoRA feeds: a prefill of requests joining a running batch reads the rows they
   * will decode in (views of the same buffers) instead of a copy of their factors in a batch of its own.
   */
  range(from: number): LoraFeeds {
    return {
      tensors: (n, names) => this.tensors(n, names, from),
      sharedBy: (n) => this.sharedBy(n, from),
      path: (n) => this.path(n, from),
    };
  }

  /**
   * Feed tensors for rows [from, from + n) (views, no copies), by graph input name; the same objects are returned
   * until a row changes. A factor all n rows have in common is fed once with a leading axis of 1: a basis' V and Uᵀ
   * and an adapter's from the source's own image (unitImage), the identity C from one buffer. Without `names.c`, no C.
   */
  tensors(n: number, names: FeedNames, from = 0): [string, ort.Tensor][] {
    const c = this.cached;
    const cores = names.c !== undefined;
    if (c && c.from === from && c.n === n && c.cores === cores && c.version === this.version) return c.tensors;
    const shared = this.sharedBy(n, from);
    const first = this.sources[from];
    const abRows = shared ? 1 : n;
    const cRows = this.sources.slice(from + 1, from + n).every((s) => sameCore(s, first)) ? 1 : n;
    const tensors: [string, ort.Tensor][] = [];
    for (const u of this.units) {
      const k = u.members.length;
      if (u.rank === 0 || (shared && !first)) {
        // Rank 1 of zeros rather than rank 0: onnxruntime 1.30's batched MatMul with an empty inner dimension leaves
        // every batch but the first uninitialised (the mixed-batch engine test catches it). One shared zero buffer.
        tensors.push([names.a(u.layer, u.unit), f32(this.zeros(u.in * k), [1, u.in, k])]);
        if (names.c) tensors.push([names.c(u.layer, u.unit), f32(this.zeros(k * k), [1, k, k])]);
        for (const s of u.members) tensors.push([names.b(u.layer, s.projection), f32(this.zeros(s.out), [1, 1, s.out])]);
        continue;
      }
      const R = u.rank;
      const width = k * R;
      let a: Float32Array;
      let bs: Float32Array[];
      const img = abRows === 1 && unitImage(first!, u);
      if (img) ({ a, b: bs } = img);
      else if (abRows === 1) {
        // The rows' source has no module in this unit (the rank is another row's, earlier): zeros.
        a = this.zeros(u.in * width);
        bs = u.members.map((s) => this.zeros(R * s.out));
      } else {
        this.write(u, from, abRows, 'ab');
        a = u.a.subarray(from * u.in * width, (from + abRows) * u.in * width);
        bs = u.members.map((s) => s.b.subarray(from * R * s.out, (from + abRows) * R * s.out));
      }
      tensors.push([names.a(u.layer, u.unit), f32(a, [abRows, u.in, width])]);
      if (names.c) {
        let core: Float32Array;
        if (cRows === 1 && !isShared(first)) core = this.identity(width);
        else {
          this.write(u, from, cRows, 'c');
          core = u.c.subarray(from * width * width, (from + cRows) * width * width);
        }
        tensors.push([names.c(u.layer, u.unit), f32(core, [cRows, width, width])]);
      }
      u.members.forEach((s, i) => {
        tensors.push([names.b(u.layer, s.projection), f32(bs[i], [abRows, R, s.out])]);
      });
    }
    this.cached = { from, n, cores, version: this.version, tensors };
    return tensors;
  }

  /** Writes rows [from, from + n) of a unit's A and B (or C) not written yet, allocating the buffers on first use. */
  private write(u: Unit, from: number, n: number, what: 'ab' | 'c'): void {
    const width = u.members.length * u.rank;
    if (what === 'ab') {
      if (u.a.length === 0) {
        u.a = new Float32Array(this.rows * u.in * width);
        for (const s of u.members) s.b = new Float32Array(this.rows * u.rank * s.out);
      }
      for (let row = from; row < from + n; row++)
        if (!u.filledAB[row]) {
          fillAB(u, row, this.sources[row]);
          u.filledAB[row] = 1;
        }
    } else {
      if (u.c.length === 0) u.c = new Float32Array(this.rows * width * width);
      for (let row = from; row < from + n; row++)
        if (!u.filledC[row]) {
          fillC(u, row, this.sources[row]);
          u.filledC[row] = 1;
        }
    }
  }

  private readonly identities = new Map<number, Float32Array>();
  private identity(width: number): Float32Array {
    let eye = this.identities.get(width);
    if (!eye) {
      eye = new Float32Array(width * width);
      for (let j = 0; j < width; j++) eye[j * width + j] = 1;
      this.identities.set(width, eye);
    }
    return eye;
  }

  private zeroBuffer = new Float32Array(0);
  private zeros(n: number): Float32Array {
    if (this.zeroBuffer.length < n) this.zeroBuffer = new Float32Array(Math.max(n, 2 * this.zeroBuffer.length));
    return this.zeroBuffer.subarray(0, n);
  }
}

/** The rank `source` needs at `unit`: its largest module rank (or basis k) over the unit's members. */
function rankNeeded(unit: Unit, source: RowSource): number {
  let r = 0;
  for (const s of unit.members) r = Math.max(r, memberFactors(source, unit.layer, s.projection)?.r ?? 0);
  return r;
}

/** Writes row `row` of a unit's A and B from `source`'s image at the unit's rank (zeros for none). */
function fillAB(unit: Unit, row: number, source: RowSource): void {
  const R = unit.rank;
  const sa = unit.in * unit.members.length * R;
  const a = unit.a.subarray(row * sa, (row + 1) * sa);
  const img = source && unitImage(source, unit);
  if (img) a.set(img.a);
  else a.fill(0);
  unit.members.forEach((s, i) => {
    const b = s.b.subarray(row * R * s.out, (row + 1) * R * s.out);
    if (img) b.set(img.b[i]);
    else b.fill(0);
  });
}

/** Writes row `row` of a unit's C: block-diagonal, a task's cores, else the identity (a row with zero A and B adds nothing). */
function fillC(unit: Unit, row: number, source: RowSource): void {
  const R = unit.rank;
  const width = unit.members.length * R;
  const c = unit.c.subarray(row * width * width, (row + 1) * width * width);
  c.fill(0);
  unit.members.forEach((s, i) => {
    const at = i * R;
    const f = memberFactors(source, unit.layer, s.projection);
    if (f?.coreT) for (let j = 0; j < f.r; j++) c.set(f.coreT.subarray(j * f.r, (j + 1) * f.r), (at + j) * width + at);
    else for (let j = 0; j < R; j++) c[(at + j) * width + at + j] = 1;
  });
}

/**
 * A source's factors laid out as one row of a unit at rank R: A [in, n·R] (the members' Aᵀ, or the basis' V, side by
 * side, zero-padded past each member's rank) and each member's B [R, out] (scaled Bᵀ, or Uᵀ). Built once per source,
 * unit and rank and kept with the source: a step whose rows all share it feeds the image itself, and a row of a
 * mixed batch is one contiguous copy of it. The image is the only transposed copy an adapter has.
 */
const images = new WeakMap<object, Map<string, UnitImage>>();

interface UnitImage {
  a: Float32Array;
  b: Float32Array[];
}

function unitImage(source: LoraAdapter | SharedTask, unit: Unit): UnitImage | null {
  // A task's V and Uᵀ are the basis' own: task 0 stands for every task of it.
  const from = isShared(source) ? { basis: source.basis, task: 0 } : source;
  const factors = unit.members.map((s) => memberFactors(from, unit.layer, s.projection));
  if (factors.every((f) => !f)) return null;
  const owner = factorSource(source)!;
  let byUnit = images.get(owner);
  if (!byUnit) {
    byUnit = new Map();
    images.set(owner, byUnit);
  }
  const R = unit.rank;
  const key = `${unit.layer}.${unit.unit}.${R}`;
  let img = byUnit.get(key);
  if (img) return img;
  const width = unit.members.length * R;
  img = { a: new Float32Array(unit.in * width), b: unit.members.map((s) => new Float32Array(R * s.out)) };
  factors.forEach((f, i) => f?.write(img.a, width, i * R, img.b[i]));
  byUnit.set(key, img);
  return img;
}
