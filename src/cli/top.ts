/**
 * `ctdb top`: a live view of the cluster from one node — nodes and flags,
 * leader, recovery mode and generation, public IPs and owners, and that
 * node's last monitor event — refreshed every second. Rendering is pure;
 * collection talks to ctdbd and ctdb-eventd and never throws.
 */
import { CtdbClient } from '../client/client.js';
import { deregisterSrvid, getNodemap, getPnn, getRecmode, getVnnmap, registerSrvid } from '../client/controls.js';
import { getPublicIps } from '../client/ip.js';
import { EventdClient, type ScriptStatus } from '../eventd/client.js';
import { NodeFlag, Pnn, RecMode, Srvid } from '../protocol/constants.js';
import { formatFlags, padRight } from './format.js';

/** One node row of the view. */
export interface TopNode { pnn: number; address: string; flags: number }

/** Everything one frame shows. */
export interface TopSnapshot {
  /** When it was taken (ms since the epoch). */
  at: number;
  /** The node the view is taken from. */
  pnn: number;
  nodes: TopNode[];
  /** Leader PNN, or Pnn.UNKNOWN when no leader broadcast was seen lately. */
  leader: number;
  recmode?: number;
  generation?: number;
  ips: Array<{ address: string; pnn: number }>;
  monitor?: { result: number; found: boolean; scripts: ScriptStatus[] };
  /** Problems reaching the daemons (shown, never thrown). */
  errors: string[];
}

const UNKNOWN_PNN = 0xffffffff;

/** `5s ago`, `2m ago`. */
const ago = (ms: number): string => (ms < 60_000 ? `${Math.max(0, Math.round(ms / 1000))}s ago` : `${Math.round(ms / 60_000)}m ago`);

/** Result word of one monitor script. */
export function scriptResult(s: ScriptStatus): string {
  if (s.result === 0) return 'OK';
  if (s.result === -110) return 'TIMEDOUT';
  if (s.result === -8) return 'DISABLED';
  if (s.result > 0) return `ERROR(${s.result})`;
  return `CANNOT RUN(${-s.result})`;
}

/** Renders one frame as plain lines (no escape codes), at most `width` columns. */
export function renderTop(s: TopSnapshot, width = 80): string {
  const out: string[] = [];
  const clip = (l: string): string => (l.length > width ? l.slice(0, width) : l);
  const time = new Date(s.at).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  out.push(`ctdb top - node ${s.pnn} - ${time}`);
  const rec = s.recmode === undefined ? '?' : s.recmode === RecMode.NORMAL ? 'NORMAL' : 'RECOVERY';
  const gen = s.generation === undefined ? '?' : s.generation === 1 ? 'INVALID' : String(s.generation);
  const leader = s.leader === Pnn.UNKNOWN || s.leader === UNKNOWN_PNN ? 'UNKNOWN' : String(s.leader);
  out.push(`Leader: ${leader}   Recovery mode: ${rec}   Generation: ${gen}`);
  const live = s.nodes.filter((n) => !(n.flags & NodeFlag.DELETED));
  const ok = live.filter((n) => n.flags === 0).length;
  out.push('');
  out.push(`Nodes: ${live.length} (${ok} OK)`);
  out.push(`  ${padRight('PNN', 4)} ${padRight('ADDRESS', 16)} ${padRight('STATE', 28)} IPS`);
  for (const n of live) {
    const owned = s.ips.filter((i) => i.pnn === n.pnn).length;
    const marks = `${n.pnn === s.leader ? ' leader' : ''}${n.pnn === s.pnn ? ' (this node)' : ''}`;
    out.push(`  ${padRight(String(n.pnn), 4)} ${padRight(n.address, 16)} ${padRight(formatFlags(n.flags) + marks, 28)} ${owned}`);
  }
  out.push('');
  if (s.ips.length === 0) out.push('Public IPs: none');
  else {
    out.push(`Public IPs: ${s.ips.length}`);
    for (const i of [...s.ips].sort((a, b) => a.address.localeCompare(b.address, 'en', { numeric: true }))) {
      out.push(`  ${padRight(i.address, 40)} ${i.pnn === UNKNOWN_PNN || i.pnn === -1 ? 'unassigned' : `node ${i.pnn}`}`);
    }
  }
  out.push('');
  if (!s.monitor) out.push('Monitor (this node): unavailable');
  else if (!s.monitor.found) out.push('Monitor (this node): has not run yet');
  else {
    const last = s.monitor.scripts.reduce((m, x) => Math.max(m, x.end.sec * 1000 + x.end.usec / 1000), 0);
    out.push(`Monitor (this node): ${s.monitor.result === 0 ? 'OK' : `FAILED (${s.monitor.result})`}${last ? `, ${ago(s.at - last)}` : ''}`);
    for (const sc of s.monitor.scripts) {
      const line = `  ${padRight(sc.name, 24)} ${padRight(scriptResult(sc), 12)}`;
      const text = sc.result !== 0 && sc.output.trim() !== '' ? ` ${sc.output.trim().split('\n')[0]}` : '';
      out.push(line + text);
    }
  }
  for (const e of s.errors) out.push(`! ${e}`);
  return out.map(clip).join('\n') + '\n';
}

/** Collects snapshots over a long-lived connection, reconnecting when ctdbd goes away. */
export class TopCollector {
  private client?: CtdbClient;
  private leader = UNKNOWN_PNN;
  private leaderAt = 0;
  private myPnn = UNKNOWN_PNN;
  private leaderSeen?: () => void;

  constructor(private readonly socket: string, private readonly eventdSocket: string,
    private readonly target: number | undefined, private readonly timeoutMs: number) {}

  private async connect(): Promise<CtdbClient> {
    if (this.client && !(this.client as unknown as { closed?: boolean }).closed) return this.client;
    const c = await CtdbClient.connect(this.socket, this.timeoutMs);
    c.onMessage(Srvid.LEADER, (_s, data) => {
      if (data.length >= 4) { this.leader = data.readUInt32LE(0); this.leaderAt = Date.now(); this.leaderSeen?.(); }
    });
    await registerSrvid(c, Srvid.LEADER, { timeoutMs: this.timeoutMs });
    this.myPnn = await getPnn(c, Pnn.CURRENT, { timeoutMs: this.timeoutMs });
    this.client = c;
    return c;
  }

  /** One snapshot; problems become `errors` lines. */
  async collect(): Promise<TopSnapshot> {
    const at = Date.now();
    const snap: TopSnapshot = { at, pnn: this.target ?? -1, nodes: [], leader: UNKNOWN_PNN, ips: [], errors: [] };
    const o = { timeoutMs: this.timeoutMs };
    try {
      const c = await this.connect();
      const t = this.target ?? Pnn.CURRENT;
      const nm = await getNodemap(c, t, o);
      snap.pnn = this.target ?? this.myPnn;
      snap.nodes = nm.nodes.map((n) => ({ pnn: n.pnn, address: n.addr.address, flags: n.flags }));
      const [vm, rm, ips] = await Promise.all([
        getVnnmap(c, t, o).catch(() => undefined), getRecmode(c, t, o).catch(() => undefined),
        getPublicIps(c, t, false, o).catch(() => []),
      ]);
      snap.generation = vm?.generation;
      snap.recmode = rm;
      snap.ips = ips.map((i) => ({ address: i.addr.address, pnn: i.pnn }));
    } catch (err) {
      snap.errors.push(`ctdbd: ${(err as Error).message.split('\n')[0]}`);
      this.drop();
    }
    if (this.leaderAt === 0 && this.client) {
      // The first frame waits (briefly) for the leader's next announcement.
      await new Promise<void>((r) => { const t = setTimeout(r, 3000); this.leaderSeen = () => { clearTimeout(t); r(); }; });
      this.leaderSeen = undefined;
    }
    // A leader is announced every few seconds; older news is no news.
    if (at - this.leaderAt < 6000) snap.leader = this.leader;
    if (this.target === undefined || this.target === snap.pnn) {
      try {
        const ev = await EventdClient.connect(this.eventdSocket, o);
        try { snap.monitor = await ev.status('legacy', 'monitor'); } finally { ev.close(); }
      } catch (err) {
        snap.errors.push(`ctdb-eventd: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    return snap;
  }

  private drop(): void {
    const c = this.client;
    this.client = undefined;
    if (c) { c.offMessage(Srvid.LEADER); c.close(); }
  }

  close(): void {
    const c = this.client;
    if (c) void deregisterSrvid(c, Srvid.LEADER, { timeoutMs: 1000 }).catch(() => {}).finally(() => this.drop());
  }
}

/** Options of the live loop. */
export interface TopLoopOptions {
  /** Frames to draw; undefined = until `q` or a signal. */
  count?: number;
  intervalMs: number;
  out: NodeJS.WriteStream | { write(s: string): boolean; isTTY?: boolean; columns?: number };
  input?: NodeJS.ReadStream;
}

/**
 * Draws frames until `count` is reached, `q`/Ctrl-C is pressed or SIGINT/
 * SIGTERM arrives. On a terminal each frame replaces the screen; otherwise
 * frames are printed one after another, separated by a blank line.
 */
export async function runTop(col: TopCollector, o: TopLoopOptions): Promise<number> {
  const tty = o.out.isTTY === true;
  let stop = false;
  let wake: () => void = () => {};
  const quit = (): void => { stop = true; wake(); };
  const onKey = (d: Buffer): void => { if (d.includes(0x71) || d.includes(0x03)) quit(); };
  const input = tty ? o.input : undefined;
  if (input?.isTTY) { input.setRawMode(true); input.on('data', onKey); input.resume(); }
  process.on('SIGINT', quit);
  process.on('SIGTERM', quit);
  if (tty) o.out.write('\x1b[?25l');
  try {
    for (let i = 0; !stop && (o.count === undefined || i < o.count); i++) {
      const frame = renderTop(await col.collect(), tty ? (o.out.columns ?? 80) : 200);
      if (tty) o.out.write(`\x1b[H\x1b[2J${frame}${o.count === undefined ? '\n(q to quit)' : ''}`);
      else o.out.write(i === 0 ? frame : `\n${frame}`);
      if (o.count !== undefined && i + 1 >= o.count) break;
      await new Promise<void>((r) => { const t = setTimeout(r, o.intervalMs); wake = () => { clearTimeout(t); r(); }; });
    }
  } finally {
    process.off('SIGINT', quit);
    process.off('SIGTERM', quit);
    if (input?.isTTY) { input.off('data', onKey); input.setRawMode(false); input.pause(); }
    if (tty) o.out.write('\x1b[?25h\n');
    col.close();
  }
  return 0;
}
