/**
 * Where an artifact job's wall time went, phase by phase (fetching its inputs, parsing them, the compute thread's
 * start, its algebra and serialization, publishing, the edge's verdict), for the line the backend logs when the
 * job ends: a merge's end-to-end time is what "on demand" means, and most of it is not the algebra.
 */

/** Milliseconds since the epoch, fractional: the one clock the backend and its compute threads share. */
export const epochMs = (): number => performance.timeOrigin + performance.now();

/** Milliseconds by phase, in the order the phases first ran. */
export type PhaseTimes = Record<string, number>;

export class JobPhases {
  private readonly times: PhaseTimes = {};
  private last = performance.now();

  /** Adds the time since the previous mark (or the start) to `phase`. */
  mark(phase: string): void {
    const now = performance.now();
    this.add(phase, now - this.last);
    this.last = now;
  }

  /** Adds `ms` to `phase` without moving the clock (a part of a phase measured elsewhere, e.g. on a thread). */
  add(phase: string, ms: number): void {
    this.times[phase] = (this.times[phase] ?? 0) + ms;
  }

  /** Adds every phase of `times` (a thread's own split) without moving the clock. */
  addAll(times: PhaseTimes): void {
    for (const [phase, ms] of Object.entries(times)) this.add(phase, ms);
  }

  get ms(): PhaseTimes {
    return { ...this.times };
  }

  /** `phases (ms): fetch=812 parse=1203 …`: one token a phase, so a log reader can parse it. */
  toString(): string {
    return `phases (ms): ${Object.entries(this.times)
      .map(([phase, ms]) => `${phase}=${Math.round(ms)}`)
      .join(' ')}`;
  }
}
