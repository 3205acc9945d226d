/**
 * Public IP commands: ip [all], ipinfo, ifaces, setifacelink, moveip, addip,
 * delip, reloadips, gratarp, gettickles, addtickle, deltickle, tickle, and
 * the structured `ip connection add|del|list` (an addition to CTDB's tool).
 */
import { getNodemap, registerSrvid, deregisterSrvid } from '../../client/controls.js';
import {
  addPublicIp, applyConnections, delPublicIp, getIfaces, getPublicIpInfo, getPublicIps, getTickles,
  releaseIp, reloadPublicIps, sendGratuitousArp, setIfaceLink, takeoverIp, type ConnectionOp,
} from '../../client/ip.js';
import { compareIps, formatIpPort, parseIp, parseIpPort, type IpPort } from '../../common/address.js';
import { CtdbError } from '../../common/errors.js';
import { writeAll } from '../../protocol/buffer.js';
import { NodeFlag, Pnn, Srvid } from '../../protocol/constants.js';
import { encodeDisableMessage, type Connection, type Iface, type PublicIpInfo } from '../../protocol/payloads.js';
import { classify, parseBatch } from '../../takeover/connection-batch.js';
import { command, type Command } from '../command.js';
import type { CliContext } from '../context.js';
import { parsePnnList } from './nodes.js';
import { takeoverRun, toolSrvid } from './admin.js';

const UNKNOWN = 0xffffffff;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const o = (ctx: CliContext) => ({ timeoutMs: ctx.timeoutMs });
const signedPnn = (p: number): number => (p === UNKNOWN ? -1 : p);

/** One row of `ctdb ip`. */
export interface IpRow { ip: string; pnn: number; info?: PublicIpInfo }

/** Formats `ctdb ip` output (human, -v, -Y/-X). Pure. */
export function formatIps(rows: IpRow[], title: string, machine: boolean, verbose: boolean, sep: string): string {
  const sorted = [...rows].sort((a, b) => compareIps(a.ip, b.ip));
  const names = (f: (i: Iface) => boolean, info?: PublicIpInfo): string => (info?.ifaces.filter(f).map((i) => i.name).join(',') ?? '');
  const active = (info?: PublicIpInfo): string => (info && info.activeIdx !== UNKNOWN ? info.ifaces[info.activeIdx]?.name ?? '' : '');
  let out = '';
  if (machine) {
    out += verbose ? `${sep}Public IP${sep}Node${sep}ActiveInterfaces${sep}AvailableInterfaces${sep}ConfiguredInterfaces${sep}\n`
      : `${sep}Public IP${sep}Node${sep}\n`;
  } else out += `${title}\n`;
  for (const r of sorted) {
    const p = signedPnn(r.pnn);
    if (machine) {
      out += verbose
        ? `${sep}${r.ip}${sep}${p}${sep}${active(r.info)}${sep}${names((i) => i.linkState !== 0, r.info)}${sep}${names(() => true, r.info)}${sep}\n`
        : `${sep}${r.ip}${sep}${p}${sep}\n`;
    } else if (verbose) {
      out += `${r.ip} node[${p}] active[${active(r.info)}] available[${names((i) => i.linkState !== 0, r.info)}] configured[${names(() => true, r.info)}]\n`;
    } else out += `${r.ip} ${p}\n`;
  }
  return out;
}

/** Formats `ctdb ipinfo`. Pure. */
export function formatIpInfo(pnn: number, info: PublicIpInfo): string {
  let out = `Public IP[${info.ip.addr.address}] info on node ${pnn}\nIP:${info.ip.addr.address}\nCurrentNode:${signedPnn(info.ip.pnn)}\nNumInterfaces:${info.ifaces.length}\n`;
  info.ifaces.forEach((i, n) => {
    out += `Interface[${n + 1}]: Name:${i.name} Link:${i.linkState ? 'up' : 'down'} References:${i.references}${n === info.activeIdx ? ' (active)' : ''}\n`;
  });
  return out;
}

/** Formats `ctdb ifaces`. Pure. */
export function formatIfaces(pnn: number, ifaces: Iface[], machine: boolean, sep: string): string {
  if (ifaces.length === 0) return `No interfaces configured on node ${pnn}\n`;
  if (machine) {
    return `${sep}Name${sep}LinkStatus${sep}References${sep}\n` + ifaces.map((i) => `${sep}${i.name}${sep}${i.linkState}${sep}${i.references}${sep}\n`).join('');
  }
  return `Interfaces on node ${pnn}\n` + ifaces.map((i) => `name:${i.name} link:${i.linkState ? 'up' : 'down'} references:${i.references}\n`).join('');
}

/** Formats `ctdb gettickles`. Pure. The -Y header keeps CTDB 4.17's spelling "Destiation" so scripts keep parsing. */
export function formatTickles(ip: string, conns: Connection[], machine: boolean, sep: string): string {
  if (machine) {
    return `${sep}Source IP${sep}Port${sep}Destiation IP${sep}Port${sep}\n`
      + conns.map((c) => `${sep}${c.src.address}${sep}${c.src.port}${sep}${c.dst.address}${sep}${c.dst.port}${sep}\n`).join('');
  }
  return `Connections for IP: ${ip}\nNum connections: ${conns.length}\n`
    + conns.map((c) => `SRC: ${formatIpPort(c.src)}   DST: ${formatIpPort(c.dst)}\n`).join('');
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Every node's public IPs merged: a node reporting itself as owner wins. */
async function allIps(ctx: CliContext): Promise<IpRow[]> {
  const c = await ctx.client();
  const nm = await getNodemap(c, ctx.myPnn, o(ctx));
  const merged = new Map<string, IpRow>();
  for (const n of nm.nodes) {
    if (n.flags & (NodeFlag.DISCONNECTED | NodeFlag.DELETED)) continue;
    for (const ip of await getPublicIps(c, n.pnn, false, o(ctx))) {
      const cur = merged.get(ip.addr.address);
      if (!cur || ip.pnn === n.pnn || (cur.pnn === UNKNOWN && cur.pnn !== ip.pnn && ip.pnn !== UNKNOWN)) {
        merged.set(ip.addr.address, { ip: ip.addr.address, pnn: cur && ip.pnn === UNKNOWN ? cur.pnn : ip.pnn });
      }
    }
  }
  return [...merged.values()];
}

const ipCmd = command({
  name: 'ip', args: '[all]', help: 'show public ips', maxArgs: 64,
  async run(ctx, args) {
    if (args[0] === 'connection') return ipConnection(ctx, args.slice(1));
    if (args.length > 1 || (args.length === 1 && args[0] !== 'all')) {
      throw new CtdbError('EINVAL', `Invalid argument '${args.join(' ')}' (use: ip [all], ip connection add|del|list)`, { exitCode: 1 });
    }
    const c = await ctx.client();
    const all = args[0] === 'all';
    const rows: IpRow[] = all ? await allIps(ctx)
      : (await getPublicIps(c, ctx.target, false, o(ctx))).map((i) => ({ ip: i.addr.address, pnn: i.pnn }));
    if (ctx.opts.verbose) {
      for (const r of rows) {
        const from = r.pnn === UNKNOWN || all ? (r.pnn === UNKNOWN ? ctx.target : r.pnn) : ctx.target;
        r.info = await getPublicIpInfo(c, from, r.ip, o(ctx)).catch(() => undefined);
      }
    }
    const title = all ? 'Public IPs on ALL nodes' : `Public IPs on node ${ctx.target}`;
    ctx.out(formatIps(rows, title, ctx.opts.machine, ctx.opts.verbose, ctx.opts.separator));
    return 0;
  },
});

const ipinfo = command({
  name: 'ipinfo', args: '<ip>', help: 'show public ip details', minArgs: 1, maxArgs: 1,
  async run(ctx, [ip]) {
    const addr = parseArgIp(ip!);
    const c = await ctx.client();
    const known = (await getPublicIps(c, ctx.target, false, o(ctx))).some((i) => i.addr.address === addr);
    if (!known) {
      ctx.out(`Node ${ctx.target} does not know about IP ${ip}\n`);
      ctx.err('Control GET_PUBLIC_IP_INFO failed, ret=-1\n');
      return 1;
    }
    ctx.out(formatIpInfo(ctx.target, await getPublicIpInfo(c, ctx.target, addr, o(ctx))));
    return 0;
  },
});

const ifaces = command({
  name: 'ifaces', help: 'show interfaces',
  async run(ctx) {
    const list = await getIfaces(await ctx.client(), ctx.target, o(ctx));
    ctx.out(formatIfaces(ctx.target, list, ctx.opts.machine, ctx.opts.separator));
    return 0;
  },
});

const setifacelink = command({
  name: 'setifacelink', args: '<iface> up|down', help: 'set interface link status', minArgs: 2, maxArgs: 2,
  async run(ctx, [iface, state]) {
    if (state !== 'up' && state !== 'down') { ctx.err(`Invalid link state '${state}': use up or down\n`); return 1; }
    const c = await ctx.client();
    const list = await getIfaces(c, ctx.target, o(ctx));
    if (!list.some((i) => i.name === iface)) { ctx.out(`Interface ${iface} not configured on node ${ctx.target}\n`); return 1; }
    await setIfaceLink(c, ctx.target, iface!, state === 'up', o(ctx));
    return 0;
  },
});

function parseArgIp(text: string): string {
  try { return parseIp(text); } catch { throw new CtdbError('EINVAL', `Invalid IP address ${text}`, { exitCode: 1 }); }
}

const moveip = command({
  name: 'moveip', args: '<ip> <node>', help: 'move an ip address to another node', minArgs: 2, maxArgs: 2,
  async run(ctx, [ipText, pnnText]) {
    const ip = parseArgIp(ipText!);
    if (!/^\d+$/.test(pnnText!)) { ctx.err(`Invalid PNN ${pnnText}\n`); return 1; }
    const pnn = Number(pnnText);
    const c = await ctx.client();
    const nm = await getNodemap(c, ctx.myPnn, o(ctx));
    if (!nm.nodes.some((n) => n.pnn === pnn && !(n.flags & NodeFlag.DELETED))) { ctx.err(`Node ${pnn} does not exist\n`); return 1; }
    for (let attempt = 0; attempt < 5; attempt++) {
      if (attempt > 0) await sleep(3000);
      try {
        const secs = Buffer.alloc(4); secs.writeUInt32LE(2 * ctx.opts.timelimit);
        c.message(Pnn.BROADCAST_CONNECTED, Srvid.DISABLE_IP_CHECK, secs);
        const ips = await getPublicIps(c, pnn, false, o(ctx));
        if (!ips.some((i) => i.addr.address === ip)) { ctx.err(`Node ${pnn} CANNOT host IP address ${ip}\n`); return 1; }
        const fresh = await getNodemap(c, ctx.myPnn, o(ctx));
        for (const n of fresh.nodes) {
          if (n.pnn === pnn || (n.flags & NodeFlag.INACTIVE)) continue;
          await releaseIp(c, n.pnn, ip, pnn, o(ctx));
        }
        await takeoverIp(c, pnn, ip, o(ctx));
        return 0;
      } catch (err) {
        ctx.err(`${(err as Error).message}\n`);
      }
    }
    ctx.err(`Failed to move IP ${ip} to node ${pnn}\n`);
    return 1;
  },
});

const addip = command({
  name: 'addip', args: '<ip/mask> <iface>', help: 'add an ip address to a node', minArgs: 2, maxArgs: 2,
  async run(ctx, [cidr, iface]) {
    const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr!);
    let ip = '';
    try { ip = parseIp(m?.[1] ?? ''); } catch { /* reported below */ }
    if (!m || ip === '') { ctx.err(`Invalid IP/Mask ${cidr}\n`); return 1; }
    const mask = Number(m[2]);
    if (mask > (ip.includes(':') ? 128 : 32)) { ctx.err(`Invalid IP/Mask ${cidr}\n`); return 1; }
    const c = await ctx.client();
    if ((await getPublicIps(c, ctx.target, false, o(ctx))).some((i) => i.addr.address === ip)) {
      ctx.err(`Node already knows about IP ${ip}\n`);
      return 0;
    }
    let last: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      if (attempt > 0) await sleep(3000);
      try { await addPublicIp(c, ctx.target, ip, mask, iface!, o(ctx)); return 0; } catch (err) { last = err; }
    }
    ctx.err(`Failed to add public IP to node ${ctx.target}. Giving up\n`);
    if (last instanceof Error) ctx.err(`${last.message}\n`);
    return 1;
  },
});

const delip = command({
  name: 'delip', args: '<ip>', help: 'delete an ip address from a node', minArgs: 1, maxArgs: 1,
  async run(ctx, [ipText]) {
    const ip = parseArgIp(ipText!);
    const c = await ctx.client();
    if (!(await getPublicIps(c, ctx.target, false, o(ctx))).some((i) => i.addr.address === ip)) {
      ctx.err(`Node does not know about IP address ${ip}\n`);
      return 0;
    }
    await delPublicIp(c, ctx.target, ip, o(ctx));
    return 0;
  },
});

const reloadips = command({
  name: 'reloadips', args: '[all|<pnn-list>]', help: 'reload the public addresses file', maxArgs: 1, remote: false,
  async run(ctx, args) {
    const c = await ctx.client();
    const nm = await getNodemap(c, ctx.myPnn, o(ctx));
    const targets = parsePnnList(args[0] ?? 'all', nm)
      .filter((p) => !(nm.nodes.find((n) => n.pnn === p)!.flags & NodeFlag.DISCONNECTED));
    const srvid = toolSrvid();
    const disable = (timeout: number): void => c.message(Pnn.BROADCAST_CONNECTED, Srvid.DISABLE_TAKEOVER_RUNS,
      writeAll(encodeDisableMessage, { pnn: ctx.myPnn, srvid: 0n, timeout }));
    await registerSrvid(c, srvid).catch(() => {});
    try {
      disable(2 * ctx.opts.timelimit);
      for (const p of targets) await reloadPublicIps(c, p, o(ctx));
    } finally {
      disable(0);
      await deregisterSrvid(c, srvid).catch(() => {});
    }
    await takeoverRun(ctx);
    return 0;
  },
});

const gratarp = command({
  name: 'gratarp', args: '<ip> <interface>', help: 'send a gratuitous arp', minArgs: 2, maxArgs: 2,
  async run(ctx, [ip, iface]) {
    await sendGratuitousArp(await ctx.client(), ctx.target, parseArgIp(ip!), iface!, o(ctx));
    return 0;
  },
});

const gettickles = command({
  name: 'gettickles', args: '<ip> [<port>]', help: 'get the list of tickles', minArgs: 1, maxArgs: 2,
  async run(ctx, [ipText, portText]) {
    const ip = parseArgIp(ipText!);
    const port = portText === undefined ? 0 : Number(portText);
    if (!Number.isInteger(port) || port < 0 || port > 65535) { ctx.err(`Invalid port ${portText}\n`); return 1; }
    let conns: Connection[];
    try { conns = await getTickles(await ctx.client(), ctx.target, ip, port, o(ctx)); } catch {
      ctx.err('Control GET_TCP_TICKLE_LIST failed, ret=-1\nFailed to get list of connections\n');
      return 1;
    }
    ctx.out(formatTickles(ip, conns, ctx.opts.machine, ctx.opts.separator));
    return 0;
  },
});

const toConn = (client: IpPort, server: IpPort): Connection => ({ src: { ...client }, dst: { ...server } });

function tickleCommand(name: 'addtickle' | 'deltickle', help: string): Command {
  const op = name === 'addtickle' ? 'add' : 'del';
  return command({
    name, args: '<ip>:<port> <ip>:<port>', help, maxArgs: 2,
    async run(ctx, args) {
      if (args.length === 1) throw new CtdbError('EINVAL', `${name} needs two endpoints, or none to read them from stdin`, { exitCode: 1 });
      const lines = args.length === 2 ? parseBatch(`${args[0]} ${args[1]}`, op) : parseBatch(await readStdin(), op);
      // Classic order: first endpoint is the client, second the public address.
      const ops: ConnectionOp[] = lines.map((l) => ({ op, conn: toConn(l.a, l.b) }));
      try {
        await applyConnections(await ctx.client(), ctx.target, ops, o(ctx));
      } catch (err) {
        ctx.err(`Control ${op === 'add' ? 'TCP_ADD_DELAYED_UPDATE' : 'TCP_REMOVE'} failed, ret=-1\n`);
        ctx.err(op === 'add' ? 'Failed to register connection\n' : 'Failed to unregister connection\n');
        void err;
        return 1;
      }
      return 0;
    },
  });
}

const tickle = command({
  name: 'tickle', args: '<srcip:port> <dstip:port>', help: 'send a tcp tickle ack', daemon: false, remote: false, maxArgs: 2,
  async run(ctx, args) {
    if (args.length === 1) throw new CtdbError('EINVAL', 'tickle needs two endpoints, or none to read them from stdin', { exitCode: 1 });
    const { RawSender, sendTickle } = await import('../../takeover/announce.js');
    let pairs: Array<[IpPort, IpPort]>;
    if (args.length === 2) {
      const parse = (t: string): IpPort => {
        try { return parseIpPort(t); } catch { throw new CtdbError('EINVAL', `Invalid IP address ${t}`, { exitCode: 1 }); }
      };
      pairs = [[parse(args[0]!), parse(args[1]!)]];
    } else {
      // As CTDB's tool: a malformed line on stdin ends the command with EINVAL, nothing sent.
      try {
        pairs = (await readStdin()).split('\n').map((l) => l.trim()).filter((l) => l !== '').map((l) => {
          const f = l.split(/\s+/);
          if (f.length !== 2) throw new Error(l);
          return [parseIpPort(f[0]!), parseIpPort(f[1]!)] as [IpPort, IpPort];
        });
      } catch { return 22; }
    }
    const sender = new RawSender();
    let failed = 0;
    try {
      // The first endpoint is the packet's destination, the second its source.
      for (const [dst, src] of pairs) {
        try { if (!sendTickle(sender, src, dst)) failed++; } catch (err) {
          if (args.length === 2) throw err;
          failed++;
        }
      }
    } finally { sender.close(); }
    if (failed > 0) { ctx.err(`Failed to send ${failed} tickles\n`); return 1; }
    return 0;
  },
});

/** `ctdb ip connection [add|del|list] …`. */
async function ipConnection(ctx: CliContext, args: string[]): Promise<number> {
  const c = await ctx.client();
  const sub = args[0];
  const publicIps = async (): Promise<Set<string>> =>
    new Set((await getPublicIps(c, ctx.target, false, o(ctx))).map((i) => i.addr.address));
  if (sub === 'list') {
    if (args.length > 2) throw new CtdbError('EINVAL', 'usage: ctdb ip connection list [IP]', { exitCode: 1 });
    const ips = args[1] !== undefined ? [parseArgIp(args[1])] : [...await publicIps()].sort(compareIps);
    for (const ip of ips) {
      for (const conn of await getTickles(c, ctx.target, ip, 0, o(ctx))) ctx.out(`${formatIpPort(conn.dst)} ${formatIpPort(conn.src)}\n`);
    }
    return 0;
  }
  let text: string;
  let fixed: 'add' | 'del' | undefined;
  if (sub === undefined) text = await readStdin();
  else if (sub === 'add' || sub === 'del') {
    fixed = sub;
    if (args.length === 3) text = `${args[1]} ${args[2]}`;
    else if (args.length === 1) text = await readStdin();
    else throw new CtdbError('EINVAL', `usage: ctdb ip connection ${sub} [SERVER:PORT CLIENT:PORT]`, { exitCode: 1 });
  } else throw new CtdbError('EINVAL', `Unknown ip connection command '${sub}' (use add, del or list)`, { exitCode: 1 });
  const lines = parseBatch(text, fixed);
  const pub = await publicIps();
  const ops: ConnectionOp[] = lines.map((l) => { const cs = classify(l, pub); return { op: l.op, conn: toConn(cs.client, cs.server) }; });
  if (ops.length > 0) await applyConnections(c, ctx.target, ops, o(ctx));
  return 0;
}

/** The public IP commands. */
export const ipCommands: Command[] = [
  ipCmd, ipinfo, ifaces, setifacelink, gratarp, tickle, gettickles,
  tickleCommand('addtickle', 'add a tickle'), tickleCommand('deltickle', 'delete a tickle'),
  moveip, addip, delip, reloadips,
];
