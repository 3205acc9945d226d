import { groupIps, leaderCandidateIps, type GroupNodesFile } from '../natgw/nodes-file.js';
import type { NodeStatus } from '../natgw/node-status.js';

/**
 * The LVS node filter: nodes whose address is in `ips` that are fully
 * healthy (not unknown, disabled, unhealthy or inactive); if none is, those
 * that are merely not disabled and not inactive. Keeps nodestatus order;
 * empty when neither pass matches.
 */
export function filterLvsNodes(nodes: readonly NodeStatus[], ips: ReadonlySet<string>): NodeStatus[] {
  const inGroup = nodes.filter((n) => ips.has(n.ip));
  const healthy = inGroup.filter((n) => !n.unknown && !n.disabled && !n.unhealthy && !n.inactive);
  if (healthy.length > 0) return healthy;
  return inGroup.filter((n) => !n.disabled && !n.inactive);
}

/** The LVS leader: PNN of the first filtered node among those not `follower-only`, or undefined. */
export function chooseLvsLeader(nodes: readonly NodeStatus[], group: GroupNodesFile): number | undefined {
  return filterLvsNodes(nodes, leaderCandidateIps(group))[0]?.pnn;
}

/** The usable LVS nodes (`ctdb_lvs list`): the filter applied to every listed node. */
export function listLvsNodes(nodes: readonly NodeStatus[], group: GroupNodesFile): NodeStatus[] {
  return filterLvsNodes(nodes, groupIps(group));
}
