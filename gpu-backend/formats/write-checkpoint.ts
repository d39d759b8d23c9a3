/**
 * Writes a checkpoint folder as Hugging Face does: `model.safetensors`, or shards
 * `model-0000i-of-0000n.safetensors` plus `model.safetensors.index.json`. Each tensor's values are asked for
 * when its turn to be written comes, so a caller generating or converting weights holds one tensor at a time.
 * `values` returning null leaves the tensor's bytes unwritten (a sparse file reads them as zeros).
 */
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAt } from './checkpoint.ts';
import { type DType, DTYPE_BYTES, numel, safetensorsHeader, type TensorData } from '../../contracts/formats/safetensors.ts';

export interface TensorPlan {
  name: string;
  dtype: DType;
  shape: number[];
}

export async function writeCheckpoint(
  dir: string,
  tensors: TensorPlan[],
  values: TensorValues,
  opts: { shards?: number } = {},
): Promise<void> {
  const shards = splitEvenly(tensors, opts.shards ?? 1);
  const name = (i: number) => (shards.length === 1 ? 'model.safetensors' : `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`);
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  for (const [i, shard] of shards.entries()) {
    totalSize += await writeSafetensorsFile(join(dir, name(i)), shard, values);
    for (const t of shard) weightMap[t.name] = name(i);
  }
  if (shards.length > 1)
    await writeFile(
      join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2),
    );
}

export type TensorValues = (t: TensorPlan) => TensorData | null | Promise<TensorData | null>;

/** One safetensors file of `tensors` in this order, each asked for in turn; returns the data section's bytes. */
export async function writeSafetensorsFile(
  path: string,
  tensors: TensorPlan[],
  values: TensorValues,
  metadata?: Record<string, string>,
): Promise<number> {
  const { header, bytes } = safetensorsHeader(
    tensors.map((t) => [t.name, t]),
    metadata,
  );
  const fh = await open(path, 'w');
  try {
    await writeAt(fh, header, 0);
    let at = header.byteLength;
    for (const t of tensors) {
      const data = await values(t);
      if (data) await writeAt(fh, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
      at += numel(t.shape) * DTYPE_BYTES[t.dtype];
    }
    await fh.truncate(header.byteLength + bytes);
  } finally {
    await fh.close();
  }
  return bytes;
}

const pad = (n: number) => String(n).padStart(5, '0');

/** Consecutive groups of about equal bytes. */
function splitEvenly(tensors: TensorPlan[], n: number): TensorPlan[][] {
  const size = (t: TensorPlan) => numel(t.shape) * DTYPE_BYTES[t.dtype];
  const total = tensors.reduce((s, t) => s + size(t), 0);
  const out: TensorPlan[][] = [[]];
  let acc = 0;
  for (const t of tensors) {
    if (out.length < n && acc >= (total * out.length) / n && out[out.length - 1].length > 0) out.push([]);
    out[out.length - 1].push(t);
    acc += size(t);
  }
  return out;
}
