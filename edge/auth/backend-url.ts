/**
 * Where a heartbeat says the edge should reach a backend. The edge sends tenants' prompts there, so in
 * production it must be a public address: loopback, private, link-local (cloud metadata at 169.254.169.254),
 * CGNAT, unspecified, multicast and reserved IPv4, and IPv6 loopback, ULA, link-local, site-local, multicast,
 * NAT64 and IPv4-mapped/compatible forms are refused, as is `localhost`. ALLOW_PRIVATE_BACKEND_URLS="true"
 * lifts this for local stacks. Host names other than localhost are not resolved here (Workers have no DNS
 * API); only operator-issued backends can heartbeat at all.
 */

/** IPv4 ranges as [first octets, prefix length, what it is]. */
const V4_REFUSED: [number[], number, string][] = [
  [[0], 8, 'unspecified ("this network")'],
  [[10], 8, 'private'],
  [[100, 64], 10, 'carrier-grade NAT'],
  [[127], 8, 'loopback'],
  [[169, 254], 16, 'link-local'],
  [[172, 16], 12, 'private'],
  [[192, 0, 0], 24, 'IETF protocol assignments'],
  [[192, 168], 16, 'private'],
  [[198, 18], 15, 'benchmarking'],
  [[224], 4, 'multicast'],
  [[240], 4, 'reserved'],
];

function v4Reason(octets: number[]): string | null {
  const value = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
  for (const [start, bits, what] of V4_REFUSED) {
    const base = ((start[0] << 24) | ((start[1] ?? 0) << 16) | ((start[2] ?? 0) << 8)) >>> 0;
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    if ((value & mask) >>> 0 === (base & mask) >>> 0) return what;
  }
  return null;
}

/** The 8 groups of an IPv6 address as the URL parser writes it (compressed, lowercase hex); null if it is not one. */
function v6Groups(host: string): number[] | null {
  const halves = host.split('::');
  if (halves.length > 2) return null;
  const part = (s: string) => (s === '' ? [] : s.split(':').map((g) => Number.parseInt(g, 16)));
  const head = part(halves[0]);
  const tail = halves.length === 2 ? part(halves[1]) : [];
  const groups = halves.length === 2 ? [...head, ...Array(8 - head.length - tail.length).fill(0), ...tail] : head;
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

function v6Reason(g: number[]): string | null {
  const zeroUpTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeroUpTo(8)) return 'unspecified';
  if (zeroUpTo(7) && g[7] === 1) return 'loopback';
  if (zeroUpTo(5) && g[5] === 0xffff) return 'IPv4-mapped';
  if (zeroUpTo(6)) return 'IPv4-compatible';
  if (g[0] === 0x64 && g[1] === 0xff9b) return 'NAT64';
  if ((g[0] & 0xfe00) === 0xfc00) return 'unique local (ULA)';
  if ((g[0] & 0xffc0) === 0xfe80) return 'link-local';
  if ((g[0] & 0xffc0) === 0xfec0) return 'site-local';
  if ((g[0] & 0xff00) === 0xff00) return 'multicast';
  return null;
}

/** Why `url` may not be a backend's address in production; null when it may. */
export function privateAddressReason(url: string): string | null {
  const host = new URL(url).hostname.toLowerCase().replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return 'localhost';
  if (host.startsWith('[')) {
    const groups = v6Groups(host.slice(1, -1));
    return groups ? v6Reason(groups) : 'an unreadable IPv6 address';
  }
  // The URL parser has already turned every IPv4 spelling (hex, octal, short forms) into dotted decimal.
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return v4 ? v4Reason(v4.slice(1).map(Number)) : null;
}

export const allowPrivateBackendUrls = (setting: string | undefined) => setting === 'true';
