/**
 * `npm run bench -- adapter-profile [--quick]`: where the adapter path's time goes inside a warm decode step on the
 * 135M shape (fp32, one onnxruntime thread), from onnxruntime's per-node profile: at batch 1 with one r 16 adapter, and
 * at batch 32 with 32 tasks of one shared basis (k 16), each beside the plain base graph at the same batch in the same
 * run. Each node's best run (so load from other processes falls out; the profiler adds ~2–3 µs to every node), summed
 * by part: the base projections, the rest of the base, and the adapter path's x·A, ·C (the per-row core), ·B, Add and
 * Split nodes (llama.ts `withUnitLora`). The yardstick is the base graph's own kernel time in the same run.
 * A float32 base now runs a session per graph path (engine/path-sessions.ts): the batch-1 adapter runs the 'adapters'
 * graph (no ·C), profiled beside the one graph as built (`b1_one_adapter_one_graph`, every node as before).
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Decoder } from '../gpu-backend/engine/decoder.ts';
import { type GenerationRequest, newRow, RunningBatch } from '../gpu-backend/engine/generate.ts';
import { sharedBasisOfMerge } from '../gpu-backend/lowrank/shared-basis-form.ts';
import { randomSharedMerge, SHARED_K } from './engine-shared.ts';
import { table } from './measure.ts';
import { randomAdapter, randomModel, SMOLLM2_135M } from './models.ts';
import { bestNodeTimes, type ProfileEvent } from './node-profile.ts';

/** The part of the step a node belongs to, from its name (`/model/layers.3/attn/qkv/lora/MatMul_1`) and op. */
function partOf(node: string, op: string): string {
  const lora = /\/lora\/(\w+?)(_\d+)?$/.exec(node);
  if (lora) {
    if (op !== 'MatMul') return `adapter path: ${op}`;
    // withUnitLora's nodes in order: x·A (MatMul), ·C (MatMul_1), then each member's ·B.
    return lora[2] === undefined ? 'adapter path: x·A' : lora[2] === '_1' ? 'adapter path: ·C' : 'adapter path: ·B';
  }
  return /MatMul/.test(op) && /_proj|qkv|gateUp|lm_head/.test(node) ? 'base projections' : 'rest of the step';
}

/** Kernel ms per part of `steps` warm decode steps of `decoder` at `sources.length` rows (each node's best). */
async function profile(
  decoder: (prefix: string) => Promise<Decoder>,
  sources: Omit<GenerationRequest, 'maxTokens'>[],
  steps: number,
): Promise<{ parts: Record<string, { nodes: number; ms: number }>; kernelMs: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'rankgate-adapter-profile-'));
  try {
    const d = await decoder(join(dir, 'profile'));
    const batch = new RunningBatch(d, sources.length);
    await batch.admit(sources.map((s, i) => newRow({ ...s, maxTokens: steps + 2 }, i)));
    for (let s = 0; s < steps; s++) await batch.decode();
    await d.release();
    // Each session of the decoder writes a profile; the one whose session ran the steps is the largest.
    const files = (await readdir(dir)).filter((f) => f.endsWith('.json'));
    const sizes = await Promise.all(files.map(async (f) => (await stat(join(dir, f))).size));
    const file = files[sizes.indexOf(Math.max(...sizes))];
    if (!file) throw new Error('onnxruntime wrote no profile');
    const { best, ops } = bestNodeTimes(JSON.parse(await readFile(join(dir, file), 'utf8')) as ProfileEvent[]);
    const parts: Record<string, { nodes: number; ms: number }> = {};
    let kernelMs = 0;
    for (const [node, us] of best) {
      const name = partOf(node, ops.get(node) ?? '');
      parts[name] ??= { nodes: 0, ms: 0 };
      const p = parts[name];
      p.nodes++;
      p.ms += us / 1000;
      kernelMs += us / 1000;
    }
    return { parts, kernelMs };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function run(quick: boolean): Promise<Record<string, unknown>> {
  const folder = randomModel(SMOLLM2_135M);
  const cfg = folder.config;
  const steps = quick ? 8 : 24;
  const prompt = (i: number) => Array.from({ length: 32 }, (_, j) => (i * 131 + j * 17 + 3) % cfg.vocabSize);
  const load =
    (lora: boolean, oneGraph = false) =>
    (prefix: string) =>
      Decoder.fromFolder(folder, { threads: 1, lora, profileFilePrefix: prefix, ...(oneGraph ? { paths: [] } : {}) });
  const basis = sharedBasisOfMerge(randomSharedMerge(cfg, 32, SHARED_K));
  const adapter = randomAdapter(cfg, 16, 1);
  const cases = {
    b1_one_adapter: { rows: [{ prompt: prompt(0), adapter }], oneGraph: false },
    b1_one_adapter_one_graph: { rows: [{ prompt: prompt(0), adapter }], oneGraph: true },
    b32_shared_tasks: {
      rows: Array.from({ length: 32 }, (_, i) => ({ prompt: prompt(i), adapter: null, shared: { basis, task: i } })),
      oneGraph: false,
    },
  };
  const result: Record<string, unknown> = {};
  const rows: (string | number)[][] = [];
  for (const [name, c] of Object.entries(cases)) {
    const base = await profile(
      load(false),
      c.rows.map((r) => ({ prompt: r.prompt, adapter: null })),
      steps,
    );
    const lora = await profile(load(true, c.oneGraph), c.rows, steps);
    const pathMs = Object.entries(lora.parts)
      .filter(([p]) => p.startsWith('adapter path'))
      .reduce((s, [, v]) => s + v.ms, 0);
    for (const [p, v] of Object.entries(lora.parts).sort()) rows.push([name, p, v.nodes, v.ms, v.ms / base.kernelMs]);
    rows.push([name, 'base graph, all nodes', '', base.kernelMs, 1]);
    result[name] = {
      base_kernel_ms: base.kernelMs,
      lora_kernel_ms: lora.kernelMs,
      adapter_path_ms: pathMs,
      base_vs_lora_kernel: base.kernelMs / lora.kernelMs,
      parts_ms: Object.fromEntries(Object.entries(lora.parts).map(([p, v]) => [p, v.ms])),
    };
  }
  console.log(table(['case', 'part (LoRA graph)', 'nodes', 'kernel ms (best per node)', '÷ base graph'], rows));
  return {
    bench: 'adapter-profile',
    quick,
    model: 'SmolLM2-135M shape, random weights, fp32, one onnxruntime thread, r 16 / k 16',
    steps,
    ...result,
  };
}
