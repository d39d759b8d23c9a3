/**
 * The serving graph's embedding lookup, done on the host: the graph takes the looked-up rows (`inputs_embeds`)
 * rather than token ids, and the table never enters onnxruntime.
 *
 * Why: gathered in the graph, the table was an initializer mapped from the checkpoint file, and every row a step
 * looked up faulted its pages (and the kernel's read-ahead around them) into the process. A 1,024-token prompt of
 * distinct ids made 100–400 MB of the Llama-3.2-1B table resident: clean file pages, but counted in the process'
 * RSS, which is what a serving memory budget reads. Read here with positioned reads (`pread`), the rows come
 * through the page cache, which the kernel shares and drops as it needs, and the process holds one row's bytes.
 * A table held in memory (a source with no file, as tests build) is looked up in place.
 *
 * The rows are widened from bf16/fp16 exactly as the graph's Cast did, so logits are unchanged.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { invalid } from '../../contracts/formats/errors.ts';
import { type DType, halfToFloat, toFloat32 } from '../../contracts/formats/safetensors.ts';
import type { TensorSource } from '../formats/checkpoint.ts';

const BYTES: Partial<Record<DType, number>> = { F32: 4, BF16: 2, F16: 2 };

type Rows =
  /** The table in a file: its descriptor (kept open, so the file may be deleted or evicted meanwhile), data offset, dtype. */
  | { kind: 'file'; fd: number; at: number; dtype: DType; row: Uint8Array }
  /** The table in memory, as float32. */
  | { kind: 'memory'; table: Float32Array };

export class EmbeddingTable {
  private constructor(
    private readonly rows: Rows,
    readonly vocab: number,
    readonly width: number,
  ) {}

  /** The table `name` [vocab, width] of `source`: read from its file where it has one, else held as float32. */
  static async open(source: TensorSource, name: string, [vocab, width]: [number, number]): Promise<EmbeddingTable> {
    const entry = source.describe(name);
    if (!entry) return invalid('checkpoint_missing_tensor', `the checkpoint has no "${name}".`);
    const bytes = BYTES[entry.dtype];
    const place = source.locate?.(name);
    if (place && bytes && place.bytes === vocab * width * bytes) {
      const fd = openSync(place.file, 'r');
      return new EmbeddingTable({ kind: 'file', fd, at: place.at, dtype: entry.dtype, row: new Uint8Array(width * bytes) }, vocab, width);
    }
    return new EmbeddingTable({ kind: 'memory', table: toFloat32(await source.read(name)) }, vocab, width);
  }

  /** Rows `ids` as float32, [ids.length, width]. Ids are checked against the vocabulary by the caller (generate.ts). */
  lookup(ids: ArrayLike<number>): Float32Array {
    const { width } = this;
    const out = new Float32Array(ids.length * width);
    const src = this.rows;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!(id >= 0 && id < this.vocab)) throw new Error(`token id ${id} is outside the embedding table's ${this.vocab} rows`);
      if (src.kind === 'memory') {
        out.set(src.table.subarray(id * width, (id + 1) * width), i * width);
        continue;
      }
      const n = src.row.byteLength;
      // Synchronous: one small read per row from the page cache, far cheaper than an await per row.
      if (readSync(src.fd, src.row, 0, n, src.at + id * n) !== n) throw new Error(`short read of embedding row ${id}`);
      widen(src.row, src.dtype, out, i * width, width);
    }
    return out;
  }

  close(): void {
    if (this.rows.kind === 'file') closeSync(this.rows.fd);
  }
}

/** Little-endian row bytes of `dtype` into `out` at `at`, as float32 (bf16 and fp16 exactly). */
function widen(bytes: Uint8Array, dtype: DType, out: Float32Array, at: number, width: number): void {
  if (dtype === 'F32') {
    out.set(new Float32Array(bytes.buffer, bytes.byteOffset, width), at);
    return;
  }
  const half = new Uint16Array(bytes.buffer, bytes.byteOffset, width);
  if (dtype === 'BF16') {
    const bits = new Uint32Array(out.buffer, out.byteOffset + at * 4, width);
    for (let j = 0; j < width; j++) bits[j] = half[j] << 16;
  } else for (let j = 0; j < width; j++) out[at + j] = halfToFloat(half[j]);
}
