import { CtdbError } from '../common/errors.js';

/** One line of a nodes file as onnode sees it: PNN = line index; dead lines keep their PNN. */
export interface OnnodeNode {
  pnn: number;
  /** Address or host name; undefined for a dead (blank or commented-out) line. */
  address?: string;
}

/** State of one node as `ctdb -X status` reports it. */
export interface NodeHealth { pnn: number; connected: boolean; ok: boolean }

/**
 * Parses a nodes file the way onnode does: everything from `#` on is a
 * comment, blanks are removed, and a line left empty is a dead node that
 * still takes its PNN. A missing final newline does not add a node.
 */
export function parseOnnodeNodes(text: string): OnnodeNode[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.map((line, pnn) => {
    const addr = line.replace(/#.*/, '').replace(/\s+/g, '');
    return addr === '' ? { pnn } : { pnn, address: addr };
  });
}

/**
 * Parses the data rows of `ctdb -X status` (`|PNN|IP|Disconnected|…|ThisNode|`).
 * A node is connected when the first flag field is 0 and OK when no flag
 * field equals 1. The header and lines that do not start with a PNN are skipped.
 */
export function parseStatusTable(text: string): NodeHealth[] {
  const out: NodeHealth[] = [];
  for (const line of text.split('\n')) {
    const sep = line[0];
    if (sep === undefined) continue;
    const f = line.split(sep).slice(1, -1);
    if (f.length < 3 || !/^\d+$/.test(f[0]!)) continue;
    const flags = f.slice(2);
    out.push({ pnn: Number(f[0]), connected: flags[0] === '0', ok: !flags.includes('1') });
  }
  return out;
}

/** Node words that need node states from `ctdb -X status`. */
export const STATE_WORDS = new Set(['any', 'ok', 'healthy', 'con', 'connected']);

/** True when resolving `spec` needs node states. */
export function specNeedsStatus(spec: string): boolean {
  return spec.split(',').some((w) => STATE_WORDS.has(w));
}

/** A spec error: onnode prints it (and, for a bad spec, usage) and exits 1. */
export class NodeSpecError extends CtdbError {
  constructor(message: string, readonly showUsage = false) { super('EINVAL', message, { exitCode: 1 }); }
}

/**
 * Turns a NODES argument into the list of addresses to run on, in order and
 * keeping duplicates. Words: `all` (every live node), `any` (first connected
 * node), `ok`/`healthy`, `con`/`connected`, a PNN, `A-B` (empty when A > B), a
 * host name when `allowNames`; comma lists combine them. Throws NodeSpecError
 * `"node N" does not exist` for a dead or missing PNN and `Invalid <nodespec>`
 * for anything else; `any` with no connected node throws too.
 */
export function resolveNodeSpec(spec: string, nodes: OnnodeNode[], allowNames: boolean, health?: NodeHealth[]): string[] {
  const out: string[] = [];
  const byPnn = (pnn: number): string => {
    const a = nodes[pnn]?.address;
    if (a === undefined) throw new NodeSpecError(`"node ${pnn}" does not exist`);
    return a;
  };
  const live = nodes.filter((n) => n.address !== undefined);
  const states = (): NodeHealth[] => {
    if (!health) throw new NodeSpecError('Unable to get node states from "ctdb -X status"');
    return health.filter((h) => nodes[h.pnn]?.address !== undefined);
  };
  for (const w of spec.split(',')) {
    if (w === 'all') out.push(...live.map((n) => n.address!));
    else if (w === 'ok' || w === 'healthy') out.push(...states().filter((h) => h.ok).map((h) => byPnn(h.pnn)));
    else if (w === 'con' || w === 'connected') out.push(...states().filter((h) => h.connected).map((h) => byPnn(h.pnn)));
    else if (w === 'any') {
      const first = states().find((h) => h.connected);
      if (!first) throw new NodeSpecError('No connected node found for "any"');
      out.push(byPnn(first.pnn));
    } else if (/^\d+$/.test(w)) out.push(byPnn(Number(w)));
    else if (/^\d+-\d+$/.test(w)) {
      const [a, b] = w.split('-').map(Number) as [number, number];
      for (let p = a; p <= b; p++) out.push(byPnn(p));
    } else if (allowNames && /^[A-Za-z0-9.:_-]+$/.test(w)) out.push(w);
    else throw new NodeSpecError('Invalid <nodespec>', true);
  }
  return out;
}
