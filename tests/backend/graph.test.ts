import { describe, expect, test } from 'vitest';
import { Graph } from '../../gpu-backend/engine/graph.ts';
import { createSession, f32 } from '../../gpu-backend/engine/runtime.ts';

/**
 * A node's `domain` is how the builder will emit com.microsoft contrib ops (MatMulNBits for int4 bases); this
 * checks the hook end to end: the opset import is added and onnxruntime's CPU provider runs the node.
 */
describe('graph builder: contrib-op domain', () => {
  test('a com.microsoft MatMulNBits node serialises with its opset and computes A · dequant(B)ᵀ', async () => {
    const [M, K, N, block] = [2, 32, 3, 16];
    const blocks = K / block;
    // 4-bit codes packed two per byte, low nibble first; dequantised as (code - 8) · scale of its block.
    const codes = Array.from({ length: N * K }, (_, i) => (i * 7 + 3) % 16);
    const packed = new Uint8Array((N * K) / 2);
    for (let i = 0; i < packed.length; i++) packed[i] = codes[2 * i] | (codes[2 * i + 1] << 4);
    const scales = Float32Array.from({ length: N * blocks }, (_, i) => 0.1 + 0.05 * i);
    const a = Float32Array.from({ length: M * K }, (_, i) => Math.sin(i));

    const g = new Graph('nbits');
    const x = g.input('x', 'float32', [M, K]);
    const b = g.initializer('b', packed, [N, blocks, block / 2], 'uint8');
    const s = g.initializer('scales', scales, [N * blocks]);
    const [y] = g.node(
      'MatMulNBits',
      [x, b, s],
      [{ type: 'float32', shape: [M, N] }],
      { K, N, bits: 4, block_size: block },
      { domain: 'com.microsoft' },
    );
    g.output(y, 'y');

    const session = await createSession(g.toOnnx(), { threads: 1 });
    const got = (await session.run({ x: f32(a, [M, K]) })).y.data as Float32Array;

    const want = new Float32Array(M * N);
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++)
        for (let k = 0; k < K; k++) want[m * N + n] += a[m * K + k] * (codes[n * K + k] - 8) * scales[n * blocks + Math.floor(k / block)];
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], 4);
  });
});
