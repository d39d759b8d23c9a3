/**
 * A closed-loop load generator for streaming chat completions: `clients` concurrent clients, each sending its
 * next request as soon as the last one ended, for `seconds`. Each request is read as server-sent events the way
 * an OpenAI client reads them; a request counts as an error unless it answered 200 and its stream ended in
 * `[DONE]` with no error chunk. Tokens are the completion tokens the final usage chunk reports, counted where they
 * were delivered: a window's tokens/s is the tokens that reached the clients within it, over its length. Counting
 * instead the tokens of the requests sent in it, over the time until the last of them ended, charged each run for
 * its own drain: closed-loop clients start together and stay in step, so a window holds a whole number of waves of
 * requests, and a run whose requests take longer ends a wave short (`sentTokensPerS` still reports that measure).
 * Tokens delivered still depend on where the window's edges fall among the waves, less so as it holds more of them;
 * the README's serve section has the figures.
 */

export interface LoadRequest {
  /** The chat request body (model, messages, max_tokens…); stream and usage are added here. */
  body: Record<string, unknown>;
}

export interface LoadOptions {
  clients: number;
  /** Seconds measured, after the warm-up (and until every client has sent a request in them). */
  seconds: number;
  /**
   * The same load before the measured window, at least this many seconds and until every client has finished
   * two requests: so the window starts with the batch as full as the load keeps it (whatever the machine's
   * speed), rather than with every client's first request at once. Requests sent in it count as errors when
   * they fail, and are otherwise reported apart (`warmup`).
   */
  warmupSeconds?: number;
  /** Called once when the measured window starts (to take the baseline samples). */
  onMeasuring?: () => Promise<void>;
  /** The request client `c` sends as its `k`-th. */
  next: (client: number, k: number) => LoadRequest;
  /** Sends one request (through the edge, or straight to a backend). */
  send: (body: Record<string, unknown>, signal: AbortSignal) => Promise<Response>;
}

export interface LoadResult extends LatencyStats {
  /** The first few error descriptions, to read. */
  errorSamples: string[];
  /** The warm-up's own requests and latencies (its first requests start all at once, as the load starts cold). */
  warmup: LatencyStats;
}

export interface LatencyStats {
  requests: number;
  errors: number;
  /** Completion tokens delivered within the window (each request's usage spread over its content chunks). */
  tokens: number;
  seconds: number;
  tokensPerS: number;
  /** The older measure: completion tokens of the requests sent in the window, per second until the last one ended. */
  sentTokensPerS: number;
  ttftMs: { p50: number; p99: number };
  /** Time between consecutive content chunks of one stream. */
  perTokenMs: { p50: number; p99: number };
}

export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Reads one SSE response: first-content time, gaps between content chunks, completion tokens, and whether it ended well. */
export async function readStream(res: Response, sentAt: number) {
  const out = { ttft: NaN, gaps: [] as number[], chunkTimes: [] as number[], tokens: 0, done: false, error: null as string | null };
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let last = NaN;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      if (!data) continue;
      if (data === '[DONE]') {
        out.done = true;
        continue;
      }
      const chunk = JSON.parse(data) as {
        error?: { message: string };
        choices?: { delta?: { content?: string } }[];
        usage?: { completion_tokens: number };
      };
      if (chunk.error) out.error = chunk.error.message;
      if (chunk.usage) out.tokens = chunk.usage.completion_tokens;
      if (chunk.choices?.some((c) => c.delta?.content)) {
        const now = performance.now();
        out.chunkTimes.push(now);
        if (Number.isNaN(out.ttft)) out.ttft = now - sentAt;
        else out.gaps.push(now - last);
        last = now;
      }
    }
  }
  return out;
}

/**
 * Of a stream's `tokens` completion tokens, how many arrived in [from, to): spread evenly over its content chunks
 * (the usage chunk counts tokens, not chunks), or all at `end` when it had no content.
 */
export function tokensWithin(tokens: number, chunkTimes: number[], end: number, from: number, to: number): number {
  const inside = (t: number) => t >= from && t < to;
  if (chunkTimes.length === 0) return inside(end) ? tokens : 0;
  return (tokens * chunkTimes.filter(inside).length) / chunkTimes.length;
}

/** Requests, tokens and latencies of one window of a load. */
class Window {
  ttft: number[] = [];
  gaps: number[] = [];
  requests = 0;
  errors = 0;
  /** Tokens delivered within the window (from any request). */
  delivered = 0;
  /** Tokens of the requests sent within the window (whenever delivered). */
  sentTokens = 0;
  started = performance.now();

  /**
   * The window's figures: tokens/s over `seconds` (its length), and the older measure over `drainedSeconds` (from
   * its start until its last request ended).
   */
  stats(seconds: number, drainedSeconds: number): LatencyStats {
    this.ttft.sort((a, b) => a - b);
    this.gaps.sort((a, b) => a - b);
    return {
      requests: this.requests,
      errors: this.errors,
      tokens: this.delivered,
      seconds,
      tokensPerS: this.delivered / seconds,
      sentTokensPerS: this.sentTokens / drainedSeconds,
      ttftMs: { p50: percentile(this.ttft, 0.5), p99: percentile(this.ttft, 0.99) },
      perTokenMs: { p50: percentile(this.gaps, 0.5), p99: percentile(this.gaps, 0.99) },
    };
  }
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const errorSamples: string[] = [];
  const warmup = new Window();
  let measured: Window | null = null;
  let deadline = Number.POSITIVE_INFINITY;
  // Clients that have finished two requests; the window opens when all have (and the seconds have passed).
  let warmClients = 0;
  let allWarm: () => void = () => {};
  const warm = new Promise<void>((r) => {
    allWarm = r;
  });
  const measuring = (async () => {
    await Promise.all([new Promise((r) => setTimeout(r, (opts.warmupSeconds ?? 0) * 1000)), opts.warmupSeconds ? warm : null]);
    await opts.onMeasuring?.();
    measured = new Window();
    deadline = measured.started + opts.seconds * 1000;
  })();

  const client = async (c: number) => {
    // Every client sends at least one request in the window, however long a request takes on this machine.
    let sentInWindow = false;
    for (let k = 0; performance.now() < deadline || !sentInWindow; k++) {
      if (k === 2 && ++warmClients === opts.clients) allWarm();
      const { body } = opts.next(c, k);
      const sentAt = performance.now();
      const w = measured ?? warmup;
      sentInWindow = measured !== null;
      const fail = (why: string) => {
        w.errors++;
        if (errorSamples.length < 5) errorSamples.push(why);
      };
      w.requests++;
      try {
        const res = await opts.send({ ...body, stream: true, stream_options: { include_usage: true } }, AbortSignal.timeout(120_000));
        if (res.status !== 200) {
          fail(`HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
          continue;
        }
        const s = await readStream(res, sentAt);
        if (s.error !== null) fail(`error chunk: ${s.error}`);
        else if (!s.done) fail('the stream ended without [DONE]');
        if (!Number.isNaN(s.ttft)) w.ttft.push(s.ttft);
        w.gaps.push(...s.gaps);
        w.sentTokens += s.tokens;
        const end = performance.now();
        // Read here, after the stream: the window may have opened while it ran.
        const window = measured as Window | null;
        warmup.delivered += tokensWithin(s.tokens, s.chunkTimes, end, warmup.started, window?.started ?? Number.POSITIVE_INFINITY);
        if (window) window.delivered += tokensWithin(s.tokens, s.chunkTimes, end, window.started, deadline);
      } catch (err) {
        fail(String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: opts.clients }, (_, c) => client(c)));
  await measuring;
  // Assigned in `measuring`, which TypeScript does not follow.
  const window = (measured as Window | null) ?? new Window();
  const result = window.stats(opts.seconds, (performance.now() - window.started) / 1000);
  const warmupSeconds = (window.started - warmup.started) / 1000;
  const warmed = warmup.stats(warmupSeconds, warmupSeconds);
  return { ...result, errors: result.errors + warmed.errors, errorSamples, warmup: warmed };
}

/** Index sampler for Zipf popularity over n items (item i has weight 1/(i+1)^s), from a uniform source. */
export function zipf(n: number, s = 1): (u: number) => number {
  const cdf: number[] = [];
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum += 1 / (i + 1) ** s;
    cdf.push(sum);
  }
  return (u) => {
    const x = u * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}
