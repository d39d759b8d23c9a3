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
