/** Next-token choice from one row of logits: greedy, or temperature + nucleus (top-p) with a seeded generator. */

export interface SamplingParams {
  /** 0 (default) means greedy. */
  temperature?: number;
  /** Keep the smallest set of tokens whose probability reaches top_p (default 1: all). */
  topP?: number;
}

/** argmax, ties to the lowest index as torch.argmax does. */
function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/** A small, fast, seedable generator (mulberry32), so a request with a seed is reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The logits with every token the bitmask forbids set to -Infinity (bit t%32 of word t>>5 set = allowed, the
 * layout xgrammar's getNextTokenBitmask writes), so greedy and nucleus sampling alike only choose allowed tokens.
 * A copy: the raw logits stay the model's own distribution, which logprobs report.
 */
export function maskLogits(logits: Float32Array, allowed: Int32Array): Float32Array {
  const out = new Float32Array(logits.length);
  for (let t = 0; t < logits.length; t++) out[t] = (allowed[t >> 5] >>> (t & 31)) & 1 ? logits[t] : Number.NEGATIVE_INFINITY;
  return out;
}

/** A token chosen from `logits`; with `allowed` (a token bitmask, see maskLogits), only among the tokens it allows. */
export function sample(logits: Float32Array, params: SamplingParams, random: () => number, allowed?: Int32Array): number {
  if (allowed) logits = maskLogits(logits, allowed);
  const temperature = params.temperature ?? 0;
  if (temperature <= 0) return argmax(logits);
  const topP = params.topP ?? 1;
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  const probs = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += probs[i] = Math.exp((logits[i] - max) / temperature);
  const order = Array.from(probs.keys());
  if (topP < 1) order.sort((x, y) => probs[y] - probs[x]);
  let kept = order.length;
  let mass = 0;
  if (topP < 1) {
    for (let k = 0; k < order.length; k++) {
      mass += probs[order[k]] / sum;
      if (mass >= topP) {
        kept = k + 1;
        break;
      }
    }
  }
  let total = 0;
  for (let k = 0; k < kept; k++) total += probs[order[k]];
  let u = random() * total;
  for (let k = 0; k < kept; k++) {
    u -= probs[order[k]];
    if (u <= 0) return order[k];
  }
  return order[kept - 1];
}

/** A chosen token's log-probability, and the likeliest tokens' (most likely first). */
export interface TokenLogprobs {
  token: number;
  logprob: number;
  top: { token: number; logprob: number }[];
}

/**
 * Log-softmax of the raw logits, read at `token` and at the `top` likeliest tokens: the model's own
 * distribution, before temperature and top-p reshape it for sampling (what OpenAI reports as logprobs).
 */
export function tokenLogprobs(logits: Float32Array, token: number, top: number): TokenLogprobs {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  const logZ = max + Math.log(sum);
  // The `top` best ids in a small sorted list (top is at most 20; a full sort of the vocabulary is not needed).
  const best: number[] = [];
  for (let i = 0; i < logits.length && top > 0; i++) {
    if (best.length === top && logits[i] <= logits[best[top - 1]]) continue;
    let at = best.length;
    while (at > 0 && logits[best[at - 1]] < logits[i]) at--;
    best.splice(at, 0, i);
    if (best.length > top) best.pop();
  }
  return { token, logprob: logits[token] - logZ, top: best.map((t) => ({ token: t, logprob: logits[t] - logZ })) };
}
