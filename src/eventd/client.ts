import { connect, type Socket } from 'node:net';
import { CtdbError, Errno } from '../common/errors.js';
import { componentsForEvent } from './events.js';
import {
  EventCmd, EventFramer, ScriptAction, decodeEventReply, encodeEventRequest, framePacket, openPacket,
  type EventReply, type EventRequest, type ScriptStatus,
} from './protocol.js';

export type { ScriptStatus } from './protocol.js';

interface Pending { resolve: (r: EventReply) => void; reject: (e: Error) => void; timer?: NodeJS.Timeout }

/**
 * Client of ctdb-eventd over its Unix socket. Requests may overlap; replies
 * are matched by reqid. Results follow CTDB: 0 ok, >0 a script's exit code,
 * negative errno (-ENOENT no such component, -ETIMEDOUT, -ECANCELED, ...).
 */
export class EventdClient {
  private readonly pending = new Map<number, Pending>();
  private nextReqid = 1;
  private closed = false;

  private constructor(private readonly sock: Socket, private readonly timeoutMs: number | undefined) {
    const framer = new EventFramer();
    sock.on('data', (chunk: Buffer) => {
      let pkts: Buffer[];
      try { pkts = framer.push(chunk); } catch (err) { this.failAll(err as Error); sock.destroy(); return; }
      for (const pkt of pkts) {
        try {
          const p = openPacket(pkt);
          const w = this.pending.get(p.reqid);
          if (!w) continue;
          this.pending.delete(p.reqid);
          if (w.timer) clearTimeout(w.timer);
          w.resolve(decodeEventReply(p.body));
        } catch (err) { this.failAll(err as Error); sock.destroy(); return; }
      }
    });
    sock.on('error', (err) => this.failAll(new CtdbError('ENOTCONN', 'event daemon connection failed', { cause: err })));
    sock.on('close', () => { this.closed = true; this.failAll(new CtdbError('ENOTCONN', 'event daemon closed the connection')); });
  }

  /**
   * Connects to the daemon's socket. `timeoutMs` bounds the connect and,
   * when given, every request (a RUN waits for its event to finish, so pass
   * more than the event timeout). Throws CtdbError('ECONNREFUSED'|'ENOENT').
   */
  static connect(socketPath: string, opts: { timeoutMs?: number } = {}): Promise<EventdClient> {
    return new Promise((resolve, reject) => {
      const sock = connect(socketPath);
      const timer = setTimeout(() => { sock.destroy(); reject(new CtdbError('ETIMEDOUT', `timed out connecting to ${socketPath}`)); },
        opts.timeoutMs ?? 10_000);
      sock.once('connect', () => { clearTimeout(timer); resolve(new EventdClient(sock, opts.timeoutMs)); });
      sock.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const code = err.code === 'ENOENT' ? 'ENOENT' : 'ECONNREFUSED';
        reject(new CtdbError(code, `cannot connect to event daemon at ${socketPath} (is ctdb-eventd running?)`, { cause: err }));
      });
    });
  }

  private failAll(err: Error): void {
    for (const [id, w] of this.pending) { this.pending.delete(id); if (w.timer) clearTimeout(w.timer); w.reject(err); }
  }

  /**
   * Sends one raw request and resolves with the raw reply (its `result` is
   * 0 or a positive errno, as on the wire). Used by the `ctdb event` tool.
   */
  request(req: EventRequest): Promise<EventReply> {
    if (this.closed) return Promise.reject(new CtdbError('ENOTCONN', 'event daemon connection is closed'));
    const reqid = this.nextReqid++;
    if (this.nextReqid > 0xfffffff0) this.nextReqid = 1;
    return new Promise((resolve, reject) => {
      const w: Pending = { resolve, reject };
      if (this.timeoutMs !== undefined) {
        w.timer = setTimeout(() => {
          this.pending.delete(reqid);
          reject(new CtdbError('ETIMEDOUT', `event daemon did not answer in ${this.timeoutMs} ms`));
        }, this.timeoutMs);
      }
      this.pending.set(reqid, w);
      this.sock.write(framePacket(reqid, encodeEventRequest, req));
    });
  }

  /**
   * Runs `event` in `component` with a whole-event deadline of `timeoutSec`
   * seconds. Resolves with 0, the failing script's exit code (>0), or a
   * negative errno (-ENOENT, -EINVAL, -ETIMEDOUT, -ECANCELED, -EINTR).
   */
  async run(component: string, event: string, args: string[], timeoutSec: number, flags = 0): Promise<number> {
    const r = await this.request({ cmd: EventCmd.RUN, component, event, args: args.join(' '), timeout: timeoutSec, flags });
    if (r.result === 0) return 0;
    // The wire only says "a script failed" (ENOEXEC); the status has the exit code.
    if (r.result === Errno.ENOEXEC) {
      const st = await this.status(component, event);
      if (st.found && st.result !== 0) return st.result;
    }
    return -Math.abs(r.result);
  }

  /**
   * Runs `event` in every standard component that takes it (legacy first,
   * then cluster/service/failover); folders that do not exist are skipped
   * (legacy must exist). Returns the first non-zero result, else 0.
   */
  async runEvent(event: string, args: string[], timeoutSec: number, flags = 0): Promise<number> {
    let first = 0;
    for (const c of componentsForEvent(event)) {
      const r = await this.run(c, event, args, timeoutSec, flags);
      if (r === -Errno.ENOENT && c !== 'legacy') continue;
      if (r !== 0 && first === 0) first = r;
    }
    return first;
  }

  /**
   * Last status of `event` in `component`. When it exists, `found` is true,
   * `result` is the event's summary and `scripts` its scripts; otherwise
   * `result` is -ENOENT (no such component) or -EINVAL (never run).
   */
  async status(component: string, event: string): Promise<{ result: number; found: boolean; scripts: ScriptStatus[] }> {
    const r = await this.request({ cmd: EventCmd.STATUS, component, event });
    if (r.result !== 0 || !r.status) return { result: -Math.abs(r.result || Errno.EIO), found: false, scripts: [] };
    return { result: r.status.summary, found: true, scripts: r.status.scripts };
  }

  /** Enables or disables a script in the component folder; 0 or negative errno (-ENOENT, -EINVAL). */
  async script(component: string, script: string, enable: boolean): Promise<number> {
    const r = await this.request({ cmd: EventCmd.SCRIPT, component, script, action: enable ? ScriptAction.ENABLE : ScriptAction.DISABLE });
    return -Math.abs(r.result);
  }

  /** Closes the connection; outstanding requests fail with ENOTCONN. */
  close(): void { this.closed = true; this.sock.destroy(); }
}
