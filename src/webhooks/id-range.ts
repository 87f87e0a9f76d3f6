/**
 * Ids (src/lib/ids.ts) start with their creation time, so a time range is an id range: a primary-key (or
 * `(shop_id, endpoint_id, id)`) range scan instead of a filter. newId() cannot make these bounds: it is monotonic
 * within the process and never goes back in time.
 */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/** The smallest (`low`) or largest (`high`) id with this prefix created at `ms`. */
export function idAt(prefix: string, ms: number, bound: 'low' | 'high'): string {
  const bytes = Buffer.alloc(16, bound === 'low' ? 0 : 0xff);
  bytes.writeUIntBE(Math.max(0, Math.min(ms, 2 ** 48 - 1)), 0, 6);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return `${prefix}_${out}`;
}
