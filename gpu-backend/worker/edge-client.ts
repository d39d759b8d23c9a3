/**
 * The backend's side of the edge's internal API (edge/routes/internal.ts): heartbeats, claiming jobs under a
 * lease, renewing it, reporting training events and checkpoints, and finishing. Shapes are the zod schemas of
 * contracts/api/internal-api.ts (types only: the edge validates what it receives). Every call carries this
 * backend's own credential (BACKEND_TOKEN), which the edge binds to its backend_id. Paths keep the wire's
 * first name for jobs, `tasks`.
 */
import type { z } from 'zod';
import type {
  CheckpointReport,
  CompressionResult,
  EventsReport,
  Heartbeat,
  HeartbeatAck,
  JobSpec,
  JobState,
  MergeResult,
  QuantizationResult,
} from '../../contracts/api/internal-api.ts';
import type { JobKind } from '../../contracts/api/jobs.ts';

export type Spec = z.infer<typeof JobSpec>;
export type FineTuningSpec = Extract<Spec, { kind: 'fine_tuning' }>;
export type MergeSpec = Extract<Spec, { kind: 'merge' }>;
export type RevertSpec = Extract<Spec, { kind: 'revert' }>;
export type CompressionSpec = Extract<Spec, { kind: 'compression' }>;
export type QuantizationSpec = Extract<Spec, { kind: 'quantization' }>;
/** What a merge, compression or quantization reports on completion. */
export type JobResult = z.infer<typeof MergeResult> | z.infer<typeof CompressionResult> | z.infer<typeof QuantizationResult>;
export type State = z.infer<typeof JobState>;
export type JobEvent = z.input<typeof EventsReport>['events'][number];
type HeartbeatBody = Omit<z.input<typeof Heartbeat>, 'backend_id'>;
type CheckpointBody = Omit<z.input<typeof CheckpointReport>, 'backend_id'>;
export type HeartbeatAnswer = z.infer<typeof HeartbeatAck>;

/** What the edge answered when it refused a call (its OpenAI-style error). */
export class EdgeError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`edge answered ${status} ${code}: ${message}`);
  }

  /**
   * 409: the job is not this backend's to work on any more (its lease went to another backend, it finished,
   * or it was cancelled). Whoever holds the job stops and reports nothing more.
   */
  get jobGone(): boolean {
    return this.status === 409;
  }
}

/** A call that got no answer from the edge (connection refused, timeout). */
export class EdgeUnreachable extends Error {
  constructor(edgeUrl: string, cause: unknown) {
    super(`edge ${edgeUrl} unreachable: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** The edge is down or failing (as opposed to refusing what was sent): worth trying again later. */
export function isEdgeOutage(err: unknown): boolean {
  return err instanceof EdgeUnreachable || (err instanceof EdgeError && err.status >= 500);
}

/** Calls to the edge give up after this long (a hung edge must not stall training or heartbeats forever). */
const CALL_TIMEOUT_MS = 30_000;

export class EdgeClient {
  constructor(
    readonly edgeUrl: string,
    /** Null only in local mode, where the edge will refuse the calls (401) until a credential is set. */
    private readonly token: string | null,
    readonly backendId: string,
  ) {}

  private async post<T>(path: string, body: Record<string, unknown>): Promise<T> {
    let res: Response;
    let text: string;
    try {
      res = await fetch(new URL(path, this.edgeUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
        body: JSON.stringify({ backend_id: this.backendId, ...body }),
        signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      });
      text = await res.text();
    } catch (err) {
      throw new EdgeUnreachable(this.edgeUrl, err);
    }
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON: reported below with the raw text.
    }
    if (!res.ok) {
      const err = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
      throw new EdgeError(res.status, err?.code ?? 'http_error', err?.message ?? text.slice(0, 200));
    }
    return parsed as T;
  }

  heartbeat(body: HeartbeatBody): Promise<HeartbeatAnswer> {
    return this.post('/internal/v1/backends/heartbeat', body);
  }

  async claim(kinds: JobKind[]): Promise<Spec | null> {
    return (await this.post<{ task: Spec | null }>('/internal/v1/tasks/claim', { kinds })).task;
  }

  renew(kind: JobKind, id: string): Promise<State> {
    return this.post(`/internal/v1/tasks/${kind}/${encodeURIComponent(id)}/renew`, {});
  }

  /** At most 100 events per call (the edge's limit). */
  events(jobId: string, events: JobEvent[]): Promise<State> {
    return this.post(`/internal/v1/fine_tuning/jobs/${encodeURIComponent(jobId)}/events`, { events });
  }

  checkpoint(jobId: string, report: CheckpointBody): Promise<State> {
    return this.post(`/internal/v1/fine_tuning/jobs/${encodeURIComponent(jobId)}/checkpoints`, report);
  }

  complete(kind: JobKind, id: string, done: { trainedTokens?: number; result?: JobResult } = {}): Promise<State> {
    return this.post(`/internal/v1/tasks/${kind}/${encodeURIComponent(id)}/complete`, {
      ...(done.trainedTokens === undefined ? {} : { trained_tokens: done.trainedTokens }),
      ...(done.result === undefined ? {} : { result: done.result }),
    });
  }

  fail(kind: JobKind, id: string, error: { code: string; message: string }): Promise<State> {
    return this.post(`/internal/v1/tasks/${kind}/${encodeURIComponent(id)}/fail`, {
      error: { code: error.code.slice(0, 64), message: error.message.slice(0, 4000) },
    });
  }
}
