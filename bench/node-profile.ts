/** Reading onnxruntime's per-node profile (the JSON a session writes with profiling on), for the benches that break a step down by node. */

/** One event of the profile. */
export interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}

/**
 * Kernel µs per node, each node's best over the runs after the first (so load from other processes and the first
 * run's allocations fall out); each node's op type; and every run's duration.
 */
export function bestNodeTimes(events: ProfileEvent[]): { best: Map<string, number>; ops: Map<string, string>; runs: number[] } {
  const best = new Map<string, number>();
  const ops = new Map<string, string>();
  const runs: number[] = [];
  for (const e of events) {
    if (e.cat === 'Session' && e.name === 'model_run') runs.push(e.dur);
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || runs.length === 0) continue;
    const node = e.name.slice(0, -'_kernel_time'.length);
    best.set(node, Math.min(best.get(node) ?? Infinity, e.dur));
    if (e.args?.op_name) ops.set(node, e.args.op_name);
  }
  return { best, ops, runs };
}
