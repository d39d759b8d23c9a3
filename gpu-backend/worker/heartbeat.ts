/**
 * Heartbeats register this backend with the edge and keep it routable: where to reach it, how many requests
 * it takes, how many it is serving and which adapters it has loaded (the edge routes only to backends with a
 * heartbeat fresher than its heartbeat_ttl_s). The answer also says how long job leases last, and carries the
 * edge's public key for the requests it signs (serve/edge-auth.ts).
 */
import { LEASE_TTL_S } from '../../contracts/api/jobs.ts';
import type { EdgeClient, HeartbeatAnswer } from './edge-client.ts';
import { errorText } from './leased-job.ts';

export interface BackendStatus {
  url: string;
  capacity: number;
  in_flight: number;
  loaded_adapters: string[];
  /** New at every start: the edge signs for it (serve/edge-auth.ts). */
  boot_id: string;
}

export class HeartbeatSender {
  /** The edge's lease length, known after the first answer (its default until then). */
  leaseTtlS = LEASE_TTL_S;
  /** When the edge last took a heartbeat (ms since the epoch; 0 before the first): readiness reads it. */
  lastAckAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private failing = false;

  constructor(
    private readonly client: EdgeClient,
    private readonly status: () => BackendStatus,
    private readonly everyMs: number,
    private readonly onAck: (ack: HeartbeatAnswer) => void = () => {},
  ) {}

  /** One heartbeat; false when the edge did not take it (logged once per outage). */
  async beat(): Promise<boolean> {
    try {
      const ack = await this.client.heartbeat(this.status());
      this.leaseTtlS = ack.lease_ttl_s;
      this.lastAckAt = Date.now();
      this.onAck(ack);
      if (this.failing) console.log(`backend: heartbeats reach ${this.client.edgeUrl} again.`);
      this.failing = false;
      return true;
    } catch (err) {
      if (!this.failing) console.warn(`backend: heartbeat to ${this.client.edgeUrl} failed (will keep trying):`, errorText(err));
      this.failing = true;
      return false;
    }
  }

  start(): void {
    this.timer = setInterval(() => void this.beat(), this.everyMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
