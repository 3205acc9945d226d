import { readFileSync } from 'node:fs';
import { parseDebugLevel, DebugLevels, type DebugLevelName } from '../common/log.js';
import { sockAddrFromText } from '../common/address.js';
import { parseNodesFile } from '../common/nodes.js';
import { Reader, Writer, writeAll } from '../protocol/buffer.js';
import { CTDB_PORT, NodeFlag, Pnn, RecMode, RunState } from '../protocol/constants.js';
import { Opcode } from '../protocol/opcodes.js';
import type { ReqControl } from '../protocol/packets.js';
import {
  decodeBanState, decodePidSrvid, decodeTunable, decodeVnnMap, encodeBanState, encodeDbidMap,
  encodeEchoData, decodeEchoData, encodeIfaceList, encodeNodeMap, encodePublicIpList, encodeStatHistory,
  encodeStatistics, encodeTunableList, encodeUptime, encodeVarList, encodeVnnMap, type NodeMap,
} from '../protocol/payloads.js';
import { ClientConn } from './clients.js';
import type { Ctdbd } from './ctdbd.js';

/** What a control handler answers. */
export interface ControlReply { status: number; data?: Buffer; errmsg?: string }

/** A control handler: the request and the client it came from (undefined for node-to-node controls). */
export type ControlHandler = (req: ReqControl, client: ClientConn | undefined) => ControlReply | Promise<ControlReply>;
type Handler = ControlHandler;

const ok = (data?: Buffer): ControlReply => ({ status: 0, data });
const fail = (errmsg = ''): ControlReply => ({ status: -1, errmsg });
const u32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b; };
const cstr = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.alloc(1)]);
const tv = (ms: number) => ({ sec: Math.floor(ms / 1000), usec: (ms % 1000) * 1000 });

/** Checks a fixed-size request; wrong sizes are refused as CTDB does. */
function needLen(req: ReqControl, n: number): void {
  if (req.data.length < n) throw new Error(`control data too short: ${req.data.length} < ${n}`);
}

/**
 * The control dispatch table of one daemon. Unknown or obsolete opcodes and
 * malformed payloads get status -1; nothing here throws out of `handle`.
 */
export class ControlHandlers {
  private readonly table = new Map<number, Handler>();

  constructor(private readonly d: Ctdbd) {
    const t = this.table;
    t.set(Opcode.PROCESS_EXISTS, (req) => {
      needLen(req, 4);
      const pid = req.data.readInt32LE(0);
      const alive = d.clients.byPid(pid).length > 0 && pidAlive(pid);
      return { status: alive ? 0 : -1 };
    });
    t.set(Opcode.STATISTICS, () => ok(writeAll(encodeStatistics, this.statistics())));
    t.set(Opcode.STATISTICS_RESET, () => { d.stats.reset(ClientConn.sent); return ok(); });
    t.set(Opcode.GET_STAT_HISTORY, () => ok(writeAll(encodeStatHistory, { stats: [this.statistics()] })));
    t.set(Opcode.PING, () => ({ status: d.clients.clients.size }));
    t.set(Opcode.GETVNNMAP, () => ok(writeAll(encodeVnnMap, d.vnnmap)));
    t.set(Opcode.SETVNNMAP, (req) => {
      const vm = decodeVnnMap(new Reader(req.data));
      if (d.recmode !== RecMode.ACTIVE) return fail('cannot set vnnmap while not in recovery mode');
      d.vnnmap = vm;
      return ok();
    });
    t.set(Opcode.GET_DEBUG, () => { const w = new Writer(); w.i32(d.debugLevel); return ok(w.finish()); });
    t.set(Opcode.SET_DEBUG, (req) => {
      needLen(req, 4);
      const level = req.data.readUInt32LE(0);
      const name = parseDebugLevel(String(level)) as DebugLevelName;
      d.debugLevel = DebugLevels[name];
      d.log.level = name === 'DEBUG' ? 'debug' : name === 'INFO' || name === 'NOTICE' ? 'info' : name === 'WARNING' ? 'warn' : 'error';
      return ok();
    });
    t.set(Opcode.GET_DBMAP, () => ok(writeAll(encodeDbidMap, { dbs: [] })));
    t.set(Opcode.GET_RECMODE, () => ({ status: d.recmode }));
    t.set(Opcode.SET_RECMODE, (req) => {
      needLen(req, 4);
      const mode = req.data.readUInt32LE(0);
      if (mode !== RecMode.NORMAL && mode !== RecMode.ACTIVE) return fail(`invalid recovery mode ${mode}`);
      if (mode === RecMode.NORMAL && (d.membership.ownFlags & (NodeFlag.BANNED | NodeFlag.STOPPED))) {
        return fail('node is banned or stopped: staying in recovery mode');
      }
      const was = d.recmode;
      d.recmode = mode;
      if (was === RecMode.ACTIVE && mode === RecMode.NORMAL) d.onRecoveryDone();
      return ok();
    });
    t.set(Opcode.REGISTER_SRVID, (req, c) => { c?.srvids.add(req.srvid); return ok(); });
    t.set(Opcode.DEREGISTER_SRVID, (req, c) => (c?.srvids.delete(req.srvid) ? ok() : { status: 2 }));
    t.set(Opcode.GET_PID, () => ({ status: process.pid }));
    t.set(Opcode.GET_PNN, () => ({ status: d.pnn }));
    t.set(Opcode.SHUTDOWN, () => { setImmediate(() => { void d.shutdown(0); }); return ok(); });
    t.set(Opcode.GET_TUNABLE, (req) => {
      const name = new Reader(req.data).stringn();
      const v = d.opts.tunables.get(name);
      return v === undefined ? { status: -22 } : ok(u32(v));
    });
    t.set(Opcode.SET_TUNABLE, (req) => {
      const tn = decodeTunable(new Reader(req.data));
      const r = d.opts.tunables.set(tn.name, tn.value);
      if (r === 'unknown') return fail();
      if (r === 'ok') d.log.info({ name: tn.name, value: tn.value }, 'tunable set');
      return { status: r === 'obsolete' ? 1 : 0 };
    });
    t.set(Opcode.LIST_TUNABLES, () => ok(writeAll(encodeVarList, { names: d.opts.tunables.names() })));
    t.set(Opcode.GET_ALL_TUNABLES, () => ok(writeAll(encodeTunableList, { values: d.opts.tunables.toArray() })));
    t.set(Opcode.MODIFY_FLAGS, (req) => { needLen(req, 12); d.applyFlagChange(req.data); return ok(); });
    t.set(Opcode.UPTIME, () => ok(writeAll(encodeUptime, {
      currentTime: tv(Date.now()), ctdbdStartTime: tv(d.startTime),
      lastRecoveryStarted: tv(d.lastRecoveryStarted), lastRecoveryFinished: tv(d.lastRecoveryFinished),
    })));
    t.set(Opcode.START_RECOVERY, () => { d.lastRecoveryStarted = Date.now(); return ok(); });
    t.set(Opcode.END_RECOVERY, () => { d.lastRecoveryFinished = Date.now(); return ok(); });
    t.set(Opcode.RELOAD_NODES_FILE, () => {
      try { d.reloadNodes(); return ok(); } catch (err) { d.log.error({ err }, 'reloadnodes failed'); return fail((err as Error).message); }
    });
    t.set(Opcode.GET_CAPABILITIES, () => ok(u32(d.capabilities)));
    t.set(Opcode.GET_NODEMAP, () => ok(writeAll(encodeNodeMap, this.nodeMap())));
    t.set(Opcode.GET_NODES_FILE, () => {
      try {
        const text = readFileSync(d.opts.config.cluster.nodesList, 'utf8');
        const nodes = parseNodesFile(text, d.opts.config.cluster.nodesList);
        const map: NodeMap = { nodes: nodes.map((n) => ({
          pnn: n.pnn, flags: n.deleted ? NodeFlag.DELETED : 0,
          addr: { ...sockAddrFromText(n.address.includes(':') ? `[${n.address}]:${CTDB_PORT}` : `${n.address}:${CTDB_PORT}`) },
        })) };
        return ok(writeAll(encodeNodeMap, map));
      } catch (err) { return fail((err as Error).message); }
    });
    t.set(Opcode.GET_RECLOCK_FILE, () => ok(d.opts.config.cluster.clusterLock ? cstr(d.opts.config.cluster.clusterLock) : Buffer.alloc(0)));
    t.set(Opcode.STOP_NODE, () => { d.setOwnFlags(d.membership.ownFlags | NodeFlag.STOPPED); return ok(); });
    t.set(Opcode.CONTINUE_NODE, () => { d.setOwnFlags(d.membership.ownFlags & ~NodeFlag.STOPPED); return ok(); });
    t.set(Opcode.DISABLE_NODE, () => { d.setOwnFlags(d.membership.ownFlags | NodeFlag.PERMANENTLY_DISABLED); return ok(); });
    t.set(Opcode.ENABLE_NODE, () => { d.setOwnFlags(d.membership.ownFlags & ~NodeFlag.PERMANENTLY_DISABLED); return ok(); });
    t.set(Opcode.SET_LMASTERROLE, (req) => {
      needLen(req, 4);
      d.capabilities = req.data.readUInt32LE(0) ? d.capabilities | 0x2 : d.capabilities & ~0x2;
      return ok();
    });
    t.set(Opcode.SET_RECMASTERROLE, (req) => {
      needLen(req, 4);
      const on = req.data.readUInt32LE(0) !== 0;
      d.capabilities = on ? d.capabilities | 0x1 : d.capabilities & ~0x1;
      d.election.capable = on;
      return ok();
    });
    t.set(Opcode.SET_BAN_STATE, (req) => {
      const b = decodeBanState(new Reader(req.data));
      if (b.pnn !== d.pnn) return fail(`ban state for node ${b.pnn} sent to node ${d.pnn}`);
      d.setBan(b.time);
      return ok();
    });
    t.set(Opcode.GET_BAN_STATE, () => ok(writeAll(encodeBanState, {
      pnn: d.pnn, time: d.banUntil ? Math.max(0, Math.ceil((d.banUntil - Date.now()) / 1000)) : 0,
    })));
    t.set(Opcode.GET_RUNSTATE, () => ok(u32(d.runstate)));
    t.set(Opcode.CHECK_PID_SRVID, (req) => {
      const ps = decodePidSrvid(new Reader(req.data));
      return { status: d.clients.byPid(ps.pid).some((c) => c.srvids.has(ps.srvid)) ? 0 : -1 };
    });
    t.set(Opcode.GET_PUBLIC_IPS, () => ok(writeAll(encodePublicIpList, { ips: [] })));
    t.set(Opcode.GET_IFACES, () => ok(writeAll(encodeIfaceList, { ifaces: [] })));
    t.set(Opcode.ECHO_DATA, (req) => {
      const e = decodeEchoData(new Reader(req.data));
      return new Promise((resolve) => setTimeout(() => resolve(ok(writeAll(encodeEchoData, e))), Math.min(e.timeout, 60) * 1000));
    });
    t.set(Opcode.STARTUP, () => ok());
    t.set(Opcode.RECD_PING, () => ok());
    t.set(Opcode.GET_DB_SEQNUM, () => fail());
  }

  /** Adds or replaces the handler for one opcode. */
  register(opcode: number, h: ControlHandler): void { this.table.set(opcode, h); }

  private statistics() {
    const d = this.d;
    return d.stats.snapshot({
      numClients: d.clients.clients.size, frozen: d.databases.list().some((db) => db.frozen) ? 1 : 0,
      recovering: d.inRecovery ? 1 : 0, memoryUsed: process.memoryUsage().heapUsed, clientPacketsSent: ClientConn.sent,
    });
  }

  /** This node's view of every node. */
  nodeMap(): NodeMap {
    const d = this.d;
    return {
      nodes: d.membership.list().map((n) => ({
        pnn: n.pnn,
        flags: d.membership.flagsOf(n.pnn),
        addr: sockAddrFromText(n.address.includes(':') ? `[${n.address}]:${CTDB_PORT}` : `${n.address}:${CTDB_PORT}`),
      })),
    };
  }

  /** Runs one control; never throws. */
  async handle(req: ReqControl, client: ClientConn | undefined): Promise<ControlReply> {
    const h = this.table.get(req.opcode);
    if (!h) {
      this.d.log.debug({ opcode: req.opcode }, 'unknown or unsupported control');
      return fail();
    }
    try {
      return await h(req, client);
    } catch (err) {
      this.d.log.warn({ opcode: req.opcode, err }, 'control failed');
      return fail();
    }
  }
}

function pidAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM'; }
}

export { Pnn, RunState };
