/**
 * `npm run bench -- serve-replay`: the serve benchmark's straight-to-the-backend workload (64 closed-loop clients,
 * 32-token answers, one adapter or 32 with Zipf popularity) replayed in process through the real Scheduler and
 * engine on the default model, in virtual time: each engine step advances a clock by what it would take on the
 * 135M shape on a 2-core CPU (a decode step 40 ms + 2.5 ms per row, about the serve benchmark's 200 ms per token at
 * 64 rows; a prefill 5 ms + 1 ms per padded token, about the engine benchmark's 728 prefill tokens/s), and nothing
 * else takes time. So what it reports depends on the scheduler's decisions alone, not on the load of the machine:
 * TTFT p50/p99 after a warm-up, the time between a stream's tokens, and the scheduler steps each request waited for
 * its first token. A decode step whose rows hold more than one adapter costs MIXED_DECODE times as much (each row
 * multiplies its own factors instead of one adapter's broadcast over the batch; how many distinct adapters does not
 * matter): what probing the 135M shape measured, in CPU time, for 64 rows over 2 adapters and over 18 alike.
 * Tokens/s counts the tokens delivered within the window, as bench serve does, and beside it the older measure
 * (tokens of the requests sent in the window, until the last of them ended). The clients start together, as bench
 * serve's do, and with fixed-length answers stay in step; SERVE_REPLAY_SPREAD=f spreads their starts over the
 * fraction f of the warm-up instead (the README's serve section compares the two).
 */
import { join } from 'node:path';
import type { LoraAdapter } from '../contracts/formats/adapter.ts';
import { Decoder } from '../gpu-backend/engine/decoder.ts';
import { rng } from '../gpu-backend/engine/sampling.ts';
import { readAdapterFolder, readModelFolder } from '../gpu-backend/formats/files.ts';
import { Scheduler } from '../gpu-backend/serve/scheduler.ts';
import { table } from './measure.ts';
import { type LatencyStats, percentile, zipf } from './serve-load.ts';

const MODEL = join(import.meta.dirname, '..', 'models', 'rankgate-tiny');
const DECODE_MS = (rows: number) => 40 + 2.5 * rows;
const PREFILL_MS = (paddedTokens: number) => 5 + 1 * paddedTokens;
const MIXED_DECODE = 1.18;

/** A replay reports what a run of bench serve does (serve-load.ts), plus the steps its requests waited. */
interface Replay extends Pick<LatencyStats, 'requests' | 'tokensPerS' | 'sentTokensPerS' | 'ttftMs' | 'perTokenMs'> {
  name: string;
  stepsWaited: { p50: number; max: number };
}

export async function run(quick: boolean): Promise<Record<string, unknown>> {
  // The clock every timing in this process reads (the scheduler's prefill and decode speeds included).
  let now = 0;
  Object.defineProperty(performance, 'now', { value: () => now, configurable: true, writable: true });
  // Clients waiting for their start (SERVE_REPLAY_SPREAD), woken as the steps move the clock past it.
  const sleepers: { at: number; wake: () => void }[] = [];
  const sleepUntil = (at: number) => (at <= now ? undefined : new Promise<void>((wake) => sleepers.push({ at, wake })));
  const decoder = await Decoder.fromFolder(await readModelFolder(join(MODEL, 'base')));
  const step = decoder.step.bind(decoder);
  decoder.step = async (inp) => {
    const out = await step(inp);
    now += inp.cache === null ? PREFILL_MS(inp.rows * inp.seq) : DECODE_MS(inp.rows) * (inp.lora.sharedBy(inp.rows) ? 1 : MIXED_DECODE);
    for (let i = sleepers.length - 1; i >= 0; i--) if (sleepers[i].at <= now) sleepers.splice(i, 1)[0].wake();
    return out;
  };
  const trained = await readAdapterFolder(join(MODEL, 'adapters', 'date_to_us'), decoder.cfg);
  // 32 distinct adapters (distinct objects take distinct batch slots), as the serve benchmark's 32.
  const adapters: LoraAdapter[] = Array.from({ length: 32 }, () => ({ ...trained, modules: trained.modules.map((m) => ({ ...m })) }));
  const [clients, warmupS, seconds] = quick ? [32, 10, 15] : [64, 15, 30];
  const spread = Number(process.env.SERVE_REPLAY_SPREAD ?? 0);

  const replay = async (name: string, pick: () => number): Promise<Replay> => {
    const scheduler = new Scheduler(decoder);
    const started = now;
    const ttft: number[] = [];
    const gaps: number[] = [];
    const waited: number[] = [];
    let sentTokens = 0;
    let delivered = 0;
    const inWindow = (t: number) => t - started >= warmupS * 1000;
    const beforeEnd = (t: number) => t - started < (warmupS + seconds) * 1000;
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        // Client 0 starts at once, so some step always runs to move the clock.
        await sleepUntil(started + (c * spread * warmupS * 1000) / clients);
        for (let k = 0; beforeEnd(now); k++) {
          const sent = now;
          const sentStep = scheduler.steps;
          // About the serve benchmark's chat prompts: 52–57 tokens.
          const prompt = Array.from({ length: 52 + ((c + k) % 6) }, (_, j) => 7 + ((c * 7 + k * 3 + j) % 90));
          let first = true;
          let last = 0;
          const result = await scheduler.submit(
            {
              prompt,
              adapter: adapters[pick()],
              maxTokens: 32,
              temperature: 0,
              onToken: () => {
                if (inWindow(now) && beforeEnd(now)) delivered++;
                if (first && inWindow(sent)) {
                  ttft.push(now - sent);
                  waited.push(scheduler.steps - sentStep);
                } else if (!first && inWindow(sent)) gaps.push(now - last);
                first = false;
                last = now;
              },
            },
            { tenant: 'bench' },
          );
          if (inWindow(sent)) sentTokens += result.tokens.length;
        }
      }),
    );
    ttft.sort((a, b) => a - b);
    gaps.sort((a, b) => a - b);
    waited.sort((a, b) => a - b);
    const drainedS = (now - started) / 1000 - warmupS;
    return {
      name,
      requests: ttft.length,
      tokensPerS: delivered / seconds,
      sentTokensPerS: sentTokens / drainedS,
      ttftMs: { p50: percentile(ttft, 0.5), p99: percentile(ttft, 0.99) },
      perTokenMs: { p50: percentile(gaps, 0.5), p99: percentile(gaps, 0.99) },
      stepsWaited: { p50: percentile(waited, 0.5), max: waited[waited.length - 1] },
    };
  };

  const popular = zipf(adapters.length);
  const random = rng(7);
  const one = await replay('1 adapter', () => 0);
  const zipf32 = await replay('32 adapters (Zipf)', () => popular(random()));
  console.log(
    table(
      [
        'replay',
        'requests',
        'tokens/s (virtual)',
        'of requests sent',
        'TTFT p50 ms',
        'TTFT p99 ms',
        'p99 / p50',
        'per token p50 ms',
        'p99 ms',
        'steps waited p50',
        'max',
      ],
      [one, zipf32].map((r) => [
        r.name,
        r.requests,
        r.tokensPerS,
        r.sentTokensPerS,
        r.ttftMs.p50,
        r.ttftMs.p99,
        r.ttftMs.p99 / r.ttftMs.p50,
        r.perTokenMs.p50,
        r.perTokenMs.p99,
        r.stepsWaited.p50,
        r.stepsWaited.max,
      ]),
    ),
  );
  return {
    bench: 'serve-replay',
    quick,
    clients,
    spread_starts: spread,
    warmup_s: warmupS,
    seconds,
    backend_1_adapter: one,
    backend_zipf_32_adapters: zipf32,
    zipf32_vs_1: zipf32.tokensPerS / one.tokensPerS,
    zipf32_vs_1_of_requests_sent: zipf32.sentTokensPerS / one.sentTokensPerS,
    zipf32_ttft_p99_over_p50: zipf32.ttftMs.p99 / zipf32.ttftMs.p50,
    max_steps_waited: Math.max(one.stepsWaited.max, zipf32.stepsWaited.max),
  };
}
