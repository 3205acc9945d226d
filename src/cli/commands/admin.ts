import {
  checked, deregisterSrvid, getNodemap, getNodesFile, getVnnmap, registerSrvid, setBanState,
  setLeaderRole, setLmasterRole, setRecmode, simple,
} from '../../client/controls.js';
import { CtdbError } from '../../common/errors.js';
import { writeAll } from '../../protocol/buffer.js';
import { NodeFlag, Pnn, RecMode, Srvid } from '../../protocol/constants.js';
import { Opcode } from '../../protocol/opcodes.js';
import { encodeSrvidMessage } from '../../protocol/payloads.js';
import { command, type Command } from '../command.js';
import type { CliContext } from '../context.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function flagsOf(ctx: CliContext, pnn: number): Promise<number> {
  const nm = await getNodemap(await ctx.client(), ctx.myPnn, { timeoutMs: ctx.timeoutMs });
  const n = nm.nodes.find((x) => x.pnn === pnn);
  if (!n) throw new CtdbError('ENOENT', `Node ${pnn} does not exist`, { exitCode: 1 });
  return n.flags;
}

/** Polls the local node map once a second until `pred` holds for node `pnn`. */
async function waitForFlags(ctx: CliContext, pnn: number, pred: (flags: number) => boolean): Promise<void> {
  const deadline = Date.now() + ctx.opts.maxruntime * 1000;
  while (Date.now() < deadline) {
    if (pred(await flagsOf(ctx, pnn))) return;
    await sleep(ctx.opts.maxruntime > 5 ? 1000 : 200);
  }
  throw new CtdbError('ETIMEDOUT', `Timed out waiting for node ${pnn} to change its flags`, { exitCode: 1 });
}

let replyCounter = 1;
/** A tool reply srvid as CTDB's tool builds them. */
export function toolSrvid(): bigint {
  return Srvid.TOOL_RANGE | 0x01000000000000n | (BigInt(process.pid & 0xffff) << 16n) | BigInt(replyCounter++);
}

/**
 * Asks the leader for a takeover run (SRVID_TAKEOVER_RUN to all connected
 * nodes) and waits for its answer, resending on timeout as CTDB's tool does.
 */
export async function takeoverRun(ctx: CliContext): Promise<void> {
  const c = await ctx.client();
  const srvid = toolSrvid();
  await registerSrvid(c, srvid);
  try {
    const deadline = Date.now() + ctx.opts.maxruntime * 1000;
    while (Date.now() < deadline) {
      const answer = new Promise<number | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), ctx.timeoutMs);
        c.onMessage(srvid, (_s, data) => { clearTimeout(timer); resolve(data.length >= 4 ? data.readInt32LE(0) : -1); });
      });
      c.message(Pnn.BROADCAST_CONNECTED, Srvid.TAKEOVER_RUN, writeAll(encodeSrvidMessage, { pnn: ctx.myPnn, srvid }));
      const r = await answer;
      if (r === undefined) continue;
      if (r < 0) throw new CtdbError('EIO', `IP reallocation failed (${r})`, { exitCode: 1 });
      return;
    }
    throw new CtdbError('ETIMEDOUT', 'Timed out waiting for IP reallocation', { exitCode: 1 });
  } finally {
    c.offMessage(srvid);
    await deregisterSrvid(c, srvid).catch(() => {});
  }
}

interface FlagCommandSpec {
  name: string; help: string; flag: number; set: boolean; opcode: number;
  already: string; args?: string;
}

function flagCommand(s: FlagCommandSpec): Command {
  return command({
    name: s.name, help: s.help,
    async run(ctx) {
      const c = await ctx.client();
      const t = ctx.target;
      const flags = await flagsOf(ctx, t);
      if (Boolean(flags & s.flag) === s.set) { ctx.err(`Node ${t} ${s.already}\n`); return 0; }
      await simple(c, t, s.opcode, { timeoutMs: ctx.timeoutMs });
      await waitForFlags(ctx, t, (f) => Boolean(f & s.flag) === s.set);
      await takeoverRun(ctx);
      return 0;
    },
  });
}

const ban = command({
  name: 'ban', args: '<bantime>', help: 'ban a node', minArgs: 1, maxArgs: 1,
  async run(ctx, [arg]) {
    if (!/^\d+$/.test(arg!)) throw new CtdbError('EINVAL', `Invalid ban time '${arg}'`, { exitCode: 22 });
    const time = Number(arg);
    if (time === 0) { ctx.err('Ban time cannot be zero\n'); return 22; }
    const c = await ctx.client();
    const t = ctx.target;
    if ((await flagsOf(ctx, t)) & NodeFlag.BANNED) { ctx.err(`Node ${t} is already banned\n`); return 0; }
    await setBanState(c, t, { pnn: t, time }, { timeoutMs: ctx.timeoutMs });
    await waitForFlags(ctx, t, (f) => (f & NodeFlag.BANNED) !== 0);
    await takeoverRun(ctx);
    return 0;
  },
});

const unban = command({
  name: 'unban', help: 'unban a node',
  async run(ctx) {
    const c = await ctx.client();
    const t = ctx.target;
    if (!((await flagsOf(ctx, t)) & NodeFlag.BANNED)) { ctx.err(`Node ${t} is not banned\n`); return 0; }
    await setBanState(c, t, { pnn: t, time: 0 }, { timeoutMs: ctx.timeoutMs });
    await waitForFlags(ctx, t, (f) => (f & NodeFlag.BANNED) === 0);
    await takeoverRun(ctx);
    return 0;
  },
});

const shutdown = command({
  name: 'shutdown', help: 'shutdown ctdb daemon',
  async run(ctx) {
    const c = await ctx.client();
    c.controlNoReply(ctx.target, Opcode.SHUTDOWN);
    await sleep(50);
    return 0;
  },
});

const recover = command({
  name: 'recover', help: 'force recovery',
  async run(ctx) {
    const c = await ctx.client();
    const t = ctx.target;
    const o = { timeoutMs: ctx.timeoutMs };
    const before = (await getVnnmap(c, t, o)).generation;
    await setRecmode(c, t, RecMode.ACTIVE, o);
    const deadline = Date.now() + ctx.opts.maxruntime * 1000;
    while (Date.now() < deadline) {
      await sleep(1000);
      const vm = await getVnnmap(c, t, o).catch(() => undefined);
      if (vm && vm.generation !== before && vm.generation !== 1) return 0;
    }
    throw new CtdbError('ETIMEDOUT', 'Timed out waiting for recovery', { exitCode: 1 });
  },
});

const ipreallocate = command({
  name: 'ipreallocate', help: 'run ip reallocation',
  async run(ctx) { await takeoverRun(ctx); return 0; },
});
const sync = { ...ipreallocate, name: 'sync', help: 'run ip reallocation (deprecated)' };

const onOff = (name: string, help: string, fn: typeof setLeaderRole): Command => command({
  name, args: 'on|off', help, minArgs: 1, maxArgs: 1,
  async run(ctx, [v]) {
    if (v !== 'on' && v !== 'off') throw new CtdbError('EINVAL', `Invalid value '${v}': use on or off`, { exitCode: 1 });
    await fn(await ctx.client(), ctx.target, v === 'on', { timeoutMs: ctx.timeoutMs });
    return 0;
  },
});

const reloadnodes = command({
  name: 'reloadnodes', help: 'reload the nodes file all nodes', remote: false,
  async run(ctx) {
    const c = await ctx.client();
    const o = { timeoutMs: ctx.timeoutMs };
    const current = await getNodemap(c, ctx.myPnn, o);
    const mine = await getNodesFile(c, ctx.myPnn, o);
    const key = (nm: typeof mine): string => nm.nodes.map((n) => `${n.pnn}:${n.addr.address}:${n.flags & NodeFlag.DELETED}`).join(',');
    // Every connected node must have the same file.
    for (const n of current.nodes) {
      if (n.flags & (NodeFlag.DELETED | NodeFlag.DISCONNECTED) || n.pnn === ctx.myPnn) continue;
      const theirs = await getNodesFile(c, n.pnn, o).catch(() => undefined);
      if (!theirs || key(theirs) !== key(mine)) {
        ctx.err(`Node ${n.pnn} has a different nodes file\n`);
        return 1;
      }
    }
    for (const f of mine.nodes) {
      const cur = current.nodes.find((n) => n.pnn === f.pnn);
      const deletedNow = Boolean(f.flags & NodeFlag.DELETED);
      if (!cur) { if (!deletedNow) ctx.out(`Node ${f.pnn} is NEW\n`); continue; }
      const wasDeleted = Boolean(cur.flags & NodeFlag.DELETED);
      if (deletedNow && !wasDeleted) {
        if (!(cur.flags & NodeFlag.DISCONNECTED)) { ctx.err(`Node ${f.pnn} is not disconnected, cannot delete it\n`); return 1; }
        ctx.out(`Node ${f.pnn} is DELETED\n`);
      } else if (!deletedNow && wasDeleted) ctx.out(`Node ${f.pnn} is UNDELETED\n`);
      else if (!deletedNow && cur.addr.address !== f.addr.address) { ctx.err(`Node ${f.pnn} has changed address, cannot reload\n`); return 1; }
    }
    for (const n of current.nodes) {
      if (n.flags & (NodeFlag.DELETED | NodeFlag.DISCONNECTED)) continue;
      await checked(c, n.pnn, Opcode.RELOAD_NODES_FILE, undefined, o);
    }
    await takeoverRun(ctx);
    return 0;
  },
});

/** Node administration commands. */
export const adminCommands: Command[] = [
  flagCommand({ name: 'disable', help: 'disable a node', flag: NodeFlag.PERMANENTLY_DISABLED, set: true, opcode: Opcode.DISABLE_NODE, already: 'is already disabled' }),
  flagCommand({ name: 'enable', help: 'enable a node', flag: NodeFlag.PERMANENTLY_DISABLED, set: false, opcode: Opcode.ENABLE_NODE, already: 'is not disabled' }),
  flagCommand({ name: 'stop', help: 'stop a node', flag: NodeFlag.STOPPED, set: true, opcode: Opcode.STOP_NODE, already: 'is already stopped' }),
  flagCommand({ name: 'continue', help: 'continue a stopped node', flag: NodeFlag.STOPPED, set: false, opcode: Opcode.CONTINUE_NODE, already: 'is not stopped' }),
  ban, unban, shutdown, recover, ipreallocate, sync, reloadnodes,
  onOff('setlmasterrole', 'set LMASTER role', setLmasterRole),
  onOff('setleaderrole', 'set LEADER role', setLeaderRole),
];
