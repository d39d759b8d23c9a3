/**
 * AdamW exactly as `torch.optim.AdamW` (decoupled weight decay, bias correction, eps outside the square root),
 * global-norm clipping as `torch.nn.utils.clip_grad_norm_`, and the schedules of transformers'
 * `get_linear_schedule_with_warmup` / `get_cosine_schedule_with_warmup`. Runs on the host: LoRA parameters are
 * small, and a JS loop over them costs milliseconds against seconds of forward and backward.
 */

export interface AdamWConfig {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

export interface AdamWState {
  step: number;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

export function newAdamWState(): AdamWState {
  return { step: 0, m: new Map(), v: new Map() };
}

/**
 * One optimizer step over every parameter that has a gradient, in place. `lr` overrides cfg.lr (schedules);
 * `decays(name)` says whether weight decay applies to a parameter (all by default, as in torch).
 */
export function adamwStep(
  params: Map<string, Float32Array>,
  grads: Map<string, Float32Array>,
  state: AdamWState,
  cfg: AdamWConfig,
  lr = cfg.lr,
  decays: (name: string) => boolean = () => true,
): void {
  state.step += 1;
  const [b1, b2] = cfg.betas;
  const bc1 = 1 - b1 ** state.step;
  const bc2Sqrt = Math.sqrt(1 - b2 ** state.step);
  const stepSize = lr / bc1;
  for (const [name, p] of params) {
    const g = grads.get(name);
    if (!g) continue;
    const decay = decays(name) ? 1 - lr * cfg.weightDecay : 1;
    let m = state.m.get(name);
    let v = state.v.get(name);
    if (!m || !v) {
      m = new Float32Array(p.length);
      v = new Float32Array(p.length);
      state.m.set(name, m);
      state.v.set(name, v);
    }
    for (let i = 0; i < p.length; i++) {
      const gi = g[i];
      p[i] *= decay;
      m[i] += (gi - m[i]) * (1 - b1);
      v[i] = v[i] * b2 + (1 - b2) * gi * gi;
      p[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) / bc2Sqrt + cfg.eps);
    }
  }
}

/** Scales gradients in place so their global L2 norm is at most maxNorm; returns the norm before clipping. */
export function clipGradNorm(grads: Iterable<Float32Array>, maxNorm: number): number {
  const all = [...grads];
  let sq = 0;
  for (const g of all) for (let i = 0; i < g.length; i++) sq += g[i] * g[i];
  const norm = Math.sqrt(sq);
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) for (const g of all) for (let i = 0; i < g.length; i++) g[i] *= coef;
  return norm;
}

export type ScheduleKind = 'linear' | 'cosine' | 'constant';

/** Learning rate at optimizer step `step` (0-based) of `total`, after `warmup` linear warm-up steps. */
export function scheduledLr(base: number, kind: ScheduleKind, step: number, total: number, warmup: number): number {
  if (step < warmup) return (base * step) / Math.max(1, warmup);
  if (kind === 'constant') return base;
  const progress = (step - warmup) / Math.max(1, total - warmup);
  if (kind === 'linear') return base * Math.max(0, 1 - progress);
  return base * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
}
