/**
 * The base model's weights as float32, checked against the shapes its config implies, so that a checkpoint
 * that does not match its config.json fails at load with the tensor's name rather than deep inside onnxruntime.
 */
import { invalid } from '../../contracts/formats/errors.ts';
import { PROJECTIONS, projectionShape, type ModelConfig } from '../../contracts/formats/hf-config.ts';
import { toFloat32, type Tensor } from '../../contracts/formats/safetensors.ts';
import type { TensorSource } from '../formats/checkpoint.ts';
import { hasBias, weightName } from './llama.ts';

export function expectedWeightShapes(cfg: ModelConfig): Map<string, number[]> {
  const shapes = new Map<string, number[]>([
    [weightName.embed, [cfg.vocabSize, cfg.hiddenSize]],
    [weightName.norm, [cfg.hiddenSize]],
  ]);
  if (!cfg.tieWordEmbeddings) shapes.set(weightName.lmHead, [cfg.vocabSize, cfg.hiddenSize]);
  for (let l = 0; l < cfg.numLayers; l++) {
    shapes.set(weightName.inputNorm(l), [cfg.hiddenSize]);
    shapes.set(weightName.postNorm(l), [cfg.hiddenSize]);
    for (const p of PROJECTIONS) {
      const { in: fanIn, out } = projectionShape(cfg, p);
      shapes.set(weightName.proj(l, p), [out, fanIn]);
      if (hasBias(cfg, p)) shapes.set(weightName.bias(l, p), [out]);
    }
  }
  return shapes;
}

/**
 * Checks that the checkpoint holds every weight the decoder needs, with the shape config.json implies, from the
 * headers alone (nothing is read): a mismatched checkpoint fails before anything is loaded. `storedElsewhere`: the
 * weights the checkpoint need not hold (a quantized base's projections, served from its stored packed weights).
 */
export function checkWeightShapes(
  cfg: ModelConfig,
  source: Pick<TensorSource, 'describe'>,
  storedElsewhere?: (name: string) => boolean,
): void {
  for (const [name, shape] of expectedWeightShapes(cfg)) {
    if (storedElsewhere?.(name)) continue;
    const t = source.describe(name);
    if (!t) invalid('checkpoint_missing_tensor', `the checkpoint has no "${name}", which its config.json requires.`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      invalid(
        'checkpoint_shape_mismatch',
        `"${name}" has shape ${JSON.stringify(t.shape)} but config.json implies ${JSON.stringify(shape)}.`,
      );
    }
  }
}

/** An in-memory map of tensors as a source. */
export function mapSource(tensors: Map<string, Tensor>): TensorSource {
  return {
    describe: (name) => tensors.get(name),
    read: async (name) => tensors.get(name) ?? invalid('checkpoint_missing_tensor', `the checkpoint has no "${name}".`),
  };
}

/** Converts and checks every weight the decoder needs (training holds them all); extra tensors are ignored. */
export function float32Weights(cfg: ModelConfig, tensors: Map<string, Tensor>): Map<string, Float32Array> {
  checkWeightShapes(cfg, mapSource(tensors));
  const out = new Map<string, Float32Array>();
  for (const name of expectedWeightShapes(cfg).keys()) out.set(name, toFloat32(tensors.get(name)!));
  return out;
}
