/**
 * Calls to the inference API: greedy completions (temperature 0), scored by exact match of the completion on
 * held-out examples, and one mixed batch, a request per adapter sent together so the backend decodes them in
 * the same batch.
 */
import { type ApiClient, apiError } from '../cli/api.ts';
import type { Example } from './datasets.ts';
import { MAX_TOKENS } from './sizes.ts';

/** Requests in flight at once while evaluating: enough to fill the backend's batch, few enough to be polite. */
const IN_FLIGHT = 16;
/** wrangler dev restarts its Worker when a source file changes and answers 503 for requests cut short then. */
const RETRIES = 3;

export async function complete(api: ApiClient, model: string, prompt: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const { data, error, response } = await api.POST('/v1/completions', {
      body: { model, prompt, max_tokens: MAX_TOKENS, temperature: 0 },
    });
    if (data && !error) return (data as { choices: { text: string }[] }).choices[0]?.text ?? '';
    if (response.status !== 503 || attempt >= RETRIES) throw apiError(response, error, `completing with ${model}`);
    await new Promise((r) => setTimeout(r, 500 * attempt));
  }
}

/** Share of held-out examples whose completion is exactly the expected one. */
export async function accuracy(api: ApiClient, model: string, examples: Example[]): Promise<number> {
  let right = 0;
  for (let i = 0; i < examples.length; i += IN_FLIGHT) {
    const chunk = examples.slice(i, i + IN_FLIGHT);
    const answers = await Promise.all(chunk.map((e) => complete(api, model, e.prompt)));
    right += answers.filter((a, j) => a === chunk[j].completion).length;
  }
  return examples.length ? right / examples.length : 0;
}

export interface BatchRow {
  model: string;
  prompt: string;
  expected: string;
  answer: string;
}

/** One request per model, all at once; the wall time of the whole batch. */
export async function mixedBatch(
  api: ApiClient,
  calls: { model: string; example: Example }[],
): Promise<{ rows: BatchRow[]; seconds: number }> {
  const t0 = performance.now();
  const answers = await Promise.all(calls.map((c) => complete(api, c.model, c.example.prompt)));
  const rows = calls.map((c, i) => ({
    model: c.model,
    prompt: c.example.prompt.trimEnd(),
    expected: c.example.completion,
    answer: answers[i],
  }));
  return { rows, seconds: (performance.now() - t0) / 1000 };
}
