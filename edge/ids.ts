/**
 * Ids that sort by creation time (a millisecond timestamp, then randomness), so `ORDER BY id` lists newest or
 * oldest first and the id itself is the pagination cursor. Prefixes follow OpenAI's where OpenAI has the object.
 */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export type IdPrefix =
  | 'tenant'
  | 'key'
  | 'bm'
  | 'adapter'
  | 'file'
  | 'ftjob'
  | 'ftckpt'
  | 'merge'
  | 'revert'
  | 'cmpr'
  | 'bcred'
  | 'backend'
  | 'quant';

export function newId(prefix: IdPrefix): string {
  let time = '';
  for (let t = Date.now(), i = 0; i < 10; i++, t = Math.floor(t / 32)) time = ALPHABET[t % 32] + time;
  const random = crypto.getRandomValues(new Uint8Array(12));
  return `${prefix}-${time}${[...random].map((b) => ALPHABET[b % 32]).join('')}`;
}

/** Unix seconds, as in OpenAI objects. */
export function nowS(): number {
  return Math.floor(Date.now() / 1000);
}
