/**
 * SharedArrayBuffers lent and taken back within one operation, for float32 copies a float64 thread reads: the
 * copy crosses to the thread without a new buffer on either side. A fresh array per module sent (transferred)
 * added its bytes to V8's external memory on both sides, and every ~64 MB of those set off a full collection
 * (at the 135M shape an `rmm_factor` merge sent 160 MB of members a merge). The buffers are dropped with the pool.
 */
export class SharedFloats {
  private readonly free: SharedArrayBuffer[] = [];

  /** A float32 view of `length` values on a buffer no one else holds until `give`. */
  take(length: number): Float32Array<SharedArrayBuffer> {
    const bytes = 4 * length;
    let best = -1;
    for (let i = 0; i < this.free.length; i++)
      if (this.free[i].byteLength >= bytes && (best < 0 || this.free[i].byteLength < this.free[best].byteLength)) best = i;
    const buffer = best < 0 ? new SharedArrayBuffer(bytes) : this.free.splice(best, 1)[0];
    return new Float32Array(buffer, 0, length);
  }

  /** Takes back what `take` lent (its buffer is lent again to a later `take`). */
  give(view: Float32Array<SharedArrayBuffer>): void {
    this.free.push(view.buffer);
  }
}
