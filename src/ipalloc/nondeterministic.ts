import { NO_OWNER } from './types.js';
import {
  basicAllocateUnassigned, canTakeover, findTakeoverNode, unassignUnsuitable, type AllocState,
} from './state.js';

/**
 * Non-deterministic allocation: keep suitable owners, give unassigned
 * addresses to the least-covered node, then (unless `noIpFailback`) move
 * addresses off the most-covered node while some address's candidate nodes
 * differ in coverage by more than one, at most `addresses + 5` times.
 */
export function allocateNondeterministic(s: AllocState, noIpFailback: boolean): void {
  unassignUnsuitable(s);
  basicAllocateUnassigned(s);
  if (noIpFailback) return;
  const count = s.keys.length;
  const limit = count + 5;
  let retries = 0;
  let again = true;
  while (again) {
    again = false;
    for (let i = 0; i < count; i++) {
      if (s.owner[i] === NO_OWNER) continue;
      let maxNode = NO_OWNER;
      let minNode = NO_OWNER;
      for (let n = 0; n < s.num; n++) {
        if (!canTakeover(s, n, i)) continue;
        if (maxNode === NO_OWNER || s.coverage[n]! > s.coverage[maxNode]!) maxNode = n;
        if (minNode === NO_OWNER || s.coverage[n]! < s.coverage[minNode]!) minNode = n;
      }
      if (maxNode === NO_OWNER) continue;
      if (s.coverage[maxNode]! > s.coverage[minNode]! + 1 && retries < limit) {
        // The first address the busiest node owns is re-placed, whichever it is.
        const first = s.owner.indexOf(maxNode);
        findTakeoverNode(s, first);
        retries++;
        again = true;
        break;
      }
    }
  }
}
