import {
  checkPidSrvid, getDebug, getPid, getReclockFile, getRunstate, getStatistics, getTunable, getUptime,
  listTunables, ping, processExists, resetStatistics, setDebug, setTunable,
} from '../../client/controls.js';
import { CtdbError } from '../../common/errors.js';
import { DebugLevels, parseDebugLevel } from '../../common/debug-levels.js';
import { CTDB_VERSION_STRING, RunState, runStateName } from '../../protocol/constants.js';
import type { Statistics } from '../../protocol/payloads.js';
import { command, type Command } from '../command.js';
import { formatPing, formatStatistics, formatUptime, formatVar } from '../format.js';

const o = (ms: number) => ({ timeoutMs: ms });

const version = command({
  name: 'version', help: 'show version of ctdb', daemon: false, remote: false,
  async run(ctx) { ctx.out(`${CTDB_VERSION_STRING}\n`); return 0; },
});

const uptime = command({
  name: 'uptime', help: 'show node uptime',
  async run(ctx) {
    const u = await getUptime(await ctx.client(), ctx.target, o(ctx.timeoutMs));
    ctx.out(formatUptime(ctx.target, u));
    return 0;
  },
});

const pingCmd = command({
  name: 'ping', help: 'ping a node',
  async run(ctx) {
    const c = await ctx.client();
    const t0 = process.hrtime.bigint();
    const clients = await ping(c, ctx.target, o(ctx.timeoutMs));
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    ctx.out(formatPing(ctx.target, secs, clients));
    return 0;
  },
});

const getpid = command({
  name: 'getpid', help: 'get ctdbd process ID',
  async run(ctx) { ctx.out(`${await getPid(await ctx.client(), ctx.target, o(ctx.timeoutMs))}\n`); return 0; },
});

const runstate = command({
  name: 'runstate', args: '[setup|first_recovery|startup|running]', help: 'get/check runstate of a node', maxArgs: 4,
  async run(ctx, args) {
    const rs = runStateName(await getRunstate(await ctx.client(), ctx.target, o(ctx.timeoutMs)));
    for (const a of args) {
      if (!(a.toUpperCase() in RunState)) throw new CtdbError('EINVAL', `Invalid run state (${a})`, { exitCode: 1 });
    }
    if (args.length > 0 && !args.some((a) => a.toUpperCase() === rs)) {
      ctx.out(`CTDB not in required run state (got ${rs})\n`);
      return 1;
    }
    ctx.out(`${rs}\n`);
    return 0;
  },
});

const getvar = command({
  name: 'getvar', args: '<name>', help: 'get a tunable variable', minArgs: 1, maxArgs: 1,
  async run(ctx, [name]) {
    const c = await ctx.client();
    const names = await listTunables(c, ctx.target, o(ctx.timeoutMs));
    if (!names.some((n) => n.toLowerCase() === name!.toLowerCase())) { ctx.out(`No such tunable ${name}\n`); return 1; }
    const v = await getTunable(c, ctx.target, name!, o(ctx.timeoutMs));
    if (v === undefined) { ctx.out(`No such tunable ${name}\n`); return 1; }
    ctx.out(formatVar(name!, v));
    return 0;
  },
});

const setvar = command({
  name: 'setvar', args: '<name> <value>', help: 'set a tunable variable', minArgs: 2, maxArgs: 2,
  async run(ctx, [name, value]) {
    const c = await ctx.client();
    const names = await listTunables(c, ctx.target, o(ctx.timeoutMs));
    if (!names.some((n) => n.toLowerCase() === name!.toLowerCase())) { ctx.out(`No such tunable ${name}\n`); return 1; }
    let v: number;
    if (/^0x[0-9a-f]+$/i.test(value!)) v = parseInt(value!.slice(2), 16);
    else if (/^\d+$/.test(value!)) v = Number(value);
    else { ctx.err(`Invalid value '${value}' for tunable ${name}\n`); return 1; }
    if (v > 0xffffffff) { ctx.err(`Invalid value '${value}' for tunable ${name}\n`); return 1; }
    const st = await setTunable(c, ctx.target, name!, v, o(ctx.timeoutMs));
    if (st === 1) { ctx.err(`Setting obsolete tunable variable '${name}'\n`); return 0; }
    if (st !== 0) { ctx.out(`No such tunable ${name}\n`); return 1; }
    return 0;
  },
});

const listvars = command({
  name: 'listvars', help: 'list tunable variables',
  async run(ctx) {
    const c = await ctx.client();
    const names = await listTunables(c, ctx.target, o(ctx.timeoutMs));
    const values = await Promise.all(names.map((n) => getTunable(c, ctx.target, n, o(ctx.timeoutMs))));
    let out = '';
    names.forEach((n, i) => { if (values[i] !== undefined) out += formatVar(n, values[i]!); });
    ctx.out(out);
    return 0;
  },
});

/** The name CTDB prints for a numeric debug level. */
export function debugLevelName(level: number): string {
  let best = 'ERROR';
  for (const [name, v] of Object.entries(DebugLevels)) if (v <= level) best = name;
  return best;
}

const getdebug = command({
  name: 'getdebug', help: 'get debug level',
  async run(ctx) { ctx.out(`${debugLevelName(await getDebug(await ctx.client(), ctx.target, o(ctx.timeoutMs)))}\n`); return 0; },
});

const setdebug = command({
  name: 'setdebug', args: 'ERROR|WARNING|NOTICE|INFO|DEBUG', help: 'set debug level', minArgs: 1, maxArgs: 1,
  async run(ctx, [level]) {
    let n: number;
    if (/^-?\d+$/.test(level!)) n = Number(level);
    else {
      try { n = DebugLevels[parseDebugLevel(level!)]; } catch {
        ctx.err(`Invalid debug level '${level}'. Valid levels are:\n\tERROR | WARNING | NOTICE | INFO | DEBUG\n`);
        return 1;
      }
    }
    await setDebug(await ctx.client(), ctx.target, n, o(ctx.timeoutMs));
    return 0;
  },
});

const processExistsCmd = command({
  name: 'process-exists', args: '<pid> [<srvid>]', help: 'check if a process exists on a node', minArgs: 1, maxArgs: 2,
  async run(ctx, [pidText, srvidText]) {
    if (!/^\d+$/.test(pidText!)) throw new CtdbError('EINVAL', `Invalid pid '${pidText}'`, { exitCode: 1 });
    const pid = Number(pidText);
    const c = await ctx.client();
    if (srvidText !== undefined) {
      let srvid: bigint;
      try { srvid = BigInt(srvidText); } catch { throw new CtdbError('EINVAL', `Invalid srvid '${srvidText}'`, { exitCode: 1 }); }
      const st = await checkPidSrvid(c, ctx.target, pid, srvid, o(ctx.timeoutMs));
      ctx.out(st === 0 ? `PID ${pid} with SRVID 0x${srvid.toString(16)} exists\n` : `PID ${pid} with SRVID 0x${srvid.toString(16)} does not exist\n`);
      return st === 0 ? 0 : 1;
    }
    const st = await processExists(c, ctx.target, pid, o(ctx.timeoutMs));
    ctx.out(st === 0 ? `PID ${pid} exists\n` : `PID ${pid} does not exist\n`);
    return st === 0 ? 0 : 1;
  },
});

/** `statistics -X`: one header line and one value line (CTDB leaves out the leading separator). */
export function formatStatisticsMachine(s: Statistics, sep: string): string {
  const lat = (name: string, l: Statistics['callLatency']): Array<[string, string]> => [
    [`num_${name}`, String(l.num)], [`min_${name}`, l.min.toFixed(6)],
    [`avg_${name}`, (l.num ? l.total / l.num : 0).toFixed(6)], [`max_${name}`, l.max.toFixed(6)],
  ];
  const cols: Array<[string, string | number]> = [
    ['CTDB version', 1], ['Current time of statistics', s.statisticsCurrentTime.sec], ['Statistics collected since', s.statisticsStartTime.sec],
    ['num_clients', s.numClients], ['frozen', s.frozen], ['recovering', s.recovering], ['num_recoveries', s.numRecoveries],
    ['client_packets_sent', s.clientPacketsSent], ['client_packets_recv', s.clientPacketsRecv],
    ['node_packets_sent', s.nodePacketsSent], ['node_packets_recv', s.nodePacketsRecv],
    ['keepalive_packets_sent', s.keepalivePacketsSent], ['keepalive_packets_recv', s.keepalivePacketsRecv],
    ['node.req_call', s.node.reqCall], ['node.reply_call', s.node.replyCall], ['node.req_dmaster', s.node.reqDmaster],
    ['node.reply_dmaster', s.node.replyDmaster], ['node.reply_error', s.node.replyError], ['node.req_message', s.node.reqMessage],
    ['node.req_control', s.node.reqControl], ['node.reply_control', s.node.replyControl], ['node.req_tunnel', s.node.reqTunnel],
    ['client.req_call', s.client.reqCall], ['client.req_message', s.client.reqMessage], ['client.req_control', s.client.reqControl],
    ['client.req_tunnel', s.client.reqTunnel], ['timeouts.call', s.timeouts.call], ['timeouts.control', s.timeouts.control],
    ['timeouts.traverse', s.timeouts.traverse], ['locks.num_calls', s.locks.numCalls], ['locks.num_current', s.locks.numCurrent],
    ['locks.num_pending', s.locks.numPending], ['locks.num_failed', s.locks.numFailed], ['total_calls', s.totalCalls],
    ['pending_calls', s.pendingCalls], ['childwrite_calls', s.childwriteCalls], ['pending_childwrite_calls', s.pendingChildwriteCalls],
    ['memory_used', s.memoryUsed], ['max_hop_count', s.maxHopCount], ['total_ro_delegations', s.totalRoDelegations],
    ['total_ro_revokes', s.totalRoRevokes],
    ...lat('reclock_ctdbd_latency', s.reclock.ctdbd), ...lat('reclock_recd_latency', s.reclock.recd),
    ...lat('call_latency', s.callLatency), ...lat('lockwait_latency', s.locks.latency), ...lat('childwrite_latency', s.childwriteLatency),
  ];
  return cols.map(([k]) => `${k}${sep}`).join('') + '\n' + cols.map(([, v]) => `${v}${sep}`).join('') + '\n';
}

const statistics = command({
  name: 'statistics', help: 'show ctdb statistics',
  async run(ctx) {
    const s = await getStatistics(await ctx.client(), ctx.target, o(ctx.timeoutMs));
    ctx.out(ctx.opts.machine ? formatStatisticsMachine(s, ctx.opts.separator) : formatStatistics(s));
    return 0;
  },
});

const statisticsreset = command({
  name: 'statisticsreset', help: 'reset ctdb statistics',
  async run(ctx) { await resetStatistics(await ctx.client(), ctx.target, o(ctx.timeoutMs)); return 0; },
});

const getreclock = command({
  name: 'getreclock', help: 'get recovery lock file',
  async run(ctx) {
    const r = await getReclockFile(await ctx.client(), ctx.target, o(ctx.timeoutMs));
    if (r !== '') ctx.out(`${r}\n`);
    return 0;
  },
});

/** Informational and tunable commands. */
export const infoCommands: Command[] = [
  version, uptime, pingCmd, getpid, runstate, getvar, setvar, listvars, getdebug, setdebug,
  processExistsCmd, statistics, statisticsreset, getreclock,
];
