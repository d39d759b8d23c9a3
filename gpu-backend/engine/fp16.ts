/**
 * fp16 as a transform of a built graph, so no builder needs to know about it (ENGINE_PRECISION=fp16, WebGPU only):
 * `toFloat16` makes every float32 weight float16 (inline ones here; external ones when written, see
 * external-weights.ts) and every op compute in float16, except the few kept in float32 for range (the RMSNorms,
 * whose x² overflows float16 past |x| = 256; the additive mask, whose -1e30 would be -inf, and the softmax it
 * feeds). Casts go where a value crosses between the two; the graph's inputs and outputs stay float32, so callers
 * feed and read the same tensors as before (the KV cache too: each step casts it, a cost an fp16 cache would save).
 *
 * On onnxruntime's CPU provider the same graph runs too, which is how its drift is measured where there is no GPU
 * (bench/fp16.ts): the provider has float16 kernels for few ops and puts Casts to float32 and back around the others
 * itself, so every tensor between ops holds what it holds in fp16, while the sums inside an op are float32 (a GPU's
 * f16 shader may accumulate in f16, so drift there can be larger; scripts/device-check.sh measures it on a GPU).
 */
import { floatBitsToHalf } from '../../contracts/formats/safetensors.ts';
import { type ElemType, type Graph, type NodeSpec, ONNX_TYPE } from './graph.ts';

/** What stays float32: nodes under these scopes, of these op types, or reading these graph inputs directly. */
export interface KeepFloat32 {
  scopes?: string[];
  ops?: string[];
  inputs?: string[];
}

/** Ops whose float inputs are not read as numbers (Shape) or that convert them anyway (Cast). */
const TYPE_BLIND = new Set(['Shape', 'Cast']);

const isFloat = (t: ElemType | undefined) => t === 'float32' || t === 'float16';

export function toFloat16(g: Graph, keep: KeepFloat32 = {}): void {
  const type = new Map<string, ElemType>(g.inputs.map((v) => [v.name, v.type]));
  for (const init of g.initializers) {
    if (init.type === 'float32') {
      init.type = 'float16';
      if (init.data) init.data = halfBits(init.data as Float32Array);
    }
    type.set(init.name, init.type);
  }
  const keptInputs = new Set(keep.inputs ?? []);
  const kept = (n: NodeSpec) =>
    (keep.ops ?? []).includes(n.opType) ||
    n.inputs.some((i) => keptInputs.has(i)) ||
    (keep.scopes ?? []).some((s) => n.name.includes(`/${s}/`));
  const casts = new Casts(type);
  const nodes: NodeSpec[] = [];
  for (const n of g.nodes) {
    const want: ElemType = kept(n) ? 'float32' : 'float16';
    if (!TYPE_BLIND.has(n.opType))
      n.inputs = n.inputs.map((i) => (isFloat(type.get(i)) && type.get(i) !== want ? casts.to(i, want, nodes) : i));
    if (want === 'float16') {
      if (n.opType === 'Cast' && n.attrs.to === ONNX_TYPE.float32) n.attrs.to = ONNX_TYPE.float16;
      n.outputTypes = n.outputTypes.map((t) => (t === 'float32' ? 'float16' : t));
    }
    nodes.push(n);
    n.outputs.forEach((o, i) => type.set(o, n.outputTypes[i]));
  }
  for (const out of g.outputs) {
    if (type.get(out.name) !== 'float16') continue;
    const inner = `${out.name}.fp16`;
    for (const n of nodes) {
      n.outputs = n.outputs.map((o) => (o === out.name ? inner : o));
      n.inputs = n.inputs.map((i) => (i === out.name ? inner : i));
    }
    nodes.push(castNode(inner, out.name, 'float32'));
  }
  g.nodes.splice(0, g.nodes.length, ...nodes);
}

/** One Cast per (value, type), emitted before its first use and reused after. */
class Casts {
  private readonly made = new Map<string, string>();
  constructor(private readonly type: Map<string, ElemType>) {}

  to(name: string, to: ElemType, nodes: NodeSpec[]): string {
    const key = `${name}\u0000${to}`;
    let out = this.made.get(key);
    if (!out) {
      out = `${name}.${to}`;
      nodes.push(castNode(name, out, to));
      this.type.set(out, to);
      this.made.set(key, out);
    }
    return out;
  }
}

function castNode(input: string, output: string, to: ElemType): NodeSpec {
  return {
    opType: 'Cast',
    name: `/fp16/${output}/Cast`,
    inputs: [input],
    outputs: [output],
    outputTypes: [to],
    attrs: { to: ONNX_TYPE[to] },
    domain: '',
  };
}

/** float32 values as float16 bit patterns (round to nearest even), as ONNX stores float16 tensors. */
export function halfBits(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = floatBitsToHalf(bits[i]);
  return out;
}
