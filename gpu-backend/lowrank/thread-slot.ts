/**
 * A module slot as a float64 thread takes it (structured clone): the members' modules as stored, copied once into
 * one shared buffer lent for the call (shared-floats.ts), so that nothing is widened here or cloned per member.
 */
import type { AdapterModule } from '../../contracts/formats/adapter.ts';
import { type AlignedModule, type ModuleSlot, slotOf } from './reversible-types.ts';
import type { SharedFloats } from './shared-floats.ts';

/** A module slot with the members' modules as stored, as a float64 thread takes it. */
export type StoredSlot = ModuleSlot & { stored: (AdapterModule | null)[] };

/**
 * The slot to send (its stored modules enumerable here, so they are sent; else the slot and its factors) and the
 * shared buffer lent for it, which the caller gives back once the thread has answered.
 */
export function threadSlot(
  slot: AlignedModule,
  shared: SharedFloats,
): { sent: AlignedModule | StoredSlot; lent: Float32Array<SharedArrayBuffer> | null } {
  if (!slot.stored) return { sent: slot, lent: null };
  const lent = shared.take(slot.stored.reduce((sum, m) => sum + (m ? m.a.length + m.b.length : 0), 0));
  let at = 0;
  const copy = (data: Float32Array) => {
    const view = lent.subarray(at, at + data.length);
    view.set(data);
    at += data.length;
    return view;
  };
  const stored = slot.stored.map((m) => (m ? { ...m, a: copy(m.a), b: copy(m.b) } : null));
  return { sent: { ...slotOf(slot), stored }, lent };
}

/** `call` with the slot as a thread takes it; the lent shared buffer is given back once the call has settled. */
export async function withThreadSlot<R>(
  slot: AlignedModule,
  shared: SharedFloats,
  call: (sent: AlignedModule | StoredSlot) => Promise<R>,
): Promise<R> {
  const { sent, lent } = threadSlot(slot, shared);
  try {
    return await call(sent);
  } finally {
    if (lent) shared.give(lent);
  }
}
