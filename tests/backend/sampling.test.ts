import { describe, expect, test } from 'vitest';
import { tokenLogprobs } from '../../gpu-backend/engine/sampling.ts';

describe('tokenLogprobs', () => {
  test('is the log-softmax of the raw logits at the chosen token, with the likeliest tokens first', () => {
    const logits = Float32Array.from([1, 3, 2, 3, -1]);
    const logZ = Math.log([...logits].reduce((s, v) => s + Math.exp(v), 0));
    const lp = tokenLogprobs(logits, 2, 3);
    expect(lp.token).toBe(2);
    expect(lp.logprob).toBeCloseTo(2 - logZ, 6);
    // Ties keep the lower id first, as argmax does.
    expect(lp.top.map((t) => t.token)).toEqual([1, 3, 2]);
    lp.top.forEach((t) => expect(t.logprob).toBeCloseTo(logits[t.token] - logZ, 6));
    expect(tokenLogprobs(logits, 0, 0).top).toEqual([]);
    expect(tokenLogprobs(logits, 0, 10).top).toHaveLength(5);
  });

  test('stays finite for large logits', () => {
    const lp = tokenLogprobs(Float32Array.from([1e4, 0, -1e4]), 2, 1);
    expect(Number.isFinite(lp.logprob)).toBe(true);
    expect(lp.top[0]).toEqual({ token: 0, logprob: 0 });
  });
});
