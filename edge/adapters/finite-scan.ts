/**
 * Streams through a safetensors file once, checking that every float in the data section is finite, so an
 * adapter whose training diverged (NaN/Inf weights) is rejected at commit instead of poisoning outputs later.
 * Works on chunks of any size: partial elements are carried over to the next chunk.
 */
import { invalid } from '../../contracts/formats/errors.ts';
import { DTYPE_BYTES, type SafetensorsHeader, type DType } from '../../contracts/formats/safetensors.ts';

/** Bit masks of the exponent: all ones means Inf or NaN. */
const EXPONENT_MASK: Partial<Record<DType, number>> = { F32: 0x7f800000, F16: 0x7c00, BF16: 0x7f80 };

interface Span {
  name: string;
  dtype: DType;
  start: number;
  end: number;
}

export class FiniteScanner {
  private readonly spans: Span[];
  private spanIndex = 0;
  private offset = 0;
  private carry = new Uint8Array(0);

  constructor(header: SafetensorsHeader) {
    this.spans = [...header.tensors.entries()]
      .map(([name, t]) => ({ name, dtype: t.dtype, start: header.dataStart + t.begin, end: header.dataStart + t.end }))
      .filter((s) => s.end > s.start)
      .sort((a, b) => a.start - b.start);
  }

  push(chunk: Uint8Array): void {
    const bytes = this.carry.length ? concat(this.carry, chunk) : chunk;
    let at = this.offset - this.carry.length;
    const base = at;
    this.carry = new Uint8Array(0);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    while (at < base + bytes.byteLength && this.spanIndex < this.spans.length) {
      const span = this.spans[this.spanIndex];
      if (at < span.start) {
        at = Math.min(span.start, base + bytes.byteLength);
        continue;
      }
      const size = DTYPE_BYTES[span.dtype];
      const mask = EXPONENT_MASK[span.dtype];
      const stop = Math.min(span.end, base + bytes.byteLength);
      if (mask !== undefined) {
        for (; at + size <= stop; at += size) {
          const bits = size === 4 ? view.getUint32(at - base, true) : view.getUint16(at - base, true);
          if ((bits & mask) >>> 0 === mask) {
            const index = (at - span.start) / size;
            invalid(
              'adapter_not_finite',
              `"${span.name}" holds a NaN or infinite value at element ${index}; adapter weights must be finite (training diverged or the file is corrupted).`,
              'adapter_model.safetensors',
            );
          }
        }
        if (at < stop) {
          // A partial element at the end of this chunk: finish it with the next one.
          this.carry = bytes.slice(at - base);
          this.offset = base + bytes.byteLength;
          return;
        }
      } else {
        at = stop;
      }
      if (at >= span.end) this.spanIndex++;
    }
    this.offset = base + bytes.byteLength;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}
