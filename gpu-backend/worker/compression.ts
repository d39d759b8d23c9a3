/**
 * A compression job: the source adapter truncated by SVD (to a rank, an energy fraction or a byte budget) and/or
 * quantized group-wise to int8/int4. The folder written is a plain float32 PEFT adapter (the dequantized factors,
 * which every PEFT reader and the edge's check load) with, when quantized, the int8/int4 factors beside it in
 * MatMulNBits layout (adapter_model.quantized.safetensors, lowrank/quantize-file.ts): the form that saves the bytes.
 */
import { COMPRESSION_GROUP_SIZE } from '../../contracts/api/jobs.ts';
import type { LoraAdapter } from '../../contracts/formats/adapter.ts';
import { ADAPTER_DIR, QUANTIZED_ADAPTER_FILE } from '../../contracts/formats/job-artifacts.ts';
import { encodeSafetensors } from '../../contracts/formats/safetensors.ts';
import { compressAdapter, type CompressSpec } from '../lowrank/compress.ts';
import { deltaDistance } from '../lowrank/delta-distance.ts';
import { zeros } from '../lowrank/linalg.ts';
import { deltaFactors } from '../lowrank/peft-adapter.ts';
import { quantizeAdapter } from '../lowrank/quantize.ts';
import type { Built } from './artifact-job.ts';
import type { CompressionSpec } from './edge-client.ts';
import { peftAdapterFiles } from './merge.ts';

function truncation(spec: CompressionSpec): CompressSpec | null {
  if (spec.rank !== null) return { rank: spec.rank };
  if (spec.energy !== null) return { energy: spec.energy };
  if (spec.budget_bytes !== null) return { budgetBytes: spec.budget_bytes };
  return null;
}

/** Per module and overall, ‖ΔW′ − ΔW‖_F / ‖ΔW‖_F of the result against the source. */
function errors(source: LoraAdapter, result: LoraAdapter) {
  const after = new Map(result.modules.map((m) => [m.path, m]));
  let err = 0;
  let norm = 0;
  const modules = source.modules.map((m) => {
    const r = after.get(m.path);
    const e = deltaDistance(deltaFactors(m), r ? deltaFactors(r) : { b: zeros(m.out, 1), a: zeros(1, m.in) });
    err += e.err;
    norm += e.norm;
    return { path: m.path, from_rank: m.rank, rank: r?.rank ?? 0, relative_error: e.norm > 0 ? Math.sqrt(e.err / e.norm) : 0 };
  });
  return { modules, relative_error: norm > 0 ? Math.sqrt(err / norm) : 0 };
}

/** The compressed `source`: pure, so it runs on a worker thread. */
export function compressionArtifact(spec: CompressionSpec, source: LoraAdapter): Built {
  const cut = truncation(spec);
  const truncated = cut ? compressAdapter(source, cut, spec.base_model.name) : null;
  let adapter = truncated?.adapter ?? source;
  const floatBytes = (a: LoraAdapter) => a.modules.reduce((n, m) => n + (m.a.length + m.b.length) * 4, 0);
  let bytesAfter = floatBytes(adapter);
  const files = [];
  if (spec.bits === 4 || spec.bits === 8) {
    const q = quantizeAdapter(adapter, { bits: spec.bits, groupSize: COMPRESSION_GROUP_SIZE, symmetric: false });
    adapter = q.adapter;
    bytesAfter = q.report.bytesAfter;
    files.push([`${ADAPTER_DIR}${QUANTIZED_ADAPTER_FILE}`, encodeSafetensors(q.tensors, { format: 'pt', ...q.metadata })] as [
      string,
      Uint8Array,
    ]);
  }
  files.push(...peftAdapterFiles(adapter));
  const measured = errors(source, adapter);
  const bytesBefore = floatBytes(source);
  return {
    layout: 'peft_adapter',
    files,
    result: { ...measured, bits: spec.bits, bytes_before: bytesBefore, bytes_after: bytesAfter, storage_ratio: bytesAfter / bytesBefore },
    summary: `${spec.bits} bits, ${bytesBefore} → ${bytesAfter} bytes, error ${measured.relative_error.toExponential(2)}`,
  };
}
