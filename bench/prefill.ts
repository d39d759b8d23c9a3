/**
 * `npm run bench -- prefill [--quick]`: where a prefill's time goes, batch 8 × 256 on the SmolLM2-135M shape, fp32,
 * the LoRA graph as served with no adapter (what `bench engine` computes `prefill_mfu` from):
 *  - onnxruntime's per-node profile of the steps after a warm-up, each node's best run (so load from other processes
 *    falls out), summed by part of the model: the projections' GEMMs, the attention core, RoPE, the adapter
 *    path (LoRA and shared-basis rows) fed no adapter, norms, the MLP's activation, the rest;
 *  - the host's per-step feeds, timed in JS: RoPE tables and the attention mask;
 *  - the attention core alone against onnxruntime's fused GroupQueryAttention kernel (prefill-attention.ts), at this
 *    shape and at the Llama-3.2-1B shape with a 1,024-token prompt (`int4_p1024_ttft_ms` in `bench scale`).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attentionMask } from '../gpu-backend/engine/attention-mask.ts';
import { Decoder } from '../gpu-backend/engine/decoder.ts';
import { LoraRows } from '../gpu-backend/engine/lora-rows.ts';
import { RopeTables } from '../gpu-backend/engine/rope.ts';
import { table } from './measure.ts';
import { randomModel, SMOLLM2_135M } from './models.ts';
import { attentionCoreVsFused } from './prefill-attention.ts';
import { bestNodeTimes, type ProfileEvent } from './node-profile.ts';

/** The part of the model a node of the serving graph belongs to, from its name (`/model/layers.3/attn/...`). */
const PARTS: [string, RegExp][] = [
  ['projections', /_proj\/(MatMul|MatMulNBits)$|\/lm_head\//],
  ['adapter path, fed no adapter', /\/(lora|shared)\//],
  ['RoPE', /\/rope\//],
  ['norms', /layernorm\/|\/model\/norm\//],
  ['attention core', /\/attn\//],
  ['MLP activation', /\/mlp\//],
];
const partOf = (node: string) => PARTS.find(([, re]) => re.test(node))?.[0] ?? 'rest (embedding, outputs)';

export async function run(quick: boolean): Promise<Record<string, unknown>> {
  const folder = randomModel(SMOLLM2_135M);
  const cfg = folder.config;
  const [rows, seq] = quick ? [2, 128] : [8, 256];
  const dir = await mkdtemp(join(tmpdir(), 'rankgate-prefill-'));
  try {
    const decoder = await Decoder.fromFolder(folder, { profileFilePrefix: join(dir, 'profile') });
    const tokens = Array.from({ length: rows * seq }, (_, i) => (i * 7919) % cfg.vocabSize);
    const step = {
      tokens,
      rows,
      seq,
      newLengths: new Array(rows).fill(seq),
      cache: null,
      lora: new LoraRows(cfg, rows),
      logitsAt: new Array(rows).fill([seq - 1]),
    };
    const runs = quick ? 2 : 4;
    for (let i = 0; i < runs; i++) await decoder.step(step);
    await decoder.release();
    const file = (await readdir(dir)).find((f) => f.endsWith('.json'));
    if (!file) throw new Error('onnxruntime wrote no profile');
    const nodes = bestNodeTimes(JSON.parse(await readFile(join(dir, file), 'utf8')) as ProfileEvent[]).best;
    const parts = new Map<string, number>();
    for (const [node, us] of nodes) parts.set(partOf(node), (parts.get(partOf(node)) ?? 0) + us / 1000);
    const total = [...parts.values()].reduce((a, b) => a + b, 0);

    const rope = new RopeTables(cfg);
    const hostMs = (fn: () => unknown) => {
      let best = Infinity;
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        fn();
        best = Math.min(best, performance.now() - t);
      }
      return best;
    };
    const start = new Array(rows).fill(0);
    const feeds = {
      rope_ms: hostMs(() => rope.fill(start, seq)),
      mask_ms: hostMs(() => attentionMask({ rows, seq, past: 1, start, newLengths: step.newLengths })),
    };

    const rounds = quick ? 6 : 16;
    const small = await attentionCoreVsFused(
      { batch: rows, seq, heads: cfg.numHeads, kvHeads: cfg.numKvHeads, headDim: cfg.headDim },
      rounds,
    );
    const llama1b = await attentionCoreVsFused({ batch: 1, seq: quick ? 256 : 1024, heads: 32, kvHeads: 8, headDim: 64 }, quick ? 4 : 8);

    const sorted = [...parts].sort((a, b) => b[1] - a[1]);
    console.log(`prefill ${rows}×${seq}, ${cfg.numLayers} layers: kernel time by part (each node's best of ${runs - 1} runs)`);
    console.log(table(['part', 'ms', 'share'], [...sorted.map(([p, ms]) => [p, ms, ms / total]), ['total', total, 1]]));
    console.log(`host feeds per step: RoPE tables ${feeds.rope_ms.toFixed(2)} ms, mask ${feeds.mask_ms.toFixed(2)} ms`);
    console.log(
      table(
        ['attention core alone (1 thread, CPU ms)', 'engine', 'fused GQA', 'fused ÷ engine', 'max |Δ|'],
        [
          [
            `${rows}×${seq}, 135M heads`,
            small.engine_cpu_ms,
            small.fused_cpu_ms,
            small.fused_vs_engine,
            small.max_abs_diff.toExponential(1),
          ],
          [
            `1×${quick ? 256 : 1024}, Llama-3.2-1B heads`,
            llama1b.engine_cpu_ms,
            llama1b.fused_cpu_ms,
            llama1b.fused_vs_engine,
            llama1b.max_abs_diff.toExponential(1),
          ],
        ],
      ),
    );
    return {
      prefill: { batch: rows, seq, layers: cfg.numLayers },
      kernel_ms_by_part: Object.fromEntries(sorted),
      kernel_share_by_part: Object.fromEntries(sorted.map(([p, ms]) => [p, ms / total])),
      host_feeds_ms: feeds,
      attention_core_vs_fused_gqa: { small, llama_1b_p1024: llama1b },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
