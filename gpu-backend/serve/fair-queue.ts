/**
 * Waiting requests, taken in round-robin order over tenants and, within a tenant, over its adapters: a tenant
 * with a thousand queued requests gets one turn per round like a tenant with one, and so does a busy adapter
 * next to a quiet one of the same tenant. Within one (tenant, adapter) flow, requests keep arrival order.
 * Written by hand: schedulers in npm queue by priority or weight, none by nested rotation with removal.
 */

/** Who a request is for: the two levels admission is fair across. */
export interface Flow {
  tenant: string;
  adapter: string;
}

/** A rotation of keys, each holding a value; the key taken last goes to the back. */
class Rotation<V> {
  private readonly entries = new Map<string, V>();

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: V): void {
    this.entries.set(key, value);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** The first entry in turn order, or undefined when empty. */
  first(): [string, V] | undefined {
    return this.entries.entries().next().value;
  }

  /** Moves `key` to the back of the turn order (Map keeps insertion order). */
  rotate(key: string): void {
    const value = this.entries.get(key);
    if (value === undefined) return;
    this.entries.delete(key);
    this.entries.set(key, value);
  }
}

export class FairQueue<T> {
  private readonly tenants = new Rotation<Rotation<T[]>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(flow: Flow, item: T): void {
    let adapters = this.tenants.get(flow.tenant);
    if (!adapters) {
      adapters = new Rotation();
      this.tenants.set(flow.tenant, adapters);
    }
    const queue = adapters.get(flow.adapter);
    if (queue) queue.push(item);
    else adapters.set(flow.adapter, [item]);
    this.count++;
  }

  /** The next item in turn without taking it. */
  peek(): T | undefined {
    return this.tenants.first()?.[1].first()?.[1][0];
  }

  /** Takes the next item: the head of the next flow of the next tenant; both move to the back of their turn. */
  shift(): T | undefined {
    const tenant = this.tenants.first();
    if (!tenant) return undefined;
    const [tenantKey, adapters] = tenant;
    const [adapterKey, queue] = adapters.first()!;
    const item = queue.shift()!;
    this.count--;
    if (queue.length === 0) adapters.delete(adapterKey);
    else adapters.rotate(adapterKey);
    if (adapters.first() === undefined) this.tenants.delete(tenantKey);
    else this.tenants.rotate(tenantKey);
    return item;
  }

  /** Removes a waiting item (its client went away); false when it was not waiting. */
  remove(flow: Flow, item: T): boolean {
    const adapters = this.tenants.get(flow.tenant);
    const queue = adapters?.get(flow.adapter);
    const at = queue?.indexOf(item) ?? -1;
    if (!adapters || !queue || at < 0) return false;
    queue.splice(at, 1);
    this.count--;
    if (queue.length === 0) adapters.delete(flow.adapter);
    if (adapters.first() === undefined) this.tenants.delete(flow.tenant);
    return true;
  }

  /** Takes every item (after an engine failure). */
  drain(): T[] {
    const all: T[] = [];
    for (let item = this.shift(); item !== undefined; item = this.shift()) all.push(item);
    return all;
  }
}
