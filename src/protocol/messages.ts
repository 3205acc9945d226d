import { Srvid } from './constants.js';
import { payloadCodecs as P, type Codec } from './codecs.js';

/** A message with no payload. */
const empty: Codec<null> = {
  name: 'empty', encode: () => {}, decode: () => null, sample: null,
};

const exact = new Map<bigint, Codec>([
  [Srvid.BANNING, P.u32],
  [Srvid.ELECTION, P.electionMessage],
  [Srvid.LEADER, P.u32],
  [Srvid.RECONFIGURE, empty],
  [Srvid.RELEASE_IP, P.string],
  [Srvid.TAKE_IP, P.string],
  [Srvid.IPREALLOCATED, empty],
  [Srvid.START_IPREALLOCATE, empty],
  [Srvid.SET_NODE_FLAGS, P.nodeFlagChange],
  [Srvid.RECD_UPDATE_IP, P.publicIp],
  [Srvid.VACUUM_FETCH, P.recBuffer],
  [Srvid.DETACH_DATABASE, P.u32],
  [Srvid.MEM_DUMP, P.srvidMessage],
  [Srvid.GETLOG, empty],
  [Srvid.CLEARLOG, empty],
  [Srvid.PUSH_NODE_FLAGS, P.nodeFlagChange],
  [Srvid.RELOAD_NODES, empty],
  [Srvid.TAKEOVER_RUN, P.srvidMessage],
  [Srvid.REBALANCE_NODE, P.u32],
  [Srvid.DISABLE_TAKEOVER_RUNS, P.disableMessage],
  [Srvid.DISABLE_RECOVERIES, P.disableMessage],
  [Srvid.DISABLE_IP_CHECK, P.u32],
]);

const RECOVERY_MASK = 0xFFFF000000000000n;

/**
 * The payload codec of a well-known message srvid (spec §6), or undefined for
 * srvids whose payload the receiver chose (tool replies, traverse output, pids).
 * RECOVERY+n streams carry rec_buffers.
 */
export function messageCodec(srvid: bigint): Codec | undefined {
  const c = exact.get(srvid);
  if (c) return c;
  if ((srvid & RECOVERY_MASK) === Srvid.RECOVERY) return P.recBuffer;
  return undefined;
}

/** Every srvid with a fixed payload codec (for tests and fuzzers). */
export const messageCodecs: ReadonlyMap<bigint, Codec> = exact;
