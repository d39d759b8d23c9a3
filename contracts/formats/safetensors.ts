/**
 * The safetensors format (https://github.com/huggingface/safetensors): 8 bytes of little-endian header length N,
 * N bytes of JSON header `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}`, then the data.
 *
 * Written by hand because no npm package both validates headers as strictly as the reference Rust crate and runs
 * in Workers as well as Node: the edge checks uploaded headers with `parseSafetensorsHeader` on a ranged GET,
 * the engine reads whole files with `decodeSafetensors`. This module is pure (no Node APIs) for that reason.
 */
import { invalid } from './errors.ts';

export type DType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

export const DTYPE_BYTES: Record<DType, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};

export type TensorData =
  | Float64Array
  | Float32Array
  | Uint16Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | BigUint64Array
  | Uint32Array
  | Uint8Array;

/** A tensor as stored: F16 and BF16 keep their raw 16-bit patterns (Uint16Array); use `toFloat32` to compute. */
export interface Tensor {
  dtype: DType;
  shape: number[];
  data: TensorData;
}

export interface TensorInfo {
  dtype: DType;
  shape: number[];
  /** Offsets into the data section (after the header), as in the file. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Bytes before the data section: 8 + header length. */
  dataStart: number;
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  /** Total file size implied by the header (dataStart + end of last tensor). */
  fileSize: number;
}

/** Headers larger than this are refused: the reference implementation caps them at 100 MB too. */
export const MAX_HEADER_BYTES = 100_000_000;

/** Reads the 8-byte length prefix; `prefix` must hold at least 8 bytes. Tells how much to fetch for the header. */
export function headerLength(prefix: Uint8Array, fileSize?: number): number {
  if (prefix.byteLength < 8)
    invalid('safetensors_truncated', `safetensors file is ${prefix.byteLength} bytes; it needs at least 8 (the header length).`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES))
    invalid('safetensors_header_too_large', `safetensors header claims ${n} bytes; the limit is ${MAX_HEADER_BYTES}.`);
  const len = Number(n);
  if (fileSize !== undefined && 8 + len > fileSize) {
    invalid(
      'safetensors_truncated',
      `safetensors header length ${len} runs past the end of the ${fileSize}-byte file; the file is truncated or not safetensors.`,
    );
  }
  return len;
}

/**
 * Parses and validates a header. `bytes` holds at least the first 8 + N bytes of the file. When `fileSize` is
 * given, the data section must end exactly at the end of the file, as the reference implementation requires.
 */
export function parseSafetensorsHeader(bytes: Uint8Array, fileSize?: number): SafetensorsHeader {
  const len = headerLength(bytes, fileSize);
  if (bytes.byteLength < 8 + len)
    invalid('safetensors_truncated', `safetensors header needs ${8 + len} bytes but only ${bytes.byteLength} are present.`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes.subarray(8, 8 + len)));
  } catch {
    invalid('safetensors_bad_header', 'safetensors header is not valid UTF-8 JSON; the file is corrupted or not safetensors.');
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    invalid('safetensors_bad_header', 'safetensors header must be a JSON object.');

  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(raw);
      continue;
    }
    tensors.set(name, parseTensorInfo(name, raw));
  }

  // Offsets must tile the data section exactly: sorted by begin, each tensor starts where the last ended.
  const sorted = [...tensors.entries()].sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  let expected = 0;
  for (const [name, info] of sorted) {
    if (info.begin < expected)
      invalid(
        'safetensors_overlap',
        `tensor "${name}" (bytes ${info.begin}..${info.end}) overlaps the tensor before it, which ends at ${expected}.`,
      );
    if (info.begin > expected)
      invalid(
        'safetensors_bad_offsets',
        `tensor "${name}" starts at byte ${info.begin} but the previous tensor ends at ${expected}; safetensors data must be contiguous.`,
      );
    expected = info.end;
  }
  const dataStart = 8 + len;
  if (fileSize !== undefined && dataStart + expected !== fileSize) {
    if (dataStart + expected > fileSize) {
      invalid(
        'safetensors_truncated',
        `safetensors data ends at byte ${dataStart + expected} but the file has ${fileSize} bytes; the file is truncated (offsets out of range).`,
      );
    }
    invalid(
      'safetensors_trailing_bytes',
      `safetensors file has ${fileSize - dataStart - expected} bytes after the last tensor; the header does not describe the whole file.`,
    );
  }
  return { dataStart, tensors, metadata, fileSize: dataStart + expected };
}

function parseMetadata(raw: unknown): Record<string, string> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    invalid('safetensors_bad_header', '"__metadata__" must be an object of strings.');
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof v !== 'string') invalid('safetensors_bad_header', `"__metadata__.${k}" must be a string.`);
  }
  return raw as Record<string, string>;
}

function parseTensorInfo(name: string, raw: unknown): TensorInfo {
  if (raw === null || typeof raw !== 'object') invalid('safetensors_bad_header', `tensor "${name}" must be described by an object.`);
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) {
    invalid(
      'safetensors_bad_dtype',
      `tensor "${name}" has dtype ${JSON.stringify(dtype)}; expected one of ${Object.keys(DTYPE_BYTES).join(', ')}.`,
    );
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    invalid('safetensors_bad_shape', `tensor "${name}" has shape ${JSON.stringify(shape)}; expected a list of non-negative integers.`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
    offsets[1] < offsets[0]
  ) {
    invalid(
      'safetensors_bad_offsets',
      `tensor "${name}" has data_offsets ${JSON.stringify(offsets)}; expected [begin, end] with 0 <= begin <= end.`,
    );
  }
  const numel = (shape as number[]).reduce((a, b) => a * b, 1);
  const bytes = numel * DTYPE_BYTES[dtype as DType];
  if (offsets[1] - offsets[0] !== bytes) {
    invalid(
      'safetensors_size_mismatch',
      `tensor "${name}" is ${dtype} ${JSON.stringify(shape)} (${bytes} bytes) but its data_offsets span ${offsets[1] - offsets[0]} bytes.`,
    );
  }
  return { dtype: dtype as DType, shape: shape as number[], begin: offsets[0], end: offsets[1] };
}

/** Decodes a whole file held in memory into typed arrays (copies, so the result is aligned and independent). */
export function decodeSafetensors(bytes: Uint8Array): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  const header = parseSafetensorsHeader(bytes, bytes.byteLength);
  const tensors = new Map<string, Tensor>();
  for (const [name, info] of header.tensors) {
    tensors.set(name, tensorFromBytes(info, bytes.subarray(header.dataStart + info.begin, header.dataStart + info.end)));
  }
  return { tensors, metadata: header.metadata };
}

/** Builds a tensor from its raw little-endian bytes (copied into a fresh, aligned buffer). */
export function tensorFromBytes(info: { dtype: DType; shape: number[] }, raw: Uint8Array): Tensor {
  const copy = new Uint8Array(raw.byteLength);
  copy.set(raw);
  return tensorOnBuffer(info, copy.buffer);
}

/** A tensor viewing a whole buffer that holds exactly its little-endian bytes (no copy). */
export function tensorOnBuffer(info: { dtype: DType; shape: number[] }, b: ArrayBuffer): Tensor {
  const copy = new Uint8Array(b);
  const data: TensorData = {
    F64: () => new Float64Array(b),
    F32: () => new Float32Array(b),
    F16: () => new Uint16Array(b),
    BF16: () => new Uint16Array(b),
    I64: () => new BigInt64Array(b),
    I32: () => new Int32Array(b),
    I16: () => new Int16Array(b),
    I8: () => new Int8Array(b),
    U64: () => new BigUint64Array(b),
    U32: () => new Uint32Array(b),
    U16: () => new Uint16Array(b),
    U8: () => copy,
    BOOL: () => copy,
  }[info.dtype]();
  return { dtype: info.dtype, shape: [...info.shape], data };
}

/**
 * The header bytes (8-byte length, then JSON padded to 8-byte alignment, as the reference writer does) for
 * tensors laid out in the given order; the data section follows, `bytes` long. Lets a writer stream the data.
 */
export function safetensorsHeader(
  entries: Iterable<[string, { dtype: DType; shape: number[] }]>,
  metadata?: Record<string, string>,
): { header: Uint8Array; bytes: number } {
  // Null prototype: a tensor named "__proto__" must become a key, not a prototype.
  const json: Record<string, unknown> = Object.create(null);
  if (metadata && Object.keys(metadata).length > 0) json.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of entries) {
    const bytes = numel(t.shape) * DTYPE_BYTES[t.dtype];
    json[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let text = JSON.stringify(json);
  text += ' '.repeat((8 - ((8 + text.length) % 8)) % 8);
  const body = new TextEncoder().encode(text);
  const header = new Uint8Array(8 + body.byteLength);
  new DataView(header.buffer).setBigUint64(0, BigInt(body.byteLength), true);
  header.set(body, 8);
  return { header, bytes: offset };
}

/** Serialises tensors (in the given order) with an 8-byte-aligned header, as the reference writer does. */
export function encodeSafetensors(tensors: Iterable<[string, Tensor]>, metadata?: Record<string, string>): Uint8Array {
  const entries = [...tensors];
  for (const [name, t] of entries) {
    const bytes = numel(t.shape) * DTYPE_BYTES[t.dtype];
    if (t.data.byteLength !== bytes)
      invalid(
        'safetensors_size_mismatch',
        `tensor "${name}" is ${t.dtype} ${JSON.stringify(t.shape)} but holds ${t.data.byteLength} bytes, not ${bytes}.`,
      );
  }
  const { header, bytes } = safetensorsHeader(entries, metadata);
  const out = new Uint8Array(header.byteLength + bytes);
  out.set(header);
  let at = header.byteLength;
  for (const [, t] of entries) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/** F32 copy of a floating-point tensor (F16/BF16 widened exactly). */
export function toFloat32(t: Tensor): Float32Array {
  switch (t.dtype) {
    case 'F32':
      return t.data as Float32Array;
    case 'F64':
      return Float32Array.from(t.data as Float64Array);
    case 'BF16': {
      const src = t.data as Uint16Array;
      const out = new Uint32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = src[i] << 16;
      return new Float32Array(out.buffer);
    }
    case 'F16': {
      const src = t.data as Uint16Array;
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = halfToFloat(src[i]);
      return out;
    }
    default:
      return invalid('safetensors_bad_dtype', `expected a floating-point tensor, got ${t.dtype}.`);
  }
}

export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** One float32 and its bits, reused by every `floatToHalf`: two arrays a value made a float16 merge's rounding take ~0.6 µs a value. */
const single = new Float32Array(1);
const singleBits = new Uint32Array(single.buffer);

/** Round-to-nearest-even float32 -> float16 bit pattern. */
export function floatToHalf(value: number): number {
  single[0] = value;
  return floatBitsToHalf(singleBits[0]);
}

/** The same from a float32's bit pattern: bulk conversions read them through a Uint32Array view, allocating nothing. */
export function floatBitsToHalf(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
