/**
 * `npm run bench -- factor-layout [--quick]`: does the layout of the adapter factors change what the adapter path's
 * MatMuls cost? A micro-graph of the path alone (every unit of every layer: x·A, ·C, a Split, each member's ·B and
 * its Add, as llama.ts `withUnitLora` builds it), in four layouts of the same factors:
 *  - `stored`: today's, A [rows, in, n·R] and B [rows, R, out] as MatMul's right operand;
 *  - `transB`: PEFT's layout, A [rows, n·R, in] and B [rows, out, R], through com.microsoft FusedMatMul transB=1;
 *  - `gemm`: the same layout through Gemm transB=1 (2-D, so only where the factors have no per-row axis);
 *  - `left`: the factor as the left operand, hᵀ = A·xᵀ, (h·C)ᵀ = Cᵀ·hᵀ, Δᵀ = B·hᵀ, and a free Reshape back.
 * MLAS packs a MatMul's right operand when it is not a constant, except at M = 1 (and N = 1), where its M1 kernels
 * read it in place; this bench says whether any layout reads the factors faster. Cases: batch 1 with one adapter,
 * batch 32 with 32 distinct adapters, batch 32 with one shared factor set, at the 135M shape, and batch 1 at the
 * Llama-3.2-1B shape; one and two onnxruntime threads; the layouts run in turn, median CPU and wall time per run.
 * Two more keep A as stored and change only B: `bTransB` (B [rows, out, R], FusedMatMul transB=1) and `bLeft`
 * (Δᵀ = B·hᵀ with B [rows, out, R]). And `inline` (see INLINE_LIMIT) keeps every product on one thread.
 */
import { Graph, type Value } from '../gpu-backend/engine/graph.ts';
import { add, concat, matmul, reshape, splitEqual } from '../gpu-backend/engine/ops.ts';
import { createSession, f32, type ort } from '../gpu-backend/engine/runtime.ts';
import { median, randomFloats, table } from './measure.ts';

type Layout = 'stored' | 'transB' | 'gemm' | 'left' | 'bTransB' | 'bLeft' | 'inline';
const LAYOUTS: Layout[] = ['stored', 'transB', 'gemm', 'left', 'bTransB', 'bLeft', 'inline'];

/**
 * MLAS runs a GEMM on one thread below M·N·K = 64K (MLAS_SGEMM_THREAD_COMPLEXITY) and hands larger ones to the pool.
 * `inline` keeps every product under it, so none waits for a second thread: one x·A per member, and A and B cut into
 * equal parts along K (summed) or N (concatenated), at the cost of more nodes.
 */
const INLINE_LIMIT = 65536;
const partsUnder = (size: number, extent: number) => {
  let parts = 1;
  while (size / parts >= INLINE_LIMIT && extent % (parts * 2) === 0) parts *= 2;
  return parts;
};

interface Shape {
  name: string;
  layers: number;
  hidden: number;
  kv: number;
  inter: number;
}
const SHAPES: Shape[] = [
  { name: '135M', layers: 30, hidden: 576, kv: 192, inter: 1536 },
  { name: '1B', layers: 16, hidden: 2048, kv: 512, inter: 8192 },
];
// FACTOR_LAYOUT_RANK: the factors' rank (16; 1 is what a step with no adapter feeds).
const R = Number(process.env.FACTOR_LAYOUT_RANK ?? 16);

const units = (s: Shape) => [
  { in: s.hidden, outs: [s.hidden, s.kv, s.kv] },
  { in: s.hidden, outs: [s.hidden] },
  { in: s.hidden, outs: [s.inter, s.inter] },
  { in: s.inter, outs: [s.hidden] },
];

function fusedMatMul(g: Graph, a: Value, b: Value, shape: number[]): Value {
  return g.node('FusedMatMul', [a, b], [{ type: 'float32', shape }], { transB: 1 }, { domain: 'com.microsoft' })[0];
}

/** The path's graph for `layout`; `factorRows` is 1 (one factor set broadcast) or `rows`. */
function pathGraph(s: Shape, layout: Layout, rows: number, factorRows: number): { model: Uint8Array; inputs: Map<string, number[]> } {
  const g = new Graph('factors');
  const inputs = new Map<string, number[]>();
  const input = (name: string, shape: number[]) => {
    inputs.set(name, shape);
    return g.input(name, 'float32', shape);
  };
  const widths = [...new Set([s.hidden, s.kv, s.inter])];
  const xs = new Map(widths.map((w) => [w, input(`x${w}`, [rows, 1, w])]));
  const acc = new Map(xs);
  for (let l = 0; l < s.layers; l++)
    units(s).forEach((u, ui) => {
      const n = u.outs.length;
      const W = n * R;
      const x = xs.get(u.in)!;
      const id = `${l}.${ui}`;
      let hs: Value[];
      if (layout === 'inline') {
        // Per member: x·A_i (K cut into parts when in·R is too large), then its own R×R core.
        const kParts = partsUnder(u.in * R, u.in);
        const xParts = kParts > 1 ? splitEqual(g, x, -1, kParts) : [x];
        hs = u.outs.map((_, i) => {
          const products = xParts.map((xp, p) => matmul(g, xp, input(`a${id}.${i}.${p}`, [factorRows, u.in / kParts, R])));
          const h = products.length > 1 ? g.node('Sum', products, [{ type: 'float32', shape: products[0].shape }])[0] : products[0];
          return matmul(g, h, input(`c${id}.${i}`, [factorRows, R, R]));
        });
      } else if (layout === 'left') {
        const xt = reshape(g, x, [rows, u.in, 1]);
        const ht = matmul(g, input(`c${id}`, [factorRows, W, W]), matmul(g, input(`a${id}`, [factorRows, W, u.in]), xt));
        hs = n > 1 ? splitEqual(g, ht, 1, n) : [ht];
      } else if (layout === 'stored' || layout === 'bTransB' || layout === 'bLeft') {
        const h = matmul(g, matmul(g, x, input(`a${id}`, [factorRows, u.in, W])), input(`c${id}`, [factorRows, W, W]));
        hs = n > 1 ? splitEqual(g, h, -1, n) : [h];
      } else {
        let h: Value;
        if (layout === 'gemm') {
          const x2 = reshape(g, x, [rows, u.in]);
          h = g.node('Gemm', [x2, input(`a${id}`, [W, u.in])], [{ type: 'float32', shape: [rows, W] }], { transB: 1 })[0];
          h = g.node('Gemm', [h, input(`c${id}`, [W, W])], [{ type: 'float32', shape: [rows, W] }], { transB: 1 })[0];
        } else {
          h = fusedMatMul(g, x, input(`a${id}`, [factorRows, W, u.in]), [rows, 1, W]);
          h = fusedMatMul(g, h, input(`c${id}`, [factorRows, W, W]), [rows, 1, W]);
        }
        hs = n > 1 ? splitEqual(g, h, -1, n) : [h];
      }
      u.outs.forEach((out, i) => {
        let d: Value;
        if (layout === 'inline') {
          const nParts = partsUnder(R * out, out);
          const parts = Array.from({ length: nParts }, (_, p) =>
            matmul(g, hs[i], input(`b${id}.${i}.${p}`, [factorRows, R, out / nParts])),
          );
          d = nParts > 1 ? concat(g, parts, -1) : parts[0];
        } else if (layout === 'left') d = reshape(g, matmul(g, input(`b${id}.${i}`, [factorRows, out, R]), hs[i]), [rows, 1, out]);
        else if (layout === 'bLeft')
          d = reshape(g, matmul(g, input(`b${id}.${i}`, [factorRows, out, R]), reshape(g, hs[i], [rows, R, 1])), [rows, 1, out]);
        else if (layout === 'bTransB') d = fusedMatMul(g, hs[i], input(`b${id}.${i}`, [factorRows, out, R]), [rows, 1, out]);
        else if (layout === 'gemm')
          d = reshape(
            g,
            g.node('Gemm', [hs[i], input(`b${id}.${i}`, [out, R])], [{ type: 'float32', shape: [rows, out] }], { transB: 1 })[0],
            [rows, 1, out],
          );
        else if (layout === 'transB') d = fusedMatMul(g, hs[i], input(`b${id}.${i}`, [factorRows, out, R]), [rows, 1, out]);
        else d = matmul(g, hs[i], input(`b${id}.${i}`, [factorRows, R, out]));
        acc.set(out, add(g, acc.get(out)!, d));
      });
    });
  for (const [w, v] of acc) g.output(v, `y${w}`);
  return { model: g.toOnnx(), inputs };
}

export async function run(quick: boolean): Promise<Record<string, unknown>> {
  const cases = [
    { shape: SHAPES[0], rows: 1, factorRows: 1, label: '135M b1 one adapter' },
    { shape: SHAPES[0], rows: 32, factorRows: 32, label: '135M b32 distinct' },
    { shape: SHAPES[0], rows: 32, factorRows: 1, label: '135M b32 shared factors' },
    { shape: SHAPES[1], rows: 1, factorRows: 1, label: '1B b1 one adapter' },
  ];
  const runs = quick ? 30 : 120;
  const rows: (string | number)[][] = [];
  const result: Record<string, unknown> = {};
  // FACTOR_LAYOUT_CASES (a substring of the case labels) and FACTOR_LAYOUT_THREADS ("1,2") narrow a run.
  const only = process.env.FACTOR_LAYOUT_CASES ?? '';
  const threadCounts = (process.env.FACTOR_LAYOUT_THREADS ?? '1,2').split(',').map(Number);
  for (const c of cases.filter((x) => x.label.includes(only)))
    for (const threads of threadCounts) {
      const layouts = LAYOUTS.filter((l) => l !== 'gemm' || c.factorRows === 1);
      // One pool of random floats, viewed at each input's size: the layouts' feeds share it (timing, not values).
      const sessions: { layout: Layout; session: ort.InferenceSession; feeds: Record<string, ort.Tensor> }[] = [];
      let pool: Float32Array = new Float32Array(0);
      for (const layout of layouts) {
        const { model, inputs } = pathGraph(c.shape, layout, c.rows, c.factorRows);
        const session = await createSession(model, { threads });
        const feeds: Record<string, ort.Tensor> = {};
        let at = 0;
        const total = [...inputs.values()].reduce((s, d) => s + d.reduce((p, x) => p * x, 1), 0);
        if (pool.length < total) pool = randomFloats(total, 0.05, 7);
        for (const [name, dims] of inputs) {
          const size = dims.reduce((p, x) => p * x, 1);
          feeds[name] = f32(pool.subarray(at, at + size), dims);
          at += size;
        }
        for (let i = 0; i < 5; i++) await session.run(feeds);
        sessions.push({ layout, session, feeds });
      }
      const cpu = new Map<Layout, number[]>(layouts.map((l) => [l, []]));
      const wall = new Map<Layout, number[]>(layouts.map((l) => [l, []]));
      for (let i = 0; i < runs; i++)
        for (const s of sessions) {
          const c0 = process.cpuUsage();
          const t0 = performance.now();
          await s.session.run(s.feeds);
          wall.get(s.layout)!.push(performance.now() - t0);
          const u = process.cpuUsage(c0);
          cpu.get(s.layout)!.push((u.user + u.system) / 1000);
        }
      const base = median(cpu.get('stored')!);
      const key = `${c.label.replaceAll(' ', '_')}_t${threads}`;
      result[key] = Object.fromEntries(layouts.map((l) => [l, { cpu_ms: median(cpu.get(l)!), wall_ms: median(wall.get(l)!) }]));
      for (const l of layouts) rows.push([c.label, threads, l, median(cpu.get(l)!), median(wall.get(l)!), base / median(cpu.get(l)!)]);
      for (const s of sessions) await s.session.release();
    }
  console.log(table(['case', 'threads', 'layout', 'CPU ms (median)', 'wall ms (median)', 'stored ÷ layout (CPU)'], rows));
  return { bench: 'factor-layout', quick, rank: R, runs, ...result };
}
