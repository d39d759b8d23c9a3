/** What a demo run measured, in the shape the table and the report are built from (pure data, no API types). */

export interface Variant {
  /** Column heading ("adapter", "rmm p=2", "ties", "rank 4", "int8"). */
  label: string;
  /** The method it stands for in the accuracy-against-storage chart. */
  method: string;
  /** Stored floats over those of the adapters it replaces (as the API reports them; 1 for the adapters, 0 for the base). */
  storage: number;
  /** Held-out exact match per task; absent where the variant does not serve that task. */
  accuracy: Record<string, number>;
}

export interface TrainingCurve {
  task: string;
  /** Per step: training loss and seconds since the job started. */
  steps: { step: number; loss: number; elapsedS: number | null; tokensPerS: number | null }[];
}

export interface DemoResults {
  tasks: string[];
  variants: Variant[];
  curves: TrainingCurve[];
  /** Wall seconds of each stage of the run. */
  stages: { name: string; seconds: number }[];
}

export function trainingCurve(task: string, steps: Record<string, unknown>[]): TrainingCurve {
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  return {
    task,
    steps: steps
      .map((d) => ({
        step: num(d.step) ?? 0,
        loss: num(d.train_loss) ?? Number.NaN,
        elapsedS: num(d.elapsed_s),
        tokensPerS: num(d.tokens_per_s),
      }))
      .filter((s) => Number.isFinite(s.loss))
      .sort((a, b) => a.step - b.step),
  };
}

/** Mean seconds per optimizer step over the job (elapsed time at the last step that reports one, over that step). */
export function secondsPerStep(curve: TrainingCurve): number | null {
  const last = curve.steps.findLast((s) => s.elapsedS !== null && s.step > 0);
  return last ? last.elapsedS! / last.step : null;
}

/** Mean accuracy over the tasks a variant serves. */
export function meanAccuracy(v: Variant): number | null {
  const xs = Object.values(v.accuracy);
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}
