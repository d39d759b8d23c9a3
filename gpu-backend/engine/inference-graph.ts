/**
 * The serving graph: the whole decoder with its weights as external-data initializers (external-weights.ts; loaded
 * once per base model), one graph
 * for prefill and decode alike. Per step it takes
 *   inputs_embeds [batch, seq, hidden_size] (the tokens' embedding rows, looked up on the host: embedding-table.ts),
 *   rope tables, an additive mask [batch, 1, 1, seq, past+seq], logits_index [batch, n],
 *   past_key.L / past_value.L [batch, kv_heads, past, head_dim]   (the static cache, read in place),
 *   lora_A.L.U [lora_rows, in, n·r], lora_C.L.U [core_rows, n·r, n·r], lora_B.L.P [lora_rows, r, out]
 *                                 (per unit U of PROJECTION_UNITS: q/k/v together, o, gate/up together, down; each
 *                                  row's adapter, transposed, rank-padded, or its shared-basis task as A = V,
 *                                  C = Σᵢᵀ, B = Uᵀ (lora-rows.ts); a leading axis is 1 when every row has that factor
 *                                  in common, and MatMul broadcasts it),
 * and returns logits at the requested positions, the last hidden state after the final norm at every position
 * (hidden [batch, seq, hidden_size], which embeddings pool), plus this step's keys and values (present_key.L /
 * present_value.L [batch, kv_heads, seq, head_dim]), which the caller writes into its cache.
 * With `weightQuantization`, the projections and the LM head are int8/int4 MatMulNBits initializers
 * (quantized-weights.ts); the inputs and outputs stay the same.
 */
import { PROJECTIONS, projectionShape, type ModelConfig, type Projection } from '../../contracts/formats/hf-config.ts';
import { Graph, type Value } from './graph.ts';
import {
  decoderLayer,
  FUSED_GROUPS,
  type FusedWeight,
  hasBias,
  PROJECTION_UNITS,
  type ProjectionUnit,
  weightName,
  type LayerWeights,
  type UnitLora,
} from './llama.ts';
import { concat, gatherRows, isNBits, linearAny, rmsNormServing, type LinearWeight } from './ops.ts';
import type { ExternalWeights } from './external-weights.ts';
import { checkWeightQuantization, type WeightQuantization } from './quantized-weights.ts';

export const io = {
  inputsEmbeds: 'inputs_embeds',
  cos: 'rope_cos',
  sin: 'rope_sin',
  mask: 'attn_mask',
  logitsIndex: 'logits_index',
  logits: 'logits',
  hidden: 'hidden',
  pastKey: (l: number) => `past_key.${l}`,
  pastValue: (l: number) => `past_value.${l}`,
  presentKey: (l: number) => `present_key.${l}`,
  presentValue: (l: number) => `present_value.${l}`,
  loraA: (l: number, u: ProjectionUnit) => `lora_A.${l}.${u}`,
  loraB: (l: number, p: Projection) => `lora_B.${l}.${p}`,
  loraC: (l: number, u: ProjectionUnit) => `lora_C.${l}.${u}`,
  /** How the names above begin: the factors A and B, and the cores C (path-sessions.ts cuts by them). */
  loraFactorPrefixes: ['lora_A.', 'lora_B.'],
  loraCorePrefix: 'lora_C.',
};

export interface InferenceGraphOptions {
  /** false: no LoRA inputs at all (the plain base model; benchmarks compare against it). */
  lora?: boolean;
  /**
   * true: q/k/v and gate/up each one MatMul over their weights stacked in the graph (folded at load). Default: on for
   * quantized weights, off for float32. int4 at the 1B shape: decode took 1.13x less CPU per token (fewer, larger
   * MatMulNBits, each split over both cores) for 20 MB more RSS. float32 at the 135M shape: the session held
   * ~320 MB more (970 against 651 MB), for no speed-up measurable on the loaded machine (engine/README.md).
   */
  stackProjections?: boolean;
  /** Serve the projections and the LM head with int8 or int4 weights (absent: float32). */
  weightQuantization?: WeightQuantization;
}

export function buildInferenceGraph(cfg: ModelConfig, weights: ExternalWeights, opts: InferenceGraphOptions = {}): Graph {
  const g = new Graph('rankgate-decoder');
  const hd = cfg.headDim;
  const inputsEmbeds = g.input(io.inputsEmbeds, 'float32', ['batch', 'seq', cfg.hiddenSize]);
  const cos = g.input(io.cos, 'float32', ['batch', 'seq', 1, hd]);
  const sin = g.input(io.sin, 'float32', ['batch', 'seq', 1, hd]);
  const mask = g.input(io.mask, 'float32', ['batch', 1, 1, 'seq', 'total']);
  const logitsIndex = g.input(io.logitsIndex, 'int64', ['batch', 'n_logits']);

  const param = (name: string, shape: number[]) => weights.float(g, name, shape);
  const quant = opts.weightQuantization && checkWeightQuantization(opts.weightQuantization);
  /** A [n, k] weight under `name` (ending in `.weight`) as float32, or quantized under `as`. */
  const matrix = (name: string, [n, k]: [number, number], as = name): LinearWeight =>
    quant ? weights.nbits(g, name, as.replace(/\.weight$/, ''), n, k, quant) : param(name, [n, k]);
  // The table is in the graph only as a float32 tied head; the lookup is the host's (embedding-table.ts).
  const embed = cfg.tieWordEmbeddings && !quant ? param(weightName.embed, [cfg.vocabSize, cfg.hiddenSize]) : null;

  let h = inputsEmbeds;
  for (let l = 0; l < cfg.numLayers; l++) {
    const w: LayerWeights = {
      inputNorm: param(weightName.inputNorm(l), [cfg.hiddenSize]),
      postNorm: param(weightName.postNorm(l), [cfg.hiddenSize]),
      proj: {} as Record<Projection, LinearWeight>,
      bias: {},
    };
    const lora = {} as Record<ProjectionUnit, UnitLora>;
    for (const p of PROJECTIONS) {
      const { in: fanIn, out } = projectionShape(cfg, p);
      w.proj[p] = matrix(weightName.proj(l, p), [out, fanIn]);
      if (hasBias(cfg, p)) w.bias[p] = param(weightName.bias(l, p), [out]);
    }
    if (opts.lora !== false)
      for (const { unit, members } of PROJECTION_UNITS) {
        const r = `r.${l}.${unit}`;
        const width = `${members.length}·${r}`;
        lora[unit] = {
          a: g.input(io.loraA(l, unit), 'float32', ['lora_rows', projectionShape(cfg, members[0]).in, width]),
          c: g.input(io.loraC(l, unit), 'float32', ['core_rows', width, width]),
          b: members.map((p) => g.input(io.loraB(l, p), 'float32', ['lora_rows', r, projectionShape(cfg, p).out])),
        };
      }
    w.fused = {};
    if (opts.stackProjections ?? quant !== undefined)
      for (const [group, members] of Object.entries(FUSED_GROUPS) as [keyof typeof FUSED_GROUPS, readonly Projection[]][])
        w.fused[group] = stacked(
          g,
          members.map((p) => w.proj[p]),
          hasBias(cfg, members[0]) ? members.map((p) => w.bias[p]!) : undefined,
        );
    const past = {
      key: g.input(io.pastKey(l), 'float32', ['batch', cfg.numKvHeads, 'past', hd]),
      value: g.input(io.pastValue(l), 'float32', ['batch', cfg.numKvHeads, 'past', hd]),
    };
    const out = g.scope(`model/layers.${l}`, () =>
      decoderLayer(g, cfg, w, {
        x: h,
        cos,
        sin,
        mask,
        past,
        lora: () => undefined,
        loraUnit: opts.lora === false ? undefined : (u) => lora[u],
        oneNodeNorms: true,
      }),
    );
    h = out.y;
    g.output(out.key, io.presentKey(l));
    g.output(out.value, io.presentValue(l));
  }
  // The final norm runs before the logits_index gather rather than after it: per position, so the logits are the
  // same, and a decode step (seq 1) does the same work; the normed state is what embeddings pool.
  const normed = g.scope('model/norm', () => rmsNormServing(g, h, param(weightName.norm, [cfg.hiddenSize]), cfg.rmsNormEps));
  g.output(normed, io.hidden);
  const picked = g.scope('model/logits_index', () => gatherRows(g, normed, logitsIndex));
  const headShape: [number, number] = [cfg.vocabSize, cfg.hiddenSize];
  // Tied embeddings: float32, the table is the head; quantized, the head gets its own quantized copy.
  const lmHead = embed ?? matrix(cfg.tieWordEmbeddings ? weightName.embed : weightName.lmHead, headShape, weightName.lmHead);
  g.output(
    g.scope('model/lm_head', () => linearAny(g, picked, lmHead)),
    io.logits,
  );
  return g;
}

/**
 * Weights [n_i, k] stacked along n into one [Σ n_i, k] (and their biases): the graph holds Concat nodes of
 * initializers, which onnxruntime folds into one initializer when the session loads. MatMulNBits parts are laid
 * out row by row (codes [n, blocks, blob], scales and zero points n-major), so they stack the same way.
 */
function stacked(g: Graph, ws: LinearWeight[], biases?: Value[]): FusedWeight {
  const bias = biases && concat(g, biases, 0);
  if (!ws.every(isNBits)) {
    const floats = ws as Value[];
    return { w: concat(g, floats, 0), bias, sizes: floats.map((w) => w.shape[0] as number) };
  }
  const zeroPoints = ws.every((w) => w.zeroPoints)
    ? concat(
        g,
        ws.map((w) => w.zeroPoints!),
        0,
      )
    : undefined;
  const w = {
    ...ws[0],
    qweight: concat(
      g,
      ws.map((w) => w.qweight),
      0,
    ),
    scales: concat(
      g,
      ws.map((w) => w.scales),
      0,
    ),
    zeroPoints,
    n: ws.reduce((n, w) => n + w.n, 0),
  };
  return { w, bias, sizes: ws.map((w) => w.n) };
}
