/** Packet magic: ASCII "CTDB" as a big-endian word. */
export const CTDB_MAGIC = 0x43544442;
/** Protocol version carried in every header. */
export const CTDB_PROTOCOL = 1;
/** Size of the packet header in bytes. */
export const HEADER_SIZE = 32;
/** Packets are padded to a multiple of this many bytes. */
export const CTDB_DS_ALIGNMENT = 8;
/** Default node transport port. */
export const CTDB_PORT = 4379;
/** Version we announce in keepalives: (major << 16) | minor of the Samba release we match (4.17). */
export const CTDB_KEEPALIVE_VERSION = (4 << 16) | 17;
/** Version string printed by `ctdb version`. */
export const CTDB_VERSION_STRING = '4.17.12';

/** Packet operations. */
export const Operation = {
  REQ_CALL: 0, REPLY_CALL: 1, REQ_DMASTER: 2, REPLY_DMASTER: 3, REPLY_ERROR: 4,
  REQ_MESSAGE: 5, REQ_CONTROL: 7, REPLY_CONTROL: 8, REQ_KEEPALIVE: 9, REQ_TUNNEL: 10,
} as const;
export type OperationName = keyof typeof Operation;

/** Special destination/source node numbers. */
export const Pnn = {
  CURRENT: 0xF0000001,
  BROADCAST_ALL: 0xF0000002,
  BROADCAST_ACTIVE: 0xF0000003,
  BROADCAST_CONNECTED: 0xF0000004,
  MULTICAST: 0xF0000005,
  UNKNOWN: 0xFFFFFFFF,
} as const;

/** Generation value meaning "invalid / before first recovery". */
export const INVALID_GENERATION = 1;

/** Node flags (u32). */
export const NodeFlag = {
  DISCONNECTED: 0x01,
  UNHEALTHY: 0x02,
  PERMANENTLY_DISABLED: 0x04,
  BANNED: 0x08,
  DELETED: 0x10,
  STOPPED: 0x20,
  DISABLED: 0x06,
  INACTIVE: 0x39,
  /** Tool-internal: the node's own view could not be read. Never on the wire. */
  UNKNOWN: 0x40,
} as const;

/** Capabilities (u32). */
export const Capability = {
  RECMASTER: 0x1,
  LMASTER: 0x2,
  LVS: 0x4,
  NATGW: 0x8,
  PARALLEL_RECOVERY: 0x10000,
  FRAGMENTED_CONTROLS: 0x20000,
} as const;
export const DEFAULT_CAPABILITIES = 0x30003;

/** Recovery modes. */
export const RecMode = { NORMAL: 0, ACTIVE: 1 } as const;

/** Runstates in order. */
export const RunState = {
  UNKNOWN: 0, INIT: 1, SETUP: 2, FIRST_RECOVERY: 3, STARTUP: 4, RUNNING: 5, SHUTDOWN: 6,
} as const;
export type RunStateName = keyof typeof RunState;
export const runStateName = (v: number): RunStateName =>
  (Object.entries(RunState).find(([, n]) => n === v)?.[0] as RunStateName | undefined) ?? 'UNKNOWN';

/** REQ_CONTROL flags. */
export const ControlFlag = {
  NOREPLY: 0x1,
  GET_PUBLIC_IPS_AVAILABLE: 0x10000,
  ATTACH_RECOVERY: 0x20000,
} as const;

/** REQ_CALL flags. */
export const CallFlag = { IMMEDIATE_MIGRATION: 0x1, VACUUM_MIGRATION: 0x2, WANT_READONLY: 0x4 } as const;

/** Built-in call ids. */
export const CallId = {
  NULL_FUNC: 0xFF000001,
  FETCH_FUNC: 0xFF000002,
  FETCH_WITH_HEADER_FUNC: 0xFF000003,
} as const;

/** Database flags (dbid.flags / DB_ATTACH kinds). */
export const DbFlag = { PERSISTENT: 0x01, READONLY: 0x02, STICKY: 0x04, REPLICATED: 0x08 } as const;

/** Record flags in the ltdb header. */
export const RecordFlag = {
  DEFAULT: 0,
  PERSISTENT: 0x1,
  PERSISTENT_IN_PROGRESS: 0x2,
  MIGRATED_WITH_DATA: 0x00010000,
  VACUUM_MIGRATED: 0x00020000,
  AUTOMATIC: 0x00040000,
  RO_HAVE_DELEGATIONS: 0x01000000,
  RO_HAVE_READONLY: 0x02000000,
  RO_REVOKING_READONLY: 0x04000000,
  RO_REVOKE_COMPLETE: 0x08000000,
} as const;

/** Well-known message srvids (u64). */
export const Srvid = {
  ALL: 0xFFFFFFFFFFFFFFFFn,
  RECOVERY: 0xF001000000000000n,
  BANNING: 0xF002000000000000n,
  ELECTION: 0xF100000000000000n,
  LEADER: 0xF101000000000000n,
  RECONFIGURE: 0xF200000000000000n,
  RELEASE_IP: 0xF300000000000000n,
  TAKE_IP: 0xF301000000000000n,
  IPREALLOCATED: 0xF302000000000000n,
  START_IPREALLOCATE: 0xF303000000000000n,
  SET_NODE_FLAGS: 0xF400000000000000n,
  RECD_UPDATE_IP: 0xF500000000000000n,
  VACUUM_FETCH: 0xF700000000000000n,
  DETACH_DATABASE: 0xF701000000000000n,
  MEM_DUMP: 0xF800000000000000n,
  GETLOG: 0xF801000000000000n,
  CLEARLOG: 0xF802000000000000n,
  PUSH_NODE_FLAGS: 0xF900000000000000n,
  RELOAD_NODES: 0xFA00000000000000n,
  TAKEOVER_RUN: 0xFB00000000000000n,
  REBALANCE_NODE: 0xFB01000000000000n,
  DISABLE_TAKEOVER_RUNS: 0xFB03000000000000n,
  DISABLE_RECOVERIES: 0xFB04000000000000n,
  DISABLE_IP_CHECK: 0xFC00000000000000n,
  SAMBA_NOTIFY: 0xFE00000000000000n,
  SAMBA_RANGE: 0xFE00000000000000n,
  NFSD_RANGE: 0xEE00000000000000n,
  ISCSID_RANGE: 0xDE00000000000000n,
  TOOL_RANGE: 0xCE00000000000000n,
  CLIENT_RANGE: 0xBE00000000000000n,
  TEST_RANGE: 0xAE00000000000000n,
  SERVER_RANGE: 0x9E00000000000000n,
} as const;
