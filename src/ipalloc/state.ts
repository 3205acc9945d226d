import { CtdbError } from '../common/errors.js';
import { NodeFlag, RunState } from '../protocol/constants.js';
import { compareIpKeys, ipKey, type IpKey } from './ip-key.js';
import { NO_OWNER, type IpAllocInput } from './types.js';

/**
 * The working state of one allocation: addresses in list order (highest key
 * first), current owners, and who may host what. Mutated by the algorithms.
 */
export interface AllocState {
  /** Node count (PNNs 0..num-1). */
  readonly num: number;
  /** Address keys in list order. */
  readonly keys: readonly IpKey[];
  /** Owner PNN per address index, -1 when unassigned. */
  readonly owner: Int32Array;
  /** How many addresses each node owns right now. */
  readonly coverage: Int32Array;
  /** `canHost[i * num + n]` is 1 when node n may host address i. */
  readonly canHost: Uint8Array;
  readonly noIpTakeover: boolean;
}

/** CTDB's wire value for "no node"; accepted as an owner meaning -1. */
const UNKNOWN_PNN = 0xffffffff;

const NEVER_HOSTS = NodeFlag.INACTIVE | NodeFlag.DISABLED;

/** True when a node in this state may host public addresses at all. */
export function nodeMayHost(flags: number, runState: number = RunState.RUNNING): boolean {
  return (flags & NEVER_HOSTS) === 0 && runState === RunState.RUNNING;
}

function checkPnn(pnn: number, num: number, what: string): void {
  if (!Number.isInteger(pnn) || pnn < 0 || pnn >= num) {
    throw new CtdbError('EINVAL', `${what}: PNN ${pnn} is outside the nodemap (0..${num - 1})`);
  }
}

/**
 * Builds the working state from an input. Throws CtdbError EINVAL on an
 * invalid address, a duplicate address, or a PNN outside the nodemap.
 */
export function buildAllocState(input: IpAllocInput, noIpTakeover: boolean): AllocState {
  const num = input.nodes.length;
  const entries = input.ips.map((ip) => ({ ip, key: ipKey(ip.ip) }));
  entries.sort((a, b) => compareIpKeys(b.key, a.key));
  for (let i = 1; i < entries.length; i++) {
    if (compareIpKeys(entries[i - 1]!.key, entries[i]!.key) === 0) {
      throw new CtdbError('EINVAL', `address ${entries[i]!.key.text} is given more than once`);
    }
  }
  const eligible = input.nodes.map((n) => nodeMayHost(n.flags, n.runState));
  const owner = new Int32Array(entries.length);
  const coverage = new Int32Array(num);
  const canHost = new Uint8Array(entries.length * num);
  entries.forEach(({ ip, key }, i) => {
    const o = ip.owner === UNKNOWN_PNN ? NO_OWNER : ip.owner;
    if (o !== NO_OWNER) checkPnn(o, num, `owner of ${key.text}`);
    owner[i] = o;
    if (o !== NO_OWNER) coverage[o]!++;
    const on = ip.availableOn ?? [...Array(num).keys()];
    for (const n of on) {
      checkPnn(n, num, `node available for ${key.text}`);
      if (eligible[n]) canHost[i * num + n] = 1;
    }
  });
  return { num, keys: entries.map((e) => e.key), owner, coverage, canHost, noIpTakeover };
}

/** Node n may host address i. */
export const canHost = (s: AllocState, n: number, i: number): boolean => s.canHost[i * s.num + n] === 1;

/** Node n may take address i over (hosting allowed and NoIPTakeover unset). */
export const canTakeover = (s: AllocState, n: number, i: number): boolean =>
  !s.noIpTakeover && s.canHost[i * s.num + n] === 1;

/** Moves address i to node n (or -1), keeping coverage in step. */
export function setOwner(s: AllocState, i: number, n: number): void {
  const old = s.owner[i]!;
  if (old !== NO_OWNER) s.coverage[old]!--;
  s.owner[i] = n;
  if (n !== NO_OWNER) s.coverage[n]!++;
}

/** Clears the owner of every address whose owner may not host it. */
export function unassignUnsuitable(s: AllocState): void {
  for (let i = 0; i < s.keys.length; i++) {
    const o = s.owner[i]!;
    if (o !== NO_OWNER && !canHost(s, o, i)) setOwner(s, i, NO_OWNER);
  }
}

/**
 * The node that should take address i: among nodes that may take it over,
 * the one owning fewest addresses, lowest PNN on ties. Returns -1 (and
 * changes nothing) when no node may take it; otherwise assigns it.
 */
export function findTakeoverNode(s: AllocState, i: number): number {
  let best = NO_OWNER;
  for (let n = 0; n < s.num; n++) {
    if (!canTakeover(s, n, i)) continue;
    if (best === NO_OWNER || s.coverage[n]! < s.coverage[best]!) best = n;
  }
  if (best !== NO_OWNER) setOwner(s, i, best);
  return best;
}

/** Gives every unassigned address, in list order, to its takeover node. */
export function basicAllocateUnassigned(s: AllocState): void {
  for (let i = 0; i < s.keys.length; i++) {
    if (s.owner[i] === NO_OWNER) findTakeoverNode(s, i);
  }
}

/** The result map: canonical address → owner, in list order. */
export function ownersOf(s: AllocState): Map<string, number> {
  const m = new Map<string, number>();
  s.keys.forEach((k, i) => m.set(k.text, s.owner[i]!));
  return m;
}
