/**
 * Prometheus text exposition (format 0.0.4) of one node's statistics and
 * its view of the cluster, for `ctdb statistics --prometheus` and the
 * daemon's `[metrics] listen` endpoint. Pure; the metric names are
 * documented in ctdb-admin(7).
 */
import type { LatencyCounter, Statistics } from '../protocol/statistics.js';

/** What one exposition is made of. */
export interface PrometheusInput {
  pnn: number;
  stats: Statistics;
  /** The node map as this node sees it. */
  nodes: Array<{ pnn: number; address: string; flags: number }>;
  recmode?: number;
  generation?: number;
}

type Labels = Record<string, string | number>;

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const labelText = (l: Labels): string => {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${escapeLabel(String(v))}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
};
const num = (v: number): string => (Number.isFinite(v) ? String(v) : v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN');

/** Collects families, each with its HELP and TYPE lines once. */
class Exposition {
  private readonly lines: string[] = [];
  private readonly seen = new Set<string>();

  add(name: string, type: 'counter' | 'gauge' | 'summary', help: string, value: number, labels: Labels = {}, sample = name): this {
    if (!this.seen.has(name)) {
      this.seen.add(name);
      this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    }
    this.lines.push(`${sample}${labelText(labels)} ${num(value)}`);
    return this;
  }

  latency(op: string, l: LatencyCounter, base: Labels): void {
    const labels = { ...base, op };
    this.add('ctdb_latency_seconds', 'summary', 'Latency of CTDB operations (seconds)', l.total, labels, 'ctdb_latency_seconds_sum');
    this.add('ctdb_latency_seconds', 'summary', '', l.num, labels, 'ctdb_latency_seconds_count');
    this.add('ctdb_latency_max_seconds', 'gauge', 'Largest latency seen since the statistics were reset (seconds)', l.max, labels);
  }

  text(): string { return `${this.lines.join('\n')}\n`; }
}

/** Renders `input` as Prometheus text; every sample carries a `pnn` label. */
export function renderPrometheus(input: PrometheusInput): string {
  const s = input.stats;
  const b: Labels = { pnn: input.pnn };
  const e = new Exposition();
  e.add('ctdb_up', 'gauge', 'The daemon answered (1)', 1, b);
  e.add('ctdb_clients', 'gauge', 'Connected clients', s.numClients, b);
  e.add('ctdb_frozen', 'gauge', 'Databases frozen (1) or not (0)', s.frozen, b);
  e.add('ctdb_recovering', 'gauge', 'A recovery is in progress (1)', s.recovering, b);
  e.add('ctdb_recoveries_total', 'counter', 'Recoveries since the statistics were reset', s.numRecoveries, b);
  for (const [dir, v] of [['sent', s.clientPacketsSent], ['recv', s.clientPacketsRecv]] as const) {
    e.add('ctdb_client_packets_total', 'counter', 'Packets exchanged with local clients', v, { ...b, direction: dir });
  }
  for (const [dir, v] of [['sent', s.nodePacketsSent], ['recv', s.nodePacketsRecv]] as const) {
    e.add('ctdb_node_packets_total', 'counter', 'Packets exchanged with other nodes', v, { ...b, direction: dir });
  }
  for (const [dir, v] of [['sent', s.keepalivePacketsSent], ['recv', s.keepalivePacketsRecv]] as const) {
    e.add('ctdb_keepalive_packets_total', 'counter', 'Keepalive packets exchanged with other nodes', v, { ...b, direction: dir });
  }
  const n = s.node;
  for (const [t, v] of [['req_call', n.reqCall], ['reply_call', n.replyCall], ['req_dmaster', n.reqDmaster],
    ['reply_dmaster', n.replyDmaster], ['reply_error', n.replyError], ['req_message', n.reqMessage],
    ['req_control', n.reqControl], ['reply_control', n.replyControl], ['req_tunnel', n.reqTunnel]] as const) {
    e.add('ctdb_node_requests_total', 'counter', 'Packets from other nodes by operation', v, { ...b, operation: t });
  }
  const c = s.client;
  for (const [t, v] of [['req_call', c.reqCall], ['req_message', c.reqMessage], ['req_control', c.reqControl], ['req_tunnel', c.reqTunnel]] as const) {
    e.add('ctdb_client_requests_total', 'counter', 'Packets from local clients by operation', v, { ...b, operation: t });
  }
  for (const [t, v] of [['call', s.timeouts.call], ['control', s.timeouts.control], ['traverse', s.timeouts.traverse]] as const) {
    e.add('ctdb_timeouts_total', 'counter', 'Operations that timed out', v, { ...b, kind: t });
  }
  e.add('ctdb_lock_calls_total', 'counter', 'Record and database lock requests', s.locks.numCalls, b);
  e.add('ctdb_locks_current', 'gauge', 'Locks held now', s.locks.numCurrent, b);
  e.add('ctdb_locks_pending', 'gauge', 'Lock requests waiting now', s.locks.numPending, b);
  e.add('ctdb_lock_failures_total', 'counter', 'Lock requests that failed', s.locks.numFailed, b);
  e.add('ctdb_calls_total', 'counter', 'Record calls', s.totalCalls, b);
  e.add('ctdb_calls_pending', 'gauge', 'Record calls in progress', s.pendingCalls, b);
  e.add('ctdb_childwrite_calls_total', 'counter', 'Child write calls', s.childwriteCalls, b);
  e.add('ctdb_childwrite_calls_pending', 'gauge', 'Child write calls in progress', s.pendingChildwriteCalls, b);
  e.add('ctdb_memory_used_bytes', 'gauge', 'Memory the daemon reports as used', s.memoryUsed, b);
  e.add('ctdb_max_hop_count', 'gauge', 'Largest hop count of a record request', s.maxHopCount, b);
  e.add('ctdb_readonly_delegations_total', 'counter', 'Read-only delegations granted', s.totalRoDelegations, b);
  e.add('ctdb_readonly_revokes_total', 'counter', 'Read-only delegations revoked', s.totalRoRevokes, b);
  s.hopCountBucket.forEach((v, i) => e.add('ctdb_hop_count_bucket_total', 'counter', 'Record requests per hop-count bucket', v, { ...b, bucket: i }));
  s.locks.buckets.forEach((v, i) => e.add('ctdb_lock_wait_bucket_total', 'counter', 'Lock waits per latency bucket', v, { ...b, bucket: i }));
  e.latency('lock', s.locks.latency, b);
  e.latency('reclock_ctdbd', s.reclock.ctdbd, b);
  e.latency('reclock_recd', s.reclock.recd, b);
  e.latency('call', s.callLatency, b);
  e.latency('childwrite', s.childwriteLatency, b);
  e.add('ctdb_statistics_start_time_seconds', 'gauge', 'When the statistics were last reset (Unix time)',
    s.statisticsStartTime.sec + s.statisticsStartTime.usec / 1e6, b);
  if (input.recmode !== undefined) e.add('ctdb_recovery_mode', 'gauge', 'Recovery mode: 0 normal, 1 recovery', input.recmode, b);
  if (input.generation !== undefined) e.add('ctdb_generation', 'gauge', 'Current database generation (1 = invalid)', input.generation, b);
  for (const node of input.nodes) {
    if (node.flags & 0x10) continue;
    const l = { ...b, node: node.pnn, address: node.address };
    e.add('ctdb_node_flags', 'gauge', "Flags of each node in this node's node map (0 = OK)", node.flags, l);
    e.add('ctdb_node_ok', 'gauge', 'Node has no flags set (1) or some (0)', node.flags === 0 ? 1 : 0, l);
  }
  return e.text();
}
