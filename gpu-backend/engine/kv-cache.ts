/**
 * A static KV cache: per layer, keys and values [rows, kv_heads, capacity, head_dim], preallocated. Each decode
 * step reads it in place (the graph never concatenates it) and the host writes only the new rows. Rows are kept
 * dense (finished rows are swap-removed) so a batch of n rows is always the prefix [0, n).
 * Every step reads all `capacity` positions of its rows, so the capacity follows what the rows hold (`fit`), in
 * steps of `growth` positions: it grows as they lengthen and shrinks once rows that held many positions leave.
 * A capacity kept at the largest request ever served made every later step read (and mask) that many positions.
 * The buffers hold only the rows in use (`allocated`, a power of two up to `rows`), not every row the batch may
 * hold: a buffer of all 64 rows at 64 positions is 256 MB at the Llama-3.2-1B shape, and the allocator zero-fills
 * buffers of this size from reused heap memory, so all of it was resident for a batch of one (engine/README.md).
 */
import type { ModelConfig } from '../../contracts/formats/hf-config.ts';
import { f32, type ort } from './runtime.ts';

export class KvCache {
  keys: Float32Array[] = [];
  values: Float32Array[] = [];
  readonly lengths: Int32Array;
  private cap = 0;
  /** Rows the buffers hold: [0, allocated) of the `rows` the cache may be asked for. */
  private allocated = 0;

  constructor(
    private readonly cfg: ModelConfig,
    readonly rows: number,
    private readonly growth = 64,
  ) {
    this.lengths = new Int32Array(rows);
  }

  get capacity(): number {
    return this.cap;
  }

  private get rowStride(): number {
    return this.cfg.numKvHeads * this.cap * this.cfg.headDim;
  }

  /**
   * Sets the capacity to `positions` rounded up to `growth`, copying the rows' cached positions into the new layout:
   * at once when it must grow; when it may shrink, only once the rounded size is at most half the capacity, so
   * rows that leave one by one do not each cost a copy. 0 positions frees the buffers. The rows held shrink the same
   * way, to the rows that hold positions; `write` and `tensors` grow them to the rows they are asked for.
   */
  fit(positions: number): void {
    const next = Math.ceil(positions / this.growth) * this.growth;
    for (let r = 0; r < this.rows; r++)
      if (this.lengths[r] > next) throw new Error(`KV cache row ${r} holds ${this.lengths[r]} positions, more than ${next}`);
    const used = this.lengths.reduce((n, len, r) => (len > 0 ? r + 1 : n), 0);
    const rows = shrunk(this.allocated, used);
    const keepCap = next === this.cap || (next < this.cap && next > 0 && next * 2 > this.cap);
    if (keepCap && rows === this.allocated) return;
    this.resize(rows, keepCap ? this.cap : next);
  }

  /** The buffers at `rows` rows and `cap` positions, with every row's cached positions copied over. */
  private resize(rows: number, cap: number): void {
    const { numKvHeads: kvH, headDim: hd } = this.cfg;
    const copied = Math.min(rows, this.allocated);
    const resize = (old: Float32Array | undefined) => {
      const fresh = new Float32Array(rows * kvH * cap * hd);
      if (old && this.cap > 0) {
        for (let r = 0; r < copied; r++) {
          for (let h = 0; h < kvH; h++) {
            const src = (r * kvH + h) * this.cap * hd;
            fresh.set(old.subarray(src, src + this.lengths[r] * hd), (r * kvH + h) * cap * hd);
          }
        }
      }
      return fresh;
    };
    const empty = cap === 0;
    this.keys = empty ? [] : Array.from({ length: this.cfg.numLayers }, (_, l) => resize(this.keys[l]));
    this.values = empty ? [] : Array.from({ length: this.cfg.numLayers }, (_, l) => resize(this.values[l]));
    this.cap = cap;
    this.allocated = empty ? 0 : rows;
    this.cached = null;
  }

  /** Makes the buffers hold rows [0, end) (at the current capacity): a power of two, so admissions rarely copy. */
  private holdRows(end: number): void {
    if (end > this.rows) throw new Error(`KV cache row ${end - 1} is past its ${this.rows} rows`);
    if (end > this.allocated && this.cap > 0) this.resize(Math.min(this.rows, 2 ** Math.ceil(Math.log2(end))), this.cap);
  }

  /**
   * Appends `count` positions of row `srcRow` from a step's present tensor [batch, kv_heads, seq, head_dim]
   * (positions `from`..`from+count` of that step) to cache row `row`. Call `advance` once all layers are written.
   */
  write(
    layer: number,
    row: number,
    present: { key: Float32Array; value: Float32Array },
    srcRow: number,
    seq: number,
    from: number,
    count: number,
  ): void {
    const { numKvHeads: kvH, headDim: hd } = this.cfg;
    this.holdRows(row + 1);
    const at = this.lengths[row];
    if (at + count > this.cap) throw new Error(`KV cache row ${row} overflows capacity ${this.cap}`);
    for (let h = 0; h < kvH; h++) {
      const src = ((srcRow * kvH + h) * seq + from) * hd;
      const dst = ((row * kvH + h) * this.cap + at) * hd;
      this.keys[layer].set(present.key.subarray(src, src + count * hd), dst);
      this.values[layer].set(present.value.subarray(src, src + count * hd), dst);
    }
  }

  advance(row: number, count: number): void {
    this.lengths[row] += count;
  }

  /** Moves row `from` into slot `to` (swap-remove of a finished row). */
  move(from: number, to: number): void {
    if (from !== to && from < this.allocated) {
      const n = this.rowStride;
      for (const buf of [...this.keys, ...this.values]) buf.copyWithin(to * n, from * n, from * n + n);
      this.lengths[to] = this.lengths[from];
    }
    this.lengths[from] = 0;
  }

  clear(row: number): void {
    this.lengths[row] = 0;
  }

  private cached: { n: number; from: number; cap: number; tensors: [string, ort.Tensor][] } | null = null;

  /**
   * Feed tensors over rows [from, from + n) of every layer's cache, by graph input name: views of the cache
   * buffers (rows are contiguous), so the same objects serve every step until the rows or the capacity change.
   */
  tensors(n: number, names: { key: (l: number) => string; value: (l: number) => string }, from = 0): [string, ort.Tensor][] {
    this.holdRows(from + n);
    const c = this.cached;
    if (c && c.n === n && c.from === from && c.cap === this.cap) return c.tensors;
    const { numKvHeads: kvH, headDim: hd } = this.cfg;
    const [begin, end] = [from * this.rowStride, (from + n) * this.rowStride];
    const tensors: [string, ort.Tensor][] = [];
    for (let l = 0; l < this.cfg.numLayers; l++) {
      tensors.push([names.key(l), f32(this.keys[l].subarray(begin, end), [n, kvH, this.cap, hd])]);
      tensors.push([names.value(l), f32(this.values[l].subarray(begin, end), [n, kvH, this.cap, hd])]);
    }
    this.cached = { n, from, cap: this.cap, tensors };
    return tensors;
  }
}

/** Rows to keep for `used` rows in use: as held until at most half of them are used (as the capacity shrinks). */
function shrunk(allocated: number, used: number): number {
  if (used === 0) return 0;
  const fitting = 2 ** Math.ceil(Math.log2(used));
  return fitting * 2 <= allocated ? fitting : Math.max(allocated, fitting);
}
