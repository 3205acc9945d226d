import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import ipaddr from 'ipaddr.js';
import { CtdbError } from './errors.js';
import { helperEnv } from './helper-env.js';

/** One line of the nodes file: PNN = its index among non-blank lines. */
export interface NodeEntry {
  pnn: number;
  /** Canonical address; '0.0.0.0' for a deleted placeholder. */
  address: string;
  /** True for a `#` placeholder line (node flag DELETED). */
  deleted: boolean;
}

/** Address given to deleted placeholders. */
export const DELETED_NODE_ADDRESS = '0.0.0.0';

/**
 * Canonical text of a node address: IPv4 dotted quad, IPv6 compressed lower
 * case, IPv4-mapped IPv6 turned into plain IPv4 (as CTDB shows them).
 * Throws a plain Error when not an address.
 */
export function canonicalNodeAddress(text: string): string {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text).toString();
  if (text.includes(':') && ipaddr.IPv6.isValid(text) && !text.includes('%')) {
    const a = ipaddr.IPv6.parse(text);
    return a.isIPv4MappedAddress() ? a.toIPv4Address().toString() : a.toString();
  }
  throw new Error(`invalid IP address '${text}'`);
}

/**
 * Parses a nodes file. Blank lines are skipped and take no PNN; a line whose
 * first non-blank character is `#` is a deleted placeholder that keeps its
 * PNN; otherwise the line is one address, optionally followed by blanks and a
 * `# comment`. A bad address or a duplicate throws CtdbError EINVAL
 * `fileName:line: ...`.
 */
export function parseNodesFile(text: string, fileName: string): NodeEntry[] {
  const out: NodeEntry[] = [];
  const seen = new Map<string, number>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let t = lines[i]!.trim();
    if (t === '') continue;
    const pnn = out.length;
    if (t.startsWith('#')) {
      out.push({ pnn, address: DELETED_NODE_ADDRESS, deleted: true });
      continue;
    }
    const hash = t.search(/\s#/);
    if (hash >= 0) t = t.slice(0, hash).trim();
    let address: string;
    try {
      address = canonicalNodeAddress(t);
    } catch (err) {
      throw new CtdbError('EINVAL', `${fileName}:${i + 1}: invalid node address '${t}'`, { cause: err });
    }
    const prev = seen.get(address);
    if (prev !== undefined) {
      throw new CtdbError('EINVAL', `${fileName}:${i + 1}: duplicate node address ${address} (also on line ${prev})`);
    }
    seen.set(address, i + 1);
    out.push({ pnn, address, deleted: false });
  }
  return out;
}

/**
 * Loads the nodes list. A value starting with `!` is a command line (split on
 * blanks, no quoting) whose stdout is parsed; anything else is a file path.
 * Throws CtdbError ENOENT for a missing file, EIO when the command fails,
 * EINVAL for bad contents.
 */
export function loadNodes(pathOrCommand: string): NodeEntry[] {
  if (pathOrCommand.startsWith('!')) {
    const words = pathOrCommand.slice(1).trim().split(/[ \t]+/).filter((w) => w !== '');
    if (words.length === 0) throw new CtdbError('EINVAL', 'empty nodes list command');
    // A plain spawn keeps the CLI's bundle small; the command gets no shell.
    const r = spawnSync(words[0]!, words.slice(1), { timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', env: helperEnv() });
    if (r.error || r.status !== 0) {
      const why = r.error ? r.error.message : r.signal ? `killed by ${r.signal}` : `exit code ${r.status}`;
      throw new CtdbError('EIO', `nodes list command '${words.join(' ')}' failed: ${why}`);
    }
    return parseNodesFile(String(r.stdout), `!${words.join(' ')}`);
  }
  let text: string;
  try {
    text = readFileSync(pathOrCommand, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    throw new CtdbError(code, `cannot read nodes file ${pathOrCommand}`, { cause: err });
  }
  return parseNodesFile(text, pathOrCommand);
}
