import { Opcode, type OpcodeName } from './opcodes.js';
import { payloadCodecs as P, type Codec } from './codecs.js';

export type { Codec } from './codecs.js';

/** Payload layouts of one control: request data, reply data, and whether the answer is in `status`. */
export interface ControlCodec {
  name: OpcodeName;
  /** Absent = the request carries no data. */
  request?: Codec;
  /** Absent = the reply carries no data. */
  reply?: Codec;
  /** The result is the reply's status word (no data). */
  replyInStatus?: boolean;
}

type Spec = Omit<ControlCodec, 'name'>;
const db = P.u32;
const none: Spec = {};

const specs: Record<OpcodeName, Spec> = {
  PROCESS_EXISTS: { request: P.i32, replyInStatus: true },
  STATISTICS: { reply: P.statistics },
  PING: { replyInStatus: true },
  GETDBPATH: { request: db, reply: P.string },
  GETVNNMAP: { reply: P.vnnMap },
  SETVNNMAP: { request: P.vnnMap },
  GET_DEBUG: { reply: P.i32 },
  SET_DEBUG: { request: P.u32 },
  GET_DBMAP: { reply: P.dbidMap },
  GET_RECMODE: { replyInStatus: true },
  SET_RECMODE: { request: P.u32 },
  STATISTICS_RESET: none,
  DB_ATTACH: { request: P.string, reply: db },
  TRAVERSE_START: { request: P.traverseStart },
  TRAVERSE_ALL: { request: P.traverseAll },
  TRAVERSE_DATA: { request: P.recData },
  REGISTER_SRVID: none,
  DEREGISTER_SRVID: none,
  GET_DBNAME: { request: db, reply: P.string },
  ENABLE_SEQNUM: { request: db },
  UPDATE_SEQNUM: { request: db },
  DUMP_MEMORY: { reply: P.text },
  GET_PID: { replyInStatus: true },
  FREEZE: none,
  GET_PNN: { replyInStatus: true },
  SHUTDOWN: none,
  TCP_CLIENT: { request: P.connection },
  TCP_ADD: { request: P.connection },
  TCP_REMOVE: { request: P.connection },
  STARTUP: none,
  SET_TUNABLE: { request: P.tunable },
  GET_TUNABLE: { request: P.stringn, reply: P.u32 },
  LIST_TUNABLES: { reply: P.varList },
  MODIFY_FLAGS: { request: P.nodeFlagChange },
  GET_ALL_TUNABLES: { reply: P.tunableList },
  GET_TCP_TICKLE_LIST: { request: P.sockAddr, reply: P.tickleList },
  SET_TCP_TICKLE_LIST: { request: P.tickleList },
  DB_ATTACH_PERSISTENT: { request: P.string, reply: db },
  UPDATE_RECORD: { request: P.recBuffer },
  SEND_GRATUITOUS_ARP: { request: P.addrInfo },
  WIPE_DATABASE: { request: P.transdb },
  UPTIME: { reply: P.uptime },
  START_RECOVERY: none,
  END_RECOVERY: none,
  RELOAD_NODES_FILE: none,
  TRY_DELETE_RECORDS: { request: P.recBuffer, reply: P.recBuffer },
  ADD_PUBLIC_IP: { request: P.addrInfo },
  DEL_PUBLIC_IP: { request: P.addrInfo },
  GET_CAPABILITIES: { reply: P.u32 },
  RECD_PING: none,
  RELEASE_IP: { request: P.publicIp },
  TAKEOVER_IP: { request: P.publicIp },
  GET_PUBLIC_IPS: { reply: P.publicIpList },
  GET_NODEMAP: { reply: P.nodeMap },
  TRAVERSE_KILL: { request: P.traverseStart },
  RECD_RECLOCK_LATENCY: { request: P.double },
  GET_RECLOCK_FILE: { reply: P.string },
  STOP_NODE: none,
  CONTINUE_NODE: none,
  SET_LMASTERROLE: { request: P.u32 },
  SET_RECMASTERROLE: { request: P.u32 },
  SET_BAN_STATE: { request: P.banState },
  GET_BAN_STATE: { reply: P.banState },
  REGISTER_NOTIFY: { request: P.notifyData },
  DEREGISTER_NOTIFY: { request: P.u64 },
  TRANS3_COMMIT: { request: P.recBuffer },
  GET_DB_SEQNUM: { request: P.dbIdPadded, reply: P.u64 },
  DB_SET_HEALTHY: { request: db },
  DB_GET_HEALTH: { request: db, reply: P.string },
  GET_PUBLIC_IP_INFO: { request: P.sockAddr, reply: P.publicIpInfo },
  GET_IFACES: { reply: P.ifaceList },
  SET_IFACE_LINK_STATE: { request: P.iface },
  TCP_ADD_DELAYED_UPDATE: { request: P.connection },
  GET_STAT_HISTORY: { reply: P.statHistory },
  SCHEDULE_FOR_DELETION: { request: P.keyData },
  SET_DB_READONLY: { request: db },
  TRAVERSE_START_EXT: { request: P.traverseStartExt },
  GET_DB_STATISTICS: { request: db, reply: P.dbStatistics },
  SET_DB_STICKY: { request: db },
  RELOAD_PUBLIC_IPS: none,
  TRAVERSE_ALL_EXT: { request: P.traverseAllExt },
  IPREALLOCATED: none,
  GET_RUNSTATE: { reply: P.u32 },
  DB_DETACH: { request: db },
  GET_NODES_FILE: { reply: P.nodeMap },
  DB_FREEZE: { request: db },
  DB_THAW: { request: db },
  DB_TRANSACTION_START: { request: P.transdb },
  DB_TRANSACTION_COMMIT: { request: P.transdb },
  DB_TRANSACTION_CANCEL: { request: db },
  DB_PULL: { request: P.pulldbExt, reply: P.u32 },
  DB_PUSH_START: { request: P.pulldbExt },
  DB_PUSH_CONFIRM: { request: db, reply: P.u32 },
  DB_OPEN_FLAGS: { request: db, reply: P.i32 },
  DB_ATTACH_REPLICATED: { request: P.string, reply: db },
  CHECK_PID_SRVID: { request: P.pidSrvid, replyInStatus: true },
  TUNNEL_REGISTER: none,
  TUNNEL_DEREGISTER: none,
  VACUUM_FETCH: { request: P.recBuffer },
  DB_VACUUM: { request: P.dbVacuum },
  ECHO_DATA: { request: P.echoData, reply: P.echoData },
  DISABLE_NODE: none,
  ENABLE_NODE: none,
};

/** Payload codecs of every control, keyed by opcode number. */
export const controlCodecs: Readonly<Record<number, ControlCodec>> = Object.freeze(
  Object.fromEntries(
    (Object.keys(Opcode) as OpcodeName[]).map((name) => [Opcode[name], { name, ...specs[name] }]),
  ),
);

/** The codec entry for an opcode, or undefined for unknown/obsolete opcodes. */
export function controlCodec(opcode: number): ControlCodec | undefined {
  return controlCodecs[opcode];
}
