/**
 * The boundary between the low-rank algebra and the adapters users keep: a module's delta as float64 factors
 * (ΔW = b·a, the LoRA scale folded into b), and the way back to an ordinary PEFT adapter, with `rank_pattern`
 * and `alpha_pattern` where ranks differ. Every artifact the algebra hands out goes through here, so every
 * one of them loads in PEFT as it is.
 */
import type { AdapterModule, LoraAdapter } from '../../contracts/formats/adapter.ts';
import type { Projection } from '../../contracts/formats/hf-config.ts';
import { loraConfigJson, parseLoraConfig, peftKey } from '../../contracts/formats/peft-config.ts';
import { encodeSafetensors, type Tensor } from '../../contracts/formats/safetensors.ts';
import { fromArray, type Mat } from './linalg.ts';

/** One module's delta ΔW = b·a: b is out×rank (scale included), a is rank×in. */
export interface DeltaFactors {
  layer: number;
  projection: Projection;
  path: string;
  b: Mat;
  a: Mat;
}

export function deltaFactors(m: AdapterModule): DeltaFactors {
  const b = fromArray(m.out, m.rank, m.b);
  for (let i = 0; i < b.data.length; i++) b.data[i] *= m.scale;
  return { layer: m.layer, projection: m.projection, path: m.path, b, a: fromArray(m.rank, m.in, m.a) };
}

/**
 * An adapter from per-module factors. The scale is already in b, so every module gets alpha = rank (scale 1);
 * the most common rank becomes `r` and the others go to `rank_pattern`/`alpha_pattern` keyed by full module path.
 */
export function adapterFromFactors(modules: DeltaFactors[], baseModel: string): LoraAdapter {
  if (modules.length === 0) throw new Error('adapterFromFactors: no modules');
  const counts = new Map<number, number>();
  for (const m of modules) counts.set(m.a.rows, (counts.get(m.a.rows) ?? 0) + 1);
  const r = [...counts.entries()].sort((x, y) => y[1] - x[1] || y[0] - x[0])[0][0];
  const rankPattern: Record<string, number> = {};
  const alphaPattern: Record<string, number> = {};
  for (const m of modules) {
    if (m.a.rows !== r) {
      rankPattern[m.path] = m.a.rows;
      alphaPattern[m.path] = m.a.rows;
    }
  }
  const json = loraConfigJson({ r, loraAlpha: r, ...targetsOf(modules), baseModel, rankPattern, alphaPattern });
  const config = parseLoraConfig(json);
  const adapterModules: AdapterModule[] = modules.map((m) => ({
    layer: m.layer,
    projection: m.projection,
    path: m.path,
    rank: m.a.rows,
    scale: 1,
    in: m.a.cols,
    out: m.b.rows,
    a: Float32Array.from(m.a.data),
    b: Float32Array.from(m.b.data),
  }));
  return { config, modules: adapterModules };
}

/**
 * target_modules (and layers_to_transform) that name exactly these modules, on a base whose layer count is not
 * known here: projection names on the layers listed when the modules are every such pair, full module paths
 * otherwise. Bare projection names alone would claim every layer of the model, and a source adapter limited to
 * some layers would come back with tensors missing.
 */
function targetsOf(modules: DeltaFactors[]): { targetModules: string[]; layersToTransform: number[] } | { targetModules: string[] } {
  const projections = [...new Set(modules.map((m) => m.projection))];
  const layers = [...new Set(modules.map((m) => m.layer))].sort((x, y) => x - y);
  const paths = new Set(modules.map((m) => m.path));
  if (modules.length === paths.size && paths.size === projections.length * layers.length) {
    return { targetModules: projections, layersToTransform: layers };
  }
  return { targetModules: [...paths] };
}

/** adapter_config.json and adapter_model.safetensors, as PEFT's save_pretrained writes them. */
export function adapterFiles(adapter: LoraAdapter): { config: string; weights: Uint8Array } {
  const tensors: [string, Tensor][] = [];
  for (const m of adapter.modules) {
    tensors.push([peftKey(m.path, 'lora_A'), { dtype: 'F32', shape: [m.rank, m.in], data: m.a }]);
    tensors.push([peftKey(m.path, 'lora_B'), { dtype: 'F32', shape: [m.out, m.rank], data: m.b }]);
  }
  return { config: JSON.stringify(adapter.config.raw, null, 2), weights: encodeSafetensors(tensors, { format: 'pt' }) };
}

/** Floats of an adapter's factors, Σ rank·(out + in): the unit storage fractions are measured in. */
export function adapterFloats(adapter: LoraAdapter): number {
  return adapter.modules.reduce((n, m) => n + m.rank * (m.out + m.in), 0);
}
