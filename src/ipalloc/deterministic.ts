import { ipKey } from './ip-key.js';
import { basicAllocateUnassigned, setOwner, unassignUnsuitable, type AllocState } from './state.js';

/**
 * Deterministic allocation: address at list index i goes to node `i % num`,
 * or to its home node when `homeNodes` names one inside the nodemap; then
 * unsuitable owners are cleared and unassigned addresses given out by
 * coverage. Current owners are not considered. Never rebalances.
 */
export function allocateDeterministic(s: AllocState, homeNodes?: ReadonlyMap<string, number>): void {
  const home = new Map<string, number>();
  for (const [ip, pnn] of homeNodes ?? []) home.set(ipKey(ip).text, pnn);
  s.keys.forEach((k, i) => {
    let pnn = i % s.num;
    const h = home.get(k.text);
    if (h !== undefined && Number.isInteger(h) && h >= 0 && h < s.num) pnn = h;
    setOwner(s, i, pnn);
  });
  unassignUnsuitable(s);
  basicAllocateUnassigned(s);
}
