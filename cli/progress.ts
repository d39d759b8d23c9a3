/**
 * A training job's progress as one line: bar, step of total, loss, tokens/s and ETA, from the `data` of the
 * job's `metrics` events (step, total_steps, train_loss, tokens_per_s, eta_s). On a terminal the line is
 * redrawn in place; otherwise (a pipe, a log) each update is its own line.
 */
const WIDTH = 24;

export interface StepMetrics {
  step: number;
  totalSteps: number | null;
  loss: number | null;
  tokensPerS: number | null;
  etaS: number | null;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The metrics of an event's data, or null when it has no step (event data is free-form in the API). */
export function stepMetrics(data: Record<string, unknown> | null): StepMetrics | null {
  const step = num(data?.step);
  if (step === null) return null;
  return {
    step,
    totalSteps: num(data?.total_steps),
    loss: num(data?.train_loss),
    tokensPerS: num(data?.tokens_per_s),
    etaS: num(data?.eta_s),
  };
}

export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const [h, m, r] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const mm = String(m).padStart(h ? 2 : 1, '0');
  return `${h ? `${h}:` : ''}${mm}:${String(r).padStart(2, '0')}`;
}

export function progressLine(m: StepMetrics): string {
  const parts: string[] = [];
  if (m.totalSteps) {
    const done = Math.min(WIDTH, Math.round((m.step / m.totalSteps) * WIDTH));
    parts.push(`[${'#'.repeat(done)}${'-'.repeat(WIDTH - done)}]`, `step ${m.step}/${m.totalSteps}`);
  } else parts.push(`step ${m.step}`);
  if (m.loss !== null) parts.push(`loss ${m.loss.toFixed(4)}`);
  if (m.tokensPerS !== null) parts.push(`${m.tokensPerS} tok/s`);
  if (m.etaS !== null) parts.push(`ETA ${duration(m.etaS)}`);
  return parts.join('  ');
}

export class ProgressPrinter {
  private drawn = false;
  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {}

  /** Redraws the bar (terminal) or prints it as a line. */
  bar(line: string): void {
    if (this.out.isTTY) {
      this.out.write(`\r\x1b[2K${line}`);
      this.drawn = true;
    } else this.out.write(`${line}\n`);
  }

  /** A line above the bar, which is drawn again at the next update. */
  line(text: string): void {
    this.clear();
    this.out.write(`${text}\n`);
  }

  /** Leaves the last bar on screen and moves below it. */
  end(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }

  private clear(): void {
    if (this.drawn) this.out.write('\r\x1b[2K');
    this.drawn = false;
  }
}
