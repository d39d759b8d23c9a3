/**
 * `npm run bench -- adapter-path [--quick]`: what the adapter path costs a decode step on the 135M shape (fp32), as
 * CPU time against the plain base graph's, measured so that a loaded machine still gives ratios worth reading: one
 * onnxruntime thread per session (no spinning pool in the CPU time), every case's step run in turn (A, B, C, A, B,
 * C, …) and the median of each. Cases at batch 1 and 32: the base graph; the LoRA graph with no adapter; one r 16
 * adapter on all seven projections per row (distinct at 32); tasks of one shared basis (k 16). The base graph's own
 * steps are the yardstick, measured in the same rounds.
 * Also a whole short request with an adapter against one without (admission and prefill included: what writing the
 * adapter's row costs), and the two per-step costs that dominate batch 1 (engine/README.md), from onnxruntime
 * micro-graphs: CPU per graph input fed and per tiny node, a chain of MatMul/Add pairs fed its weights as inputs or
 * reading one.
 */
import type { LoraAdapter } from '../contracts/formats/adapter.ts';
import { Decoder } from '../gpu-backend/engine/decoder.ts';
import { newRow, RunningBatch } from '../gpu-backend/engine/generate.ts';
import { Graph } from '../gpu-backend/engine/graph.ts';
import { add, matmul } from '../gpu-backend/engine/ops.ts';
import { createSession, f32, type ort } from '../gpu-backend/engine/runtime.ts';
import { basisFor } from './engine-shared.ts';
import { median, table } from './measure.ts';
import { randomAdapter, randomModel, SMOLLM2_135M } from './models.ts';

type Case = 'base' | 'lora_graph' | 'adapter' | 'shared';
const CASES: Case[] = ['base', 'lora_graph', 'adapter', 'shared'];

const cpuMs = async (fn: () => Promise<unknown>): Promise<number> => {
  const c = process.cpuUsage();
  await fn();
  const u = process.cpuUsage(c);
  return (u.user + u.system) / 1000;
};

export async function run(quick: boolean): Promise<Record<string, unknown>> {
  const folder = randomModel(SMOLLM2_135M);
  const cfg = folder.config;
  const plain = await Decoder.fromFolder(folder, { lora: false, threads: 1 });
  const decoder = await Decoder.fromFolder(folder, { threads: 1 });
  const adapters: LoraAdapter[] = Array.from({ length: 32 }, (_, i) => randomAdapter(cfg, 16, i + 1));
  const { basis } = await basisFor(adapters, cfg, true);
  const steps = quick ? 12 : 40;
  const prompt = (i: number) => Array.from({ length: 16 }, (_, j) => (i * 131 + j * 17 + 3) % cfg.vocabSize);
  const batchOf = async (kind: Case, n: number) => {
    const batch = new RunningBatch(kind === 'base' ? plain : decoder, n);
    await batch.admit(
      Array.from({ length: n }, (_, i) =>
        newRow(
          {
            prompt: prompt(i),
            adapter: kind === 'adapter' ? adapters[i] : null,
            shared: kind === 'shared' ? { basis, task: i } : undefined,
            maxTokens: steps + 2,
          },
          i,
        ),
      ),
    );
    await batch.decode();
    return batch;
  };

  const medians: Record<number, Record<Case, number>> = {};
  for (const n of [1, 32]) {
    const batches = {} as Record<Case, RunningBatch>;
    for (const c of CASES) batches[c] = await batchOf(c, n);
    const samples = Object.fromEntries(CASES.map((c) => [c, [] as number[]])) as Record<Case, number[]>;
    for (let s = 0; s < (n === 1 ? steps : Math.ceil(steps / 2)); s++)
      for (const c of CASES) samples[c].push(await cpuMs(() => batches[c].decode()));
    medians[n] = Object.fromEntries(CASES.map((c) => [c, median(samples[c])])) as Record<Case, number>;
  }
  // A whole short request (admission with its 16-token prefill, then 3 tokens) on the LoRA graph, base and adapter
  // in turn: what admitting an adapter's row costs beyond the base's (the adapter's unit images built by a warm-up).
  const requests = new RunningBatch(decoder, 64);
  const request = (adapter: LoraAdapter | null) => async () => {
    await requests.admit([newRow({ prompt: prompt(0), adapter, maxTokens: 3 }, 0)]);
    while (requests.size > 0) await requests.decode();
  };
  for (const a of adapters.slice(0, 4)) await request(a)();
  const requestMs = { base: [] as number[], adapter: [] as number[] };
  for (let i = 0; i < (quick ? 8 : 16); i++) {
    requestMs.base.push(await cpuMs(request(null)));
    requestMs.adapter.push(await cpuMs(request(adapters[i % 4])));
  }
  const requestRatio = median(requestMs.adapter) / median(requestMs.base);
  await Promise.all([plain.release(), decoder.release()]);
  const feedCost = await perInputAndNode(quick ? 50 : 200);

  console.log(
    table(
      ['batch', 'case', 'CPU ms per step (median)', 'base / case'],
      [1, 32].flatMap((n) => CASES.map((c) => [n, c, medians[n][c], medians[n].base / medians[n][c]])),
    ),
  );
  console.log(
    `one request (16-token prompt, 3 tokens), CPU ms median: base ${median(requestMs.base).toFixed(1)}, one adapter ${median(requestMs.adapter).toFixed(1)} (${requestRatio.toFixed(3)}×)`,
  );
  console.log(
    `onnxruntime, one thread: ${feedCost.input_us.toFixed(2)} µs of CPU per graph input fed, ${feedCost.node_us.toFixed(2)} µs per tiny node`,
  );
  const ratio = (n: number, c: Case) => medians[n].base / medians[n][c];
  return {
    bench: 'adapter-path',
    quick,
    model: 'SmolLM2-135M shape, random weights, fp32, one onnxruntime thread',
    steps_per_case: { b1: steps, b32: Math.ceil(steps / 2) },
    cpu_ms_per_step: medians,
    adapter_vs_base_b1_cpu: ratio(1, 'adapter'),
    lora_graph_vs_base_b1_cpu: ratio(1, 'lora_graph'),
    shared_vs_base_b1_cpu: ratio(1, 'shared'),
    multi_vs_base_b32_cpu: ratio(32, 'adapter'),
    shared_vs_base_b32_cpu: ratio(32, 'shared'),
    lora_graph_vs_base_b32_cpu: ratio(32, 'lora_graph'),
    request_adapter_vs_base_cpu: requestRatio,
    input_cost_us: feedCost.input_us,
    node_cost_us: feedCost.node_us,
  };
}

/** CPU µs per graph input fed and per node: a chain of 2·N tiny nodes (MatMul, Add), weights fed N times or once. */
async function perInputAndNode(runs: number): Promise<{ input_us: number; node_us: number }> {
  const N = 360;
  const chain = async (nodes: number, inputs: boolean) => {
    const g = new Graph('chain');
    let x = g.input('x', 'float32', [1, 1, 64]);
    const shared = g.input('w', 'float32', [1, 64, 64]);
    for (let i = 0; i < nodes; i++) x = add(g, x, matmul(g, x, inputs ? g.input(`w${i}`, 'float32', [1, 64, 64]) : shared));
    g.output(x, 'y');
    const session = await createSession(g.toOnnx(), { threads: 1 });
    const w = new Float32Array(64 * 64);
    const feeds: Record<string, ort.Tensor> = { x: f32(new Float32Array(64), [1, 1, 64]), w: f32(w, [1, 64, 64]) };
    if (inputs) for (let i = 0; i < nodes; i++) feeds[`w${i}`] = f32(w, [1, 64, 64]);
    for (let i = 0; i < 10; i++) await session.run(feeds);
    const ms: number[] = [];
    for (let i = 0; i < runs; i++) ms.push(await cpuMs(() => session.run(feeds)));
    await session.release();
    return median(ms);
  };
  const [empty, nodes, inputs] = [await chain(0, false), await chain(N, false), await chain(N, true)];
  return { input_us: ((inputs - nodes) * 1000) / N, node_us: ((nodes - empty) * 1000) / (2 * N) };
}
