/**
 * Creates one of the engine's sessions on WebGPU with onnxruntime's verbose log on, for placement.ts to read
 * which provider each node was placed on (ORT prints that only to the native stderr, which no JS can read).
 * Usage: node --import tsx tests/webgpu/placement-child.ts <graph kind> (GRAPH_KINDS in placement.ts).
 */
import { PROJECTIONS } from '../../contracts/formats/hf-config.ts';
import { type Tensor, toFloat32 } from '../../contracts/formats/safetensors.ts';
import { loadInferenceSession } from '../../gpu-backend/engine/load.ts';
import { useExecutionProvider } from '../../gpu-backend/engine/providers.ts';
import { createSession, ort } from '../../gpu-backend/engine/runtime.ts';
import { buildHeadGraph, buildLayerGraph } from '../../gpu-backend/engine/train-graphs.ts';
import { mapSource } from '../../gpu-backend/engine/weights.ts';
import { readModelFolder } from '../../gpu-backend/formats/files.ts';

const kind = process.argv[2];
const folder = await readModelFolder(new URL('../fixtures/tiny-llama/base', import.meta.url).pathname);
const cfg = folder.config;
const weights = mapSource(folder.weights);
const lora = Object.fromEntries(PROJECTIONS.map((p) => [p, { rank: 4, scale: 2 }]));
// The inference graphs load as the backend loads them (weights as external data, engine/load.ts).
const builders: Record<string, () => Promise<ort.InferenceSession>> = {
  inference: () => loadInferenceSession(cfg, weights),
  // A bf16 checkpoint (most published ones): its embedding table must not bring a bf16 Gather or Cast to the CPU.
  'inference-bf16': () => loadInferenceSession(cfg, mapSource(bf16Tensors(folder.weights))),
  'inference-int8': () => loadInferenceSession(cfg, weights, { weightQuantization: { bits: 8 } }),
  'inference-int4': () => loadInferenceSession(cfg, weights, { weightQuantization: { bits: 4 } }),
  'train-layer-forward': () => createSession(buildLayerGraph(cfg, { batch: 2, seq: 8, lora, trainWeights: false }, false).toOnnx()),
  'train-layer-backward': () => createSession(buildLayerGraph(cfg, { batch: 2, seq: 8, lora, trainWeights: false }, true).toOnnx()),
  'train-head': () => createSession(buildHeadGraph(cfg, 16, false).toOnnx()),
};
/** The fixture's float32 tensors truncated to bf16, as a bf16 checkpoint stores them. */
function bf16Tensors(tensors: Map<string, Tensor>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, t] of tensors) {
    const bits = new Uint32Array(toFloat32(t).slice().buffer);
    out.set(name, { dtype: 'BF16', shape: t.shape, data: Uint16Array.from(bits, (x) => x >>> 16) });
  }
  return out;
}

const build = builders[kind];
if (!build) throw new Error(`unknown graph kind ${kind}; one of ${Object.keys(builders).join(', ')}`);
await useExecutionProvider('webgpu');
ort.env.logLevel = 'verbose';
await (await build()).release();
