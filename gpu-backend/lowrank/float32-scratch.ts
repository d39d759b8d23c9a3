/**
 * Float32 buffers lent to one runtime product and taken back when it returns: the float32 copy of an operand
 * that keeps none (float32-twin.ts) and the runtime's output before it is widened. A 135M merge makes thousands of
 * products, and a fresh array for each was about a gigabyte of short-lived external memory a merge; V8 counts
 * external memory against the old generation's limit, so on a merge's small heap it set off a full collection
 * every few modules (about 90 a merge, a third of its CPU with the marking threads). Buffers are kept by
 * power-of-two capacity (a product gets a view of its length), only up to SCRATCH_MAX_FLOATS, and dropped once
 * none has been borrowed for a second, so an idle process holds none.
 */

/** Larger products are rare (a few per module) and their buffers would be most of what the pool holds. */
export const SCRATCH_MAX_FLOATS = 1 << 20;

const free = new Map<number, Float32Array[]>();
let dropTimer: ReturnType<typeof setTimeout> | null = null;

const capacityOf = (length: number) => 2 ** Math.ceil(Math.log2(Math.max(length, 1)));

/** A float32 view of `length` values (contents unspecified) until `giveBack`. */
export function borrow32(length: number): Float32Array {
  if (length > SCRATCH_MAX_FLOATS) return new Float32Array(length);
  const cap = capacityOf(length);
  const buffer = free.get(cap)?.pop() ?? new Float32Array(cap);
  return buffer.subarray(0, length);
}

/** Takes back views from borrow32 once nothing reads them (larger ones were fresh arrays and are left to the GC). */
export function giveBack(...views: Float32Array[]): void {
  for (const view of views) {
    if (view.length > SCRATCH_MAX_FLOATS) continue;
    const whole = new Float32Array(view.buffer);
    const list = free.get(whole.length) ?? [];
    list.push(whole);
    free.set(whole.length, list);
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
