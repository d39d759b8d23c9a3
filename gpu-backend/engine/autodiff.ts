/**
 * Reverse-mode differentiation over a graph's tape: walks the recorded ops backwards from an output, calling
 * each op's vector-Jacobian rule, and emits the gradient computation as more nodes in the same graph. Only
 * ops on a path from a requested input to the output take part, so a frozen base model costs no weight
 * gradients unless its weights are among `wrt`.
 */
import type { Graph, Value } from './graph.ts';
import { add } from './ops.ts';

export function backward(g: Graph, output: Value, wrt: Value[], seed: Value): Map<string, Value> {
  // Forward sweep: which values depend on something we differentiate with respect to.
  const live = new Set(wrt.map((v) => v.name));
  const active = g.tape.map((e) => {
    const on = e.inputs.some((v) => live.has(v.name));
    if (on) for (const o of e.outputs) live.add(o.name);
    return on;
  });

  const grads = new Map<string, Value>([[output.name, seed]]);
  g.untaped(() =>
    g.scope('backward', () => {
      for (let i = g.tape.length - 1; i >= 0; i--) {
        if (!active[i]) continue;
        const entry = g.tape[i];
        const outGrads = entry.outputs.map((o) => grads.get(o.name) ?? null);
        if (outGrads.every((x) => x === null)) continue;
        const need = entry.inputs.map((v) => live.has(v.name) && v.type.startsWith('float'));
        if (!need.some(Boolean)) continue;
        const inGrads = entry.vjp(g, outGrads, need);
        entry.inputs.forEach((v, k) => {
          const gv = inGrads[k];
          if (!need[k] || !gv) return;
          const prev = grads.get(v.name);
          grads.set(v.name, prev ? add(g, prev, gv) : gv);
        });
      }
    }),
  );
  return new Map(wrt.flatMap((v) => (grads.has(v.name) ? [[v.name, grads.get(v.name)!] as [string, Value]] : [])));
}
