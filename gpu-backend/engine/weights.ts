/**
 * The base model's weights as float32, checked against the shapes its config implies, so that a checkpoint
 * that does not match its config.json fails at load with the tensor's name rather than deep inside onnxruntime.
 */
import { invalid } from '../../contracts/formats/errors.ts';
import { PROJECTIONS, projectionShape, type ModelConfig } from '../../contracts/formats/hf-config.ts';
import { toFloat32, type Tensor } from '../../contracts/formats/safetensors.ts';
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

/** Converts and checks every weight the decoder needs; extra tensors (e.g. rotary caches) are ignored. */
export function float32Weights(cfg: ModelConfig, tensors: Map<string, Tensor>): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, shape] of expectedWeightShapes(cfg)) {
    const t = tensors.get(name);
    if (!t) invalid('checkpoint_missing_tensor', `the checkpoint has no "${name}", which its config.json requires.`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      invalid(
        'checkpoint_shape_mismatch',
        `"${name}" has shape ${JSON.stringify(t.shape)} but config.json implies ${JSON.stringify(shape)}.`,
      );
    }
    out.set(name, toFloat32(t));
  }
  return out;
}
