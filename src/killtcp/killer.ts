/**
 * Resets TCP connections on the local node: tickle ACKs from each client to
 * the server, the server's answer captured on the interface, an RST with the
 * right sequence number sent back in the client's name.
 */
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { logger } from '../common/log.js';
import type { Connection } from './connections.js';
import { buildSegment, parseCaptured, type SegmentSpec } from './packet.js';
import { CaptureSocket, RawSender } from './raw-socket.js';
import { DEFAULT_LIMITS, KillTable, type KillLimits, type KillStats } from './table.js';

/** Options for killConnections. */
export interface KillOptions {
  /** Interface the server's answers leave by (where to capture). */
  iface: string;
  /** Overrides of the retry limits (defaults: DEFAULT_LIMITS). */
  limits?: Partial<KillLimits>;
  /** Capture receive buffer in bytes (default 32 MiB). */
  rcvbufBytes?: number;
}

/** What happened. */
export interface KillResult {
  /** Distinct connections asked for. */
  requested: number;
  /** Connections that were answered and sent an RST. */
  reset: number;
  /** Connections never answered within the limits. */
  notReset: Connection[];
  rounds: number;
  elapsedMs: number;
  stats: KillStats;
}

/** Packets sent between two drains of the capture socket, so its buffer never fills. */
const SEND_SLICE = 256;
/** Frames read per drain before giving other work a turn. */
const DRAIN_LIMIT = 8192;

/**
 * Resets `connections` (duplicates are merged) and resolves when every one
 * was reset or the retry limits ran out. Throws CtdbError ENODEV for an
 * unknown interface and EPERM/EACCES without raw-socket privilege.
 */
export async function killConnections(connections: readonly Connection[], opts: KillOptions): Promise<KillResult> {
  const log = logger('killtcp', { iface: opts.iface });
  const started = performance.now();
  const limits: KillLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const table = new KillTable(limits);
  for (const c of connections) table.add(c);
  const requested = table.remaining;
  const now = (): number => performance.now() - started;

  // Capture first: an answer that comes before we listen is lost.
  const capture = CaptureSocket.open(opts.iface, opts.rcvbufBytes);
  const sender = new RawSender();
  const unsent: SegmentSpec[] = [];
  let sendErrors = 0;
  const send = (spec: SegmentSpec): void => {
    try {
      if (!sender.send(buildSegment(spec), spec.dst.address, spec.dst.family) && spec.rst) unsent.push(spec);
    } catch (err) {
      // One unroutable address must not stop the others; its connection stays unreset.
      if (sendErrors++ < 10) log.warn({ err, to: spec.dst.address }, 'send failed');
    }
  };
  const drain = (): void => {
    for (const rst of unsent.splice(0)) send(rst);
    for (let i = 0; i < DRAIN_LIMIT; i++) {
      const frame = capture.read();
      if (!frame) return;
      const seg = parseCaptured(frame.data, frame.length);
      if (!seg) continue;
      const rst = table.onCaptured(seg);
      if (rst) send(rst);
    }
  };
  try {
    for (const c of connections) sender.prepare(c.client.family);
    log.info({ connections: requested }, 'killing connections');
    while (!table.isFinished(now())) {
      const tickles = table.startRound(now());
      for (let i = 0; i < tickles.length; i += SEND_SLICE) {
        for (const t of tickles.slice(i, i + SEND_SLICE)) send(t);
        drain();
        if (i + SEND_SLICE < tickles.length) await yieldToLoop();
      }
      if (tickles.length > 0) log.debug({ round: table.roundsDone, sent: tickles.length, left: table.remaining }, 'round');
      drain();
      if (table.isFinished(now())) break;
      const until = Math.min(table.nextRoundAt(), now() + limits.roundIntervalMs);
      const waitMs = until - now();
      if (waitMs > 0) await capture.wait(waitMs);
      drain();
    }
    // RSTs the kernel had no room for on the last pass.
    for (let i = 0; i < 10 && unsent.length > 0; i++) { drain(); await yieldToLoop(); }
  } finally {
    capture.close();
    sender.close();
  }
  const result: KillResult = {
    requested,
    reset: table.stats.resets,
    notReset: table.pending(),
    rounds: table.roundsDone,
    elapsedMs: performance.now() - started,
    stats: { ...table.stats },
  };
  log.info({ reset: result.reset, notReset: result.notReset.length, rounds: result.rounds, sendErrors }, 'done');
  return result;
}
