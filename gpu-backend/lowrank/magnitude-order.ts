/**
 * The stable ascending order of a row's entries by magnitude (ties in index order), as `order.sort((x, y) =>
 * |row[x]| − |row[y]|)` gives it, by an LSD radix sort of the magnitudes' bits: a comparator sort of every row was
 * most of a DELLA merge's time, and a native sort of packed (magnitude, index) keys only halved it.
 */

const DIGIT_BITS = 11;
const BUCKETS = 1 << DIGIT_BITS;

// The float's bits are read through a Uint32Array view, whose word order follows the platform's.
if (new Uint8Array(Uint32Array.of(1).buffer)[0] !== 1) throw new Error('magnitude-order: assumes a little-endian platform');

/**
 * A non-negative IEEE float's bits, read as an unsigned integer, order as the float does; the digits stop below the
 * sign bit, so they are |x|'s. A float32 is one word (31 bits); a float64 two, low word first (63 bits). Each digit:
 * word, shift, width.
 */
function digitsOf(wordsPerEntry: 1 | 2): { word: number; shift: number; width: number }[] {
  const digits: { word: number; shift: number; width: number }[] = [];
  for (let word = 0; word < wordsPerEntry; word++) {
    const bits = word === wordsPerEntry - 1 ? 31 : 32;
    for (let shift = 0; shift < bits; shift += DIGIT_BITS) digits.push({ word, shift, width: Math.min(DIGIT_BITS, bits - shift) });
  }
  return digits;
}

const DIGITS = { 1: digitsOf(1), 2: digitsOf(2) };

/** Reusable buffers for rows of `cols` entries; `order(row)` returns a view that the next call overwrites. */
export function magnitudeOrderer(cols: number): (row: Float32Array | Float64Array) => Int32Array {
  let src = new Int32Array(cols);
  let dst = new Int32Array(cols);
  const count = new Int32Array(BUCKETS);
  return (row) => {
    if (row.length !== cols) throw new Error(`magnitudeOrderer: a row of ${row.length} entries, expected ${cols}`);
    const wordsPerEntry = row instanceof Float64Array ? 2 : 1;
    const bits = new Uint32Array(row.buffer, row.byteOffset, cols * wordsPerEntry);
    for (let c = 0; c < cols; c++) src[c] = c;
    for (const { word, shift, width } of DIGITS[wordsPerEntry]) {
      const mask = (1 << width) - 1;
      count.fill(0);
      for (let c = 0; c < cols; c++) count[(bits[c * wordsPerEntry + word] >>> shift) & mask]++;
      // A digit every entry shares leaves the order as it is.
      if (count.includes(cols)) continue;
      for (let d = 0, at = 0; d <= mask; d++) {
        const n = count[d];
        count[d] = at;
        at += n;
      }
      for (let q = 0; q < cols; q++) {
        const c = src[q];
        dst[count[(bits[c * wordsPerEntry + word] >>> shift) & mask]++] = c;
      }
      [src, dst] = [dst, src];
    }
    return src;
  };
}
