/**
 * One large thing kept between a thread's TIES modules for the next to reuse (the kernels and their memory, about
 * 150 MB for an 8B MLP module; a merged delta's rows given back, 235 MB), and dropped once none has been taken for two
 * seconds, so an idle process holds none.
 * Fresh kernels per module touched fresh pages (their faults were a sixth of an 8B gate module's pass, which took
 * 1.62–1.89 CPU-s with fresh kernels and 1.33–1.41 with kept ones) and left the old memory to a late collection.
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
