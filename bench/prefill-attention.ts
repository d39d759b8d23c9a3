/**
 * The attention core of a prefill alone (no cache, one zero cache position as `Decoder.step` feeds it): the engine's
 * `groupedAttention`, with the head transposes around it, against onnxruntime's fused CPU kernel
 * `com.microsoft` GroupQueryAttention on the same q/k/v. One thread, CPU time, the two interleaved, p25 of the rounds:
 * what a fused kernel would save, before anyone rebuilds the KV cache around it.
 */
import { attentionMask } from '../gpu-backend/engine/attention-mask.ts';
import { groupedAttention } from '../gpu-backend/engine/attention.ts';
import { Graph, type Value } from '../gpu-backend/engine/graph.ts';
import { reshape, transpose } from '../gpu-backend/engine/ops.ts';
import { f32, ort } from '../gpu-backend/engine/runtime.ts';
import { randomFloats } from './measure.ts';

export interface AttentionShape {
  batch: number;
  seq: number;
  heads: number;
  kvHeads: number;
  headDim: number;
}

const SESSION = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  extra: { session: { intra_op: { allow_spinning: '0' } } },
} as const;

function enginesCore({ heads: H, kvHeads: kvH, headDim: hd }: AttentionShape): Promise<ort.InferenceSession> {
  const g = new Graph('engine-attention');
  const input = (name: string, n: number) => g.input(name, 'float32', ['batch', 'seq', n * hd]);
  const bnsh = (x: Value, n: number) => transpose(g, reshape(g, x, ['batch', 'seq', n, hd]), [0, 2, 1, 3]);
  const past = {
    key: g.input('past_key', 'float32', ['batch', kvH, 1, hd]),
    value: g.input('past_value', 'float32', ['batch', kvH, 1, hd]),
  };
  const mask = g.input('mask', 'float32', ['batch', 1, 1, 'seq', 'total']);
  const [q, k, v] = [bnsh(input('q', H), H), bnsh(input('k', kvH), kvH), bnsh(input('v', kvH), kvH)];
  g.output(groupedAttention(g, H, { q, k, v, mask, past }), 'y');
  return ort.InferenceSession.create(g.toOnnx(), SESSION);
}

function fusedCore({ heads: H, kvHeads: kvH, headDim: hd }: AttentionShape): Promise<ort.InferenceSession> {
  const g = new Graph('fused-attention');
  const input = (name: string, n: number) => g.input(name, 'float32', ['batch', 'seq', n * hd]);
  const absent: Value = { name: '', type: 'float32', shape: [] };
  const kv = { type: 'float32' as const, shape: ['batch', kvH, 'seq', hd] };
  const [y] = g.node(
    'GroupQueryAttention',
    [
      input('q', H),
      input('k', kvH),
      input('v', kvH),
      absent,
      absent,
      g.input('seqlens_k', 'int32', ['batch']),
      g.input('total', 'int32', [1]),
    ],
    [{ type: 'float32', shape: ['batch', 'seq', H * hd] }, kv, kv],
    { num_heads: H, kv_num_heads: kvH },
    { domain: 'com.microsoft' },
  );
  g.output(y, 'y');
  return ort.InferenceSession.create(g.toOnnx(), SESSION);
}

/** CPU ms (p25) of each, their ratio, and the largest difference of their outputs. */
export async function attentionCoreVsFused(shape: AttentionShape, rounds: number) {
  const { batch: B, seq: T, heads: H, kvHeads: kvH, headDim: hd } = shape;
  const [engine, fused] = await Promise.all([enginesCore(shape), fusedCore(shape)]);
  // The engine's queries arrive scaled by 1/√hd (through their RoPE tables); the fused kernel scales them itself.
  const q = randomFloats(B * T * H * hd, 1, 1);
  const common = {
    k: f32(randomFloats(B * T * kvH * hd, 1, 2), [B, T, kvH * hd]),
    v: f32(randomFloats(B * T * kvH * hd, 1, 3), [B, T, kvH * hd]),
  };
  const zeros = f32(new Float32Array(B * kvH * hd), [B, kvH, 1, hd]);
  const mask = attentionMask({ rows: B, seq: T, past: 1, start: new Array(B).fill(0), newLengths: new Array(B).fill(T) });
  const feeds = [
    {
      ...common,
      q: f32(
        q.map((x) => x / Math.sqrt(hd)),
        [B, T, H * hd],
      ),
      past_key: zeros,
      past_value: zeros,
      mask: f32(mask, [B, 1, 1, T, T + 1]),
    },
    {
      ...common,
      q: f32(q, [B, T, H * hd]),
      seqlens_k: new ort.Tensor('int32', new Int32Array(B).fill(T - 1), [B]),
      total: new ort.Tensor('int32', new Int32Array([T]), [1]),
    },
  ];
  const sessions = [engine, fused];
  const outs = await Promise.all(sessions.map(async (s, i) => (await s.run(feeds[i])).y.data as Float32Array));
  const maxDiff = outs[0].reduce((m, x, i) => Math.max(m, Math.abs(x - outs[1][i])), 0);
  const cpu: number[][] = [[], []];
  for (let r = 0; r < rounds; r++)
    for (const i of r % 2 ? [1, 0] : [0, 1]) {
      const c0 = process.cpuUsage();
      await sessions[i].run(feeds[i]);
      const c = process.cpuUsage(c0);
      cpu[i].push((c.user + c.system) / 1000);
    }
  await Promise.all(sessions.map((s) => s.release()));
  const p25 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 4)];
  const [engineMs, fusedMs] = cpu.map(p25);
  return { engine_cpu_ms: engineMs, fused_cpu_ms: fusedMs, fused_vs_engine: fusedMs / engineMs, max_abs_diff: maxDiff };
}
