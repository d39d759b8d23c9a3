/**
 * The job loop's claims against a stand-in edge (a loopback HTTP server answering the claim route): a wake
 * (the edge queued a job) cuts the poll's wait short, and a wake that arrives while a claim is in flight (which
 * may have missed the new job) is kept, so the loop claims again at once rather than after its poll interval.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EdgeClient } from '../../gpu-backend/worker/edge-client.ts';
import type { WorkerDeps } from '../../gpu-backend/worker/fine-tuning.ts';
import { JobLoop } from '../../gpu-backend/worker/job-loop.ts';

/** Longer than any test here runs: a claim that happens came from a wake, not from the poll. */
const NEVER_POLLS_MS = 10 * 60_000;

let server: Server | null = null;
let loop: JobLoop | null = null;

afterEach(async () => {
  await loop?.stop();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  loop = server = null;
});

/** An edge whose claim route answers "no job", each answer held until the test releases it. */
async function standInEdge() {
  const claims: ServerResponse[] = [];
  const waiters: (() => void)[] = [];
  server = createServer((req: IncomingMessage, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url !== '/internal/v1/tasks/claim') return res.writeHead(404).end();
      claims.push(res);
      for (const w of waiters.splice(0)) w();
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    claims,
    /** Resolves once `n` claims have arrived. */
    async claimed(n: number) {
      while (claims.length < n) await new Promise<void>((r) => waiters.push(r));
    },
    answer(i: number) {
      claims[i].writeHead(200, { 'content-type': 'application/json' }).end('{"task":null}');
    },
  };
}

function startLoop(edgeUrl: string) {
  const deps = { client: new EdgeClient(edgeUrl, 'token', 'loop-test') } as unknown as WorkerDeps;
  loop = new JobLoop(deps, { pollMs: NEVER_POLLS_MS, slots: 1, leaseTtlS: () => 120 });
  loop.start();
  return loop;
}

describe('the job loop', () => {
  it('claims again when woken while it waits for its next poll', async () => {
    const edge = await standInEdge();
    const jobs = startLoop(edge.url);
    await edge.claimed(1);
    edge.answer(0);
    // Give the loop the answer, so it is asleep until its poll.
    await new Promise((r) => setTimeout(r, 100));
    expect(edge.claims).toHaveLength(1);
    jobs.claimSoon();
    await edge.claimed(2);
    edge.answer(1);
  });

  it('claims again at once after a claim during which it was woken', async () => {
    const edge = await standInEdge();
    const jobs = startLoop(edge.url);
    await edge.claimed(1);
    // The wake lands while the first claim is in flight: that claim may have missed the job.
    jobs.claimSoon();
    edge.answer(0);
    await edge.claimed(2);
    edge.answer(1);
  });
});
