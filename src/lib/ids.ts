import { randomBytes } from 'node:crypto';

// Crockford base32: ids sort by creation time as strings (48-bit ms timestamp, then 80 random bits), like ULIDs.
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
let lastMs = 0;
let lastRand: Buffer = randomBytes(10);

function encode(bytes: Buffer): string {
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
  return out;
}

/** Monotonic within a process: ids made in the same millisecond increase by the random part. */
export function newId(prefix: string, now = Date.now()): string {
  let rand: Buffer;
  if (now <= lastMs) {
    rand = Buffer.from(lastRand);
    for (let i = rand.length - 1; i >= 0; i--) {
      rand[i] = (rand[i] + 1) & 0xff;
      if (rand[i] !== 0) break;
    }
    now = lastMs;
  } else {
    rand = randomBytes(10);
  }
  lastMs = now;
  lastRand = rand;
  const time = Buffer.alloc(6);
  time.writeUIntBE(now, 0, 6);
  return `${prefix}_${encode(Buffer.concat([time, rand]))}`;
}

export const ID_PREFIX = {
  shop: 'shop',
  apiKey: 'key',
  order: 'ord',
  lineItem: 'li',
  shipment: 'shp',
  shipmentEvent: 'sev',
  job: 'job',
  idempotency: 'idem',
} as const;
