/**
 * One takeover run, as the leader's ctdb_takeover_helper performs it: read
 * tunables and the nodemap, collect known and available public IPs from the
 * nodes, allocate, then in lock-step start-ipreallocate → release on every
 * non-owner → take on owners → ipreallocated. Talks to the daemons only
 * through an injected control function (the client protocol in the helper).
 */
import { ipFamily } from '../common/address.js';
import { CtdbError } from '../common/errors.js';
import { allocateIpsWithWarnings, mergePublicIps, NO_OWNER, type ReportedIp } from '../ipalloc/index.js';
import { Reader, writeAll } from '../protocol/buffer.js';
import { ControlFlag, NodeFlag } from '../protocol/constants.js';
import { Opcode } from '../protocol/opcodes.js';
import { decodeNodeMap, decodePublicIpList, encodePublicIp } from '../protocol/payloads.js';

/** START_IPREALLOCATE (post-4.17 opcode); nodes that do not know it are not counted as failing. */
const OPCODE_START_IPREALLOCATE = 161;
const UNKNOWN_PNN = 0xffffffff;

/** Result of one control as the run sees it. */
export interface RunControlResult { status: number; data: Buffer; errmsg: string }

/** How the run reaches the daemons. */
export interface TakeoverIo {
  /** Sends a control to node `pnn`; rejects on transport errors or timeout. */
  control(pnn: number, opcode: number, data: Buffer, opts: { flags?: number; timeoutMs: number }): Promise<RunControlResult>;
  /** Reads a tunable from the local node (undefined when unknown). */
  tunable(name: string): Promise<number | undefined>;
  /** The local node's PNN. */
  readonly myPnn: number;
}

/** Options of one run. */
export interface TakeoverOptions {
  /** PNNs to rebalance onto (LCP2). */
  forceRebalance?: readonly number[];
  /** `[failover] disabled`: only the ipreallocated phase runs. */
  failoverDisabled?: boolean;
  /** Called with progress notes (phase, moves). */
  note?: (msg: string, fields?: Record<string, unknown>) => void;
}

/** What a run did. */
export interface TakeoverResult {
  ok: boolean;
  /** Failed controls per PNN (ban credits). */
  failures: Map<number, number>;
  /** The node with most failures (lowest PNN on ties), when any failed. */
  culprit?: number;
  /** Final owners: address → PNN (-1 unassigned). */
  owners: Map<string, number>;
  errors: string[];
}

/** Runs one takeover run. Never throws for node failures (they are in the result); throws on local failures. */
export async function runTakeover(io: TakeoverIo, opts: TakeoverOptions = {}): Promise<TakeoverResult> {
  const note = opts.note ?? (() => {});
  const timeoutMs = Math.max(1, (await io.tunable('TakeoverTimeout')) ?? 9) * 1000;
  const failures = new Map<number, number>();
  const errors: string[] = [];
  const owners = new Map<string, number>();
  const failed = (pnn: number, what: string): void => {
    failures.set(pnn, (failures.get(pnn) ?? 0) + 1);
    errors.push(`node ${pnn}: ${what}`);
  };
  const call = async (pnn: number, opcode: number, data: Buffer, what: string, flags = 0, tms = timeoutMs): Promise<RunControlResult | undefined> => {
    try {
      const r = await io.control(pnn, opcode, data, { flags, timeoutMs: tms });
      if (r.status !== 0) { failed(pnn, `${what} failed: ${r.errmsg || `status ${r.status}`}`); return undefined; }
      return r;
    } catch (err) {
      failed(pnn, `${what} failed: ${(err as Error).message}`);
      return undefined;
    }
  };

  const nm = await io.control(io.myPnn, Opcode.GET_NODEMAP, Buffer.alloc(0), { timeoutMs });
  if (nm.status !== 0) throw new CtdbError('EIO', `cannot read the nodemap: ${nm.errmsg}`);
  const nodes = decodeNodeMap(new Reader(nm.data)).nodes;
  const connected = nodes.filter((n) => (n.flags & (NodeFlag.DISCONNECTED | NodeFlag.DELETED)) === 0).map((n) => n.pnn);
  const active = new Set(nodes.filter((n) => (n.flags & NodeFlag.INACTIVE) === 0).map((n) => n.pnn));
  const finish = async (): Promise<TakeoverResult> => {
    note('ipreallocated phase');
    await Promise.all(connected.map((p) => call(p, Opcode.IPREALLOCATED, Buffer.alloc(0), 'IPREALLOCATED')));
    let culprit: number | undefined;
    for (const [p, n] of failures) if (culprit === undefined || n > failures.get(culprit)! || (n === failures.get(culprit) && p < culprit)) culprit = p;
    return { ok: failures.size === 0, failures, culprit, owners, errors };
  };
  if (opts.failoverDisabled) return finish();

  // Known and available addresses.
  const known: ReportedIp[][] = [];
  const available: ReportedIp[][] = [];
  const toReported = (d: Buffer): ReportedIp[] => decodePublicIpList(new Reader(d)).ips.map((i) => ({ ip: i.addr.address, pnn: i.pnn }));
  await Promise.all(connected.map(async (p) => {
    const r = await call(p, Opcode.GET_PUBLIC_IPS, Buffer.alloc(0), 'GET_PUBLIC_IPS');
    if (r) known[p] = toReported(r.data);
  }));
  if (failures.size > 0) return { ...(await finish()), ok: false };
  await Promise.all(connected.filter((p) => active.has(p) && (known[p]?.length ?? 0) > 0).map(async (p) => {
    const r = await call(p, Opcode.GET_PUBLIC_IPS, Buffer.alloc(0), 'GET_PUBLIC_IPS (available)', ControlFlag.GET_PUBLIC_IPS_AVAILABLE);
    if (r) available[p] = toReported(r.data);
  }));
  if (failures.size > 0) return { ...(await finish()), ok: false };
  const merged = mergePublicIps(known, available);
  if (merged.length === 0) return finish();

  const tunables = {
    IPAllocAlgorithm: (await io.tunable('IPAllocAlgorithm')) ?? 2,
    NoIPTakeover: ((await io.tunable('NoIPTakeover')) ?? 0) !== 0,
    NoIPFailback: ((await io.tunable('NoIPFailback')) ?? 0) !== 0,
  };
  const alloc = allocateIpsWithWarnings({
    nodes: Array.from({ length: Math.max(0, ...nodes.map((n) => n.pnn + 1)) }, (_, pnn) => ({ flags: nodes.find((n) => n.pnn === pnn)?.flags ?? NodeFlag.DELETED })),
    ips: merged, tunables, forceRebalanceNodes: opts.forceRebalance,
  });
  for (const w of alloc.warnings) note(w);
  for (const [ip, p] of alloc.owners) owners.set(ip, p);

  const deadline = Date.now() + 3 * timeoutMs;
  const left = (): number => Math.max(1, deadline - Date.now());
  const payload = (ip: string, pnn: number): Buffer =>
    writeAll(encodePublicIp, { pnn: pnn === NO_OWNER ? UNKNOWN_PNN : pnn, addr: { family: ipFamily(ip), address: ip, port: 0 } });

  note('startipreallocate phase');
  await Promise.all(connected.map(async (p) => {
    // Nodes that predate START_IPREALLOCATE answer -1: not a failure.
    await io.control(p, OPCODE_START_IPREALLOCATE, Buffer.alloc(0), { timeoutMs: left() }).catch(() => undefined);
  }));

  note('release phase');
  const releases: Promise<unknown>[] = [];
  for (const m of merged) {
    const owner = owners.get(m.ip) ?? NO_OWNER;
    for (const p of m.knownOn ?? []) {
      if (p === owner || !connected.includes(p)) continue;
      releases.push(call(p, Opcode.RELEASE_IP, payload(m.ip, owner), `RELEASE_IP ${m.ip}`, 0, left()));
    }
  }
  await Promise.all(releases);
  if (failures.size > 0) return { ...(await finish()), ok: false };

  note('takeover phase');
  const takes: Promise<unknown>[] = [];
  for (const m of merged) {
    const owner = owners.get(m.ip) ?? NO_OWNER;
    if (owner === NO_OWNER) continue;
    if (m.owner !== owner) note('moving public ip', { ip: m.ip, from: m.owner, to: owner });
    takes.push(call(owner, Opcode.TAKEOVER_IP, payload(m.ip, owner), `TAKEOVER_IP ${m.ip}`, 0, left()));
  }
  await Promise.all(takes);
  return finish();
}
