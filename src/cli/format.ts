import { NodeFlag } from '../protocol/constants.js';
import type { LatencyCounter, Statistics, Timeval } from '../protocol/payloads.js';

/** One node as listings show it. */
export interface NodeRow { pnn: number; ip: string; flags: number; partiallyOnline?: boolean }

const FLAG_NAMES: Array<[number, string]> = [
  [NodeFlag.DISCONNECTED, 'DISCONNECTED'],
  [NodeFlag.UNKNOWN, 'UNKNOWN'],
  [NodeFlag.PERMANENTLY_DISABLED, 'DISABLED'],
  [NodeFlag.BANNED, 'BANNED'],
  [NodeFlag.UNHEALTHY, 'UNHEALTHY'],
  [NodeFlag.DELETED, 'DELETED'],
  [NodeFlag.STOPPED, 'STOPPED'],
];

/** Node flags as CTDB prints them: names joined by '|', INACTIVE appended, 'OK' for none. */
export function formatFlags(flags: number, partiallyOnline = false): string {
  if (flags === 0) return partiallyOnline ? 'PARTIALLYONLINE' : 'OK';
  const names = FLAG_NAMES.filter(([bit]) => flags & bit).map(([, n]) => n);
  if (flags & NodeFlag.INACTIVE) names.push('INACTIVE');
  return names.join('|');
}

/** C's `%-Ns`. */
export const padRight = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));
/** C's `%Ns`. */
export const padLeft = (s: string, n: number): string => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

/** `pnn:%u %-16s %s%s`. */
export function formatNodeLine(n: NodeRow, myPnn: number): string {
  return `pnn:${n.pnn} ${padRight(n.ip, 16)} ${formatFlags(n.flags, n.partiallyOnline)}${n.pnn === myPnn ? ' (THIS NODE)' : ''}\n`;
}

/** The -X/-Y node table shared by status and nodestatus. */
export function formatNodeTable(nodes: NodeRow[], myPnn: number, sep: string): string {
  const row = (cells: Array<string | number>): string => `${sep}${cells.join(sep)}${sep}\n`;
  let out = row(['Node', 'IP', 'Disconnected', 'Unknown', 'Banned', 'Disabled', 'Unhealthy', 'Stopped', 'Inactive', 'PartiallyOnline', 'ThisNode']);
  for (const n of nodes) {
    if (n.flags & NodeFlag.DELETED) continue;
    const b = (bit: number): number => (n.flags & bit ? 1 : 0);
    out += row([n.pnn, n.ip, b(NodeFlag.DISCONNECTED), b(NodeFlag.UNKNOWN), b(NodeFlag.BANNED),
      b(NodeFlag.PERMANENTLY_DISABLED), b(NodeFlag.UNHEALTHY), b(NodeFlag.STOPPED), b(NodeFlag.INACTIVE),
      n.partiallyOnline ? 1 : 0, n.pnn === myPnn ? 'Y' : 'N']);
  }
  return out;
}

/** The "Number of nodes" header, counting deleted nodes as CTDB does. */
export function formatNodeCount(nodes: NodeRow[]): string {
  const deleted = nodes.filter((n) => n.flags & NodeFlag.DELETED).length;
  return deleted > 0 ? `Number of nodes:${nodes.length} (including ${deleted} deleted nodes)\n` : `Number of nodes:${nodes.length}\n`;
}

/** Everything `ctdb status` prints (human form). */
export interface StatusView {
  nodes: NodeRow[];
  myPnn: number;
  generation: number;
  vnnmap: number[];
  recmode: number;
  leader: number;
  /** `[cluster] cluster lock` of the node ('' = none); only read for -v and --json. */
  clusterLock?: string;
}

/**
 * `ctdb status -v` extra lines (an addition to CTDB's output): the cluster
 * lock setting and its holder. With a lock configured only the lock holder can
 * be leader, so the holder is the leader.
 */
export function formatClusterLock(s: StatusView): string {
  if (s.clusterLock === undefined) return '';
  if (s.clusterLock === '') return 'Cluster lock:none\n';
  const holder = s.leader === 0xffffffff ? 'UNKNOWN' : String(s.leader);
  return `Cluster lock:${s.clusterLock}\nCluster lock holder:${holder}\n`;
}

/** Human `ctdb status`. */
export function formatStatus(s: StatusView): string {
  let out = formatNodeCount(s.nodes);
  for (const n of s.nodes) if (!(n.flags & NodeFlag.DELETED)) out += formatNodeLine(n, s.myPnn);
  out += s.generation === 1 ? 'Generation:INVALID\n' : `Generation:${s.generation}\n`;
  out += `Size:${s.vnnmap.length}\n`;
  s.vnnmap.forEach((p, i) => { out += `hash:${i} lmaster:${p}\n`; });
  out += s.recmode === 0 ? 'Recovery mode:NORMAL (0)\n' : 'Recovery mode:RECOVERY (1)\n';
  out += s.leader === 0xffffffff ? 'Leader:UNKNOWN\n' : `Leader:${s.leader}\n`;
  return out;
}

/** `ctdb status --json`: a documented extra (see ctdb(1)). */
export function formatStatusJson(s: StatusView): string {
  return JSON.stringify({
    nodes: s.nodes.filter((n) => !(n.flags & NodeFlag.DELETED)).map((n) => ({
      pnn: n.pnn, address: n.ip, flags: n.flags, status: formatFlags(n.flags, n.partiallyOnline), this_node: n.pnn === s.myPnn,
    })),
    generation: s.generation === 1 ? null : s.generation,
    vnnmap: s.vnnmap,
    recovery_mode: s.recmode === 0 ? 'NORMAL' : 'RECOVERY',
    leader: s.leader === 0xffffffff ? null : s.leader,
    cluster_lock: s.clusterLock === undefined || s.clusterLock === '' ? null
      : { setting: s.clusterLock, holder: s.leader === 0xffffffff ? null : s.leader },
  }, null, 2) + '\n';
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number): string => String(n).padStart(2, '0');

/** C's ctime() without the newline, in local time: `Mon Nov  3 17:46:47 2026`. */
export function ctime(sec: number): string {
  const d = new Date(sec * 1000);
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${padLeft(String(d.getDate()), 2)} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${d.getFullYear()}`;
}

/** `(%03d %02d:%02d:%02d)` of an elapsed number of seconds. */
export function formatElapsed(secs: number): string {
  const s = Math.max(0, Math.floor(secs));
  const days = Math.floor(s / 86400);
  return `(${String(days).padStart(3, '0')} ${two(Math.floor((s % 86400) / 3600))}:${two(Math.floor((s % 3600) / 60))}:${two(s % 60)})`;
}

const tvSeconds = (t: Timeval): number => t.sec + t.usec / 1e6;

/** `ctdb uptime`. */
export function formatUptime(pnn: number, u: { currentTime: Timeval; ctdbdStartTime: Timeval; lastRecoveryStarted: Timeval; lastRecoveryFinished: Timeval }): string {
  const now = u.currentTime.sec;
  let out = `Current time of node ${padRight(String(pnn), 4)}     :                ${ctime(now)}\n`;
  out += `Ctdbd start time              : ${formatElapsed(now - u.ctdbdStartTime.sec)} ${ctime(u.ctdbdStartTime.sec)}\n`;
  out += `Time of last recovery/failover: ${formatElapsed(now - u.lastRecoveryFinished.sec)} ${ctime(u.lastRecoveryFinished.sec)}\n`;
  const dur = tvSeconds(u.lastRecoveryFinished) - tvSeconds(u.lastRecoveryStarted);
  out += `Duration of last recovery/failover: ${dur.toFixed(6)} seconds\n`;
  return out;
}

/** `ctdb uptime -X`. */
export function formatUptimeMachine(u: { currentTime: Timeval; ctdbdStartTime: Timeval; lastRecoveryStarted: Timeval; lastRecoveryFinished: Timeval }, sep: string): string {
  const dur = tvSeconds(u.lastRecoveryFinished) - tvSeconds(u.lastRecoveryStarted);
  return `${sep}Current Node Time${sep}Ctdb Start Time${sep}Last Recovery/Failover Time${sep}Last Recovery/IPFailover Duration${sep}\n`
    + `${sep}${u.currentTime.sec}${sep}${u.ctdbdStartTime.sec}${sep}${u.lastRecoveryFinished.sec}${sep}${dur.toFixed(6)}${sep}\n`;
}

const statLine = (indent: number, name: string, v: number): string =>
  `${' '.repeat(indent)}${padRight(name, 23 - indent)}${padLeft(String(v >>> 0), 14)}\n`;

const latencyLine = (name: string, l: LatencyCounter): string => {
  const avg = l.num > 0 ? l.total / l.num : 0;
  return ` ${padRight(name, 18)} MIN/AVG/MAX     ${l.min.toFixed(6)}/${avg.toFixed(6)}/${l.max.toFixed(6)} sec out of ${l.num}\n`;
};

/** `ctdb statistics` (human form). */
export function formatStatistics(s: Statistics): string {
  const now = s.statisticsCurrentTime.sec;
  let out = 'CTDB version 1\n';
  out += `Current time of statistics  :                ${ctime(now)}\n`;
  out += `Statistics collected since  : ${formatElapsed(now - s.statisticsStartTime.sec)} ${ctime(s.statisticsStartTime.sec)}\n`;
  const top: Array<[string, number]> = [
    ['num_clients', s.numClients], ['frozen', s.frozen], ['recovering', s.recovering], ['num_recoveries', s.numRecoveries],
    ['client_packets_sent', s.clientPacketsSent], ['client_packets_recv', s.clientPacketsRecv],
    ['node_packets_sent', s.nodePacketsSent], ['node_packets_recv', s.nodePacketsRecv],
    ['keepalive_packets_sent', s.keepalivePacketsSent], ['keepalive_packets_recv', s.keepalivePacketsRecv],
  ];
  for (const [n, v] of top) out += statLine(1, n, v);
  const n = s.node;
  out += ' node\n';
  for (const [k, v] of [['req_call', n.reqCall], ['reply_call', n.replyCall], ['req_dmaster', n.reqDmaster], ['reply_dmaster', n.replyDmaster],
    ['reply_error', n.replyError], ['req_message', n.reqMessage], ['req_control', n.reqControl], ['reply_control', n.replyControl], ['req_tunnel', n.reqTunnel]] as Array<[string, number]>) {
    out += statLine(5, k, v);
  }
  out += ' client\n';
  for (const [k, v] of [['req_call', s.client.reqCall], ['req_message', s.client.reqMessage], ['req_control', s.client.reqControl], ['req_tunnel', s.client.reqTunnel]] as Array<[string, number]>) {
    out += statLine(5, k, v);
  }
  out += ' timeouts\n';
  for (const [k, v] of [['call', s.timeouts.call], ['control', s.timeouts.control], ['traverse', s.timeouts.traverse]] as Array<[string, number]>) {
    out += statLine(5, k, v);
  }
  out += ' locks\n';
  for (const [k, v] of [['num_calls', s.locks.numCalls], ['num_current', s.locks.numCurrent], ['num_pending', s.locks.numPending], ['num_failed', s.locks.numFailed]] as Array<[string, number]>) {
    out += statLine(5, k, v);
  }
  for (const [k, v] of [['total_calls', s.totalCalls], ['pending_calls', s.pendingCalls], ['childwrite_calls', s.childwriteCalls],
    ['pending_childwrite_calls', s.pendingChildwriteCalls], ['memory_used', s.memoryUsed], ['max_hop_count', s.maxHopCount],
    ['total_ro_delegations', s.totalRoDelegations], ['total_ro_revokes', s.totalRoRevokes]] as Array<[string, number]>) {
    out += statLine(1, k, v);
  }
  out += ` hop_count_buckets:${s.hopCountBucket.map((b) => ` ${b}`).join('')}\n`;
  out += ` lock_buckets:${s.locks.buckets.map((b) => ` ${b}`).join('')}\n`;
  out += latencyLine('locks_latency', s.locks.latency);
  out += latencyLine('reclock_ctdbd', s.reclock.ctdbd);
  out += latencyLine('reclock_recd', s.reclock.recd);
  out += latencyLine('call_latency', s.callLatency);
  out += latencyLine('childwrite_latency', s.childwriteLatency);
  return out;
}

/** `getvar` / `listvars` line: `%-26s = %u`. */
export const formatVar = (name: string, value: number): string => `${padRight(name, 26)} = ${value >>> 0}\n`;

/** `ping` line. */
export const formatPing = (pnn: number, seconds: number, clients: number): string =>
  `response from ${pnn} time=${seconds.toFixed(6)} sec  (${clients} clients)\n`;
