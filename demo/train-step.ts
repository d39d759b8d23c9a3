/** The tour's first steps: four adapters trained and followed, then one mixed batch across them. */
import type { ApiClient } from '../cli/api.ts';
import type { TaskData } from './datasets.ts';
import { mixedBatch } from './inference.ts';
import { listJobs } from './listing.ts';
import { heading, say } from './say.ts';
import type { DemoSizes } from './sizes.ts';
import { BASE_MODEL, followJob, jobSuffix, startJob, type TrainedAdapter } from './training.ts';

export async function train(api: ApiClient, data: TaskData[], sizes: DemoSizes): Promise<TrainedAdapter[]> {
  heading(`Training ${data.length} adapters on ${BASE_MODEL} (${sizes.trainExamples} examples each, batch ${sizes.batchSize}, one epoch)`);
  const jobs = await listJobs(api);
  const started = [];
  // All queued first, so the backend trains them back to back while we watch.
  for (const d of data) {
    const { job, reused } = await startJob(api, d, sizes, jobSuffix(d), jobs);
    say(`${d.task}: ${reused ? `reusing ${job.id} (${job.status})` : `uploaded ${d.train.length} lines, started ${job.id}`}`);
    started.push({ task: d.task, id: job.id });
  }
  const trained: TrainedAdapter[] = [];
  for (const s of started) {
    say(`\n${s.task} (${s.id})`);
    trained.push(await followJob(api, s.task, s.id));
  }
  return trained;
}

export async function serveMixed(api: ApiClient, adapters: TrainedAdapter[], data: TaskData[]): Promise<void> {
  heading('One mixed batch: a request to each adapter, sent together');
  const { rows, seconds } = await mixedBatch(
    api,
    adapters.map((a, i) => ({ model: a.model, example: data[i].heldOut[0] })),
  );
  for (const r of rows)
    say(
      `${r.model}  ${JSON.stringify(r.prompt)} -> ${JSON.stringify(r.answer)} ${r.answer === r.expected ? '(right)' : `(expected ${JSON.stringify(r.expected)})`}`,
    );
  say(`${rows.length} requests in ${seconds.toFixed(2)} s`);
}
