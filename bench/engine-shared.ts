/**
 * The engine benchmark's shared-basis and first-token sections:
 *  - the 32 distinct adapters of the decode section through one shared basis of k = 16 per module (a joint
 *    compression of those adapters, lowrank/joint.ts; with --quick a random basis of the same shape, since the fit
 *    takes ~80 s here and decode speed does not depend on the values), one task per row;
 *  - time to the first token, in process through the Scheduler (no HTTP, no object store: the basis and the
 *    adapter files are already local), of a task of an `rmm_shared` merge of 32 tasks (k = 16, random values of the
 *    SmolLM2-135M shape; the basis decoded and cached): as the backend serves it (serve/models.ts `targetRequest`:
 *    through the shared path, no rebuild), and, for comparison, rebuilt as an adapter (revertTask) and served per
 *    row, rebuild included. Also an adapter compressed to rank 8 with int8 factors, read from its folder
 *    (dequantized at load) to its first token.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoraAdapter } from '../contracts/formats/adapter.ts';
import { modulePath, PROJECTIONS, projectionShape, type ModelConfig } from '../contracts/formats/hf-config.ts';
import type { Decoder } from '../gpu-backend/engine/decoder.ts';
import type { GenerationRequest } from '../gpu-backend/engine/generate.ts';
import { sharedBasisOfJoint, sharedBasisOfMerge } from '../gpu-backend/lowrank/shared-basis-form.ts';
import type { SharedBasis } from '../gpu-backend/lowrank/serving-form.ts';
import { readAdapterFolder } from '../gpu-backend/formats/files.ts';
import { compressAdapter } from '../gpu-backend/lowrank/compress.ts';
import { jointCompress } from '../gpu-backend/lowrank/joint.ts';
import { quantizedAdapterFiles } from '../gpu-backend/lowrank/quantize.ts';
import { revertTask, type ReversibleMerge } from '../gpu-backend/lowrank/reversible.ts';
import { Scheduler } from '../gpu-backend/serve/scheduler.ts';
import { randomFloats } from './measure.ts';

export const SHARED_K = 16;

/** The basis the decode section serves its 32 adapters through. */
export async function basisFor(
  adapters: LoraAdapter[],
  cfg: ModelConfig,
  quick: boolean,
): Promise<{ basis: SharedBasis; fitted: boolean; seconds: number }> {
  const t = performance.now();
  if (quick) return { basis: sharedBasisOfMerge(randomSharedMerge(cfg, adapters.length, SHARED_K)), fitted: false, seconds: 0 };
  const members = adapters.map((adapter, i) => ({ name: `task${i}`, baseModel: 'bench', adapter }));
  const basis = sharedBasisOfJoint(await jointCompress(members, { k: SHARED_K }));
  return { basis, fitted: true, seconds: (performance.now() - t) / 1000 };
}

/** An `rmm_shared` merge of `n` tasks on every projection, k per module, random values (a decoded basis as served). */
export function randomSharedMerge(cfg: ModelConfig, n: number, k: number): ReversibleMerge {
  const modules = [];
  const paths: string[] = [];
  let seed = 1;
  for (let layer = 0; layer < cfg.numLayers; layer++)
    for (const projection of PROJECTIONS) {
      const { in: fanIn, out } = projectionShape(cfg, projection);
      const path = modulePath(layer, projection);
      paths.push(path);
      const mat = (rows: number, cols: number, scale: number) => ({
        rows,
        cols,
        data: Float64Array.from(randomFloats(rows * cols, scale, seed++)),
      });
      modules.push({
        layer,
        projection,
        path,
        out,
        in: fanIn,
        parts: { u: mat(out, k, 0.07), v: mat(fanIn, k, 0.07), cores: mat(n, k * k, 0.5) },
      });
    }
  return {
    construction: 'shared',
    baseModel: 'bench',
    basisSize: n / 2,
    tasks: Array.from({ length: n }, (_, i) => ({ name: `task${i}`, paths })),
    modules,
    fullFloats: 0,
  };
}

export interface FirstTokenResult {
  /** A task of a cached `rmm_shared` merge as the backend serves it: through the shared path, no rebuild. */
  revert_first_token_ms: number;
  /** The same kind of task rebuilt as an adapter (revertTask) and served per row, rebuild included. */
  rebuild_first_token_ms: number;
  /** A rank-8 int8 compressed adapter read from its folder, to the first token. */
  compressed_first_token_ms: number;
  revert_rebuild_ms: number;
  /** The base model alone, for scale: what the first token costs without any adapter. */
  base_first_token_ms: number;
}

/** Best of `repeat` first-token times of each kind, each on an idle scheduler, different tasks each time. */
export async function firstTokens(decoder: Decoder, adapter: LoraAdapter, quick: boolean): Promise<FirstTokenResult> {
  const cfg = decoder.cfg;
  const merge = randomSharedMerge(cfg, 32, SHARED_K);
  const basis = sharedBasisOfMerge(merge); // the basis as cached by the server
  const scheduler = new Scheduler(decoder, { maxBatch: 32 });
  const prompt = Array.from({ length: 16 }, (_, j) => (j * 17 + 3) % cfg.vocabSize);
  const firstToken = async (make: () => Promise<Omit<GenerationRequest, 'prompt' | 'maxTokens'>>) => {
    const t = performance.now();
    let first = 0;
    await scheduler.submit({ prompt, maxTokens: 1, ...(await make()), onToken: () => (first ||= performance.now() - t) });
    return first;
  };

  const compressed = compressAdapter(adapter, { rank: 8 }, 'bench').adapter;
  const dir = await mkdtemp(join(tmpdir(), 'rankgate-bench-compressed-'));
  const files = quantizedAdapterFiles(compressed, { bits: 8, groupSize: 32, symmetric: false });
  await writeFile(join(dir, 'adapter_config.json'), files.config);
  await writeFile(join(dir, 'adapter_model.safetensors'), files.weights);

  const result: FirstTokenResult = {
    revert_first_token_ms: Infinity,
    rebuild_first_token_ms: Infinity,
    compressed_first_token_ms: Infinity,
    revert_rebuild_ms: Infinity,
    base_first_token_ms: Infinity,
  };
  await firstToken(async () => ({ adapter: null })); // warm-up
  for (let rep = 0; rep < (quick ? 3 : 6); rep++) {
    const name = `task${rep}`;
    result.rebuild_first_token_ms = Math.min(
      result.rebuild_first_token_ms,
      await firstToken(async () => {
        const t = performance.now();
        const rebuilt = await revertTask(merge, name);
        result.revert_rebuild_ms = Math.min(result.revert_rebuild_ms, performance.now() - t);
        return { adapter: rebuilt };
      }),
    );
    result.revert_first_token_ms = Math.min(
      result.revert_first_token_ms,
      await firstToken(async () => ({ adapter: null, shared: { basis, task: 10 + rep } })),
    );
    result.base_first_token_ms = Math.min(result.base_first_token_ms, await firstToken(async () => ({ adapter: null })));
    result.compressed_first_token_ms = Math.min(
      result.compressed_first_token_ms,
      await firstToken(async () => ({ adapter: await readAdapterFolder(dir, cfg) })),
    );
  }
  return result;
}
