/**
 * Column groups more than one aggregate shares. Times are unix seconds, as in OpenAI objects.
 */
import { integer, text } from 'drizzle-orm/sqlite-core';

export const createdAt = () => integer('created_at').notNull();

/**
 * Work a backend does under a lease (fine-tuning, merges, compressions, reverts): who holds it, until when,
 * and how many times it was claimed. A lease that runs out makes the work claimable again.
 */
export const leaseColumns = () => ({
  leaseOwner: text('lease_owner'),
  leaseExpiresAt: integer('lease_expires_at'),
  attempts: integer('attempts').notNull().default(0),
});
