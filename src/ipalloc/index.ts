/** Public IP allocation: pure decisions about which node hosts which public address. */
export { allocateIps, allocateIpsWithWarnings } from './allocate.js';
export { mergePublicIps, type ReportedIp } from './merge.js';
export { ipKey, compareIpKeys, ipDistance, type IpKey } from './ip-key.js';
export { nodeMayHost } from './state.js';
export {
  IpAllocAlgorithm, NO_OWNER, DEFAULT_IPALLOC_TUNABLES,
  type IpAllocAlgorithmName, type IpAllocNode, type PublicIpState, type IpAllocTunables,
  type IpAllocInput, type IpAllocResult,
} from './types.js';
