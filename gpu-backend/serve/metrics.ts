/**
 * The backend's Prometheus metrics (prom-client, text format at GET /metrics): serving (queue depth, running
 * rows, generated tokens — tokens/s is `rate()` of the counter —, time to first token and per-token latency),
 * the model caches (adapter hits, misses, evictions and bytes; base-model bytes and evictions; resident and pinned
 * adapters and resident models, as counts), jobs by kind and
 * outcome, and lease renewals. One registry per backend, so several backends can live in one test process.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What serving reports as it goes (the scheduler and the model cache call these). */
export interface ServingObserver {
  firstToken(seconds: number): void;
  nextToken(seconds: number): void;
  adapterLookup(hit: boolean): void;
  adapterEvicted(): void;
  baseEvicted(): void;
}

/** What the job loop reports. */
export interface JobObserver {
  jobStarted(kind: string): void;
  jobEnded(kind: string, outcome: 'succeeded' | 'failed' | 'cancelled' | 'lost'): void;
  leaseRenewed(kind: string, held: boolean): void;
}

/** Read when scraped. */
export interface ServingState {
  queued(): number;
  batchRows(): number;
  adapterBytes(): number;
  baseBytes(): number;
  /** Counts of what is resident, for gauges without per-adapter labels. */
  residency(): { adapters: number; pinnedAdapters: number; pinnedBytes: number; models: number };
}

export const NO_SERVING_OBSERVER: ServingObserver = {
  firstToken: () => {},
  nextToken: () => {},
  adapterLookup: () => {},
  adapterEvicted: () => {},
  baseEvicted: () => {},
};

export class BackendMetrics implements ServingObserver, JobObserver {
  readonly registry = new Registry();
  private readonly tokens: Counter;
  private readonly ttft: Histogram;
  private readonly perToken: Histogram;
  private readonly adapterRequests: Counter<'result'>;
  private readonly evictions: Counter<'cache'>;
  private readonly jobsRunning: Gauge<'kind'>;
  private readonly jobs: Counter<'kind' | 'outcome'>;
  private readonly renewals: Counter<'kind' | 'result'>;

  constructor(state: ServingState) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'rankgate_backend_' });
    new Gauge({
      name: 'rankgate_queue_depth',
      help: 'Requests waiting for a batch row.',
      registers,
      collect() {
        this.set(state.queued());
      },
    });
    new Gauge({
      name: 'rankgate_batch_rows',
      help: 'Rows in the running batches (being prefilled or decoded).',
      registers,
      collect() {
        this.set(state.batchRows());
      },
    });
    new Gauge({
      name: 'rankgate_adapter_cache_bytes',
      help: 'Bytes of adapter factors loaded.',
      registers,
      collect() {
        this.set(state.adapterBytes());
      },
    });
    new Gauge({
      name: 'rankgate_model_cache_bytes',
      help: 'Bytes of base-model weights loaded (float32).',
      registers,
      collect() {
        this.set(state.baseBytes());
      },
    });
    // Counts and bytes only: a label per adapter would grow the series without bound.
    const residency: [string, string, (r: ReturnType<ServingState['residency']>) => number][] = [
      ['rankgate_resident_adapters', 'Adapters loaded (or loading) in the adapter cache, pinned ones included.', (r) => r.adapters],
      ['rankgate_pinned_adapters', 'Adapters loaded here that the edge pinned (exempt from eviction).', (r) => r.pinnedAdapters],
      ['rankgate_pinned_adapter_bytes', "Bytes of the pinned adapters' factors.", (r) => r.pinnedBytes],
      ['rankgate_resident_models', 'Base models loaded (or loading); a quantized variant counts as a model of its own.', (r) => r.models],
    ];
    for (const [name, help, read] of residency)
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read(state.residency()));
        },
      });
    this.tokens = new Counter({ name: 'rankgate_generated_tokens_total', help: 'Tokens generated.', registers });
    this.ttft = new Histogram({
      name: 'rankgate_time_to_first_token_seconds',
      help: 'From a request entering the queue to its first token.',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.perToken = new Histogram({
      name: 'rankgate_time_per_output_token_seconds',
      help: 'Between two tokens of one request.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.adapterRequests = new Counter({
      name: 'rankgate_adapter_cache_requests_total',
      help: 'Adapter lookups, by result (hit or miss).',
      labelNames: ['result'],
      registers,
    });
    this.evictions = new Counter({
      name: 'rankgate_cache_evictions_total',
      help: 'Evictions, by cache (adapter or base_model).',
      labelNames: ['cache'],
      registers,
    });
    this.jobsRunning = new Gauge({ name: 'rankgate_jobs_running', help: 'Jobs running, by kind.', labelNames: ['kind'], registers });
    this.jobs = new Counter({
      name: 'rankgate_jobs_total',
      help: 'Jobs this backend ended, by kind and outcome (succeeded, failed, cancelled, lost: the lease went elsewhere).',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.renewals = new Counter({
      name: 'rankgate_lease_renewals_total',
      help: 'Lease renewals, by kind and result (held or lost).',
      labelNames: ['kind', 'result'],
      registers,
    });
  }

  firstToken(seconds: number): void {
    this.tokens.inc();
    this.ttft.observe(seconds);
  }

  nextToken(seconds: number): void {
    this.tokens.inc();
    this.perToken.observe(seconds);
  }

  adapterLookup(hit: boolean): void {
    this.adapterRequests.inc({ result: hit ? 'hit' : 'miss' });
  }

  adapterEvicted(): void {
    this.evictions.inc({ cache: 'adapter' });
  }

  baseEvicted(): void {
    this.evictions.inc({ cache: 'base_model' });
  }

  jobStarted(kind: string): void {
    this.jobsRunning.inc({ kind });
  }

  jobEnded(kind: string, outcome: 'succeeded' | 'failed' | 'cancelled' | 'lost'): void {
    this.jobsRunning.dec({ kind });
    this.jobs.inc({ kind, outcome });
  }

  leaseRenewed(kind: string, held: boolean): void {
    this.renewals.inc({ kind, result: held ? 'held' : 'lost' });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
