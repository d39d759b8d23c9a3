/**
 * The V8 heap that merges run in. A merge keeps a small JavaScript heap (~17 MB at the 135M shape) and makes
 * gigabytes of short-lived typed arrays: every onnxruntime run returns its output in a fresh ArrayBuffer, even when
 * it is given one to write into. V8 counts those buffers against the old generation's limit, which starts at a few
 * megabytes on a small heap, so they set off a full collection every 100–300 ms (~40 a 135M `rmm_shared` merge,
 * each marked on V8's helper threads). Starting the old generation at 128 MB leaves a few a merge and cuts its CPU
 * by ~15% (135M, in turn, load ~10: 3.1–3.7 s against 3.9–4.4 s without; 512 MB saved no more). It is also the
 * garbage a merge may hold before a full collection: at 512 MB the 8B shape's peak RSS grew ~10 MB a layer more
 * (2 and 8 layers, bench merge's extrapolation to 32 went past its budget); at 128 MB it grows as without.
 * V8 sizes a heap when it creates an isolate, so the setting must be in place before the thread that merges
 * starts: the backend sets it before its compute thread (compute-thread.ts), which then holds for that thread and
 * every thread it starts (the float64 and TIES threads); a bench that merges on its own main thread starts its
 * process with the option (bench/index.ts).
 */
import { setFlagsFromString } from 'node:v8';

/** The merge isolates' initial old generation, in MB. */
export const MERGE_INITIAL_OLD_SPACE_MB = 128;

/** The V8 option, as a node command line (a process that merges on its main thread) or setFlagsFromString takes it. */
export const MERGE_HEAP_OPTION = `--initial-old-space-size=${MERGE_INITIAL_OLD_SPACE_MB}`;

/**
 * Every isolate this process creates from now on (worker threads) starts with the merge heap; isolates that exist
 * already keep theirs. V8's flags are process-wide, so threads started later for other work get it too.
 */
export function mergeHeapForNewThreads(): void {
  setFlagsFromString(MERGE_HEAP_OPTION);
}
