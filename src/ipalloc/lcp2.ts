import { ipDistance } from './ip-key.js';
import { NO_OWNER } from './types.js';
import { canTakeover, setOwner, unassignUnsuitable, type AllocState } from './state.js';

/**
 * LCP2 bookkeeping. `dsum[i * num + n]` caches the sum, over addresses t ≠ i
 * owned by node n, of distance(i, t)²; kept in step with every owner change
 * so each question costs O(1) instead of a scan. All sums are uint32 and
 * wrap, as CTDB's are.
 */
interface Lcp2 {
  readonly s: AllocState;
  readonly words: Uint32Array;
  readonly dsum: Uint32Array;
  readonly imb: Uint32Array;
}

const sq = (d: number): number => d * d;

function distanceSq(l: Lcp2, a: number, b: number): number {
  const w = l.words;
  let d = 0;
  for (let k = 0; k < 4; k++) d += Math.clz32((w[4 * a + k]! ^ w[4 * b + k]!) >>> 0);
  return d * d;
}

/** Moves address t to node `to` (or -1), updating the dsum cache. */
function moveIp(l: Lcp2, t: number, to: number): void {
  const { s, dsum } = l;
  const num = s.num;
  const from = s.owner[t]!;
  const count = s.keys.length;
  for (let u = 0; u < count; u++) {
    if (u === t) continue;
    const d2 = distanceSq(l, u, t);
    if (from !== NO_OWNER) dsum[u * num + from] = (dsum[u * num + from]! - d2) >>> 0;
    if (to !== NO_OWNER) dsum[u * num + to] = (dsum[u * num + to]! + d2) >>> 0;
  }
  setOwner(s, t, to);
}

/**
 * The imbalance of node n: over every pair of addresses it owns, the sum of
 * their squared distance, in uint32 (wrapping). Exported for tests.
 */
export function lcp2Imbalance(keys: readonly { words: readonly number[] }[], owner: ArrayLike<number>, n: number): number {
  const mine: number[] = [];
  for (let i = 0; i < keys.length; i++) if (owner[i] === n) mine.push(i);
  let sum = 0;
  for (let a = 0; a < mine.length; a++) {
    for (let b = a + 1; b < mine.length; b++) {
      sum = (sum + sq(ipDistance(keys[mine[a]!]!.words, keys[mine[b]!]!.words))) >>> 0;
    }
  }
  return sum;
}

function initLcp2(s: AllocState): Lcp2 {
  const count = s.keys.length;
  const words = new Uint32Array(count * 4);
  s.keys.forEach((k, i) => words.set(k.words, 4 * i));
  const l: Lcp2 = { s, words, dsum: new Uint32Array(count * s.num), imb: new Uint32Array(s.num) };
  // Seed the cache from current owners without moving anything.
  for (let t = 0; t < count; t++) {
    const n = s.owner[t]!;
    if (n === NO_OWNER) continue;
    for (let u = 0; u < count; u++) {
      if (u !== t) l.dsum[u * s.num + n] = (l.dsum[u * s.num + n]! + distanceSq(l, u, t)) >>> 0;
    }
  }
  for (let n = 0; n < s.num; n++) l.imb[n] = lcp2Imbalance(s.keys, s.owner, n);
  return l;
}

/** Repeatedly gives the (address, node) pair with the smallest added distance sum. */
function allocateUnassigned(l: Lcp2): void {
  const { s, dsum, imb } = l;
  const count = s.keys.length;
  for (let pass = 0; pass < count; pass++) {
    let bestIp = NO_OWNER;
    let bestNode = NO_OWNER;
    let bestDd = 0;
    for (let i = 0; i < count; i++) {
      if (s.owner[i] !== NO_OWNER) continue;
      for (let n = 0; n < s.num; n++) {
        if (!canTakeover(s, n, i)) continue;
        const dd = dsum[i * s.num + n]!;
        if (bestIp === NO_OWNER || dd < bestDd) { bestIp = i; bestNode = n; bestDd = dd; }
      }
    }
    if (bestIp === NO_OWNER) return;
    moveIp(l, bestIp, bestNode);
    imb[bestNode] = (imb[bestNode]! + bestDd) >>> 0;
  }
}

/** Tries to move one address off `src` to a candidate node; true if it moved one. */
function failbackCandidate(l: Lcp2, src: number, candidate: readonly boolean[]): boolean {
  const { s, dsum, imb } = l;
  const num = s.num;
  let best: { t: number; dst: number; srcImbl: number; dstImbl: number } | undefined;
  for (let t = 0; t < s.keys.length; t++) {
    if (s.owner[t] !== src) continue;
    const srcDsum = dsum[t * num + src]!;
    const srcImbl = (imb[src]! - srcDsum) >>> 0;
    for (let dst = 0; dst < num; dst++) {
      if (!candidate[dst] || !canTakeover(s, dst, t)) continue;
      const dstDsum = dsum[t * num + dst]!;
      const dstImbl = (imb[dst]! + dstDsum) >>> 0;
      if (dstImbl >= imb[src]! || dstDsum >= srcDsum) continue;
      if (best === undefined || ((srcImbl + dstImbl) >>> 0) < ((best.srcImbl + best.dstImbl) >>> 0)) {
        best = { t, dst, srcImbl, dstImbl };
      }
    }
  }
  if (best === undefined) return false;
  imb[src] = best.srcImbl;
  imb[best.dst] = best.dstImbl;
  moveIp(l, best.t, best.dst);
  return true;
}

/**
 * LCP2 allocation: clear unsuitable owners, place unassigned addresses where
 * they add the least squared-distance sum, then (unless `noIpFailback`)
 * move addresses from the most imbalanced nodes to candidate nodes — nodes
 * that hosted nothing at the start, plus `forceRebalance` nodes.
 */
export function allocateLcp2(s: AllocState, noIpFailback: boolean, forceRebalance: readonly number[] = []): void {
  unassignUnsuitable(s);
  const l = initLcp2(s);
  const candidate = new Array<boolean>(s.num).fill(true);
  for (let i = 0; i < s.keys.length; i++) if (s.owner[i] !== NO_OWNER) candidate[s.owner[i]!] = false;
  for (const p of forceRebalance) if (Number.isInteger(p) && p >= 0 && p < s.num) candidate[p] = true;
  allocateUnassigned(l);
  if (noIpFailback || !candidate.includes(true)) return;

  const nodes = [...Array(s.num).keys()];
  // Every move lowers the total imbalance, so this ends; the bound only guards against wrap-around.
  const limit = s.keys.length * s.num + 1;
  for (let round = 0; round < limit; round++) {
    // Array.prototype.sort is stable: equal imbalances keep PNN order.
    const order = [...nodes].sort((a, b) => (l.imb[b]! > l.imb[a]! ? 1 : l.imb[b]! < l.imb[a]! ? -1 : 0));
    let moved = false;
    for (const src of order) {
      if (l.imb[src] === 0) break;
      if (failbackCandidate(l, src, candidate)) { moved = true; break; }
    }
    if (!moved) return;
  }
}
