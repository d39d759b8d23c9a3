/**
 * The low-rank code's large products on onnxruntime, in float32, on the engine's execution provider (its
 * sessions come from engine/runtime.ts, so a GPU host merges on its GPU). One cached session per op form
 * (plain, aᵀ·b, a·bᵀ; single or batched), with free dimensions, serves every shape. A product below
 * RUNTIME_MIN_MACS stays in float64 JS (linalg.ts): there a session run costs more than the product, and the
 * small products (r×r and Tr×Tr cores, the test fixtures) keep float64's accuracy.
 */
import { Graph, type Value } from '../engine/graph.ts';
import { createSession, f32, type ort } from '../engine/runtime.ts';
import { borrow32, borrow64, giveBack } from './scratch-buffers.ts';
import { float32Of, hasFloat32Twin, keepFloat32 } from './float32-twin.ts';
import { intraOpThreads } from './intra-op-threads.ts';
import { type Mat, matmul, matmulNT, matmulTN } from './linalg.ts';

/** 'nn': a·b; 'tn': aᵀ·b; 'nt': a·bᵀ. */
export type GemmForm = 'nn' | 'tn' | 'nt';

/** Multiply-adds from which a product runs on the runtime (a 64×128×128 product). */
export const RUNTIME_MIN_MACS = 1 << 20;

let minMacs = RUNTIME_MIN_MACS;

/** Tests: run every product on the runtime (0) or none (Infinity); returns the previous setting. */
export function setRuntimeMinMacs(macs: number): number {
  const was = minMacs;
  minMacs = macs;
  return was;
}

const sessions = new Map<string, Promise<ort.InferenceSession>>();

/** Intra-op threads of this thread's sessions (undefined: every core). */
let sessionThreads: number | undefined;

/**
 * A float64 thread that runs whole modules (float64-thread.js) gives its sessions one intra-op thread: each such
 * thread has a core of its own, and a second one would take the other thread's. Before the first product.
 */
export function useGemmThreads(threads: number): void {
  if (sessions.size > 0) throw new Error('useGemmThreads: sessions already made');
  sessionThreads = threads;
}

/** Multiply-adds done so far, on the runtime and in float64 JS (a benchmark's achieved GFLOP/s divides by them). */
export const gemmCounters = { runtimeMacs: 0, localMacs: 0 };

function sessionFor(form: GemmForm, batched: boolean): Promise<ort.InferenceSession> {
  // A scope's setting (a TIES merge's SVD) before this thread's own (a float64 thread's modules).
  const threads = intraOpThreads() ?? sessionThreads;
  const key = `${form}:${batched}:${threads ?? 'default'}`;
  let s = sessions.get(key);
  if (!s) {
    // No spinning: a merge runs its products between float64 JS steps, which spinning threads would slow.
    s = createSession(graphOf(form, batched), { spinning: false, threads });
    sessions.set(key, s);
  }
  return s;
}

function graphOf(form: GemmForm, batched: boolean): Uint8Array {
  const g = new Graph(`gemm_${form}`);
  const lead = batched ? ['batch'] : [];
  const perm = batched ? [0, 2, 1] : [1, 0];
  const a = g.input('a', 'float32', [...lead, form === 'tn' ? 'k' : 'm', form === 'tn' ? 'm' : 'k']);
  const b = g.input('b', 'float32', [...lead, form === 'nt' ? 'n' : 'k', form === 'nt' ? 'k' : 'n']);
  const t = (v: Value, rows: string, cols: string) =>
    g.node('Transpose', [v], [{ type: 'float32', shape: [...lead, rows, cols] }], { perm })[0];
  const left = form === 'tn' ? t(a, 'm', 'k') : a;
  const right = form === 'nt' ? t(b, 'k', 'n') : b;
  const [c] = g.node('MatMul', [left, right], [{ type: 'float32', shape: [...lead, 'm', 'n'] }]);
  g.output(c, 'c');
  return g.toOnnx();
}

function shapeOf(a: Mat | F32Mat, b: Mat | F32Mat, form: GemmForm): { m: number; k: number; n: number } {
  const [m, k] = form === 'tn' ? [a.cols, a.rows] : [a.rows, a.cols];
  const [k2, n] = form === 'nt' ? [b.cols, b.rows] : [b.rows, b.cols];
  if (k !== k2) throw new Error(`gemm ${form}: ${a.rows}×${a.cols} and ${b.rows}×${b.cols} do not chain`);
  return { m, k, n };
}

function local(a: Mat, b: Mat, form: GemmForm): Mat {
  return form === 'nn' ? matmul(a, b) : form === 'tn' ? matmulTN(a, b) : matmulNT(a, b);
}

/** Whether an m×k·k×n product runs on the runtime (in float32) rather than in float64 JS. */
export function onRuntime(m: number, k: number, n: number): boolean {
  return m * k * n >= minMacs;
}

/** op(a)·op(b) by `form`: on the runtime in float32 when large, else in float64 JS. */
export async function gemm(a: Mat, b: Mat, form: GemmForm = 'nn'): Promise<Mat> {
  return (await product(a, b, form)).c;
}

/**
 * gemm for a result read once and dropped: its values (a runtime product's float32 values widened) in a lent
 * float64 buffer (scratch-buffers.ts) that `done` takes back; a product in float64 JS as it is. Always float64, so
 * the loops that read it see one array type.
 */
export async function gemmLent(a: Mat, b: Mat, form: GemmForm = 'nn'): Promise<{ c: Mat; done: () => void }> {
  const { m, k, n } = shapeOf(a, b, form);
  if (!onRuntime(m, k, n)) return { c: await gemm(a, b, form), done: () => undefined };
  const c32 = await runInto(a, b, form, borrow32(m * n));
  const c = borrow64(m * n);
  c.set(c32);
  giveBack(c32);
  return { c: { rows: m, cols: n, data: c }, done: () => giveBack(c) };
}

/**
 * gemm for a result the caller will not write to (keepFloat32): a runtime product keeps the float32 values it
 * came as, so later products that read it convert nothing.
 */
export async function gemmKept(a: Mat, b: Mat, form: GemmForm = 'nn'): Promise<Mat> {
  const { c, c32 } = await product(a, b, form, true);
  return keepFloat32(c, c32);
}

async function product(a: Mat, b: Mat, form: GemmForm, kept = false): Promise<{ c: Mat; c32?: Float32Array }> {
  const { m, k, n } = shapeOf(a, b, form);
  if (!onRuntime(m, k, n)) {
    gemmCounters.localMacs += m * k * n;
    return { c: local(a, b, form) };
  }
  // A result the caller keeps (gemmKept) keeps its own float32 array; else the output is lent too.
  const c32 = await runInto(a, b, form, kept ? new Float32Array(m * n) : borrow32(m * n));
  const c = { rows: m, cols: n, data: Float64Array.from(c32) };
  if (kept) return { c, c32 };
  giveBack(c32);
  return { c };
}

/** op(a)·op(b) by `form` on the runtime, written into `c32` (m·n values), which it returns. */
async function runInto(a: Mat | F32Mat, b: Mat | F32Mat, form: GemmForm, c32: Float32Array): Promise<Float32Array> {
  const { m, k, n } = shapeOf(a, b, form);
  gemmCounters.runtimeMacs += m * k * n;
  const session = await sessionFor(form, false);
  const [fa, fb] = [operand32(a), operand32(b)];
  await session.run({ a: f32(fa.data, [a.rows, a.cols]), b: f32(fb.data, [b.rows, b.cols]) }, { c: f32(c32, [m, n]) });
  fa.done();
  fb.done();
  return c32;
}

/**
 * m's float32 values for one product: its kept copy where it has one (float32-twin.ts), else a lent buffer
 * (scratch-buffers.ts) that `done` takes back once the product has returned.
 */
function operand32(m: Mat | F32Mat): { data: Float32Array; done: () => void } {
  if (m.data instanceof Float32Array) return { data: m.data, done: () => undefined };
  if (hasFloat32Twin(m as Mat)) return { data: float32Of(m as Mat), done: () => undefined };
  const data = borrow32(m.data.length);
  data.set(m.data);
  return { data, done: () => giveBack(data) };
}

/**
 * gemm of each pair, the pairs all of one shape (one module's two sides), as one batched run: one call and one
 * dispatch instead of one per pair (each run costs ~0.2 ms of this thread at a 128-rank core, several times a
 * 128×128×128 product). Each result is exactly the pair's own gemm: the runtime gives a batch's products bitwise as
 * single runs (checked at the core's shapes), and products too small for the runtime stay in float64 JS one by one.
 */
export async function gemmBatch(pairs: [Mat, Mat][], form: GemmForm = 'nn'): Promise<Mat[]> {
  return (await batchRun(pairs, form, false)).cs;
}

/** gemmBatch for results read once and dropped, as gemmLent: lent buffers that `done` takes back. */
export function gemmBatchLent(pairs: [Mat, Mat][], form: GemmForm = 'nn'): Promise<{ cs: Mat[]; done: () => void }> {
  return batchRun(pairs, form, true);
}

async function batchRun(pairs: [Mat, Mat][], form: GemmForm, lent: boolean): Promise<{ cs: Mat[]; done: () => void }> {
  if (pairs.length === 0) return { cs: [], done: () => undefined };
  const [a0, b0] = pairs[0];
  const { m, k, n } = shapeOf(a0, b0, form);
  for (const [a, b] of pairs)
    if (a.rows !== a0.rows || a.cols !== a0.cols || b.rows !== b0.rows || b.cols !== b0.cols)
      throw new Error('gemmBatch: every pair must have the same shapes');
  if (pairs.length === 1 || !onRuntime(m, k, n)) {
    const each = await Promise.all(
      pairs.map(([a, b]) => (lent ? gemmLent(a, b, form) : gemm(a, b, form).then((c) => ({ c, done: () => undefined })))),
    );
    return { cs: each.map((x) => x.c), done: () => each.forEach((x) => x.done()) };
  }
  const stackOf = (mats: Mat[]) => {
    const size = mats[0].data.length;
    const data = borrow32(size * mats.length);
    mats.forEach((x, i) => data.set(hasFloat32Twin(x) ? float32Of(x) : x.data, i * size));
    return data;
  };
  gemmCounters.runtimeMacs += m * k * n * pairs.length;
  const session = await sessionFor(form, true);
  const [sa, sb] = [stackOf(pairs.map((p) => p[0])), stackOf(pairs.map((p) => p[1]))];
  const c = borrow32(pairs.length * m * n);
  await session.run(
    { a: f32(sa, [pairs.length, a0.rows, a0.cols]), b: f32(sb, [pairs.length, b0.rows, b0.cols]) },
    { c: f32(c, [pairs.length, m, n]) },
  );
  const cs = pairs.map((_, i) => {
    const data = lent ? borrow64(m * n) : new Float64Array(m * n);
    data.set(c.subarray(i * m * n, (i + 1) * m * n));
    return { rows: m, cols: n, data };
  });
  giveBack(sa, sb, c);
  return { cs, done: () => (lent ? giveBack(...cs.map((x) => x.data)) : undefined) };
}

/** A row-major float32 matrix (a merged dense delta): fed to the runtime as it is, never widened to float64. */
export interface F32Mat {
  rows: number;
  cols: number;
  data: Float32Array;
}

const widen = (x: Mat | F32Mat): Mat =>
  x.data instanceof Float64Array ? (x as Mat) : { rows: x.rows, cols: x.cols, data: Float64Array.from(x.data) };

/**
 * `gemm` where either operand may already be float32: a large float32 matrix (m·n values) is handed to the
 * session without the two copies that converting it to and from float64 would cost on every product.
 */
export async function gemmF32(a: Mat | F32Mat, b: Mat | F32Mat, form: GemmForm = 'nn'): Promise<Mat> {
  const { m, k, n } = shapeOf(a, b, form);
  if (!onRuntime(m, k, n)) return gemm(widen(a), widen(b), form);
  const c32 = await runInto(a, b, form, borrow32(m * n));
  const c = { rows: m, cols: n, data: Float64Array.from(c32) };
  giveBack(c32);
  return c;
}

/**
 * op(a)·op(b) over float32 stacks the caller already laid out ([batch, m, k]·[batch, k, n] for 'nn'; a is
 * [batch, k, m] for 'tn', b is [batch, n, k] for 'nt'), as one run: nothing is converted or copied on the way in,
 * and the result ([batch, m, n]) stays float32. For operands kept stacked per module family (a merge's bases,
 * joint compression's factors), so that one run covers every layer.
 */
export async function gemmStacked32(
  a: Float32Array,
  b: Float32Array,
  batch: number,
  m: number,
  k: number,
  n: number,
  form: GemmForm = 'nn',
): Promise<Float32Array> {
  if (a.length !== batch * m * k || b.length !== batch * k * n)
    throw new Error(`gemmStacked32 ${form}: ${a.length} and ${b.length} values for [${batch}, ${m}, ${k}]·[${batch}, ${k}, ${n}]`);
  gemmCounters.runtimeMacs += batch * m * k * n;
  const session = await sessionFor(form, true);
  const out = await session.run({
    a: f32(a, form === 'tn' ? [batch, k, m] : [batch, m, k]),
    b: f32(b, form === 'nt' ? [batch, n, k] : [batch, k, n]),
  });
  return out.c.data as Float32Array;
}
