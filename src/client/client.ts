import { connect, type Socket } from 'node:net';
import { CtdbError } from '../common/errors.js';
import { Operation, Pnn } from '../protocol/constants.js';
import { PacketFramer } from '../protocol/framer.js';
import { decodePacket, encodePacket, type Packet, type ReplyControl } from '../protocol/packets.js';
import { opcodeName } from '../protocol/opcodes.js';

/** Result of one control: status word, reply data and error text. */
export interface ControlResult { status: number; data: Buffer; errmsg: string }

/** Options for one control request. */
export interface ControlOptions {
  srvid?: bigint;
  flags?: number;
  /** Deadline in milliseconds (default: the client's timeout). */
  timeoutMs?: number;
}

type MessageHandler = (srvid: bigint, data: Buffer, srcnode: number) => void;

/**
 * A connection to the local ctdbd's Unix socket. Requests are matched to
 * replies by reqid; every wait has a deadline. Messages for registered srvids
 * are delivered to handlers.
 */
export class CtdbClient {
  /** Our PNN as learned from GET_PNN (UNKNOWN until then). */
  pnn: number = Pnn.UNKNOWN;
  private reqid = 0x7fffff38;
  private readonly pending = new Map<number, { resolve: (p: Packet) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private readonly handlers = new Map<bigint, MessageHandler>();
  private closed = false;

  private constructor(private readonly sock: Socket, readonly socketPath: string, readonly timeoutMs: number) {
    const framer = new PacketFramer();
    sock.on('data', (chunk) => {
      let packets: Buffer[];
      try { packets = framer.push(chunk); } catch (err) { this.fail(err as Error); return; }
      for (const raw of packets) this.onPacket(raw);
    });
    sock.on('close', () => this.fail(new CtdbError('ENOTCONN', 'connection to ctdbd closed')));
    sock.on('error', (err) => this.fail(new CtdbError('EIO', `ctdbd socket error: ${err.message}`, { cause: err })));
  }

  /** Connects to ctdbd at `socketPath`; throws CtdbError('ECONNREFUSED') with the errno on failure. */
  static connect(socketPath: string, timeoutMs = 10_000): Promise<CtdbClient> {
    return new Promise((resolve, reject) => {
      const sock = connect(socketPath);
      const timer = setTimeout(() => { sock.destroy(); reject(new CtdbError('ETIMEDOUT', `timed out connecting to ${socketPath}`)); }, timeoutMs);
      sock.once('connect', () => { clearTimeout(timer); sock.setNoDelay?.(true); resolve(new CtdbClient(sock, socketPath, timeoutMs)); });
      sock.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new CtdbError('ECONNREFUSED', `cannot connect to ${socketPath}: ${err.code ?? err.message}`, { cause: err }));
      });
    });
  }

  private nextReqid(): number {
    const id = this.reqid;
    this.reqid = (this.reqid + 1) >>> 0;
    return id;
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) { clearTimeout(p.timer); p.reject(err); }
    this.pending.clear();
  }

  private onPacket(raw: Buffer): void {
    let p: Packet;
    try { p = decodePacket(raw); } catch { return; }
    if (p.operation === Operation.REQ_MESSAGE) {
      const h = this.handlers.get(p.srvid) ?? this.handlers.get(0xFFFFFFFFFFFFFFFFn);
      h?.(p.srvid, p.data, p.srcnode);
      return;
    }
    const waiter = this.pending.get(p.reqid);
    if (!waiter) return;
    this.pending.delete(p.reqid);
    clearTimeout(waiter.timer);
    waiter.resolve(p);
  }

  /** Sends any packet and waits for the packet with the same reqid. */
  request(build: (reqid: number) => Packet, timeoutMs = this.timeoutMs, what = 'request'): Promise<Packet> {
    if (this.closed) return Promise.reject(new CtdbError('ENOTCONN', 'connection to ctdbd closed'));
    const reqid = this.nextReqid();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(reqid);
        reject(new CtdbError('ETIMEDOUT', `${what} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(reqid, { resolve, reject, timer });
      this.sock.write(encodePacket(build(reqid)));
    });
  }

  /** Sends a control to `destnode` (a PNN or Pnn.CURRENT) and returns its result. */
  async control(destnode: number, opcode: number, data: Buffer = Buffer.alloc(0), opts: ControlOptions = {}): Promise<ControlResult> {
    const reply = await this.request((reqid) => ({
      operation: Operation.REQ_CONTROL, generation: 0, destnode, srcnode: this.pnn, reqid,
      opcode, srvid: opts.srvid ?? 0n, clientId: 0, flags: opts.flags ?? 0, data,
    }), opts.timeoutMs ?? this.timeoutMs, `control ${opcodeName(opcode)} to node ${destnode}`) as ReplyControl;
    if (reply.operation !== Operation.REPLY_CONTROL) {
      throw new CtdbError('EPROTO', `unexpected reply operation ${reply.operation} to control ${opcodeName(opcode)}`);
    }
    return { status: reply.status, data: reply.data, errmsg: reply.errmsg };
  }

  /** Sends a control that expects no reply (NOREPLY flag). */
  controlNoReply(destnode: number, opcode: number, data: Buffer = Buffer.alloc(0), opts: ControlOptions = {}): void {
    this.sock.write(encodePacket({
      operation: Operation.REQ_CONTROL, generation: 0, destnode, srcnode: this.pnn, reqid: this.nextReqid(),
      opcode, srvid: opts.srvid ?? 0n, clientId: 0, flags: (opts.flags ?? 0) | 1, data,
    }));
  }

  /** Sends a message to `srvid` on `destnode` (a PNN or broadcast value). */
  message(destnode: number, srvid: bigint, data: Buffer): void {
    this.sock.write(encodePacket({
      operation: Operation.REQ_MESSAGE, generation: 0, destnode, srcnode: this.pnn,
      reqid: this.nextReqid(), srvid, data,
    }));
  }

  /** Delivers messages for `srvid` to `handler` (call registerSrvid to tell the daemon). */
  onMessage(srvid: bigint, handler: MessageHandler): void { this.handlers.set(srvid, handler); }
  offMessage(srvid: bigint): void { this.handlers.delete(srvid); }

  /** Closes the connection. */
  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) { clearTimeout(p.timer); p.reject(new CtdbError('ECANCELED', 'client closed')); }
    this.pending.clear();
    this.sock.destroy();
  }
}
