/**
 * The serving graph's paths, cut from its optimized, saved form. Every batch used to run the one graph with the whole
 * adapter path (x·A·C·B per unit), even rows with no adapter. A session per path pays only for what its rows use:
 *  - 'shared': the graph as built; any mix of rows, shared-basis tasks included;
 *  - 'adapters': without C (x·A·B), for batches with no shared-basis task, whose every C is the identity;
 *  - 'base': without the adapter path, for batches where no row has an adapter.
 * The variants are cut from the saved graph rather than built and optimized on their own, so their initializers are
 * the saved graph's, and their sessions map the one data file that holds them pre-packed (path-sessions.ts).
 * A graph input that a variant leaves out is read as a constant: a factor as zeros (so x·A, ·B and their Split are
 * zeros and `y + delta` is y), a core as the identity (so h·C is h); each node that only carried it is removed.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type ModelProto = ReturnType<typeof onnx.ModelProto.decode>;
type NodeProto = NonNullable<NonNullable<ModelProto['graph']>['node']>[number];

export const GRAPH_PATHS = ['base', 'adapters', 'shared'] as const;
export type GraphPath = (typeof GRAPH_PATHS)[number];

/** Ops through which a zero input makes a zero output (their data input, for Split, Reshape and Transpose). */
const ZERO_THROUGH = new Set(['MatMul', 'Mul', 'Split', 'Reshape', 'Transpose']);

/**
 * `model` without the inputs `zeros` (read as zeros) and `identities` (square matrices read as the identity): a copy
 * whose nodes that only carried them are gone. Throws on a node it cannot simplify (the graph is not the one
 * inference-graph.ts builds).
 */
export function withoutInputs(model: ModelProto, zeros: (input: string) => boolean, identities: (input: string) => boolean): ModelProto {
  const copy = onnx.ModelProto.decode(onnx.ModelProto.encode(model).finish());
  const graph = copy.graph!;
  const dropped = new Set((graph.input ?? []).map((i) => i.name!).filter((n) => zeros(n) || identities(n)));
  const zero = new Set([...dropped].filter(zeros));
  const alias = new Map<string, string>();
  const resolve = (v: string) => {
    let r = v;
    while (alias.has(r)) r = alias.get(r)!;
    return r;
  };
  const kept: NodeProto[] = [];
  // onnxruntime saves nodes in topological order, so each input is settled before its node is seen.
  for (const node of graph.node ?? []) {
    const ins = (node.input ?? []).map(resolve);
    const outs = node.output ?? [];
    const isZero = ins.map((i) => zero.has(i));
    const op = node.opType ?? '';
    if (op === 'MatMul' && !isZero[0] && dropped.has(ins[1]) && !zero.has(ins[1])) alias.set(outs[0], ins[0]);
    else if (!isZero.some(Boolean)) {
      if (ins.some((i) => dropped.has(i))) throw new Error(`cannot cut ${node.name}: it reads ${ins.filter((i) => dropped.has(i))}`);
      node.input = ins;
      kept.push(node);
    } else if (op === 'Add' && isZero.length === 2 && isZero[0] !== isZero[1]) alias.set(outs[0], ins[isZero[0] ? 1 : 0]);
    else if (op === 'Add' ? isZero.every(Boolean) : ZERO_THROUGH.has(op) && (isZero[0] || op === 'MatMul' || op === 'Mul'))
      for (const o of outs) zero.add(o);
    else throw new Error(`cannot cut ${node.name} (${op}): a zero input it does not pass through`);
  }
  for (const out of graph.output ?? []) {
    const r = resolve(out.name!);
    if (zero.has(r)) throw new Error(`cannot cut: output ${out.name} would be zeros`);
    if (r !== out.name) kept.push(onnx.NodeProto.create({ opType: 'Identity', name: `/cut/${out.name}`, input: [r], output: [out.name!] }));
  }
  graph.node = kept;
  graph.input = (graph.input ?? []).filter((i) => !dropped.has(i.name!));
  const used = new Set(kept.flatMap((n) => n.input ?? []));
  graph.initializer = (graph.initializer ?? []).filter((t) => used.has(t.name!));
  const produced = new Set(kept.flatMap((n) => n.output ?? []));
  graph.valueInfo = (graph.valueInfo ?? []).filter((v) => produced.has(v.name!));
  return copy;
}
