/**
 * Trainable LoRA tensors, keyed by their PEFT names, and the conversions to and from the adapter files users
 * keep: initialisation as PEFT does it (A Kaiming-uniform, B zero), and export as a PEFT folder's two files.
 */
import type { LoraAdapter } from '../../contracts/formats/adapter.ts';
import { projectionShape, type ModelConfig } from '../../contracts/formats/hf-config.ts';
import { loraConfigJson, peftKey, type LoraTarget } from '../../contracts/formats/peft-config.ts';
import { encodeSafetensors, type Tensor } from '../../contracts/formats/safetensors.ts';
import { rng } from '../engine/sampling.ts';

export type LoraParams = Map<string, Float32Array>;

/** Copies an adapter's tensors into trainable parameters. */
export function paramsFromAdapter(adapter: LoraAdapter): LoraParams {
  const params: LoraParams = new Map();
  for (const m of adapter.modules) {
    params.set(peftKey(m.path, 'lora_A'), Float32Array.from(m.a));
    params.set(peftKey(m.path, 'lora_B'), Float32Array.from(m.b));
  }
  return params;
}

/**
 * PEFT's default init: lora_A ~ kaiming_uniform(a=√5), i.e. U(±1/√fan_in); lora_B = 0, so training starts
 * from the base model exactly. Seeded, so a run is repeatable.
 */
export function initLoraParams(cfg: ModelConfig, targets: LoraTarget[], seed: number): LoraParams {
  const random = rng(seed);
  const params: LoraParams = new Map();
  for (const t of targets) {
    const { in: fanIn, out } = projectionShape(cfg, t.projection);
    const bound = 1 / Math.sqrt(fanIn);
    params.set(
      peftKey(t.path, 'lora_A'),
      Float32Array.from({ length: t.rank * fanIn }, () => (2 * random() - 1) * bound),
    );
    params.set(peftKey(t.path, 'lora_B'), new Float32Array(out * t.rank));
  }
  return params;
}

/** adapter_config.json and adapter_model.safetensors bytes, as PEFT's save_pretrained writes them. */
export function peftFiles(
  cfg: ModelConfig,
  targets: LoraTarget[],
  params: LoraParams,
  opts: { r: number; loraAlpha: number; targetModules: string[]; baseModel: string; useRslora?: boolean },
): { config: string; weights: Uint8Array } {
  const tensors: [string, Tensor][] = [];
  for (const t of targets) {
    const { in: fanIn, out } = projectionShape(cfg, t.projection);
    tensors.push([peftKey(t.path, 'lora_A'), { dtype: 'F32', shape: [t.rank, fanIn], data: params.get(peftKey(t.path, 'lora_A'))! }]);
    tensors.push([peftKey(t.path, 'lora_B'), { dtype: 'F32', shape: [out, t.rank], data: params.get(peftKey(t.path, 'lora_B'))! }]);
  }
  const config = loraConfigJson(opts);
  return { config: JSON.stringify(config, null, 2), weights: encodeSafetensors(tensors, { format: 'pt' }) };
}
