import { describe, expect, test } from 'vitest';
import { householderQr, type Mat, qr } from '../../gpu-backend/lowrank/linalg.ts';
import { loadQrKernels } from '../../gpu-backend/lowrank/qr-kernels.ts';
import { gaussian } from '../../gpu-backend/lowrank/svd.ts';

/** Bit patterns (Object.is tells -0 from 0 and NaN from itself, toEqual on numbers does not split -0). */
const bits = (m: Mat) => Array.from(new BigUint64Array(Float64Array.from(m.data).buffer));

function expectBitwise(a: Mat): void {
  const want = householderQr(a);
  const got = qr(a);
  expect([got.q.rows, got.q.cols, got.r.rows, got.r.cols]).toEqual([want.q.rows, want.q.cols, want.r.rows, want.r.cols]);
  expect(bits(got.q)).toEqual(bits(want.q));
  expect(bits(got.r)).toEqual(bits(want.r));
}

describe('the WebAssembly Householder QR', () => {
  test('is bitwise the JavaScript QR: tall, wide, square, odd widths, eight-column blocks and pairs', async () => {
    await loadQrKernels();
    const shapes = [
      [128, 100],
      [128, 103],
      [129, 127],
      [128, 128],
      [17, 33],
      [33, 17],
      [300, 16],
      [16, 3],
      [64, 9],
    ];
    shapes.forEach(([m, n], s) => expectBitwise(gaussian(m, n, 30 + s)));
  });

  test('keeps zero and repeated columns (reflectors skipped, zero dot products left alone) and signed zeros', async () => {
    await loadQrKernels();
    const a = gaussian(40, 20, 7);
    for (let i = 0; i < 40; i++) {
      a.data[i * 20 + 5] = 0;
      a.data[i * 20 + 11] = -0;
      a.data[i * 20 + 7] = a.data[i * 20 + 2];
      a.data[i * 20 + 19] = -a.data[i * 20 + 2];
    }
    expectBitwise(a);
    // Rank 3 in a 24×12: most reflectors after the third meet round-off or nothing.
    const low = gaussian(24, 3, 8);
    const mix = gaussian(3, 12, 9);
    const b = { rows: 24, cols: 12, data: new Float64Array(24 * 12) };
    for (let i = 0; i < 24; i++)
      for (let j = 0; j < 12; j++) for (let p = 0; p < 3; p++) b.data[i * 12 + j] += low.data[i * 3 + p] * mix.data[p * 12 + j];
    expectBitwise(b);
    expectBitwise({ rows: 16, cols: 16, data: new Float64Array(256) });
  });
});
