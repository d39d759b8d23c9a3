import { describe, expect, test } from 'vitest';
import { parseModelConfig } from '../../contracts/formats/hf-config.ts';
import { KvCache } from '../../gpu-backend/engine/kv-cache.ts';
import { io } from '../../gpu-backend/engine/inference-graph.ts';

const cfg = parseModelConfig({
  model_type: 'llama',
  vocab_size: 32,
  hidden_size: 16,
  intermediate_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-5,
});
const { numKvHeads: kvH, headDim: hd } = cfg;
const names = { key: io.pastKey, value: io.pastValue };

/** A present tensor [1, kv_heads, seq, head_dim] whose values say their row tag, head and position. */
function present(tag: number, seq: number) {
  const key = Float32Array.from({ length: kvH * seq * hd }, (_, i) => tag * 1000 + i);
  return { key, value: key.map((v) => -v) };
}

function append(cache: KvCache, row: number, tag: number, seq: number): void {
  for (let l = 0; l < cfg.numLayers; l++) cache.write(l, row, present(tag, seq), 0, seq, 0, seq);
  cache.advance(row, seq);
}

/** Row `row`'s keys of layer 0 as fed, [kv_heads, length, head_dim]. */
function fedKeys(cache: KvCache, row: number): number[] {
  const t = cache.tensors(row + 1, names)[0][1];
  const data = t.data as Float32Array;
  const out: number[] = [];
  for (let h = 0; h < kvH; h++) {
    const at = (row * kvH + h) * cache.capacity * hd;
    out.push(...data.subarray(at, at + cache.lengths[row] * hd));
  }
  return out;
}

describe('KV cache', () => {
  test('holds only the rows in use, not every row the batch may hold', () => {
    const cache = new KvCache(cfg, 64);
    cache.fit(10);
    append(cache, 0, 1, 9);
    // One row at 64 positions: the buffers of all 64 rows were 64 times this.
    expect(cache.keys[0].length).toBe(kvH * 64 * hd);
    append(cache, 1, 2, 5);
    append(cache, 2, 3, 4);
    expect(cache.keys[0].length).toBe(4 * kvH * 64 * hd);
    expect(cache.tensors(3, names)[0][1].dims).toEqual([3, kvH, 64, hd]);
    expect(fedKeys(cache, 0)).toEqual([...present(1, 9).key]);
    expect(fedKeys(cache, 2)).toEqual([...present(3, 4).key]);
  });

  test('gives rows back once at most half are in use, keeping what the rows hold', () => {
    const cache = new KvCache(cfg, 8);
    cache.fit(8);
    for (let r = 0; r < 8; r++) append(cache, r, r + 1, 3);
    expect(cache.keys[0].length).toBe(8 * kvH * 64 * hd);
    // Rows leave by swap-removal, as a batch's rows do; 5 in use still keep the 8 rows.
    for (const [from, to] of [
      [7, 1],
      [6, 3],
      [5, 4],
    ])
      cache.move(from, to);
    cache.fit(4);
    expect(cache.keys[0].length).toBe(8 * kvH * 64 * hd);
    cache.move(4, 0);
    cache.fit(4);
    expect(cache.keys[0].length).toBe(4 * kvH * 64 * hd);
    expect([0, 1, 2, 3].map((r) => fedKeys(cache, r))).toEqual([6, 8, 3, 7].map((tag) => [...present(tag, 3).key]));
    for (let r = 0; r < 4; r++) cache.clear(r);
    cache.fit(0);
    expect(cache.keys).toEqual([]);
  });
});
