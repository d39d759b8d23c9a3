/**
 * A PEFT LoRA adapter checked against the base model it claims to fit. The shape check needs only the
 * safetensors header, so the edge runs it on a ranged GET before marking an upload ready; the engine runs the
 * same check plus a scan for NaN/Inf when it loads the weights.
 */
import { invalid } from './errors.ts';
import { projectionShape, type ModelConfig } from './hf-config.ts';
import { parseLoraConfig, peftKey, resolveTargets, type LoraConfig, type LoraTarget } from './peft-config.ts';
import { toFloat32, type DType, type Tensor } from './safetensors.ts';

const FLOAT_DTYPES: DType[] = ['F32', 'F16', 'BF16'];

export interface AdapterModule extends LoraTarget {
  /** lora_A: [rank, in], row-major, as PEFT stores it. */
  a: Float32Array;
  /** lora_B: [out, rank]. */
  b: Float32Array;
  in: number;
  out: number;
}

export interface LoraAdapter {
  config: LoraConfig;
  modules: AdapterModule[];
}

/**
 * Checks tensor names, dtypes and shapes of an adapter against a base model. `tensors` maps each key of
 * adapter_model.safetensors to its dtype and shape. Returns the resolved targets.
 */
export function checkAdapterShapes(
  config: LoraConfig,
  model: ModelConfig,
  tensors: Map<string, { dtype: DType; shape: number[] }>,
): LoraTarget[] {
  const targets = resolveTargets(config, model);
  const expected = new Set<string>();
  for (const t of targets) {
    const { in: fanIn, out } = projectionShape(model, t.projection);
    for (const [which, shape] of [
      ['lora_A', [t.rank, fanIn]],
      ['lora_B', [out, t.rank]],
    ] as const) {
      const key = peftKey(t.path, which);
      expected.add(key);
      const info = tensors.get(key);
      if (!info)
        invalid(
          'adapter_missing_tensor',
          `adapter_model.safetensors has no "${key}", which adapter_config.json's target_modules require.`,
          'adapter_model.safetensors',
        );
      if (!FLOAT_DTYPES.includes(info.dtype))
        invalid('adapter_bad_dtype', `"${key}" is ${info.dtype}; LoRA weights must be F32, F16 or BF16.`, 'adapter_model.safetensors');
      if (info.shape.length !== 2 || info.shape[0] !== shape[0] || info.shape[1] !== shape[1]) {
        invalid(
          'adapter_shape_mismatch',
          `"${key}" has shape ${JSON.stringify(info.shape)} but this base model needs ${JSON.stringify(shape)} (rank ${t.rank}); the adapter was made for another base model or its config does not match its weights.`,
          'adapter_model.safetensors',
        );
      }
    }
  }
  const extra = [...tensors.keys()].filter((k) => !expected.has(k));
  if (extra.length) {
    invalid(
      'adapter_unexpected_tensor',
      `adapter_model.safetensors has tensors no target module explains: ${extra.slice(0, 3).join(', ')}${extra.length > 3 ? ` and ${extra.length - 3} more` : ''}; the adapter was made for another model or the config's target_modules are incomplete.`,
      'adapter_model.safetensors',
    );
  }
  return targets;
}

/** Builds a checked, float32 adapter from its config JSON and decoded weights. */
export function loadLoraAdapter(configJson: unknown, model: ModelConfig, tensors: Map<string, Tensor>): LoraAdapter {
  const config = parseLoraConfig(configJson);
  const targets = checkAdapterShapes(config, model, tensors);
  const modules = targets.map((t) => {
    const { in: fanIn, out } = projectionShape(model, t.projection);
    const a = toFloat32(tensors.get(peftKey(t.path, 'lora_A'))!);
    const b = toFloat32(tensors.get(peftKey(t.path, 'lora_B'))!);
    for (const [which, data] of [
      ['lora_A', a],
      ['lora_B', b],
    ] as const) {
      const bad = firstNonFinite(data);
      if (bad >= 0)
        invalid(
          'adapter_not_finite',
          `"${peftKey(t.path, which)}" holds ${data[bad]} at index ${bad}; adapter weights must be finite (the adapter diverged in training or the file is corrupted).`,
          'adapter_model.safetensors',
        );
    }
    return { ...t, a, b, in: fanIn, out };
  });
  return { config, modules };
}

/**
 * Index of the first NaN or ±Inf, or -1. Eight values a test: v·0 is ±0 for a finite v and NaN for NaN or ±Inf, so
 * their sum is 0 unless one of the eight is not finite (half the CPU of one compare a value; findIndex with a
 * closure took ~0.45 s over 8 adapters of 135M shape).
 */
export function firstNonFinite(data: Float32Array): number {
  const n = data.length;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const zero =
      data[i] * 0 +
      data[i + 1] * 0 +
      data[i + 2] * 0 +
      data[i + 3] * 0 +
      data[i + 4] * 0 +
      data[i + 5] * 0 +
      data[i + 6] * 0 +
      data[i + 7] * 0;
    if (zero !== 0) break;
  }
  for (; i < n; i++) if (data[i] * 0 !== 0) return i;
  return -1;
}
