import { parseArgs } from 'node:util';
import { CtdbError } from '../common/errors.js';
import { allocateIpsWithWarnings } from '../ipalloc/allocate.js';
import { ipKey } from '../ipalloc/ip-key.js';
import { IpAllocAlgorithm, NO_OWNER, type PublicIpState } from '../ipalloc/types.js';

/** Every flag bit a nodemap may carry (DISCONNECTED … STOPPED). */
const KNOWN_FLAG_BITS = 0x3f;

/** What `ctdb_takeover_helper --compute` was asked to do. */
export interface ComputeOptions {
  /** Flag word of each node; the length is the node count. */
  readonly nodeFlags: readonly number[];
  /** IPAllocAlgorithm value. */
  readonly algorithm: number;
  readonly noIpTakeover: boolean;
  readonly noIpFailback: boolean;
  readonly forceRebalanceNodes: readonly number[];
  /** Contents of a home_nodes file, if one was given (deterministic only). */
  readonly homeNodesText?: string;
}

const bad = (msg: string): CtdbError => new CtdbError('EINVAL', msg);

const ALGORITHMS: Record<string, number> = {
  deterministic: IpAllocAlgorithm.DETERMINISTIC,
  nondeterministic: IpAllocAlgorithm.NONDETERMINISTIC,
  'non-deterministic': IpAllocAlgorithm.NONDETERMINISTIC,
  lcp2: IpAllocAlgorithm.LCP2,
};

/** Parses an algorithm name (deterministic, nondeterministic, lcp2). Throws EINVAL. */
export function parseAlgorithm(name: string): number {
  const v = ALGORITHMS[name.trim().toLowerCase()];
  if (v === undefined) throw bad(`--algorithm: unknown algorithm '${name}' (use deterministic, nondeterministic or lcp2)`);
  return v;
}

/**
 * Parses `--node-flags`: comma-separated CTDB node flag words, decimal or
 * 0x-hex, one per node. Throws EINVAL on an empty list, a malformed word or
 * a bit CTDB does not define.
 */
export function parseNodeFlags(text: string): number[] {
  const words = text.split(',').map((w) => w.trim());
  if (text.trim() === '') throw bad('--node-flags: give one flag word per node, e.g. 0,0x2,0');
  return words.map((w, pnn) => {
    if (!/^(0x[0-9a-f]+|\d+)$/i.test(w)) throw bad(`--node-flags: node ${pnn}: '${w}' is not a flag word`);
    const v = Number(w);
    if (v > 0xffffffff || (v & ~KNOWN_FLAG_BITS) !== 0) {
      throw bad(`--node-flags: node ${pnn}: unknown flag bits in '${w}' (known bits: 0x${KNOWN_FLAG_BITS.toString(16)})`);
    }
    return v;
  });
}

function parsePnnList(text: string, what: string, num: number): number[] {
  return text.split(',').map((p) => {
    if (!/^\d+$/.test(p)) throw bad(`${what}: '${p}' is not a PNN`);
    const n = Number(p);
    if (n >= num) throw bad(`${what}: PNN ${n} is beyond the node count ${num}`);
    return n;
  });
}

/** Parses the command line of compute mode (everything after the program name). Throws EINVAL. */
export function parseComputeArgs(argv: readonly string[]): ComputeOptions & { homeNodesFile?: string } {
  let v;
  try {
    v = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        compute: { type: 'boolean' },
        'node-flags': { type: 'string' },
        algorithm: { type: 'string', default: 'lcp2' },
        'no-ip-takeover': { type: 'boolean', default: false },
        'no-ip-failback': { type: 'boolean', default: false },
        'force-rebalance': { type: 'string' },
        'home-nodes': { type: 'string' },
      },
    }).values;
  } catch (err) {
    throw new CtdbError('EINVAL', (err as Error).message, { cause: err });
  }
  if (v['node-flags'] === undefined) throw bad('--compute needs --node-flags (one flag word per node, e.g. 0,0,0)');
  const nodeFlags = parseNodeFlags(v['node-flags']);
  const fr = v['force-rebalance'];
  return {
    nodeFlags,
    algorithm: parseAlgorithm(v.algorithm!),
    noIpTakeover: v['no-ip-takeover']!,
    noIpFailback: v['no-ip-failback']!,
    forceRebalanceNodes: fr === undefined || fr === '' ? [] : parsePnnList(fr, '--force-rebalance', nodeFlags.length),
    ...(v['home-nodes'] === undefined ? {} : { homeNodesFile: v['home-nodes'] }),
  };
}

/**
 * Parses compute-mode input: one `IP CURRENT_PNN [ALLOWED_PNN,...]` per line
 * (-1 = unassigned; no list = every node may host it). Empty lines and lines
 * starting with `#` are skipped. Throws EINVAL naming the line number.
 */
export function parseComputeInput(text: string, numNodes: number): PublicIpState[] {
  const seen = new Map<string, number>();
  const out: PublicIpState[] = [];
  text.split('\n').forEach((raw, idx) => {
    const lineNo = idx + 1;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const at = (msg: string) => bad(`line ${lineNo}: ${msg}`);
    const f = line.split(/\s+/);
    if (f.length < 2 || f.length > 3) throw at(`expected 'IP CURRENT_PNN [ALLOWED_PNN,...]', got '${line}'`);
    let key;
    try { key = ipKey(f[0]!); } catch { throw at(`'${f[0]}' is not an IP address`); }
    const first = seen.get(key.text);
    if (first !== undefined) throw at(`${key.text} was already given on line ${first}`);
    seen.set(key.text, lineNo);
    if (!/^(-1|\d+)$/.test(f[1]!)) throw at(`'${f[1]}' is not a PNN or -1`);
    const owner = Number(f[1]);
    if (owner >= numNodes) throw at(`current PNN ${owner} is beyond the node count ${numNodes}`);
    if (f[2] === undefined) { out.push({ ip: key.text, owner }); return; }
    let allowed;
    try { allowed = parsePnnList(f[2], 'allowed list', numNodes); } catch (e) { throw at((e as Error).message); }
    out.push({ ip: key.text, owner, availableOn: allowed });
  });
  return out;
}

/** Parses home_nodes text (`IP PNN` lines); as CTDB does, any bad line makes the whole file ignored. */
export function parseHomeNodes(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const raw of text.split('\n')) {
    const f = raw.trim().split(/\s+/);
    if (f.length < 2) continue;
    try {
      if (!/^\d+$/.test(f[1]!)) return new Map();
      m.set(ipKey(f[0]!).text, Number(f[1]));
    } catch {
      return new Map();
    }
  }
  return m;
}

/** Formats an allocation as `IP PNN` lines, in the map's (list) order. */
export function formatAllocation(owners: ReadonlyMap<string, number>): string {
  let s = '';
  for (const [ip, pnn] of owners) s += `${ip} ${pnn === NO_OWNER ? -1 : pnn}\n`;
  return s;
}

/**
 * Runs a preview allocation: parses `input` (see {@link parseComputeInput}),
 * allocates, and returns the `IP PNN` output text plus warnings.
 * Throws EINVAL on bad input; nothing is returned in that case.
 */
export function computeAllocation(input: string, opts: ComputeOptions): { output: string; warnings: string[] } {
  const ips = parseComputeInput(input, opts.nodeFlags.length);
  const r = allocateIpsWithWarnings({
    nodes: opts.nodeFlags.map((flags) => ({ flags })),
    ips,
    tunables: { IPAllocAlgorithm: opts.algorithm, NoIPTakeover: opts.noIpTakeover, NoIPFailback: opts.noIpFailback },
    forceRebalanceNodes: opts.forceRebalanceNodes,
    ...(opts.homeNodesText === undefined ? {} : { homeNodes: parseHomeNodes(opts.homeNodesText) }),
  });
  return { output: formatAllocation(r.owners), warnings: r.warnings };
}
