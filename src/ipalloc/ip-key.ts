import ipaddr from 'ipaddr.js';
import { CtdbError } from '../common/errors.js';

/**
 * A public address reduced to what allocation needs: its canonical text and
 * its 128-bit key as four 32-bit words, most significant first. IPv4 keys are
 * `[0, 0, 0, address]`; IPv6 keys are the address's four words.
 */
export interface IpKey {
  readonly text: string;
  readonly words: readonly [number, number, number, number];
}

/**
 * Parses an IPv4 (dotted quad) or IPv6 address into its allocation key.
 * Throws CtdbError EINVAL naming the input when it is not an address.
 */
export function ipKey(ip: string): IpKey {
  const t = ip.trim();
  if (ipaddr.IPv4.isValidFourPartDecimal(t)) {
    const o = ipaddr.IPv4.parse(t).octets;
    const w = ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0;
    return { text: o.join('.'), words: [0, 0, 0, w] };
  }
  if (t.includes(':') && !t.includes('%') && ipaddr.IPv6.isValid(t)) {
    const a = ipaddr.IPv6.parse(t);
    const p = a.parts;
    const words = [0, 1, 2, 3].map((i) => ((p[2 * i]! << 16) | p[2 * i + 1]!) >>> 0);
    // inet_ntop prints IPv4-mapped addresses with a dotted tail; keep that form.
    const text = a.isIPv4MappedAddress() ? `::ffff:${a.toIPv4Address().toString()}` : a.toString();
    return { text, words: words as [number, number, number, number] };
  }
  throw new CtdbError('EINVAL', `invalid IP address '${ip}'`);
}

/** Orders keys by their 128-bit value: negative when `a < b`, 0 when equal. */
export function compareIpKeys(a: IpKey, b: IpKey): number {
  for (let i = 0; i < 4; i++) {
    if (a.words[i] !== b.words[i]) return a.words[i]! < b.words[i]! ? -1 : 1;
  }
  return 0;
}

/**
 * LCP2's distance between two keys: for every one of the four words, 32 when
 * the words are equal, else the count of leading zero bits of their XOR.
 * Every word contributes, including words after the first difference.
 * Result is in 0..128.
 */
export function ipDistance(a: readonly number[], b: readonly number[]): number {
  let d = 0;
  for (let i = 0; i < 4; i++) d += Math.clz32((a[i]! ^ b[i]!) >>> 0);
  return d;
}
