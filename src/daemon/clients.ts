import { chmodSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { PacketFramer } from '../protocol/framer.js';
import { decodePacket, encodePacket, type Packet } from '../protocol/packets.js';
import { peerPid } from './peercred.js';

/** One connected client of the Unix socket. */
export class ClientConn {
  pid = 0;
  readonly srvids = new Set<bigint>();
  /** Packets sent to clients, for statistics. */
  static sent = 0;
  constructor(readonly id: number, readonly sock: Socket) {}

  /** Sends one packet to this client (dropped if the socket is gone). */
  send(p: Packet): void {
    if (this.sock.destroyed) return;
    ClientConn.sent++;
    this.sock.write(encodePacket(p));
  }
}

/** Callbacks from the client socket into the daemon. */
export interface ClientEvents {
  packet(client: ClientConn, p: Packet): void;
  gone(client: ClientConn): void;
}

/**
 * The daemon's Unix client socket (mode 0600). Each client's pid comes from
 * the socket's peer credentials; malformed input drops that client only.
 */
export class ClientServer {
  private server?: Server;
  private nextId = 1;
  readonly clients = new Map<number, ClientConn>();

  constructor(private readonly path: string, private readonly events: ClientEvents, private readonly log: Logger) {}

  async listen(): Promise<void> {
    try { unlinkSync(this.path); } catch { /* not there */ }
    this.server = createServer((s) => this.accept(s));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.path, () => { this.server!.off('error', reject); resolve(); });
    });
    chmodSync(this.path, 0o600);
  }

  private accept(s: Socket): void {
    const c = new ClientConn(this.nextId++, s);
    this.clients.set(c.id, c);
    const framer = new PacketFramer();
    let ready: Promise<void> = peerPid(s).then((pid) => { c.pid = pid; });
    s.on('data', (chunk) => {
      let raws: Buffer[];
      try { raws = framer.push(chunk); } catch (err) {
        this.log.warn({ client: c.id, pid: c.pid, reason: (err as Error).message }, 'corrupt stream from client, disconnecting it');
        s.destroy();
        return;
      }
      if (raws.length === 0) return;
      // Packets are handled only once the peer pid is known (process-exists depends on it).
      ready = ready.then(() => {
        for (const raw of raws) {
          let p: Packet;
          try { p = decodePacket(raw); } catch (err) {
            this.log.warn({ client: c.id, pid: c.pid, reason: (err as Error).message }, 'malformed packet from client, disconnecting it');
            s.destroy();
            return;
          }
          try { this.events.packet(c, p); } catch (err) {
            this.log.error({ client: c.id, err }, 'failed to handle client packet');
          }
        }
      });
    });
    s.on('error', () => { /* close follows */ });
    s.on('close', () => {
      this.clients.delete(c.id);
      this.events.gone(c);
    });
  }

  /** Clients whose process id is `pid`. */
  byPid(pid: number): ClientConn[] {
    return [...this.clients.values()].filter((c) => c.pid === pid);
  }

  async close(): Promise<void> {
    for (const c of this.clients.values()) c.sock.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    try { unlinkSync(this.path); } catch { /* gone */ }
  }
}
