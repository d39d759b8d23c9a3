/**
 * Buffers lent to one product and taken back when it returns: the float32 copy of an operand that keeps none
 * (float32-twin.ts), the runtime's output before it is widened, and a result read once (gemmLent). A 135M merge makes thousands of
 * products, and a fresh array for each was about a gigabyte of short-lived external memory a merge; V8 counts
 * external memory against the old generation's limit, so on a merge's small heap it set off a full collection
 * every few modules (about 90 a merge, a third of its CPU with the marking threads). Buffers are kept by
 * power-of-two capacity (a product gets a view of its length), only up to SCRATCH_MAX_FLOATS, and dropped once
 * none has been borrowed for a second, so an idle process holds none.
 */

/** Larger products are rare (a few per module) and their buffers would be most of what the pool holds. */
export const SCRATCH_MAX_FLOATS = 1 << 20;

type Scratch = Float32Array | Float64Array;

const free = new Map<string, Scratch[]>();
let dropTimer: ReturnType<typeof setTimeout> | null = null;

const capacityOf = (length: number) => 2 ** Math.ceil(Math.log2(Math.max(length, 1)));

function borrow<T extends Scratch>(kind: new (n: number) => T, length: number): T {
  if (length > SCRATCH_MAX_FLOATS) return new kind(length);
  const cap = capacityOf(length);
  const buffer = (free.get(`${kind.name}:${cap}`)?.pop() as T | undefined) ?? new kind(cap);
  return buffer.subarray(0, length) as T;
}

/** A float32 view of `length` values (contents unspecified) until `giveBack`. */
export const borrow32 = (length: number): Float32Array => borrow(Float32Array, length);

/** A float64 view of `length` values (contents unspecified) until `giveBack`. */
export const borrow64 = (length: number): Float64Array => borrow(Float64Array, length);

/** Takes back views from borrow32 / borrow64 once nothing reads them (larger ones were fresh arrays: left to the GC). */
export function giveBack(...views: Scratch[]): void {
  for (const view of views) {
    if (view.length > SCRATCH_MAX_FLOATS) continue;
    const whole = view instanceof Float32Array ? new Float32Array(view.buffer) : new Float64Array(view.buffer);
    const key = `${whole.constructor.name}:${whole.length}`;
    const list = free.get(key) ?? [];
    list.push(whole);
    free.set(key, list);
  }
  if (dropTimer) dropTimer.refresh();
  else {
    dropTimer = setTimeout(() => {
      free.clear();
      dropTimer = null;
    }, 1000);
    dropTimer.unref();
  }
}
