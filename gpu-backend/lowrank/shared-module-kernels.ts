/**
 * An `rmm_shared` module's work as a float64 thread runs it (float64-thread.js), its runtime products included, on
 * the thread's own sessions of one intra-op thread: first its core space and closed-form energy curve, then, at the
 * size the budget gives it, its fit and parts. On the main thread the products of a 135M merge were ~1,800 runtime
 * runs whose overheads and the JavaScript between them bounded the merge while the threads waited on it; here each
 * thread works through whole modules and the main thread only hands them out.
 */
import {
  type CoreFit,
  type CoreSpace,
  type CoreState,
  coreSpace,
  coreSpaceOf,
  coreStateOf,
  energyCurve,
  expand,
  expandFactored,
  fitCore,
  maxRank,
} from './core-space.ts';
import { gemmCounters } from './gemm-runner.ts';
import type { Mat } from './linalg.ts';
import { type AlignedModule, alignedOf, slotOf } from './reversible-types.ts';
import type { StoredSlot } from './thread-slot.ts';

/** A module's parts from its fit: whichever core form stores less (the allocation counted the same). */
export async function sharedParts({ cs, fit }: CoreFit): Promise<Record<string, Mat>> {
  const k = fit.u.cols;
  return k * k <= 2 * k * maxRank(cs) ? expand(cs, fit) : expandFactored(cs, fit);
}

/** A kernel's result with the multiply-adds it did (gemmCounters of this thread), which the caller adds to its own. */
export type Counted<T> = T & { runtimeMacs: number; localMacs: number };

/** `work`'s result and its multiply-adds: the thread runs one message at a time, so they are its own. */
async function counted<T extends object>(work: () => Promise<T>): Promise<Counted<T>> {
  const [runtime, local] = [gemmCounters.runtimeMacs, gemmCounters.localMacs];
  const result = await work();
  return { ...result, runtimeMacs: gemmCounters.runtimeMacs - runtime, localMacs: gemmCounters.localMacs - local };
}

/** Adds a kernel's multiply-adds to this thread's counters and returns the rest of its result. */
export function uncounted<T extends object>({ runtimeMacs, localMacs, ...rest }: Counted<T>): T {
  gemmCounters.runtimeMacs += runtimeMacs;
  gemmCounters.localMacs += localMacs;
  return rest as unknown as T;
}

/** A slot as sent (thread-slot.ts) back to an aligned module. */
function alignedSlot(slot: AlignedModule | StoredSlot): AlignedModule {
  return 'stored' in slot && slot.stored ? alignedOf(slotOf(slot), slot.stored) : (slot as AlignedModule);
}

/** Stage one: the core space's state, the energy curve, and the closed-form bases the fit starts from. */
export function sharedCurveKernel({ slot, weights }: { slot: AlignedModule | StoredSlot; weights: number[] }) {
  return counted(async () => {
    const cs = await coreSpace(alignedSlot(slot));
    const { curve, closed } = await energyCurve(cs, weights);
    return { curve: Float64Array.from(curve), ...coreStateOf(cs), u: closed.u, v: closed.v };
  });
}

/** Stage two: the fit at size k from stage one's state and bases, and the module's parts. */
export async function sharedFitKernel(args: {
  slot: AlignedModule | StoredSlot;
  weights: number[];
  state: CoreState;
  closed: { u: Mat; v: Mat };
  k: number;
  iters: number;
}): Promise<Counted<Record<string, Mat>>> {
  return counted(async () => {
    const cs: CoreSpace = coreSpaceOf(alignedSlot(args.slot), args.state);
    return sharedParts({ cs, fit: await fitCore(cs, args.weights, args.k, args.iters, args.closed) });
  });
}

/** Both stages at once where every module keeps its whole core space (p = n). */
export function sharedExactKernel({ slot, weights, iters }: { slot: AlignedModule | StoredSlot; weights: number[]; iters: number }) {
  return counted(async () => {
    const cs = await coreSpace(alignedSlot(slot));
    return sharedParts({ cs, fit: await fitCore(cs, weights, cs.maxK, iters) });
  });
}
