/**
 * The value that would sit at index `nth` if `x` were sorted ascending (Hoare's quickselect, in place, O(n) on
 * average): a full sort of every delta was most of a TIES merge's time.
 */
export function select(x: Float32Array | Float64Array, nth: number): number {
  let lo = 0;
  let hi = x.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >> 1;
    const pivot = Math.max(Math.min(x[lo], x[mid]), Math.min(Math.max(x[lo], x[mid]), x[hi]));
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (x[i] < pivot) i++;
      while (x[j] > pivot) j--;
      if (i <= j) {
        const tmp = x[i];
        x[i++] = x[j];
        x[j--] = tmp;
      }
    }
    if (nth <= j) hi = j;
    else if (nth >= i) lo = i;
    else return x[nth];
  }
  return x[nth];
}

/** Digits of a magnitude's 31 bits, highest first: [shift, width]. */
const DIGITS: [number, number][] = [
  [20, 11],
  [10, 10],
  [0, 10],
];

/**
 * The float32 magnitude that would sit at index `nth` if |x| were sorted ascending, by a radix select over the IEEE
 * bits (sign dropped, a non-negative float's bits order as integers): three histogram passes, each over the entries
 * whose higher digits match. x is left as it is (no copy of magnitudes to partition), and there are no data-dependent
 * swaps: on a TIES module's unsure entries it took about a fifth of quickselect's time with the copies. NaN sorts last.
 */
export function selectMagnitude(x: Float32Array, nth: number): number {
  if (!(nth >= 0 && nth < x.length)) throw new Error(`selectMagnitude: index ${nth} of ${x.length}`);
  const bits = new Int32Array(x.buffer, x.byteOffset, x.length);
  const counts = new Int32Array(1 << 11);
  let prefix = 0;
  let mask = 0;
  let rank = nth;
  for (const [shift, width] of DIGITS) {
    counts.fill(0);
    const digit = (1 << width) - 1;
    for (let j = 0; j < bits.length; j++) {
      const b = bits[j] & 0x7fffffff;
      if ((b & mask) === prefix) counts[(b >>> shift) & digit]++;
    }
    let d = 0;
    while (rank >= counts[d]) rank -= counts[d++];
    prefix |= d << shift;
    mask |= digit << shift;
  }
  return new Float32Array(Uint32Array.of(prefix).buffer)[0];
}
