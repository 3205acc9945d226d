/**
 * Daemon and database statistics (exact 64-bit C layouts, spec §4a) (spec/wire-protocol.md §4).
 * Contract for every pair here: `encodeX(w, v)` appends X's exact wire layout
 * (little-endian, 64-bit padding written as zeros); `decodeX(r)` reads it,
 * ignores padding contents, and throws CtdbError EMSGSIZE when the input is
 * short or EINVAL when a field is invalid (bad bool, family, count or length).
 */
import { CtdbError } from '../common/errors.js';
import type { Reader, Writer } from './buffer.js';
import { decodeTimeval, encodeTimeval, type Timeval } from './sock-addr.js';
import { readArray } from './types.js';

/** Latency counter: samples and min/max/total seconds (32 bytes with pad). */
export interface LatencyCounter { num: number; min: number; max: number; total: number }
export const encodeLatencyCounter = (w: Writer, v: LatencyCounter): void => {
  w.i32(v.num).zeros(4).f64(v.min).f64(v.max).f64(v.total);
};
export const decodeLatencyCounter = (r: Reader): LatencyCounter => {
  const num = r.i32(); r.skip(4);
  return { num, min: r.f64(), max: r.f64(), total: r.f64() };
};

/** Buckets in the lock-wait and hop-count histograms. */
export const STAT_BUCKETS = 16;
/** Bytes of one marshalled Statistics. */
export const STATISTICS_SIZE = 488;

/** Lock statistics shared by Statistics and DbStatistics. */
export interface LockStats {
  numCalls: number; numCurrent: number; numPending: number; numFailed: number;
  latency: LatencyCounter; buckets: number[];
}
const encodeLocks = (w: Writer, v: LockStats): void => {
  w.u32(v.numCalls).u32(v.numCurrent).u32(v.numPending).u32(v.numFailed);
  encodeLatencyCounter(w, v.latency); encodeBuckets(w, v.buckets);
};
const decodeLocks = (r: Reader): LockStats => ({
  numCalls: r.u32(), numCurrent: r.u32(), numPending: r.u32(), numFailed: r.u32(),
  latency: decodeLatencyCounter(r), buckets: decodeBuckets(r),
});
function encodeBuckets(w: Writer, b: number[]): void {
  if (b.length !== STAT_BUCKETS) throw new CtdbError('EINVAL', `need ${STAT_BUCKETS} buckets, got ${b.length}`);
  b.forEach((x) => w.u32(x));
}
const decodeBuckets = (r: Reader): number[] => readArray(r, STAT_BUCKETS, (x) => x.u32());

/** Daemon-wide counters (STATISTICS reply, GET_STAT_HISTORY elements); exact 488-byte layout. */
export interface Statistics {
  numClients: number; frozen: number; recovering: number;
  clientPacketsSent: number; clientPacketsRecv: number;
  nodePacketsSent: number; nodePacketsRecv: number;
  keepalivePacketsSent: number; keepalivePacketsRecv: number;
  node: {
    reqCall: number; replyCall: number; reqDmaster: number; replyDmaster: number; replyError: number;
    reqMessage: number; reqControl: number; replyControl: number; reqTunnel: number;
  };
  client: { reqCall: number; reqMessage: number; reqControl: number; reqTunnel: number };
  timeouts: { call: number; control: number; traverse: number };
  reclock: { ctdbd: LatencyCounter; recd: LatencyCounter };
  locks: LockStats;
  totalCalls: number; pendingCalls: number; childwriteCalls: number; pendingChildwriteCalls: number;
  memoryUsed: number;
  /** A counter the daemon no longer updates (kept for layout). */
  unused: number;
  maxHopCount: number;
  hopCountBucket: number[];
  callLatency: LatencyCounter; childwriteLatency: LatencyCounter;
  numRecoveries: number;
  statisticsStartTime: Timeval; statisticsCurrentTime: Timeval;
  totalRoDelegations: number; totalRoRevokes: number;
}

export function encodeStatistics(w: Writer, v: Statistics): void {
  w.u32(v.numClients).u32(v.frozen).u32(v.recovering).u32(v.clientPacketsSent).u32(v.clientPacketsRecv)
    .u32(v.nodePacketsSent).u32(v.nodePacketsRecv).u32(v.keepalivePacketsSent).u32(v.keepalivePacketsRecv);
  const n = v.node;
  w.u32(n.reqCall).u32(n.replyCall).u32(n.reqDmaster).u32(n.replyDmaster).u32(n.replyError)
    .u32(n.reqMessage).u32(n.reqControl).u32(n.replyControl).u32(n.reqTunnel);
  const c = v.client;
  w.u32(c.reqCall).u32(c.reqMessage).u32(c.reqControl).u32(c.reqTunnel);
  w.u32(v.timeouts.call).u32(v.timeouts.control).u32(v.timeouts.traverse).zeros(4);
  encodeLatencyCounter(w, v.reclock.ctdbd); encodeLatencyCounter(w, v.reclock.recd);
  encodeLocks(w, v.locks);
  w.u32(v.totalCalls).u32(v.pendingCalls).u32(v.childwriteCalls).u32(v.pendingChildwriteCalls)
    .u32(v.memoryUsed).u32(v.unused).u32(v.maxHopCount);
  encodeBuckets(w, v.hopCountBucket);
  w.zeros(4);
  encodeLatencyCounter(w, v.callLatency); encodeLatencyCounter(w, v.childwriteLatency);
  w.u32(v.numRecoveries).zeros(4);
  encodeTimeval(w, v.statisticsStartTime); encodeTimeval(w, v.statisticsCurrentTime);
  w.u32(v.totalRoDelegations).u32(v.totalRoRevokes);
}

export function decodeStatistics(r: Reader): Statistics {
  const u = (): number => r.u32();
  const head = {
    numClients: u(), frozen: u(), recovering: u(), clientPacketsSent: u(), clientPacketsRecv: u(),
    nodePacketsSent: u(), nodePacketsRecv: u(), keepalivePacketsSent: u(), keepalivePacketsRecv: u(),
  };
  const node = {
    reqCall: u(), replyCall: u(), reqDmaster: u(), replyDmaster: u(), replyError: u(),
    reqMessage: u(), reqControl: u(), replyControl: u(), reqTunnel: u(),
  };
  const client = { reqCall: u(), reqMessage: u(), reqControl: u(), reqTunnel: u() };
  const timeouts = { call: u(), control: u(), traverse: u() };
  r.skip(4);
  const reclock = { ctdbd: decodeLatencyCounter(r), recd: decodeLatencyCounter(r) };
  const locks = decodeLocks(r);
  const mid = {
    totalCalls: u(), pendingCalls: u(), childwriteCalls: u(), pendingChildwriteCalls: u(),
    memoryUsed: u(), unused: u(), maxHopCount: u(),
  };
  const hopCountBucket = decodeBuckets(r);
  r.skip(4);
  const callLatency = decodeLatencyCounter(r); const childwriteLatency = decodeLatencyCounter(r);
  const numRecoveries = u(); r.skip(4);
  const statisticsStartTime = decodeTimeval(r); const statisticsCurrentTime = decodeTimeval(r);
  return {
    ...head, node, client, timeouts, reclock, locks, ...mid, hopCountBucket, callLatency,
    childwriteLatency, numRecoveries, statisticsStartTime, statisticsCurrentTime,
    totalRoDelegations: u(), totalRoRevokes: u(),
  };
}

/** GET_STAT_HISTORY reply: u32 count, pad4, statistics. */
export interface StatHistory { stats: Statistics[] }
export const encodeStatHistory = (w: Writer, v: StatHistory): void => {
  w.u32(v.stats.length).zeros(4); v.stats.forEach((s) => encodeStatistics(w, s));
};
export const decodeStatHistory = (r: Reader): StatHistory => {
  const n = r.u32(); r.skip(4);
  if (n * STATISTICS_SIZE > r.remaining) throw new CtdbError('EMSGSIZE', `stat history count ${n} exceeds ${r.remaining} bytes`);
  return { stats: readArray(r, n, decodeStatistics) };
};

/** Hot-key slots in db_statistics (fixed by the layout). */
export const MAX_HOT_KEYS = 10;
/** One hot-key slot: migration count and key (empty key = unused slot). */
export interface HotKey { count: number; key: Buffer }

/**
 * Per-database counters (GET_DB_STATISTICS reply). `hotKeys` always holds the
 * 10 slots on decode; encode pads a shorter list with empty slots. The slots'
 * key pointers (sender memory addresses) are ignored on decode, written as 0.
 */
export interface DbStatistics {
  locks: LockStats;
  vacuum: { latency: LatencyCounter };
  dbRoDelegations: number; dbRoRevokes: number;
  hopCountBucket: number[];
  numHotKeys: number;
  hotKeys: HotKey[];
}

export function encodeDbStatistics(w: Writer, v: DbStatistics): void {
  if (v.hotKeys.length > MAX_HOT_KEYS) throw new CtdbError('EINVAL', `at most ${MAX_HOT_KEYS} hot keys`);
  encodeLocks(w, v.locks);
  encodeLatencyCounter(w, v.vacuum.latency);
  w.u32(v.dbRoDelegations).u32(v.dbRoRevokes);
  encodeBuckets(w, v.hopCountBucket);
  w.u32(v.numHotKeys).zeros(4);
  const slots = [...v.hotKeys];
  while (slots.length < MAX_HOT_KEYS) slots.push({ count: 0, key: Buffer.alloc(0) });
  slots.forEach((s) => { w.u32(s.count).zeros(4).u64(0).u64(s.key.length); });
  slots.forEach((s) => w.bytes(s.key));
}

export function decodeDbStatistics(r: Reader): DbStatistics {
  const locks = decodeLocks(r);
  const vacuum = { latency: decodeLatencyCounter(r) };
  const dbRoDelegations = r.u32(); const dbRoRevokes = r.u32();
  const hopCountBucket = decodeBuckets(r);
  const numHotKeys = r.u32(); r.skip(4);
  const lens: { count: number; len: number }[] = [];
  for (let i = 0; i < MAX_HOT_KEYS; i++) {
    const count = r.u32(); r.skip(4 + 8);
    const len = r.u64();
    if (len > BigInt(r.remaining)) throw new CtdbError('EMSGSIZE', `hot key length ${len} exceeds data`);
    lens.push({ count, len: Number(len) });
  }
  const hotKeys = lens.map(({ count, len }) => ({ count, key: r.bytes(len) }));
  return { locks, vacuum, dbRoDelegations, dbRoRevokes, hopCountBucket, numHotKeys, hotKeys };
}
