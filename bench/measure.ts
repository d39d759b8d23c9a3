/** Shared benchmark helpers: timing, the machine's MatMul peak through onnxruntime, tables, random tensors. */
import type * as ort from 'onnxruntime-node';
import { Graph } from '../gpu-backend/engine/graph.ts';
import { matmul } from '../gpu-backend/engine/ops.ts';
import { createSession, f32 } from '../gpu-backend/engine/runtime.ts';

export async function timeIt(fn: () => Promise<unknown>, { warmup = 1, repeat = 3 } = {}): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  let best = Infinity;
  for (let i = 0; i < repeat; i++) {
    const t = performance.now();
    await fn();
    best = Math.min(best, performance.now() - t);
  }
  return best / 1000;
}

/**
 * The MatMul peak of this machine through onnxruntime's provider in use (the CPU's: all cores): best-of-N GFLOP/s of an
 * n×n×n float32 MatMul, the larger of two forms: both operands fed per run, and the right operand a constant
 * (which onnxruntime pre-packs once, as it does for model weights).
 */
export async function matmulPeak(n: number, repeat = 5): Promise<number> {
  const data = randomFloats(n * n, 1, 1);
  let best = 0;
  for (const constant of [false, true]) {
    const g = new Graph('peak');
    const a = g.input('a', 'float32', [n, n]);
    const b = constant ? g.initializer('b', data, [n, n]) : g.input('b', 'float32', [n, n]);
    g.output(matmul(g, a, b), 'c');
    const session = await createSession(g.toOnnx());
    const feeds: Record<string, ReturnType<typeof f32>> = { a: f32(data, [n, n]) };
    if (!constant) feeds.b = f32(data, [n, n]);
    const seconds = await timeIt(() => session.run(feeds), { warmup: 2, repeat });
    await session.release();
    best = Math.max(best, (2 * n ** 3) / seconds / 1e9);
  }
  return best;
}

/**
 * Runs `section` between two samples of the MatMul peak and returns its value with the larger sample: a single
 * sample taken earlier reads low whenever other work slows the machine then, and MFU figures measured against it
 * came out above 1. The larger of a sample right before and right after is the yardstick MFU is divided by.
 */
export async function withPeak<T>(
  n: number,
  section: () => Promise<T>,
): Promise<{ value: T; peak: number; before: number; after: number }> {
  const before = await matmulPeak(n);
  const value = await section();
  const after = await matmulPeak(n);
  return { value, peak: Math.max(before, after), before, after };
}

/**
 * Times the wall time spent inside `session.run` until `restore`: `take()` returns the milliseconds since the last
 * take, so a bench can split a step into onnxruntime's run and the host's work around it.
 */
export function timeSessionRuns(session: ort.InferenceSession): { take(): number; restore(): void } {
  const run = session.run.bind(session);
  let ms = 0;
  session.run = (async (...args: Parameters<typeof run>) => {
    const t = performance.now();
    const out = await run(...args);
    ms += performance.now() - t;
    return out;
  }) as typeof session.run;
  return {
    take() {
      const t = ms;
      ms = 0;
      return t;
    },
    restore() {
      session.run = run;
    },
  };
}

/** The middle sample (the upper one of an even count). */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** Deterministic uniform(-scale, scale) floats (xorshift), fast enough for hundreds of millions. */
export function randomFloats(n: number, scale: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = (x / 4294967296 - 0.5) * 2 * scale;
  }
  return out;
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => String(r[i]).length)));
  const line = (r: (string | number)[]) => r.map((c, i) => String(c).padStart(widths[i])).join('  ');
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

function fmt(x: number): string {
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toFixed(3);
}
