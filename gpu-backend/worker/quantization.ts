/**
 * A quantization job: the base model's projections and LM head quantized once to int4/int8 MatMulNBits weights
 * (engine/packed-weights.ts), published as a quantized_base artifact that `<base>@int<bits>` then loads as is.
 * The checkpoint is read and quantized one matrix at a time through a file in the model cache.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PACKED_WEIGHTS_FILE } from '../../contracts/formats/job-artifacts.ts';
import { writePackedWeights } from '../engine/packed-weights.ts';
import { openModelFolder } from '../formats/files.ts';
import type { QuantGroupSize } from '../lowrank/quantize-matrix.ts';
import { type FolderCache, MODEL_FILES } from '../storage/folder-cache.ts';
import type { Built } from './artifact-job.ts';
import type { QuantizationSpec } from './edge-client.ts';

export async function quantizedBase(spec: QuantizationSpec, folders: FolderCache): Promise<Built> {
  const dir = await folders.fetch(spec.base_model.storage_prefix, MODEL_FILES);
  const base = await openModelFolder(dir);
  const scratch = await mkdtemp(join(dir, 'quantize-'));
  try {
    const path = join(scratch, PACKED_WEIGHTS_FILE);
    const q = { bits: spec.bits as 4 | 8, groupSize: spec.group_size as QuantGroupSize };
    await writePackedWeights(base.config, base.weights, q, path);
    const bytes = await readFile(path);
    return {
      layout: 'quantized_base',
      files: [[PACKED_WEIGHTS_FILE, bytes]],
      result: { bits: spec.bits, group_size: spec.group_size, packed_bytes: bytes.byteLength },
      summary: `int${spec.bits}, groups of ${spec.group_size}, ${bytes.byteLength} bytes`,
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
