/**
 * A base model's quantized weights stored once and loaded as they are (engine/packed-weights.ts): the stored
 * file serves exactly the logits of quantizing at load, and a missing, corrupt or mismatched file is a clear error.
 */
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { InvalidInputError } from '../../contracts/formats/errors.ts';
import { decodeSafetensors, encodeSafetensors } from '../../contracts/formats/safetensors.ts';
import { forwardLogits, loadFixture, maxAbsDiff, type Fixture } from '../../gpu-backend/cli/parity.ts';
import { Decoder } from '../../gpu-backend/engine/decoder.ts';
import { openPackedWeights, writePackedWeights } from '../../gpu-backend/engine/packed-weights.ts';
import { openModelFolder, type CheckpointFolder } from '../../gpu-backend/formats/files.ts';
import { FIXTURE } from './helpers.ts';

let fx: Fixture;
let base: CheckpointFolder;
let dir: string;

beforeAll(async () => {
  fx = await loadFixture(FIXTURE);
  base = await openModelFolder(join(FIXTURE, 'base'));
  dir = await mkdtemp(join(tmpdir(), 'rankgate-packed-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const logits = (d: Decoder) =>
  forwardLogits(
    d,
    fx.inputIds,
    fx.inputIds.map(() => fx.adapters.get('task_a')!),
  );

describe('packed (quantized) base weights', () => {
  test.each([4, 8] as const)('int%d from the stored file equals quantizing at load, logit for logit', async (bits) => {
    const path = join(dir, `int${bits}.safetensors`);
    await writePackedWeights(base.config, base.weights, { bits }, path);
    const stored = await Decoder.fromFolder(base, await openPackedWeights(path));
    const atLoad = await Decoder.fromFolder(base, { weightQuantization: { bits } });
    expect(stored.weightQuantization).toEqual(atLoad.weightQuantization);
    expect(maxAbsDiff(await logits(stored), await logits(atLoad))).toBe(0);
    await Promise.all([stored.release(), atLoad.release()]);
  });

  test('a truncated, a foreign or a mismatched file is a clear error naming what to do', async () => {
    const good = join(dir, 'int4.safetensors');
    const cut = join(dir, 'cut.safetensors');
    await writeFile(cut, await readFile(good));
    await truncate(cut, 1000);
    const err = await openPackedWeights(cut).catch((e) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err.code).toBe('quantized_weights_corrupt');
    expect(err.message).toMatch(/run the quantization job again/);

    const { tensors, metadata } = decodeSafetensors(await readFile(good));
    const foreign = join(dir, 'foreign.safetensors');
    await writeFile(foreign, encodeSafetensors(tensors));
    expect((await openPackedWeights(foreign).catch((e) => e)).code).toBe('quantized_weights_corrupt');

    // Stored for another model (one tensor missing): refused when the session is built, before anything is served.
    const partial = join(dir, 'partial.safetensors');
    await writeFile(partial, encodeSafetensors([...tensors].slice(1), metadata));
    const missing = await Decoder.fromFolder(base, await openPackedWeights(partial)).catch((e) => e);
    expect(missing).toBeInstanceOf(InvalidInputError);
    expect(missing.code).toBe('quantized_weights_incomplete');

    // Claims int8 but holds int4 codes: the shapes disagree.
    const relabelled = join(dir, 'relabelled.safetensors');
    await writeFile(relabelled, encodeSafetensors(tensors, { ...metadata, bits: '8' }));
    const mismatch = await Decoder.fromFolder(base, await openPackedWeights(relabelled)).catch((e) => e);
    expect(mismatch.code).toBe('quantized_weights_mismatch');
  });
});
