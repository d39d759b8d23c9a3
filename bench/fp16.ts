/**
 * `npm run bench -- fp16 [--quick]`: how far ENGINE_PRECISION=fp16 drifts from fp32, on the shared fixture (tiny-llama,
 * real logits of ±2.5) and on a random SmolLM2-135M-shaped model (weights ~ U(±0.04): small, nearly tied logits, so
 * its greedy agreement is a harsh measure). The same serving graph is loaded twice, fp32 and
 * fp16 (fp16.ts), on the provider in use: on the CPU, onnxruntime runs the fp16 graph with float32 sums inside each
 * op (every tensor between ops rounded to fp16); on a GPU's WebGPU, with its f16 shaders. Reported per model:
 *  - max |Δlogit| and ‖Δ‖/‖logits‖ over every position of the prompts (teacher-forced, no adapter);
 *  - argmax agreement: the share of those positions whose greedy next token is the same;
 *  - greedy agreement: the share of generated tokens equal up to each row's first divergence (free-running).
 * On a GPU it also times decode at batch 1 in both (the ratio; on the CPU the Casts make fp16 slower: no claim).
 * On WebGPU through SwiftShader (no f16 shaders) it measures nothing and says so.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { forwardLogits, loadFixture, maxAbsDiff, relativeL2 } from '../gpu-backend/cli/parity.ts';
import { Decoder } from '../gpu-backend/engine/decoder.ts';
import { generate } from '../gpu-backend/engine/generate.ts';
import { executionProviderInUse, swiftShaderInUse } from '../gpu-backend/engine/providers.ts';
import { readModelFolder, type ModelFolder } from '../gpu-backend/formats/files.ts';
import { randomModel, SMOLLM2_135M } from './models.ts';
import { table, timeIt } from './measure.ts';

interface Drift {
  /** The fp32 logits' scale, against which the drift reads. */
  max_abs_logit: number;
  max_abs_dlogit: number;
  rel_l2: number;
  argmax_agreement: number;
  greedy_agreement: number;
  decode_b1_fp16_vs_fp32?: number;
}

function argmaxAgreement(a: Float32Array, b: Float32Array, vocab: number): number {
  let same = 0;
  const n = a.length / vocab;
  for (let p = 0; p < n; p++) {
    let ia = 0;
    let ib = 0;
    for (let v = 1; v < vocab; v++) {
      if (a[p * vocab + v] > a[p * vocab + ia]) ia = v;
      if (b[p * vocab + v] > b[p * vocab + ib]) ib = v;
    }
    if (ia === ib) same++;
  }
  return same / n;
}

async function drift(folder: ModelFolder, prompts: number[][], maxTokens: number, timed: boolean): Promise<Drift> {
  const fp32 = await Decoder.fromFolder(folder, { precision: 'fp32' });
  const fp16 = await Decoder.fromFolder(folder, { precision: 'fp16' });
  const none = prompts.map(() => null);
  const [l32, l16] = [await forwardLogits(fp32, prompts, none), await forwardLogits(fp16, prompts, none)];
  const requests = prompts.map((prompt) => ({ prompt, adapter: null, maxTokens, temperature: 0 }));
  const [g32, g16] = [await generate(fp32, requests), await generate(fp16, requests)];
  let agreed = 0;
  let total = 0;
  for (let i = 0; i < prompts.length; i++) {
    const a = g32[i].tokens;
    const b = g16[i].tokens;
    let k = 0;
    while (k < a.length && a[k] === b[k]) k++;
    agreed += k;
    total += a.length;
  }
  const out: Drift = {
    max_abs_logit: l32.reduce((m, x) => Math.max(m, Math.abs(x)), 0),
    max_abs_dlogit: maxAbsDiff(l32, l16),
    rel_l2: relativeL2(l16, l32),
    argmax_agreement: argmaxAgreement(l32, l16, folder.config.vocabSize),
    greedy_agreement: agreed / total,
  };
  if (timed) {
    const one = [{ prompt: prompts[0], adapter: null, maxTokens: 32, temperature: 0 }];
    const t32 = await timeIt(() => generate(fp32, one));
    const t16 = await timeIt(() => generate(fp16, one));
    out.decode_b1_fp16_vs_fp32 = t32 / t16;
  }
  await Promise.all([fp32.release(), fp16.release()]);
  return out;
}

export async function run(quick: boolean): Promise<Record<string, unknown>> {
  // SwiftShader, WebGPU's CPU driver, has no f16 shaders: nothing to measure there (and its fp32 135M run is slow).
  if (swiftShaderInUse()) {
    console.log('WebGPU on SwiftShader has no float16 shaders: run this on a GPU, or on EXECUTION_PROVIDER=cpu for the drift.');
    return { skipped: 'WebGPU on SwiftShader has no float16 shaders' };
  }
  // Speed only where f16 shaders run, on a GPU.
  const timed = executionProviderInUse() === 'webgpu';
  const results: Record<string, Drift | { error: string }> = {};
  const fixtureDir = fileURLToPath(new URL('../tests/fixtures/tiny-llama', import.meta.url));
  const fx = await loadFixture(fixtureDir);
  const random = randomModel(SMOLLM2_135M);
  const prompts135 = Array.from({ length: quick ? 2 : 4 }, (_, r) =>
    Array.from({ length: quick ? 32 : 64 }, (_, i) => (r * 7919 + i * 104729) % random.config.vocabSize),
  );
  const models: [string, () => Promise<Drift>][] = [
    ['tiny-llama fixture', async () => drift(await readModelFolder(join(fixtureDir, 'base')), fx.inputIds, 16, false)],
    ['random SmolLM2-135M', () => drift(random, prompts135, quick ? 16 : 32, timed)],
  ];
  for (const [name, measure] of models) {
    try {
      results[name] = await measure();
    } catch (err) {
      results[name] = { error: (err as Error).message.split('\n')[0] };
    }
  }
  const cell = (r: Drift | { error: string }, k: keyof Drift) => ('error' in r ? r.error.slice(0, 40) : (r[k] ?? '—'));
  console.log(
    table(
      ['model', 'max |logit|', 'max |Δlogit|', '‖Δ‖/‖logits‖', 'argmax agree', 'greedy agree', 'decode b1 fp16/fp32'],
      Object.entries(results).map(([name, r]) => [
        name,
        cell(r, 'max_abs_logit'),
        cell(r, 'max_abs_dlogit'),
        cell(r, 'rel_l2'),
        cell(r, 'argmax_agreement'),
        cell(r, 'greedy_agreement'),
        cell(r, 'decode_b1_fp16_vs_fp32'),
      ]),
    ),
  );
  const [fixture, smol] = Object.values(results);
  return { fixture, smollm2_135m_random: smol, fp16_timed: timed };
}
