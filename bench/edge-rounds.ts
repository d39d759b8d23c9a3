/**
 * `npm run bench -- edge-rounds [--quick]`: issue 16's reproduction. Back-to-back rounds of 200 concurrent
 * streaming chats over the default model's six task adapters, against a stack like `npm start`'s (s3rver, D1, the
 * edge, one backend process) on loopback, once per edge runtime (EDGE_RUNTIMES, default "miniflare,wrangler-dev").
 * `wrangler dev` loses some of these to its proxy connection (503 "Your worker restarted mid-request",
 * scripts/miniflare-edge.ts); Miniflare should lose none. Five rounds (quick: two); every request is counted.
 */
import { taskSlug } from '../gpu-backend/default-model/skills.ts';
import { edgeRuntime, type EdgeRuntime } from '../scripts/edge-stack.ts';
import { withBenchStack } from './bench-stack.ts';
import { readStream } from './serve-load.ts';

const CONCURRENT = 200;

interface Rounds {
  runtime: EdgeRuntime;
  rounds: number;
  requests: number;
  errors: number;
  /** Errors by what they said (status and message), to tell the restart 503 from anything else. */
  errorKinds: Record<string, number>;
  seconds: number;
}

/** One chat, streamed and read to its end; null when it answered 200 and ended in [DONE] with no error chunk. */
async function oneChat(edgeUrl: string, key: string, body: Record<string, unknown>): Promise<string | null> {
  try {
    const res = await fetch(`${edgeUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, stream: true }),
      signal: AbortSignal.timeout(300_000),
    });
    if (res.status !== 200) return `${res.status} ${(await res.text()).slice(0, 120)}`;
    const out = await readStream(res, performance.now());
    if (out.error) return `stream error: ${out.error}`;
    return out.done ? null : 'stream ended without [DONE]';
  } catch (err) {
    return `fetch failed: ${err instanceof Error ? (err.cause ?? err.message) : err}`;
  }
}

async function roundsOn(runtime: EdgeRuntime, rounds: number): Promise<Rounds> {
  return withBenchStack({ runtime, name: `rankgate-bench-rounds-${runtime}` }, async ({ edge, model, ready, tasks, prompts }) => {
    const body = (c: number) => {
      const t = c % tasks.length;
      return {
        model: `${model.name}:${taskSlug(tasks[t])}`,
        messages: [{ role: 'user', content: prompts[t][c % prompts[t].length] }],
        max_tokens: 16,
        temperature: 0,
      };
    };
    // Warm-up, not counted: the model and every adapter loaded.
    for (let t = 0; t < tasks.length; t++) await oneChat(edge.edgeUrl, ready.api.key, body(t));
    const errorKinds: Record<string, number> = {};
    let errors = 0;
    const started = performance.now();
    for (let r = 0; r < rounds; r++) {
      const answers = await Promise.all(Array.from({ length: CONCURRENT }, (_, c) => oneChat(edge.edgeUrl, ready.api.key, body(c))));
      const failed = answers.filter((a): a is string => a !== null);
      for (const a of failed) errorKinds[a] = (errorKinds[a] ?? 0) + 1;
      errors += failed.length;
      console.log(
        `${runtime}: round ${r + 1}/${rounds}: ${failed.length} of ${CONCURRENT} failed${failed.length ? `, e.g. ${failed[0]}` : ''}`,
      );
    }
    const seconds = (performance.now() - started) / 1000;
    return { runtime, rounds, requests: rounds * CONCURRENT, errors, errorKinds, seconds };
  });
}

export async function run(quick: boolean): Promise<Record<string, unknown>> {
  const runtimes = (process.env.EDGE_RUNTIMES ?? 'miniflare,wrangler-dev').split(',').map((r) => edgeRuntime(r.trim())!);
  const results: Rounds[] = [];
  for (const runtime of runtimes) results.push(await roundsOn(runtime, quick ? 2 : 5));
  for (const r of results) {
    console.log(
      `${r.runtime}: ${r.errors} errors in ${r.requests} streams (${r.rounds} rounds of ${CONCURRENT}, ${r.seconds.toFixed(0)} s)`,
    );
    for (const [kind, n] of Object.entries(r.errorKinds)) console.log(`  ${n} × ${kind}`);
  }
  return { concurrent: CONCURRENT, runs: results };
}
