import net from 'node:net';
import type { EgressAllowList } from '../config.js';

/**
 * Which destinations webhooks may reach (SPEC §10): public unicast addresses only, unless the operator
 * allow-lists a hostname or an address range. Checked on the address the socket connects to (see transport.ts),
 * so a hostname that resolves differently later (DNS rebinding) is checked again on every connection.
 */

/** IPv4 ranges that are not the public internet (RFC 6890 special-purpose registry, plus CGNAT and multicast). */
const BLOCKED_V4: [string, number, string][] = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared (CGNAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local (cloud metadata)'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, '6to4 relay'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];

/** IPv6 ranges; addresses that embed an IPv4 address (mapped, compatible, NAT64, 6to4) are judged by it. */
const BLOCKED_V6: [string, number, string][] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['100::', 64, 'discard'],
  ['2001::', 32, 'Teredo'],
  ['2001:2::', 48, 'benchmarking'],
  ['2001:db8::', 32, 'documentation'],
  ['fc00::', 7, 'unique local (private)'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['ff00::', 8, 'multicast'],
];

const ranges = (list: [string, number, string][], family: 'ipv4' | 'ipv6') =>
  list.map(([address, prefix, reason]) => {
    const one = new net.BlockList();
    one.addSubnet(address, prefix, family);
    return { one, reason };
  });
const V4 = ranges(BLOCKED_V4, 'ipv4');
const V6 = ranges(BLOCKED_V6, 'ipv6');

/** The 8 groups of an IPv6 address (`::` expanded, a trailing dotted IPv4 folded in); null if not IPv6. */
export function ipv6Groups(address: string): number[] | null {
  let a = address.toLowerCase();
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  if (!net.isIPv6(a)) return null;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (dotted) {
    const [b0, b1, b2, b3] = dotted[1].split('.').map(Number);
    a = `${a.slice(0, dotted.index)}${((b0 << 8) | b1).toString(16)}:${((b2 << 8) | b3).toString(16)}`;
  }
  const [head, tail] = a.includes('::') ? a.split('::') : [a, null];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === null ? [] : new Array(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => Number.parseInt(g, 16));
}

/** The IPv4 address an IPv6 address carries (mapped, compatible, NAT64 64:ff9b::/96, 6to4 2002::/16), if any. */
export function embeddedIPv4(groups: number[]): string | null {
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const zeros = (from: number, to: number) => groups.slice(from, to).every((g) => g === 0);
  if (zeros(0, 5) && groups[5] === 0xffff) return v4(groups[6], groups[7]); // ::ffff:a.b.c.d
  if (zeros(0, 6) && (groups[6] !== 0 || groups[7] > 1)) return v4(groups[6], groups[7]); // ::a.b.c.d
  if (groups[0] === 0x64 && groups[1] === 0xff9b && zeros(2, 6)) return v4(groups[6], groups[7]);
  if (groups[0] === 0x2002) return v4(groups[1], groups[2]);
  return null;
}

/** Why an address must not be contacted ("loopback"), or null when it is a public unicast address. */
export function blockedReason(address: string): string | null {
  if (net.isIPv4(address)) return V4.find((r) => r.one.check(address, 'ipv4'))?.reason ?? null;
  const groups = ipv6Groups(address);
  if (!groups) return 'unparseable';
  const v4 = embeddedIPv4(groups);
  if (v4) {
    const inner = blockedReason(v4);
    return inner ? `${inner} (embedded in IPv6)` : null;
  }
  const canonical = groups.map((g) => g.toString(16)).join(':');
  return V6.find((r) => r.one.check(canonical, 'ipv6'))?.reason ?? null;
}

export interface EgressPolicy {
  /** The hostname is allow-listed: whatever it resolves to may be contacted. */
  hostAllowed(hostname: string): boolean;
  /** Null when `address` may be contacted, else `address (why not)`. */
  refuseAddress(address: string): string | null;
}

/** The policy with an operator's allow-list (WEBHOOK_ALLOWED_HOSTS for webhooks, CONNECTOR_ALLOWED_HOSTS for shop platforms). */
export function egressPolicy(config: EgressAllowList): EgressPolicy {
  const allowed = new net.BlockList();
  for (const c of config.allowedCidrs) allowed.addSubnet(c.address, c.prefix, c.family);
  const exact = new Set(config.allowedHosts.filter((h) => !h.startsWith('*.')));
  const suffixes = config.allowedHosts.filter((h) => h.startsWith('*.')).map((h) => h.slice(1));
  return {
    hostAllowed(hostname) {
      const h = hostname.toLowerCase().replace(/\.$/, '');
      return exact.has(h) || suffixes.some((s) => h.endsWith(s));
    },
    refuseAddress(address) {
      const family = net.isIPv4(address) ? 'ipv4' : 'ipv6';
      if (config.allowedCidrs.length) {
        if (allowed.check(address, family)) return null;
        // An allow-listed IPv4 range also admits the same address written as IPv4-mapped IPv6.
        const groups = family === 'ipv6' ? ipv6Groups(address) : null;
        const v4 = groups ? embeddedIPv4(groups) : null;
        if (v4 && allowed.check(v4, 'ipv4')) return null;
      }
      const reason = blockedReason(address);
      return reason ? `${address} (${reason})` : null;
    },
  };
}
