import { FOLLOWER_ONLY, leaderCandidateIps, type GroupNodesFile } from './nodes-file.js';
import type { NodeStatus } from './node-status.js';

/** The chosen NAT gateway leader. */
export interface NatgwLeader { pnn: number; ip: string }

type Pass = (n: NodeStatus) => boolean;

/** The three passes, best first: fully healthy; then not disconnected/disabled/stopped; then not disconnected/disabled. */
const natgwPasses: readonly Pass[] = [
  (n) => !n.unknown && !n.disabled && !n.unhealthy && !n.inactive,
  (n) => !n.disconnected && !n.disabled && !n.stopped,
  (n) => !n.disconnected && !n.disabled,
];

/**
 * Chooses the NAT gateway leader: among nodes whose address is listed in the
 * group without `follower-only`, in nodestatus (PNN) order, the first that
 * passes the first of three passes that any node passes. Returns undefined
 * when no candidate passes any of them.
 */
export function chooseNatgwLeader(nodes: readonly NodeStatus[], group: GroupNodesFile): NatgwLeader | undefined {
  const candidates = leaderCandidateIps(group);
  for (const pass of natgwPasses) {
    const hit = nodes.find((n) => candidates.has(n.ip) && pass(n));
    if (hit) return { pnn: hit.pnn, ip: hit.ip };
  }
  return undefined;
}

/**
 * Lines of `ctdb_natgw list`: every file line as `IP` or `IP<TAB>options`,
 * with `LEADER` put first in the options of the leader's line(s).
 */
export function formatNatgwList(group: GroupNodesFile, leader: NatgwLeader | undefined): string[] {
  return group.lines.map((l) => {
    let options = l.options;
    if (leader && l.ip === leader.ip) options = options === '' ? 'LEADER' : `LEADER,${options}`;
    return options === '' ? l.ip : `${l.ip}\t${options}`;
  });
}

/** Whether the file marks `ip` as follower-only (its first line for that address decides). */
export function isFollowerOnly(group: GroupNodesFile, ip: string): boolean {
  return group.lines.find((l) => !l.comment && l.ip === ip)?.options === FOLLOWER_ONLY;
}
