import { allocateDeterministic } from './deterministic.js';
import { allocateLcp2 } from './lcp2.js';
import { allocateNondeterministic } from './nondeterministic.js';
import { buildAllocState, ownersOf } from './state.js';
import {
  DEFAULT_IPALLOC_TUNABLES, IpAllocAlgorithm, type IpAllocInput, type IpAllocResult,
} from './types.js';

/**
 * Decides which node hosts each public address, as CTDB's takeover run
 * does, and says what it ignored. Pure: same input, same output.
 * Throws CtdbError EINVAL on an invalid or duplicate address or a PNN
 * outside the nodemap.
 */
export function allocateIpsWithWarnings(input: IpAllocInput): IpAllocResult {
  const t = { ...DEFAULT_IPALLOC_TUNABLES, ...input.tunables };
  const warnings: string[] = [];
  const s = buildAllocState(input, t.NoIPTakeover);
  if (s.num === 0 || s.keys.length === 0) return { owners: ownersOf(s), warnings };
  switch (t.IPAllocAlgorithm) {
    case IpAllocAlgorithm.DETERMINISTIC:
      if (t.NoIPFailback) warnings.push('NoIPFailback is ignored by the deterministic algorithm');
      allocateDeterministic(s, input.homeNodes);
      break;
    case IpAllocAlgorithm.NONDETERMINISTIC:
      allocateNondeterministic(s, t.NoIPFailback);
      break;
    default:
      allocateLcp2(s, t.NoIPFailback, input.forceRebalanceNodes);
  }
  return { owners: ownersOf(s), warnings };
}

/**
 * Decides which node hosts each public address. Returns canonical address
 * text → PNN (-1 when no node may host it), highest address first (IPv6
 * before IPv4). Throws CtdbError EINVAL on bad input; see {@link IpAllocInput}.
 */
export function allocateIps(input: IpAllocInput): Map<string, number> {
  return allocateIpsWithWarnings(input).owners;
}
