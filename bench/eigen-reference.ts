/**
 * The JavaScript eigensolver (symmetric-eigen.ts with no kernels: the tred2/tql2 the WebAssembly loops of
 * eigen-kernels.wat replaced, unchanged), named as the reference the new solver is measured (bench/eigen.ts) and
 * tested (lowrank-eigen.test.ts) against. It used to be a copy of the old file; the JavaScript path is that code.
 */
import { type EigenWork, eigenInPlace } from '../gpu-backend/lowrank/symmetric-eigen.ts';

export function eigenInPlaceReference(n: number, v: Float64Array, w: EigenWork): void {
  eigenInPlace(n, v, w, null);
}
