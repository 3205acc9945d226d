import { Operation } from '../protocol/constants.js';
import type { LatencyCounter, Statistics } from '../protocol/payloads.js';

const zeroLatency = (): LatencyCounter => ({ num: 0, min: 0, max: 0, total: 0 });
const buckets = (): number[] => new Array<number>(16).fill(0);

/** Counters behind the STATISTICS control. */
export class DaemonStats {
  start = Date.now();
  clientPacketsRecv = 0;
  nodePacketsSent = 0;
  nodePacketsRecv = 0;
  keepaliveSent = 0;
  keepaliveRecv = 0;
  numRecoveries = 0;
  node = { reqCall: 0, replyCall: 0, reqDmaster: 0, replyDmaster: 0, replyError: 0, reqMessage: 0, reqControl: 0, replyControl: 0, reqTunnel: 0 };
  client = { reqCall: 0, reqMessage: 0, reqControl: 0, reqTunnel: 0 };
  timeouts = { call: 0, control: 0, traverse: 0 };
  /** Read-only delegations granted and revokes completed by this node (every database). */
  totalRoDelegations = 0;
  totalRoRevokes = 0;

  countNode(op: number): void {
    this.nodePacketsRecv++;
    const n = this.node;
    switch (op) {
      case Operation.REQ_CALL: n.reqCall++; break;
      case Operation.REPLY_CALL: n.replyCall++; break;
      case Operation.REQ_DMASTER: n.reqDmaster++; break;
      case Operation.REPLY_DMASTER: n.replyDmaster++; break;
      case Operation.REPLY_ERROR: n.replyError++; break;
      case Operation.REQ_MESSAGE: n.reqMessage++; break;
      case Operation.REQ_CONTROL: n.reqControl++; break;
      case Operation.REPLY_CONTROL: n.replyControl++; break;
      case Operation.REQ_TUNNEL: n.reqTunnel++; break;
      default: break;
    }
  }

  countClient(op: number): void {
    this.clientPacketsRecv++;
    const c = this.client;
    if (op === Operation.REQ_CALL) c.reqCall++;
    else if (op === Operation.REQ_MESSAGE) c.reqMessage++;
    else if (op === Operation.REQ_CONTROL) c.reqControl++;
    else if (op === Operation.REQ_TUNNEL) c.reqTunnel++;
  }

  /** Client packets already sent at the last reset (that counter lives with the clients). */
  clientSentBase = 0;

  /** Clears every counter (STATISTICS_RESET); `clientSent` is the running client packet count. */
  reset(clientSent = 0): void {
    const fresh = new DaemonStats();
    Object.assign(this, fresh);
    this.clientSentBase = clientSent;
  }

  /** The wire form. */
  snapshot(extra: { numClients: number; frozen: number; recovering: number; memoryUsed: number; clientPacketsSent?: number }): Statistics {
    const now = Date.now();
    const tv = (ms: number) => ({ sec: Math.floor(ms / 1000), usec: (ms % 1000) * 1000 });
    return {
      numClients: extra.numClients, frozen: extra.frozen, recovering: extra.recovering,
      clientPacketsSent: (extra.clientPacketsSent ?? 0) - this.clientSentBase, clientPacketsRecv: this.clientPacketsRecv,
      nodePacketsSent: this.nodePacketsSent, nodePacketsRecv: this.nodePacketsRecv,
      keepalivePacketsSent: this.keepaliveSent, keepalivePacketsRecv: this.keepaliveRecv,
      node: { ...this.node }, client: { ...this.client }, timeouts: { ...this.timeouts },
      reclock: { ctdbd: zeroLatency(), recd: zeroLatency() },
      locks: { numCalls: 0, numCurrent: 0, numPending: 0, numFailed: 0, latency: zeroLatency(), buckets: buckets() },
      totalCalls: 0, pendingCalls: 0, childwriteCalls: 0, pendingChildwriteCalls: 0,
      memoryUsed: extra.memoryUsed >>> 0, unused: 0, maxHopCount: 0, hopCountBucket: buckets(),
      callLatency: zeroLatency(), childwriteLatency: zeroLatency(),
      numRecoveries: this.numRecoveries,
      statisticsStartTime: tv(this.start), statisticsCurrentTime: tv(now),
      totalRoDelegations: this.totalRoDelegations, totalRoRevokes: this.totalRoRevokes,
    };
  }
}
