import { getNodemap, getRecmode, getVnnmap, getCapabilities, getReclockFile } from '../../client/controls.js';
import { CtdbError } from '../../common/errors.js';
import { NodeFlag, Pnn, Srvid } from '../../protocol/constants.js';
import type { NodeMap } from '../../protocol/payloads.js';
import { command, type Command } from '../command.js';
import type { CliContext } from '../context.js';
import {
  formatClusterLock, formatNodeCount, formatNodeLine, formatNodeTable, formatStatus, formatStatusJson, type NodeRow,
} from '../format.js';

/** Rows for listings from a node map. */
export function nodeRows(nm: NodeMap): NodeRow[] {
  return nm.nodes.map((n) => ({ pnn: n.pnn, ip: n.addr.address, flags: n.flags }));
}

/** Waits for the next SRVID_LEADER broadcast (the leader's PNN), up to the timelimit. */
export async function currentLeader(ctx: CliContext): Promise<number> {
  const c = await ctx.client();
  const { registerSrvid, deregisterSrvid } = await import('../../client/controls.js');
  const leader = new Promise<number>((resolve) => {
    const timer = setTimeout(() => resolve(Pnn.UNKNOWN), Math.min(ctx.timeoutMs, 3000));
    c.onMessage(Srvid.LEADER, (_s, data) => {
      if (data.length < 4) return;
      clearTimeout(timer);
      resolve(data.readUInt32LE(0));
    });
  });
  await registerSrvid(c, Srvid.LEADER);
  const pnn = await leader;
  c.offMessage(Srvid.LEADER);
  await deregisterSrvid(c, Srvid.LEADER).catch(() => {});
  return pnn;
}

/** Parses `all` or a comma-separated PNN list. */
export function parsePnnList(text: string, nm: NodeMap): number[] {
  if (text === 'all') return nm.nodes.filter((n) => !(n.flags & NodeFlag.DELETED)).map((n) => n.pnn);
  const out: number[] = [];
  for (const part of text.split(',')) {
    if (!/^\d+$/.test(part)) throw new CtdbError('EINVAL', `Invalid node list '${text}'`, { exitCode: 1 });
    const pnn = Number(part);
    if (!nm.nodes.some((n) => n.pnn === pnn && !(n.flags & NodeFlag.DELETED))) {
      throw new CtdbError('ENOENT', `Node ${pnn} does not exist`, { exitCode: 1 });
    }
    out.push(pnn);
  }
  return out;
}

const status = command({
  name: 'status', help: 'show node status',
  async run(ctx) {
    const c = await ctx.client();
    const t = ctx.target;
    const o = { timeoutMs: ctx.timeoutMs };
    const nm = await getNodemap(c, t, o);
    const rows = nodeRows(nm);
    if (ctx.opts.machine) { ctx.out(formatNodeTable(rows, t, ctx.opts.separator)); return 0; }
    const [vm, recmode, leader, lock] = await Promise.all([
      getVnnmap(c, t, o), getRecmode(c, t, o), currentLeader(ctx),
      ctx.opts.verbose || ctx.opts.json ? getReclockFile(c, t, o) : Promise.resolve(undefined),
    ]);
    const view = { nodes: rows, myPnn: t, generation: vm.generation, vnnmap: vm.map, recmode, leader, clusterLock: lock };
    ctx.out(ctx.opts.json ? formatStatusJson(view) : formatStatus(view) + (ctx.opts.verbose ? formatClusterLock(view) : ''));
    return 0;
  },
});

const nodestatus = command({
  name: 'nodestatus', args: '[all|<pnn-list>]', help: 'show and return node status', maxArgs: 1,
  async run(ctx, args) {
    const c = await ctx.client();
    const nm = await getNodemap(c, ctx.target, { timeoutMs: ctx.timeoutMs }).catch(() => undefined);
    if (!nm) { ctx.err('Unable to get nodemap from node\n'); return 1; }
    const pnns = args[0] === undefined ? [ctx.target] : parsePnnList(args[0], nm);
    const rows = nodeRows(nm).filter((r) => pnns.includes(r.pnn));
    if (ctx.opts.json) {
      ctx.out(JSON.stringify(rows.map((r) => ({ pnn: r.pnn, address: r.ip, flags: r.flags })), null, 2) + '\n');
    } else if (ctx.opts.machine) {
      ctx.out(formatNodeTable(rows, ctx.target, ctx.opts.separator));
    } else {
      if (args[0] === 'all') ctx.out(formatNodeCount(nodeRows(nm)));
      for (const r of rows) if (!(r.flags & NodeFlag.DELETED)) ctx.out(formatNodeLine(r, ctx.target));
    }
    return rows.reduce((acc, r) => acc | (r.flags & NodeFlag.DELETED ? 0 : r.flags), 0);
  },
});

const listnodes = command({
  name: 'listnodes', help: 'list nodes in the cluster', daemon: false,
  async run(ctx) {
    const { loadConfig } = await import('../../common/config.js');
    const { loadNodes } = await import('../../common/nodes.js');
    let nodesList = ctx.paths.nodesFile;
    try { nodesList = loadConfig(ctx.paths).cluster.nodesList; } catch { /* fall back to the default file */ }
    let nodes;
    try { nodes = loadNodes(nodesList); } catch (err) {
      throw new CtdbError('ENOENT', `Failed to read nodes file "${nodesList}"`, { cause: err, exitCode: 1 });
    }
    for (const n of nodes) {
      if (n.deleted) continue;
      ctx.out(ctx.opts.machine ? `${ctx.opts.separator}${n.pnn}${ctx.opts.separator}${n.address}${ctx.opts.separator}\n` : `${n.address}\n`);
    }
    return 0;
  },
});

const pnn = command({
  name: 'pnn', help: 'show the pnn of the current node', remote: false,
  async run(ctx) {
    await ctx.client();
    ctx.out(`${ctx.myPnn}\n`);
    return 0;
  },
});

const leader = command({
  name: 'leader', help: 'show the pnn of the leader',
  async run(ctx) {
    const p = await currentLeader(ctx);
    ctx.out(p === Pnn.UNKNOWN ? 'UNKNOWN\n' : `${p}\n`);
    return 0;
  },
});

const getcapabilities = command({
  name: 'getcapabilities', help: 'show node capabilities',
  async run(ctx) {
    const caps = await getCapabilities(await ctx.client(), ctx.target, { timeoutMs: ctx.timeoutMs });
    const l = caps & 1 ? 1 : 0;
    const m = caps & 2 ? 1 : 0;
    const s = ctx.opts.separator;
    if (ctx.opts.machine) ctx.out(`${s}LEADER${s}LMASTER${s}\n${s}${l}${s}${m}${s}\n`);
    else ctx.out(`LEADER: ${l ? 'YES' : 'NO'}\nLMASTER: ${m ? 'YES' : 'NO'}\n`);
    return 0;
  },
});

/** Node listing and identity commands. */
export const nodeCommands: Command[] = [status, nodestatus, listnodes, pnn, leader, getcapabilities];
