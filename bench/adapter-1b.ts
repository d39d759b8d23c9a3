/**
 * `npm run bench -- adapter-1b [--quick]`: what one r16 adapter on all seven projections costs a batch-1 decode step
 * of the Llama-3.2-1B-shaped int4 base (`bench scale`'s `adapter_vs_base_b1`, without its edge, backend and 10 GB
 * training step), in one process, on bench/long-prompt.ts's cached checkpoint and packed weights (written by its
 * child process when absent). One served (LoRA) session, as the backend loads it; a base request's batch and an
 * adapter request's batch decode in turn, step by step (A, B, A, B, …), and each step's CPU and wall time is kept:
 * medians and bests, and their ratio. Then, with `ADAPTER_1B_PROFILE=1`, onnxruntime's per-node profile of the same
 * steps (each node's best run, base steps and adapter steps apart), summed by part, so the adapter's extra time shows
 * by node. ADAPTER_1B_THREADS sets onnxruntime's intra-op threads (default: the engine's, all cores).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseModelConfig } from '../contracts/formats/hf-config.ts';
import { Decoder } from '../gpu-backend/engine/decoder.ts';
import { newRow, RunningBatch } from '../gpu-backend/engine/generate.ts';
import { openPackedWeights } from '../gpu-backend/engine/packed-weights.ts';
import type { ort } from '../gpu-backend/engine/runtime.ts';
import { openCheckpoint } from '../gpu-backend/formats/checkpoint.ts';
import { PACKED, preparedCheckpoint } from './long-prompt.ts';
import { median, table, timeSessionRuns } from './measure.ts';
import { randomAdapter } from './models.ts';
import { bestNodeTimes, type ProfileEvent } from './node-profile.ts';
import { LLAMA_1B_CONFIG } from './random-checkpoint.ts';

/** The part of the served graph a node belongs to (the adapter path's nodes by their place in `withUnitLora`). */
function partOf(node: string, op: string): string {
  const lora = /\/lora\/(\w+?)(_\d+)?$/.exec(node);
  // A ·B fed transposed (bench factor-layout's variant, not the engine's) fuses with its Transpose into a FusedMatMul.
  if (/\/lora\//.test(node) && op === 'FusedMatMul') return 'adapter path: ·B';
  if (lora) {
    if (op !== 'MatMul') return `adapter path: ${op}`;
    return lora[2] === undefined ? 'adapter path: x·A' : lora[2] === '_1' ? 'adapter path: ·C' : 'adapter path: ·B';
  }
  if (/lm_head/.test(node)) return 'lm_head';
  return /MatMulNBits/.test(op) ? 'base projections' : 'rest of the step';
}

export async function run(quick: boolean): Promise<Record<string, unknown>> {
  const dir = preparedCheckpoint(false);
  const cfg = parseModelConfig(LLAMA_1B_CONFIG);
  const threads = process.env.ADAPTER_1B_THREADS ? Number(process.env.ADAPTER_1B_THREADS) : undefined;
  const load = async (profileFilePrefix?: string) =>
    Decoder.fromFolder(
      { config: cfg, weights: await openCheckpoint(dir) },
      { ...(await openPackedWeights(join(dir, PACKED))), threads, profileFilePrefix },
    );
  const adapter = randomAdapter(cfg, 16, 1);
  const steps = quick ? 16 : 48;
  const prompt = Array.from({ length: 16 }, (_, j) => (j * 104729 + 7919) % cfg.vocabSize);
  const batches = async (decoder: Decoder) => {
    const out = { base: new RunningBatch(decoder, 8), adapter: new RunningBatch(decoder, 8) };
    await out.base.admit([newRow({ prompt, adapter: null, maxTokens: steps + 4, temperature: 0 }, 0)]);
    await out.adapter.admit([newRow({ prompt, adapter, maxTokens: steps + 4, temperature: 0 }, 0)]);
    return out;
  };

  const decoder = await load();
  // The wall time inside onnxruntime's run, apart from the host's work around it (feeds, cache rows, sampling).
  const session = (decoder as unknown as { session: ort.InferenceSession }).session;
  const runs = timeSessionRuns(session);
  const b = await batches(decoder);
  for (let i = 0; i < 2; i++) for (const batch of [b.base, b.adapter]) await batch.decode();
  const samples = {
    base: { cpu: [] as number[], wall: [] as number[], host: [] as number[] },
    adapter: { cpu: [] as number[], wall: [] as number[], host: [] as number[] },
  };
  for (let s = 0; s < steps; s++)
    for (const kind of ['base', 'adapter'] as const) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      runs.take();
      await b[kind].decode();
      const wall = performance.now() - t0;
      samples[kind].wall.push(wall);
      samples[kind].host.push(wall - runs.take());
      const u = process.cpuUsage(c0);
      samples[kind].cpu.push((u.user + u.system) / 1000);
    }
  runs.restore();
  await decoder.release();
  const stat = (k: 'base' | 'adapter') => ({
    cpu_median_ms: median(samples[k].cpu),
    wall_median_ms: median(samples[k].wall),
    wall_best_ms: Math.min(...samples[k].wall),
    host_median_ms: median(samples[k].host),
  });
  const base = stat('base');
  const withAdapter = stat('adapter');
  console.log(
    table(
      [
        'batch 1',
        'CPU ms/step (median)',
        'wall ms/step (median)',
        'wall ms/step (best)',
        'host ms/step (median)',
        'tokens/s (median wall)',
      ],
      [
        ['base', base.cpu_median_ms, base.wall_median_ms, base.wall_best_ms, base.host_median_ms, 1000 / base.wall_median_ms],
        [
          'one r16 adapter',
          withAdapter.cpu_median_ms,
          withAdapter.wall_median_ms,
          withAdapter.wall_best_ms,
          withAdapter.host_median_ms,
          1000 / withAdapter.wall_median_ms,
        ],
      ],
    ),
  );
  const result: Record<string, unknown> = {
    bench: 'adapter-1b',
    quick,
    threads: threads ?? 'all cores',
    steps,
    base,
    adapter: withAdapter,
    adapter_vs_base_b1_wall: base.wall_median_ms / withAdapter.wall_median_ms,
    adapter_vs_base_b1_wall_best: base.wall_best_ms / withAdapter.wall_best_ms,
    adapter_vs_base_b1_cpu: base.cpu_median_ms / withAdapter.cpu_median_ms,
  };
  console.log(
    `adapter ÷ base at b1: wall median ${(result.adapter_vs_base_b1_wall as number).toFixed(3)}, wall best ${(result.adapter_vs_base_b1_wall_best as number).toFixed(3)}, CPU ${(result.adapter_vs_base_b1_cpu as number).toFixed(3)}`,
  );
  if (process.env.ADAPTER_1B_PROFILE === '1') result.profile_ms = await profile(load, batches, quick ? 8 : 16);
  return result;
}

/** Per-node best kernel ms by part, base steps and adapter steps of one profiled session apart. */
async function profile(
  load: (prefix: string) => Promise<Decoder>,
  batches: (d: Decoder) => Promise<{ base: RunningBatch; adapter: RunningBatch }>,
  steps: number,
): Promise<Record<string, Record<string, number>>> {
  const dir = await mkdtemp(join(tmpdir(), 'rankgate-adapter-1b-'));
  try {
    const d = await load(join(dir, 'profile'));
    const b = await batches(d);
    // Runs so far: the two admissions' prefills; then the base steps, then the adapter steps.
    for (let s = 0; s < steps; s++) await b.base.decode();
    for (let s = 0; s < steps; s++) await b.adapter.decode();
    await d.release();
    const file = (await readdir(dir)).find((f) => f.endsWith('.json'));
    if (!file) throw new Error('onnxruntime wrote no profile');
    const events = JSON.parse(await readFile(join(dir, file), 'utf8')) as ProfileEvent[];
    const runEnds = events.flatMap((e, i) => (e.cat === 'Session' && e.name === 'model_run' ? [i] : []));
    const split = runEnds[2 + steps - 1] + 1;
    const parts = (evs: ProfileEvent[]) => {
      const { best, ops } = bestNodeTimes(evs);
      const out: Record<string, number> = {};
      for (const [node, us] of best) {
        const p = partOf(node, ops.get(node) ?? '');
        out[p] = (out[p] ?? 0) + us / 1000;
      }
      out.total = Object.values(out).reduce((s, x) => s + x, 0);
      return out;
    };
    const result = { base: parts(events.slice(runEnds[1] + 1, split)), adapter: parts(events.slice(split)) };
    const names = [...new Set([...Object.keys(result.base), ...Object.keys(result.adapter)])].sort();
    console.log(
      table(
        ['part (each node best of its runs)', 'base steps, ms', 'adapter steps, ms', 'difference'],
        names.map((n) => [n, result.base[n] ?? 0, result.adapter[n] ?? 0, (result.adapter[n] ?? 0) - (result.base[n] ?? 0)]),
      ),
    );
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
