/**
 * Waiting requests, taken in round-robin order over tenants and, within a tenant, in arrival order: a tenant with
 * a thousand queued requests gets one turn per round like a tenant with one. Within a tenant the order is arrival
 * order whatever the adapter: its adapters share the same batch, so taking turns by adapter gains nothing, and
 * it made a request's wait grow with its adapter's popularity (later requests for rare adapters overtook the
 * popular ones' backlog: the Zipf tail of `npm run bench -- serve`).
 * Written by hand: schedulers in npm queue by priority or weight, none by rotation with removal.
 */

/** Who a request is for: the level admission is fair across. */
export interface Flow {
  tenant: string;
}

export class FairQueue<T> {
  /** Each tenant's waiting items in arrival order; the tenant whose turn it is first (Map keeps insertion order). */
  private readonly tenants = new Map<string, T[]>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(flow: Flow, item: T): void {
    const queue = this.tenants.get(flow.tenant);
    if (queue) queue.push(item);
    else this.tenants.set(flow.tenant, [item]);
    this.count++;
  }

  /** The next item in turn without taking it. */
  peek(): T | undefined {
    return this.tenants.values().next().value?.[0];
  }

  /** Each tenant's oldest waiting item (the scheduler checks how long they have waited). */
  heads(): T[] {
    return [...this.tenants.values()].map((queue) => queue[0]);
  }

  /** Takes the next item: the oldest of the tenant whose turn it is; that tenant moves to the back of the turn. */
  shift(): T | undefined {
    const next = this.tenants.entries().next().value;
    if (!next) return undefined;
    const [tenant, queue] = next;
    const item = queue.shift()!;
    this.count--;
    this.tenants.delete(tenant);
    if (queue.length > 0) this.tenants.set(tenant, queue);
    return item;
  }

  /** Removes a waiting item (its client went away); false when it was not waiting. */
  remove(flow: Flow, item: T): boolean {
    const queue = this.tenants.get(flow.tenant);
    const at = queue?.indexOf(item) ?? -1;
    if (!queue || at < 0) return false;
    queue.splice(at, 1);
    this.count--;
    if (queue.length === 0) this.tenants.delete(flow.tenant);
    return true;
  }

  /** Takes every item (after an engine failure). */
  drain(): T[] {
    const all: T[] = [];
    for (let item = this.shift(); item !== undefined; item = this.shift()) all.push(item);
    return all;
  }
}
