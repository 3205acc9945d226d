import { readFileSync } from 'node:fs';
import ipaddr from 'ipaddr.js';
import { CtdbError } from './errors.js';
import { canonicalNodeAddress } from './nodes.js';

/** One public address a node may host, and the interfaces it may go on. */
export interface PublicAddressEntry {
  /** Canonical address text (IPv4-mapped IPv6 becomes IPv4). */
  address: string;
  /** Prefix length (0–32 for IPv4, 0–128 for IPv6). */
  mask: number;
  /** Interface names in file order, at least one, no duplicates. */
  ifaces: string[];
}

// Linux interface names: 1–15 bytes without blanks, '/' or ':'; ',' separates them.
const IFACE_RE = /^[^\s/,:]{1,15}$/;

/**
 * Parses a public_addresses file: lines `IP/MASK IFACE[,IFACE...]` separated
 * by blanks. Blank lines and lines whose first non-blank character is `#`
 * are skipped; a trailing `# comment` is allowed. A bad address, prefix,
 * interface list, extra field or duplicate address throws CtdbError EINVAL
 * `fileName:line: ...`.
 */
export function parsePublicAddresses(text: string, fileName: string): PublicAddressEntry[] {
  const out: PublicAddressEntry[] = [];
  const seen = new Map<string, number>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const fail = (what: string): never => {
      throw new CtdbError('EINVAL', `${fileName}:${lineNo}: ${what}`);
    };
    let t = lines[i]!.trim();
    if (t === '' || t.startsWith('#')) continue;
    const hash = t.search(/\s#/);
    if (hash >= 0) t = t.slice(0, hash).trim();
    const fields = t.split(/\s+/);
    if (fields.length < 2) fail(`missing interface in '${t}'`);
    if (fields.length > 2) fail(`unexpected text '${fields.slice(2).join(' ')}' after the interfaces`);
    const [cidr, ifaceList] = fields as [string, string];
    const slash = cidr.indexOf('/');
    if (slash < 0) fail(`missing /MASK in '${cidr}'`);
    let address = '';
    try {
      address = canonicalNodeAddress(cidr.slice(0, slash));
    } catch {
      fail(`invalid address '${cidr.slice(0, slash)}'`);
    }
    const maskText = cidr.slice(slash + 1);
    const maxMask = ipaddr.IPv4.isValidFourPartDecimal(address) ? 32 : 128;
    if (!/^\d{1,3}$/.test(maskText) || Number(maskText) > maxMask) {
      fail(`invalid prefix length '${maskText}' (0-${maxMask})`);
    }
    const ifaces = ifaceList.split(',');
    for (const n of ifaces) if (!IFACE_RE.test(n)) fail(`invalid interface name '${n}'`);
    if (new Set(ifaces).size !== ifaces.length) fail(`interface listed twice in '${ifaceList}'`);
    const prev = seen.get(address);
    if (prev !== undefined) fail(`duplicate public address ${address} (also on line ${prev})`);
    seen.set(address, lineNo);
    out.push({ address, mask: Number(maskText), ifaces });
  }
  return out;
}

/**
 * Reads a public_addresses file (see {@link parsePublicAddresses}). A missing
 * file gives []; other read errors throw CtdbError with the errno name.
 */
export function loadPublicAddresses(path: string): PublicAddressEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    throw new CtdbError(code ?? 'EIO', `cannot read ${path}`, { cause: err });
  }
  return parsePublicAddresses(text, path);
}
