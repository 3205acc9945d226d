import { compareIpKeys, ipKey, type IpKey } from './ip-key.js';
import { NO_OWNER, type PublicIpState } from './types.js';

/** One entry of a node's GET_PUBLIC_IPS answer: an address and the PNN that node believes hosts it. */
export interface ReportedIp {
  readonly ip: string;
  /** PNN the reporting node believes owns the address (any value; 0xFFFFFFFF = unknown). */
  readonly pnn: number;
}

/**
 * Merges what every node reported into one entry per address, as a takeover
 * run does before allocating. `known[pnn]` is node pnn's full list,
 * `available[pnn]` its ONLY_AVAILABLE list (missing or empty for nodes not
 * asked). A node is trusted only about itself: an entry names an owner only
 * when the reporting node says it hosts the address, and a later report of
 * the same address keeps the earlier owner unless it names one itself.
 * Result is in allocation list order (highest address first).
 * Throws CtdbError EINVAL on an invalid address.
 */
export function mergePublicIps(
  known: readonly (readonly ReportedIp[] | undefined)[],
  available: readonly (readonly ReportedIp[] | undefined)[] = [],
): PublicIpState[] {
  interface Merged { key: IpKey; owner: number; knownOn: Set<number>; availableOn: Set<number> }
  const byKey = new Map<string, Merged>();
  const entry = (ip: string): Merged => {
    const key = ipKey(ip);
    let m = byKey.get(key.text);
    if (!m) { m = { key, owner: NO_OWNER, knownOn: new Set(), availableOn: new Set() }; byKey.set(key.text, m); }
    return m;
  };
  known.forEach((list, pnn) => {
    for (const r of list ?? []) {
      const m = entry(r.ip);
      m.knownOn.add(pnn);
      if (r.pnn === pnn) m.owner = pnn;
    }
  });
  available.forEach((list, pnn) => {
    for (const r of list ?? []) {
      const m = byKey.get(ipKey(r.ip).text);
      // An address no node knows is not public, whoever calls it available.
      if (m) m.availableOn.add(pnn);
    }
  });
  return [...byKey.values()]
    .sort((a, b) => compareIpKeys(b.key, a.key))
    .map((m) => ({
      ip: m.key.text,
      owner: m.owner,
      knownOn: [...m.knownOn].sort((a, b) => a - b),
      availableOn: [...m.availableOn].sort((a, b) => a - b),
    }));
}
