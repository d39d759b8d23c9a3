/**
 * Loading checkpoints as users bring them: sharded (`model-0000x-of-0000y.safetensors` plus
 * `model.safetensors.index.json`), stored as bf16, and larger than the 2 GB a protobuf can hold (the weights go
 * to ONNX external data, engine/load.ts).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseModelConfig } from '../../contracts/formats/hf-config.ts';
import { type Tensor, toFloat32 } from '../../contracts/formats/safetensors.ts';
import { forwardLogits, loadFixture, maxAbsDiff, type Fixture } from '../../gpu-backend/cli/parity.ts';
import { Decoder } from '../../gpu-backend/engine/decoder.ts';
import { LoraRows } from '../../gpu-backend/engine/lora-rows.ts';
import { expectedWeightShapes } from '../../gpu-backend/engine/weights.ts';
import { openModelFolder, readModelFolder, type ModelFolder } from '../../gpu-backend/formats/files.ts';
import { writeCheckpoint } from '../../gpu-backend/formats/write-checkpoint.ts';
import { FIXTURE } from './helpers.ts';

let fx: Fixture;
let folder: ModelFolder;
const dirs: string[] = [];
const tempDir = async () => {
  const d = await mkdtemp(join(tmpdir(), 'rankgate-ckpt-'));
  dirs.push(d);
  return d;
};

beforeAll(async () => {
  fx = await loadFixture(FIXTURE);
  folder = await readModelFolder(join(FIXTURE, 'base'));
});
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** The fixture's weights rewritten as `dtype`, in `shards` files. */
async function rewritten(tensors: Map<string, Tensor>, shards: number): Promise<string> {
  const dir = await tempDir();
  await writeFile(join(dir, 'config.json'), JSON.stringify(folder.rawConfig));
  const plans = [...tensors].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape }));
  await writeCheckpoint(dir, plans, (p) => tensors.get(p.name)!.data, { shards });
  return dir;
}

/** bf16 by truncation, as a checkpoint saved in bfloat16 would hold it (rounding does not matter here). */
const toBf16 = (t: Tensor): Tensor => {
  const f = toFloat32(t);
  const bits = new Uint32Array(f.buffer, f.byteOffset, f.length);
  return { dtype: 'BF16', shape: t.shape, data: Uint16Array.from(bits, (b) => b >>> 16) };
};

const baseLogits = (d: Decoder) =>
  forwardLogits(
    d,
    fx.inputIds,
    fx.inputIds.map(() => null),
  );

describe('checkpoints as users bring them', () => {
  test('a float32 checkpoint in three shards with an index gives the fixture reference logits', async () => {
    const dir = await rewritten(folder.weights, 3);
    const decoder = await Decoder.fromFolder(await openModelFolder(dir));
    expect(maxAbsDiff(await baseLogits(decoder), toFloat32(fx.reference.get('logits.base')!))).toBeLessThan(1e-4);
    await decoder.release();
  });

  test('a bf16 checkpoint in two shards loads, widened tensor by tensor, as the same weights held in float32', async () => {
    const bf16 = new Map([...folder.weights].map(([n, t]) => [n, toBf16(t)]));
    const dir = await rewritten(bf16, 2);
    const fromDisk = await Decoder.fromFolder(await openModelFolder(dir));
    const widened = new Map([...bf16].map(([n, t]): [string, Tensor] => [n, { dtype: 'F32', shape: t.shape, data: toFloat32(t) }]));
    const inMemory = await Decoder.fromFolder({ config: folder.config, weights: widened });
    const got = await baseLogits(fromDisk);
    expect(maxAbsDiff(got, await baseLogits(inMemory))).toBe(0);
    // bf16 keeps 8 bits of mantissa: the fixture's logits (within ±2.5) move by at most 0.023 (measured).
    expect(maxAbsDiff(got, toFloat32(fx.reference.get('logits.base')!))).toBeLessThan(0.06);
    await Promise.all([fromDisk.release(), inMemory.release()]);
  });

  test('a bf16 checkpoint served with int4 weights keeps its embedding table as stored, with the same logits', async () => {
    const bf16 = new Map([...folder.weights].map(([n, t]) => [n, toBf16(t)]));
    const dir = await rewritten(bf16, 2);
    const int4 = { weightQuantization: { bits: 4 as const } };
    const fromDisk = await Decoder.fromFolder(await openModelFolder(dir), int4);
    const widened = new Map([...bf16].map(([n, t]): [string, Tensor] => [n, { dtype: 'F32', shape: t.shape, data: toFloat32(t) }]));
    const inMemory = await Decoder.fromFolder({ config: folder.config, weights: widened }, int4);
    expect(maxAbsDiff(await baseLogits(fromDisk), await baseLogits(inMemory))).toBe(0);
    await Promise.all([fromDisk.release(), inMemory.release()]);
  });

  test('a checkpoint larger than 2 GB loads (weights outside the protobuf) and steps', { timeout: 300_000 }, async () => {
    // One layer with a 2 GiB embedding (vocab 262144 × hidden 2048, float32), zero-filled: the shards are sparse.
    const raw = {
      model_type: 'llama',
      vocab_size: 262144,
      hidden_size: 2048,
      intermediate_size: 64,
      num_hidden_layers: 1,
      num_attention_heads: 8,
      num_key_value_heads: 2,
      head_dim: 64,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      tie_word_embeddings: true,
      max_position_embeddings: 64,
    };
    const cfg = parseModelConfig(raw);
    const dir = await tempDir();
    await writeFile(join(dir, 'config.json'), JSON.stringify(raw));
    const plans = [...expectedWeightShapes(cfg)].map(([name, shape]) => ({ name, dtype: 'F32' as const, shape }));
    const bytes = plans.reduce((s, p) => s + 4 * p.shape.reduce((a, b) => a * b, 1), 0);
    expect(bytes).toBeGreaterThan(2 ** 31);
    await writeCheckpoint(dir, plans, (p) => (p.shape.length === 1 ? new Float32Array(p.shape[0]).fill(1) : null), { shards: 2 });
    const decoder = await Decoder.fromFolder(await openModelFolder(dir), { lora: false, scratchDir: dir });
    const out = await decoder.step({
      tokens: [5, 7],
      rows: 1,
      seq: 2,
      newLengths: [2],
      cache: null,
      lora: new LoraRows(cfg, 1),
      logitsAt: [[1]],
    });
    expect(out.logits.length).toBe(cfg.vocabSize);
    expect(out.logits.every((x) => x === 0)).toBe(true);
    await decoder.release();
  });
});
