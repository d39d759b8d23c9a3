/**
 * TIES' two element-wise passes on the CPU (ties-kernels.wat, WebAssembly SIMD), over a block of a module's n stacked
 * deltas that the runtime's MatMul writes straight into the kernels' memory:
 * - `stats`: per member, the count of magnitudes above its bracket and the magnitudes inside it with their positions;
 * - `combine`: trim at each member's threshold (ties at it kept before the member's cut), elect the sign of the total,
 *   and the weighted mean of the members that carry it;
 * - `fused` and `finish`: both in one pass where the brackets hold; the values inside a bracket and the sums of their
 *   positions' sure values stay in the kernels' memory for the module, and `finish` completes those positions once
 *   the thresholds are known (in JS this took a seventh of an 8B layer, and its copies most of the merge's GC).
 * Hand-written because onnxruntime makes one pass over memory per element-wise op (about 20 per member value) and
 * a scalar JS loop stalls on the data-dependent branches (16 ns a value, measured); four lanes without branches do
 * both passes at memory speed. The text is compiled once per process by wabt.
 */
import { compileWat, type WasmModule } from './wat-module.ts';

/** The little of the WebAssembly API used here (the project's TypeScript libs leave out the DOM's, which declare it). */
declare const WebAssembly: {
  Memory: new (size: { initial: number }) => WasmMemory;
  instantiate(module: WasmModule, imports: Record<string, Record<string, unknown>>): Promise<{ exports: unknown }>;
};
type WasmMemory = { readonly buffer: ArrayBuffer; grow(pages: number): number };

interface Exports {
  stats(n: number, p: number, d: number, params: number, values: number, positions: number, base: number): number;
  combine(n: number, p: number, d: number, params: number, out: number): void;
  fused(n: number, p: number, d: number, params: number, out: number, lists: number, cap: number, pending: number, base: number): number;
  finish(n: number, params: number, lists: number, cap: number, records: number, count: number): void;
}

const PAGE = 65536;
/** A vector's bytes: the last vector of a plane reads (and writes) up to 12 bytes past it. */
const PAD = 16;
const align = (bytes: number) => Math.ceil(bytes / PAD) * PAD;

/**
 * What `stats` found in one block, per member: the count above its bracket, and entries [ends[i-1], ends[i]) of
 * `values` (the magnitudes inside the bracket) and `positions` (their flat positions in the module) are member i's.
 */
export interface BlockStats {
  above: Int32Array;
  ends: Int32Array;
  values: Float32Array;
  positions: Int32Array;
}

/** The kernels with memory for blocks of up to `plane` values per member for `n` members. */
export class TiesKernels {
  /** Where the runtime writes the block's deltas: [n, plane] (a view per block is `deltas(p)`). */
  private readonly memory: WasmMemory;
  private readonly kernels: Exports;
  private readonly at: { d: number; params: number; out: number; values: number; positions: number };
  /** The module in a fused pass: each member's room for unsure entries, its records so far and where they start. */
  private module: { cap: number; limit: number; records: number; recordsAt: number } | null = null;
  /**
   * The most room per member's list any module has had: the lists and records keep their places from module to module
   * (only a larger room moves them), so kernels kept for a thread's next module reuse the pages the ones before
   * touched rather than touching new ones beside them.
   */
  private capRoom = 0;

  private constructor(
    readonly n: number,
    /** The most values per member a block may have. */
    readonly plane: number,
    instance: { exports: unknown },
    memory: WasmMemory,
  ) {
    this.memory = memory;
    this.kernels = instance.exports as unknown as Exports;
    const d = 0;
    const params = align(d + 4 * n * plane + PAD);
    const out = align(params + 80 * n);
    const values = align(out + 4 * plane + PAD);
    const positions = values + 4 * n * plane;
    this.at = { d, params, out, values, positions };
  }

  static async create(n: number, plane: number): Promise<TiesKernels> {
    const bytes = align(4 * n * plane + PAD) + 80 * n + align(4 * plane + PAD) + 8 * n * plane;
    const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / PAGE) });
    const instance = await WebAssembly.instantiate(await compileWat('ties-kernels.wat'), { env: { memory } });
    return new TiesKernels(n, plane, instance, memory);
  }

  /** The block's deltas [n, p] (p ≤ plane), for the runtime to write into. */
  deltas(p: number): Float32Array {
    if (p > this.plane) throw new Error(`TiesKernels: a block of ${p} values per member, above ${this.plane}`);
    return new Float32Array(this.memory.buffer, this.at.d, this.n * p);
  }

  /** `base`: the flat position in the module of the block's first value. The lists are views, valid until the next call. */
  stats(p: number, base: number, lo: Float32Array, hi: Float32Array): BlockStats {
    const { params, d, values, positions } = this.at;
    const f = new Float32Array(this.memory.buffer, params, 12 * this.n);
    for (let i = 0; i < this.n; i++) {
      f.fill(lo[i], 12 * i, 12 * i + 4);
      f.fill(hi[i], 12 * i + 4, 12 * i + 8);
    }
    const count = this.kernels.stats(this.n, p, d, params, values, positions, base);
    const ints = new Int32Array(this.memory.buffer, params, 12 * this.n);
    return {
      above: Int32Array.from({ length: this.n }, (_, i) => ints[12 * i + 8]),
      ends: Int32Array.from({ length: this.n }, (_, i) => ints[12 * i + 9]),
      values: new Float32Array(this.memory.buffer, values, count),
      positions: new Int32Array(this.memory.buffer, positions, count),
    };
  }

  /**
   * The merged plane of the block (a view, valid until the next call). `cut`: per member, the first position in
   * the block whose magnitude equal to the threshold is no longer kept (0: none kept, p: all kept).
   */
  combine(p: number, threshold: Float32Array, thresholdUp: Float32Array, cut: Int32Array, weight: Float32Array): Float32Array {
    const { params, out, d } = this.at;
    const f = new Float32Array(this.memory.buffer, params, 16 * this.n);
    const ints = new Int32Array(this.memory.buffer, params, 16 * this.n);
    for (let i = 0; i < this.n; i++) {
      f.fill(threshold[i], 16 * i, 16 * i + 4);
      f.fill(thresholdUp[i], 16 * i + 4, 16 * i + 8);
      ints.fill(cut[i], 16 * i + 8, 16 * i + 12);
      f.fill(weight[i], 16 * i + 12, 16 * i + 16);
    }
    this.kernels.combine(this.n, p, d, params, out);
    return new Float32Array(this.memory.buffer, out, p);
  }

  /**
   * Starts one module's fused pass (blocks of `fused`, then `finish`), with room for `room` unsure entries per member
   * (each member's list placed as for the largest room so far); its lists and records stay in the kernels' memory until
   * the next module.
   */
  startModule(room: number): void {
    this.capRoom = Math.max(this.capRoom, room);
    const cap = this.capRoom;
    this.module = { cap, limit: room, records: 0, recordsAt: align(this.at.values + 8 * this.n * cap) };
    new Int32Array(this.memory.buffer, this.at.params, 20 * this.n).fill(0);
  }

  /**
   * Both passes in one over a block, where the brackets are expected to hold: the merged plane from the values
   * outside every member's bracket (a view, valid until the next call), while the unsure values and their positions'
   * records accumulate for `finish`. null where a member's list could outgrow its room in this block.
   */
  fused(p: number, base: number, lo: Float32Array, hi: Float32Array, weight: Float32Array): Float32Array | null {
    const state = this.module;
    if (!state) throw new Error('TiesKernels.fused before startModule');
    const { n } = this;
    const { params, d, out, values } = this.at;
    const ints = new Int32Array(this.memory.buffer, params, 20 * n);
    // Against the module's own room, not the place kept for it: whether a module takes one pass must not depend on
    // the modules before it.
    for (let i = 0; i < n; i++) if (ints[20 * i + 16] + p > state.limit) return null;
    this.reserve(state.recordsAt + 24 * (state.records + p));
    const f = new Float32Array(this.memory.buffer, params, 20 * n);
    for (let i = 0; i < n; i++) {
      f.fill(lo[i], 20 * i, 20 * i + 4);
      f.fill(hi[i], 20 * i + 4, 20 * i + 8);
      f.fill(weight[i], 20 * i + 8, 20 * i + 12);
    }
    state.records += this.kernels.fused(n, p, d, params, out, values, state.cap, state.recordsAt + 24 * state.records, base);
    return new Float32Array(this.memory.buffer, out, p);
  }

  /** What the module's fused blocks left: per member the count above its bracket and its unsure entries (views). */
  unsure(): { above: Float64Array; lists: { values: Float32Array; positions: Int32Array }[] } {
    const state = this.module!;
    const ints = new Int32Array(this.memory.buffer, this.at.params, 20 * this.n);
    const list = (i: number, ArrayType: typeof Float32Array | typeof Int32Array, past: number) =>
      new ArrayType(this.memory.buffer, this.at.values + 4 * (2 * state.cap * i + past), ints[20 * i + 16]);
    return {
      above: Float64Array.from({ length: this.n }, (_, i) => ints[20 * i + 12] + ints[20 * i + 13] + ints[20 * i + 14] + ints[20 * i + 15]),
      lists: Array.from({ length: this.n }, (_, i) => ({
        values: list(i, Float32Array, 0) as Float32Array,
        positions: list(i, Int32Array, state.cap) as Int32Array,
      })),
    };
  }

  /**
   * The module's unsure positions finished at the exact thresholds (a magnitude equal to member i's threshold kept
   * before position cut[i]): per position, its flat index in the module (`positions`, every sixth word) and its
   * merged value (`values`, one word after each). Views, valid until the next call.
   */
  finish(threshold: Float32Array, cut: Float64Array, weight: Float32Array): { positions: Int32Array; values: Float32Array; count: number } {
    const state = this.module!;
    const { n } = this;
    const { params, values } = this.at;
    const lengths = this.unsure().lists.map((l) => l.values.length);
    const f = new Float32Array(this.memory.buffer, params, 4 * n);
    const ints = new Int32Array(this.memory.buffer, params, 4 * n);
    for (let i = 0; i < n; i++) {
      f[4 * i] = threshold[i];
      ints[4 * i + 1] = Math.min(cut[i], 0x7fffffff);
      f[4 * i + 2] = weight[i];
      ints[4 * i + 3] = lengths[i];
    }
    this.kernels.finish(n, params, values, state.cap, state.recordsAt, state.records);
    return {
      positions: new Int32Array(this.memory.buffer, state.recordsAt, 6 * state.records),
      values: new Float32Array(this.memory.buffer, state.recordsAt, 6 * state.records),
      count: state.records,
    };
  }

  /** Grows the memory to at least `bytes` (16 MB at a time, so a module's records grow it a few times at most). */
  private reserve(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes <= have) return;
    this.memory.grow(Math.ceil(Math.max(bytes - have, 1 << 24) / PAGE));
  }
}
