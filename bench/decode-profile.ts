/**
 * `npm run bench -- decode-profile`: where a warm batch-1 decode step of the Llama-3.2-1B-shaped int4 base goes
 * (issue 18's `int4_b1_bandwidth_util`), in one process, on bench/long-prompt.ts's cached checkpoint and packed
 * weights (written by its child process when absent):
 *  - decode speed, served through one kept RunningBatch as the scheduler serves it (a 16-token prompt, then 24
 *    tokens, best of `rounds` requests after one warm-up), with the step's wall time split into onnxruntime's run and
 *    the host's work around it (feeds, the cache's rows written back, sampling);
 *  - the packed weights' bytes read per second against a large buffer copy's (the yardstick `bench scale` divides
 *    by), sampled before and after in the same run;
 *  - onnxruntime's per-node profile of the same decode (a second session with profiling on), each node's best run,
 *    summed by part of the model.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseModelConfig } from '../contracts/formats/hf-config.ts';
import { Decoder } from '../gpu-backend/engine/decoder.ts';
import { newRow, RunningBatch } from '../gpu-backend/engine/generate.ts';
import { openPackedWeights } from '../gpu-backend/engine/packed-weights.ts';
import type { ort } from '../gpu-backend/engine/runtime.ts';
import { openCheckpoint } from '../gpu-backend/formats/checkpoint.ts';
import { PACKED, preparedCheckpoint } from './long-prompt.ts';
import { table, timeSessionRuns } from './measure.ts';
import { LLAMA_1B_CONFIG } from './random-checkpoint.ts';
import { copyBytesPerS } from './scale.ts';
import { bestNodeTimes, type ProfileEvent } from './node-profile.ts';

const DECODE_TOKENS = 24;

/** The part of the decode graph a node belongs to, from its name (`/model/layers.3/attn/q_proj/...`). */
const PARTS: [string, RegExp][] = [
  ['lm_head (tied, packed)', /\/lm_head\//],
  ['q/k/v projections', /\/(qkv|q_proj|k_proj|v_proj)\/(MatMul|MatMulNBits)/],
  ['o_proj', /\/o_proj\/(MatMul|MatMulNBits)/],
  ['gate/up projections', /\/(gateUp|gate_proj|up_proj)\/(MatMul|MatMulNBits)/],
  ['down_proj', /\/down_proj\/(MatMul|MatMulNBits)/],
  ['adapter path, fed no adapter', /\/(lora|shared)\//],
  ['RoPE', /rope\//],
  ['norms', /layernorm\/|\/model\/norm\//],
  ['attention core', /\/attn\//],
  ['MLP activation', /\/mlp\//],
];
const partOf = (node: string) => PARTS.find(([, re]) => re.test(node))?.[0] ?? 'rest (embedding, outputs)';

function prompt(n: number, vocab: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => (seed * 7919 + i * 104729) % vocab);
}

/** Minor page faults of this process so far (its threads included). */
function minorFaults(): number {
  const s = readFileSync('/proc/self/stat', 'utf8');
  return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[7]);
}

interface Decoded {
  /** The admission: prefill and first token. */
  admitMs: number;
  admitFaults: number;
  tokensPerS: number;
  faultsPerToken: number;
  cpuMsPerToken: number;
  runMsPerToken: number;
}

/** One request through a kept batch: admitted, then decoded to its end, with the time inside onnxruntime's run apart. */
async function serveOne(batch: RunningBatch, session: ort.InferenceSession, tokens: number[]): Promise<Decoded> {
  let done = false;
  batch.onFinish = () => (done = true);
  const a0 = performance.now();
  const af0 = minorFaults();
  await batch.admit([newRow({ prompt: tokens, adapter: null, maxTokens: DECODE_TOKENS, temperature: 0 }, 0)]);
  const admitMs = performance.now() - a0;
  const admitFaults = minorFaults() - af0;
  const runs = timeSessionRuns(session);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const f0 = minorFaults();
  let steps = 0;
  while (!done) {
    await batch.decode();
    steps++;
  }
  const c = process.cpuUsage(c0);
  const wall = performance.now() - t0;
  const runMs = runs.take();
  runs.restore();
  const faultsPerToken = (minorFaults() - f0) / steps;
  return {
    admitMs,
    admitFaults,
    tokensPerS: steps / (wall / 1000),
    faultsPerToken,
    cpuMsPerToken: (c.user + c.system) / 1000 / steps,
    runMsPerToken: runMs / steps,
  };
}

const sessionOf = (d: Decoder) => (d as unknown as { session: ort.InferenceSession }).session;

export async function run(quick: boolean): Promise<Record<string, unknown>> {
  const dir = preparedCheckpoint(false);
  const cfg = parseModelConfig(LLAMA_1B_CONFIG);
  const packedBytes = (await stat(join(dir, PACKED))).size;
  const rounds = quick ? 2 : 5;
  const load = async (profileFilePrefix?: string) =>
    Decoder.fromFolder(
      { config: cfg, weights: await openCheckpoint(dir) },
      { ...(await openPackedWeights(join(dir, PACKED))), profileFilePrefix },
    );

  const copyBefore = copyBytesPerS();
  const decoder = await load();
  const batch = new RunningBatch(decoder, 64);
  const runs: Decoded[] = [];
  for (let r = 0; r <= rounds; r++) runs.push(await serveOne(batch, sessionOf(decoder), prompt(16, cfg.vocabSize, r + 1)));
  await decoder.release();
  const copyAfter = copyBytesPerS();
  const warm = runs.slice(1);
  const best = {
    tokensPerS: Math.max(...warm.map((r) => r.tokensPerS)),
    cpuMsPerToken: Math.min(...warm.map((r) => r.cpuMsPerToken)),
    runMsPerToken: Math.min(...warm.map((r) => r.runMsPerToken)),
  };
  const copy = Math.max(copyBefore, copyAfter);
  for (const [i, r] of runs.entries())
    console.log(
      `request ${i}: admitted in ${r.admitMs.toFixed(0)} ms with ${r.admitFaults} minor faults; ${r.tokensPerS.toFixed(1)} tokens/s, CPU ${r.cpuMsPerToken.toFixed(1)} ms a token, run ${r.runMsPerToken.toFixed(1)} ms a token, ${r.faultsPerToken.toFixed(0)} minor faults a token`,
    );

  const profDir = await mkdtemp(join(tmpdir(), 'rankgate-decode-profile-'));
  try {
    const profiled = await load(join(profDir, 'profile'));
    const pbatch = new RunningBatch(profiled, 64);
    for (let r = 0; r < 2; r++) await serveOne(pbatch, sessionOf(profiled), prompt(16, cfg.vocabSize, r + 1));
    await profiled.release();
    const file = (await readdir(profDir)).find((f) => f.endsWith('.json'));
    if (!file) throw new Error('onnxruntime wrote no profile');
    const { best: nodes, ops, runs: runUs } = bestNodeTimes(JSON.parse(await readFile(join(profDir, file), 'utf8')) as ProfileEvent[]);
    const parts = new Map<string, number>();
    const counts = new Map<string, number>();
    const byOp = new Map<string, number>();
    for (const [node, us] of nodes) {
      parts.set(partOf(node), (parts.get(partOf(node)) ?? 0) + us / 1000);
      counts.set(partOf(node), (counts.get(partOf(node)) ?? 0) + 1);
      const op = ops.get(node) ?? '?';
      byOp.set(op, (byOp.get(op) ?? 0) + us / 1000);
    }
    const total = [...parts.values()].reduce((a, b) => a + b, 0);
    // Decode steps only (seq 1): the shortest runs; the prefills are longer.
    const decodeRunMs = [...runUs].sort((a, b) => a - b)[0] / 1000;
    const sorted = [...parts].sort((a, b) => b[1] - a[1]);
    const sortedOps = [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 12);
    console.log(
      `kernel time of a decode step by part (each node's best run; its sum ${total.toFixed(1)} ms, the best whole run ${decodeRunMs.toFixed(1)} ms)`,
    );
    console.log(
      table(
        ['part', 'ms', 'share', 'nodes'],
        [...sorted.map(([p, ms]) => [p, ms, ms / total, counts.get(p) ?? 0]), ['total', total, 1, nodes.size]],
      ),
    );
    console.log(
      table(
        ['op type', 'ms', 'share'],
        sortedOps.map(([p, ms]) => [p, ms, ms / total]),
      ),
    );
    const readGbPerS = (best.tokensPerS * packedBytes) / 1e9;
    console.log(
      table(
        ['measure', 'value'],
        [
          ['b1 decode, tokens/s (best of warm requests)', best.tokensPerS],
          ['CPU ms a token (process, best)', best.cpuMsPerToken],
          ["wall ms a token inside onnxruntime's run (best)", best.runMsPerToken],
          ['wall ms a token in all (best)', 1000 / best.tokensPerS],
          ['packed weights, MB', packedBytes / 1e6],
          ['packed weights read, GB/s', readGbPerS],
          ['buffer copy, GB/s (before / after)', `${(copyBefore / 1e9).toFixed(1)} / ${(copyAfter / 1e9).toFixed(1)}`],
          ['bandwidth util (as bench scale computes it)', readGbPerS / (copy / 1e9)],
        ],
      ),
    );
    return {
      packed_bytes: packedBytes,
      b1_tokens_per_s: best.tokensPerS,
      b1_tokens_per_s_all: runs.map((r) => r.tokensPerS),
      cpu_ms_per_token: best.cpuMsPerToken,
      run_ms_per_token: best.runMsPerToken,
      step_ms_per_token: 1000 / best.tokensPerS,
      copy_gb_per_s: copy / 1e9,
      packed_read_gb_per_s: readGbPerS,
      bandwidth_util: readGbPerS / (copy / 1e9),
      profiled_decode_run_ms: decodeRunMs,
      kernel_ms_by_part: Object.fromEntries(sorted),
      nodes_by_part: Object.fromEntries(counts),
      kernel_ms_by_op: Object.fromEntries(sortedOps),
    };
  } finally {
    await rm(profDir, { recursive: true, force: true });
  }
}
