import { CtdbError } from '../common/errors.js';
import type { Reader, Writer } from './buffer.js';
import * as T from './types.js';
import * as I from './ip-types.js';
import * as R from './records.js';
import * as S from './statistics.js';
import * as B from './backup.js';
import { decodeSockAddr, decodeTimeval, encodeSockAddr, encodeTimeval, type SockAddr } from './sock-addr.js';

/** An encoder/decoder pair with a representative sample value (for tests and fuzzers). */
export interface Codec<V = any> {
  name: string;
  encode: (w: Writer, v: V) => void;
  decode: (r: Reader) => V;
  sample: V;
  /** True when the decoder consumes whatever is left (so a shorter input may still be valid). */
  open?: boolean;
}

const codec = <V>(name: string, encode: (w: Writer, v: V) => void, decode: (r: Reader) => V, sample: V, open = false): Codec<V> =>
  ({ name, encode, decode, sample, open });

/** A NUL-terminated string filling the rest of the payload; zero bytes = ''. */
export const encodeCString = (w: Writer, v: string): void => { if (v !== '') w.cstring(v); };
/** Throws CtdbError EINVAL when non-empty data has no terminating NUL. */
export const decodeCString = (r: Reader): string => {
  if (r.remaining === 0) return '';
  const b = r.rest();
  const z = b.indexOf(0);
  if (z < 0) throw new CtdbError('EINVAL', 'string payload without a terminating NUL');
  return b.subarray(0, z).toString('utf8');
};

const v4 = (address: string, port = 0): SockAddr => ({ family: 'inet', address, port });
const v6 = (address: string, port = 0): SockAddr => ({ family: 'inet6', address, port });
const lat = (n: number): S.LatencyCounter => ({ num: n, min: 0.001, max: 0.5, total: 1.25 });
const buckets = (base: number): number[] => Array.from({ length: S.STAT_BUCKETS }, (_, i) => base + i);
const tv = { sec: 1732380000, usec: 123456 };

export const sampleStatistics: S.Statistics = {
  numClients: 3, frozen: 0, recovering: 0, clientPacketsSent: 10, clientPacketsRecv: 11,
  nodePacketsSent: 12, nodePacketsRecv: 13, keepalivePacketsSent: 14, keepalivePacketsRecv: 15,
  node: { reqCall: 1, replyCall: 2, reqDmaster: 3, replyDmaster: 4, replyError: 5, reqMessage: 6, reqControl: 7, replyControl: 8, reqTunnel: 9 },
  client: { reqCall: 21, reqMessage: 22, reqControl: 23, reqTunnel: 24 },
  timeouts: { call: 31, control: 32, traverse: 33 },
  reclock: { ctdbd: lat(4), recd: lat(5) },
  locks: { numCalls: 41, numCurrent: 42, numPending: 43, numFailed: 44, latency: lat(6), buckets: buckets(100) },
  totalCalls: 51, pendingCalls: 52, childwriteCalls: 53, pendingChildwriteCalls: 54, memoryUsed: 55, unused: 0, maxHopCount: 57,
  hopCountBucket: buckets(200), callLatency: lat(7), childwriteLatency: lat(8), numRecoveries: 2,
  statisticsStartTime: tv, statisticsCurrentTime: { sec: tv.sec + 60, usec: 999999 },
  totalRoDelegations: 61, totalRoRevokes: 62,
};

const sampleRecs: R.RecData[] = [
  { reqid: 0, key: Buffer.from('k1'), data: R.joinLtdb({ rsn: 7n, dmaster: 0, flags: 0x10000 }, Buffer.from('v1')) },
  { reqid: 5, key: Buffer.from('__db_sequence_number__\0'), data: Buffer.alloc(0) },
];

/** Every payload codec by type name. */
export const payloadCodecs = {
  u32: codec<number>('u32', (w, v) => { w.u32(v); }, (r) => r.u32(), 0x10120015),
  i32: codec<number>('i32', (w, v) => { w.i32(v); }, (r) => r.i32(), -22),
  u64: codec<bigint>('u64', (w, v) => { w.u64(v); }, (r) => r.u64(), 0xCE01000069730001n),
  double: codec<number>('double', (w, v) => { w.f64(v); }, (r) => r.f64(), 0.125),
  string: codec<string>('string', encodeCString, decodeCString, 'testvol.tdb', true),
  /** Raw text filling the payload, no NUL (the 4.17 DUMP_MEMORY reply). */
  text: codec<string>('text', (w, v) => { w.bytes(Buffer.from(v, 'utf8')); }, (r) => r.rest().toString('utf8'), 'null_context\n', true),
  stringn: codec<string>('stringn', (w, v) => { w.stringn(v); }, (r) => r.stringn(), 'RecoverTimeout'),
  dbIdPadded: codec<number>('dbIdPadded', (w, v) => { w.u32(v).u32(0); }, (r) => { const v = r.u32(); r.skip(4); return v; }, 0x93d4dbdc),
  timeval: codec('timeval', encodeTimeval, decodeTimeval, tv),
  sockAddr: codec('sockAddr', encodeSockAddr, decodeSockAddr, v4('127.0.0.91', 4379)),
  sockAddr6: codec('sockAddr6', encodeSockAddr, decodeSockAddr, { ...v6('fe80::1', 445), scopeId: 2 }),
  nodeMap: codec('nodeMap', T.encodeNodeMap, T.decodeNodeMap, {
    nodes: [{ pnn: 0, flags: 0, addr: v4('127.0.0.91', 4379) }, { pnn: 1, flags: 0x08, addr: v6('fd00::2', 4379) }],
  }),
  vnnMap: codec('vnnMap', T.encodeVnnMap, T.decodeVnnMap, { generation: 0x6b778522, map: [0, 1, 2] }),
  dbidMap: codec('dbidMap', T.encodeDbidMap, T.decodeDbidMap, { dbs: [{ dbId: 0x10120015, flags: 0 }, { dbId: 0x93d4dbdc, flags: 1 }] }),
  uptime: codec('uptime', T.encodeUptime, T.decodeUptime, {
    currentTime: tv, ctdbdStartTime: { sec: 1, usec: 2 }, lastRecoveryStarted: { sec: 3, usec: 4 }, lastRecoveryFinished: { sec: 5, usec: 6 },
  }),
  tunableList: codec('tunableList', T.encodeTunableList, T.decodeTunableList, { values: Array.from({ length: 62 }, (_, i) => i * 7) }),
  varList: codec('varList', T.encodeVarList, T.decodeVarList, { names: ['SeqnumInterval', 'ControlTimeout', 'AllowMixedVersions'] }),
  tunable: codec('tunable', T.encodeTunable, T.decodeTunable, { name: 'RecoverTimeout', value: 30 }),
  banState: codec('banState', T.encodeBanState, T.decodeBanState, { pnn: 1, time: 300 }),
  nodeFlagChange: codec('nodeFlagChange', T.encodeNodeFlagChange, T.decodeNodeFlagChange, { pnn: 2, newFlags: 0x20, oldFlags: 0 }),
  electionMessage: codec('electionMessage', T.encodeElectionMessage, T.decodeElectionMessage, { numConnected: 3, priorityTime: tv, pnn: 1, nodeFlags: 2 }),
  srvidMessage: codec('srvidMessage', T.encodeSrvidMessage, T.decodeSrvidMessage, { pnn: 0, srvid: 0xCE01000069730001n }),
  disableMessage: codec('disableMessage', T.encodeDisableMessage, T.decodeDisableMessage, { pnn: 0xFFFFFFFF, srvid: 0n, timeout: 60 }),
  pidSrvid: codec('pidSrvid', T.encodePidSrvid, T.decodePidSrvid, { pid: 26995, srvid: 0xBE00000000006973n }),
  echoData: codec('echoData', T.encodeEchoData, T.decodeEchoData, { timeout: 0, buf: Buffer.from('hello') }),
  notifyData: codec('notifyData', T.encodeNotifyData, T.decodeNotifyData, { srvid: 0xFE00000000000001n, data: Buffer.from([1, 2, 3]) }),
  dbVacuum: codec('dbVacuum', T.encodeDbVacuum, T.decodeDbVacuum, { dbId: 0x10120015, fullVacuumRun: true }),
  publicIp: codec('publicIp', I.encodePublicIp, I.decodePublicIp, { pnn: 0xFFFFFFFF, addr: v4('10.0.0.91') }),
  publicIpList: codec('publicIpList', I.encodePublicIpList, I.decodePublicIpList, {
    ips: [{ pnn: 0, addr: v4('10.0.0.91') }, { pnn: 2, addr: v6('2001:db8::5') }],
  }),
  iface: codec('iface', I.encodeIface, I.decodeIface, { name: 'eth0', linkState: 1, references: 2 }),
  ifaceList: codec('ifaceList', I.encodeIfaceList, I.decodeIfaceList, {
    ifaces: [{ name: 'eth0', linkState: 1, references: 2 }, { name: 'abcdefghijklmnopq', linkState: 0, references: 0 }],
  }),
  publicIpInfo: codec('publicIpInfo', I.encodePublicIpInfo, I.decodePublicIpInfo, {
    ip: { pnn: 1, addr: v4('10.0.0.92') }, activeIdx: 0, ifaces: [{ name: 'eth1', linkState: 1, references: 1 }],
  }),
  connection: codec('connection', I.encodeConnection, I.decodeConnection, { src: v4('10.0.1.33', 987), dst: v4('10.0.2.132', 2049) }),
  connectionList: codec('connectionList', I.encodeConnectionList, I.decodeConnectionList, {
    conns: [{ src: v4('10.0.1.33', 987), dst: v4('10.0.2.132', 2049) }, { src: v6('fd00::9', 40000), dst: v6('fd00::1', 445) }],
  }),
  tickleList: codec('tickleList', I.encodeTickleList, I.decodeTickleList, {
    addr: v4('10.0.2.132'), conns: [{ src: v4('10.0.1.33', 987), dst: v4('10.0.2.132', 2049) }],
  }),
  addrInfo: codec('addrInfo', I.encodeAddrInfo, I.decodeAddrInfo, { addr: v4('10.0.0.93'), mask: 24, iface: 'eth0' }),
  ltdbHeader: codec('ltdbHeader', R.encodeLtdbHeader, R.decodeLtdbHeader, { rsn: 0x1_0000_0002n, dmaster: 1, flags: 0x10000 }),
  recData: codec('recData', R.encodeRecData, R.decodeRecData, sampleRecs[0]!),
  recBuffer: codec('recBuffer', R.encodeRecBuffer, R.decodeRecBuffer, { dbId: 0x10120015, records: sampleRecs }),
  pulldbExt: codec('pulldbExt', R.encodePulldbExt, R.decodePulldbExt, { dbId: 0x10120015, lmaster: 0xFFFFFFFF, srvid: 0xF001000000000001n }),
  transdb: codec('transdb', R.encodeTransdb, R.decodeTransdb, { dbId: 0x10120015, tid: 0x6b778522 }),
  traverseStart: codec('traverseStart', R.encodeTraverseStart, R.decodeTraverseStart, { dbId: 0x10120015, reqid: 3, srvid: 0xBE00000000001234n }),
  traverseStartExt: codec('traverseStartExt', R.encodeTraverseStartExt, R.decodeTraverseStartExt, { dbId: 0x10120015, reqid: 3, srvid: 0xBE00000000001234n, withEmptyRecords: true }),
  traverseAll: codec('traverseAll', R.encodeTraverseAll, R.decodeTraverseAll, { dbId: 0x10120015, reqid: 9, pnn: 1, clientReqid: 3, srvid: 0xBE00000000001234n }),
  traverseAllExt: codec('traverseAllExt', R.encodeTraverseAllExt, R.decodeTraverseAllExt, { dbId: 0x10120015, reqid: 9, pnn: 1, clientReqid: 3, srvid: 5n, withEmptyRecords: false }),
  keyData: codec('keyData', R.encodeKeyData, R.decodeKeyData, { dbId: 0x10120015, header: { rsn: 3n, dmaster: 2, flags: 0 }, key: Buffer.from('k2') }),
  latencyCounter: codec('latencyCounter', S.encodeLatencyCounter, S.decodeLatencyCounter, lat(9)),
  statistics: codec('statistics', S.encodeStatistics, S.decodeStatistics, sampleStatistics),
  statHistory: codec('statHistory', S.encodeStatHistory, S.decodeStatHistory, { stats: [sampleStatistics, { ...sampleStatistics, numClients: 9 }] }),
  dbStatistics: codec('dbStatistics', S.encodeDbStatistics, S.decodeDbStatistics, {
    locks: { numCalls: 1, numCurrent: 0, numPending: 0, numFailed: 0, latency: lat(1), buckets: buckets(0) },
    vacuum: { latency: lat(2) }, dbRoDelegations: 0, dbRoRevokes: 0, hopCountBucket: buckets(10), numHotKeys: 10,
    hotKeys: Array.from({ length: S.MAX_HOT_KEYS }, (_, i) => (i < 2 ? { count: 1, key: Buffer.from(`k${i + 1}`) } : { count: 0, key: Buffer.alloc(0) })),
  }),
  backupFile: codec('backupFile', B.encodeBackupFile, B.decodeBackupFile, { version: 3, timestamp: 1732380000, dbFlags: 1, dbName: 'testpers.tdb', records: sampleRecs }),
} satisfies Record<string, Codec>;

export type PayloadCodecName = keyof typeof payloadCodecs;
