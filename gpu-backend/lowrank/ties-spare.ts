/**
 * One large thing kept between a thread's TIES modules for the next to reuse (the kernels' memory, a merged delta's
 * buffer), and dropped once none has been taken for two seconds, so an idle process holds none. A fresh one per
 * module was garbage of up to 235 MB (an 8B MLP module) that a thread waiting on its next message never collected:
 * two of them beside the live ones set an 8B layer's peak RSS, and their page faults and collections cost CPU.
 */
export interface Spare<T> {
  /** The kept thing if `fits` it (it is no longer kept), else null. */
  take(fits: (kept: T) => boolean): T | null;
  /** Keeps `thing` for the next take; of two, `larger` says which to keep. */
  keep(thing: T): void;
}

const IDLE_MS = 2000;

export function spare<T>(larger: (a: T, b: T) => boolean): Spare<T> {
  let kept: T | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  return {
    take(fits) {
      if (kept === null || !fits(kept)) return null;
      const thing = kept;
      kept = null;
      return thing;
    },
    keep(thing) {
      if (kept === null || larger(thing, kept)) kept = thing;
      if (timer) timer.refresh();
      else {
        timer = setTimeout(() => {
          kept = null;
          timer = null;
        }, IDLE_MS);
        timer.unref();
      }
    },
  };
}
