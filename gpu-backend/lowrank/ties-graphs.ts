/**
 * TIES' onnxruntime graphs over a block of rows of one module's n stacked deltas, each delta formed in the graph
 * from its factors (b [n, rows, r] · a [n, r, cols], float32):
 * - `delta`: one member's delta alone, for the CPU's kernels (ties-kernels.ts) to read where the runtime wrote it;
 * and, on a GPU host, where the deltas should not leave the device:
 * - `stats`: per member, how many magnitudes lie above `hi`, and the magnitudes inside [lo, hi] with their
 *   positions, from which the exact k-th magnitude and the cut among entries tied at it are found in JS
 *   (ties-runtime.ts);
 * - `combine`: trim below each member's threshold, elect the sign of the total, and the weighted mean over the
 *   members that carry it (PEFT's merge_utils.ties, as merge-ties-dare.ts does it in float64).
 * Sessions come from the engine's createSession, so a GPU host runs them on its GPU.
 */
import { Graph, ONNX_TYPE, type Value } from '../engine/graph.ts';
import { createSession, type ort, type RuntimeOptions } from '../engine/runtime.ts';

const STACKED = ['n', 'rows', 'cols'];

/** The stacked deltas b·a and the per-member [n, 1, 1] inputs named in `perMember`. */
function deltasOf(g: Graph, perMember: string[]): { d: Value; inputs: Value[] } {
  const b = g.input('b', 'float32', ['n', 'rows', 'r']);
  const a = g.input('a', 'float32', ['n', 'r', 'cols']);
  const inputs = perMember.map((name) => g.input(name, 'float32', ['n', 1, 1]));
  const [d] = g.node('MatMul', [b, a], [{ type: 'float32', shape: STACKED }]);
  return { d, inputs };
}

function statsGraph(): Uint8Array {
  const g = new Graph('ties_stats');
  const {
    d,
    inputs: [lo, hi],
  } = deltasOf(g, ['lo', 'hi']);
  const bool = { type: 'bool' as const, shape: STACKED };
  const [mag] = g.node('Abs', [d], [{ type: 'float32', shape: STACKED }]);
  const [over] = g.node('Greater', [mag, hi], [bool]);
  const [overCount] = g.node('Cast', [over], [{ type: 'int32', shape: STACKED }], { to: ONNX_TYPE.int32 });
  g.output(g.node('ReduceSum', [overCount, g.ints([1, 2])], [{ type: 'int32', shape: ['n'] }], { keepdims: 0 })[0], 'above');
  const [notBelow] = g.node('GreaterOrEqual', [mag, lo], [bool]);
  const [notAbove] = g.node('LessOrEqual', [mag, hi], [bool]);
  const [inside] = g.node('And', [notBelow, notAbove], [bool]);
  // The coordinates (member, row, col) of the magnitudes inside, member after member, and those magnitudes: the
  // positions break ties at the threshold.
  const [where] = g.node('NonZero', [inside], [{ type: 'int64', shape: [3, 'count'] }]);
  g.output(g.node('Cast', [where], [{ type: 'int32', shape: [3, 'count'] }], { to: ONNX_TYPE.int32 })[0], 'where');
  const [indices] = g.node('Transpose', [where], [{ type: 'int64', shape: ['count', 3] }], { perm: [1, 0] });
  g.output(g.node('GatherND', [mag, indices], [{ type: 'float32', shape: ['count'] }])[0], 'values');
  return g.toOnnx();
}

/**
 * `positional`: an entry whose magnitude equals its member's threshold is kept only before that member's `cut`
 * (a flat position in the block, against the `position` plane), so that exactly k entries survive; without it,
 * every entry at or above the threshold is kept.
 */
function combineGraph(positional: boolean): Uint8Array {
  const g = new Graph(positional ? 'ties_combine_at_cut' : 'ties_combine');
  const {
    d,
    inputs: [threshold, weight, cut],
  } = deltasOf(g, positional ? ['threshold', 'weight', 'cut'] : ['threshold', 'weight']);
  const f = { type: 'float32' as const, shape: STACKED };
  const bool = { type: 'bool' as const, shape: STACKED };
  const plane = { type: 'float32' as const, shape: ['rows', 'cols'] };
  const zero = g.scalar(0);
  const [mag] = g.node('Abs', [d], [f]);
  let kept: Value;
  if (positional) {
    const position = g.input('position', 'float32', [1, 'rows', 'cols']);
    const [over] = g.node('Greater', [mag, threshold], [bool]);
    const [at] = g.node('Equal', [mag, threshold], [bool]);
    const [early] = g.node('Less', [position, cut], [bool]);
    const [atEarly] = g.node('And', [at, early], [bool]);
    [kept] = g.node('Or', [over, atEarly], [bool]);
  } else [kept] = g.node('GreaterOrEqual', [mag, threshold], [bool]);
  const [trimmed] = g.node('Where', [kept, d, zero], [f]);
  const [total] = g.node('ReduceSum', [trimmed, g.ints([0])], [plane], { keepdims: 0 });
  // The elected sign: that of the total, + where it is 0 (as disjointMean's total >= 0).
  const [positive] = g.node('GreaterOrEqual', [total, zero], [{ type: 'bool', shape: ['rows', 'cols'] }]);
  const [elected] = g.node('Where', [positive, g.scalar(1), g.scalar(-1)], [plane]);
  const [sign] = g.node('Sign', [trimmed], [f]);
  const [agrees] = g.node('Equal', [sign, elected], [bool]);
  const [weighted] = g.node('Mul', [trimmed, weight], [f]);
  const [agreeing] = g.node('Where', [agrees, weighted, zero], [f]);
  const [sum] = g.node('ReduceSum', [agreeing, g.ints([0])], [plane], { keepdims: 0 });
  const [ones] = g.node('Cast', [agrees], [f], { to: ONNX_TYPE.float32 });
  const [count] = g.node('ReduceSum', [ones, g.ints([0])], [plane], { keepdims: 0 });
  const [divisor] = g.node('Max', [count, g.scalar(1)], [plane]);
  g.output(g.node('Div', [sum, divisor], [plane])[0], 'merged');
  return g.toOnnx();
}

/**
 * One member's delta b [rows, r] · a [r, cols]: run per member, onnxruntime's MatMul took 15–25% less CPU than one
 * batched over the members (a whole TIES module 2–5% less).
 */
function deltasGraph(): Uint8Array {
  const g = new Graph('ties_delta');
  const b = g.input('b', 'float32', ['rows', 'r']);
  const a = g.input('a', 'float32', ['r', 'cols']);
  g.output(g.node('MatMul', [b, a], [{ type: 'float32', shape: ['rows', 'cols'] }])[0], 'delta');
  return g.toOnnx();
}

const sessions = new Map<string, Promise<ort.InferenceSession>>();

function cached(name: string, build: () => Uint8Array, opts?: RuntimeOptions): Promise<ort.InferenceSession> {
  let s = sessions.get(name);
  if (!s) {
    s = createSession(build(), opts);
    sessions.set(name, s);
  }
  return s;
}

export const tiesStatsSession = (): Promise<ort.InferenceSession> => cached('stats', statsGraph);
export const tiesCombineSession = (positional: boolean): Promise<ort.InferenceSession> =>
  cached(positional ? 'combine_at_cut' : 'combine', () => combineGraph(positional));
/**
 * Not spinning: the kernels run on this thread between the runs, and spinning threads would take its core. `threads`:
 * the MatMul's threads (default: all cores).
 */
export const tiesDeltaSession = (threads?: number): Promise<ort.InferenceSession> =>
  cached(`delta/${threads ?? 'all'}`, deltasGraph, { spinning: false, threads });
