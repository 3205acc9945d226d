/**
 * A logging Unix-socket proxy for CTDB's client protocol: listens on
 * `listenPath`, forwards every connection to `targetPath`, and records each
 * whole packet per direction (using the project's PacketFramer). Used to
 * record golden bytes from Debian's real ctdbd; reusable by any test.
 */
import net from 'node:net';
import fs from 'node:fs';
import { PacketFramer } from '../../src/protocol/framer.js';

/** One recorded packet: 'req' = client to daemon, 'rep' = daemon to client. */
export interface CapturedPacket { conn: number; dir: 'req' | 'rep'; bytes: Buffer }

export interface CaptureProxy {
  readonly packets: CapturedPacket[];
  /** Forgets what was recorded so far. */
  clear(): void;
  /** Stops listening and closes every proxied connection. */
  close(): Promise<void>;
}

/** Starts the proxy; resolves once it is listening. */
export async function startCaptureProxy(listenPath: string, targetPath: string): Promise<CaptureProxy> {
  const packets: CapturedPacket[] = [];
  const sockets = new Set<net.Socket>();
  let nextConn = 0;
  const server = net.createServer((client) => {
    const conn = nextConn++;
    const daemon = net.createConnection(targetPath);
    sockets.add(client); sockets.add(daemon);
    const up = new PacketFramer();
    const down = new PacketFramer();
    const record = (framer: PacketFramer, dir: 'req' | 'rep', chunk: Buffer): void => {
      try {
        for (const p of framer.push(Buffer.from(chunk))) packets.push({ conn, dir, bytes: Buffer.from(p) });
      } catch {
        // Not a CTDB stream: keep forwarding, stop recording this direction.
      }
    };
    client.on('data', (c: Buffer) => { record(up, 'req', c); daemon.write(c); });
    daemon.on('data', (c: Buffer) => { record(down, 'rep', c); client.write(c); });
    const end = (): void => { client.destroy(); daemon.destroy(); sockets.delete(client); sockets.delete(daemon); };
    client.on('close', end); daemon.on('close', end);
    client.on('error', end); daemon.on('error', end);
  });
  fs.rmSync(listenPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPath, () => resolve());
  });
  return {
    packets,
    clear: () => { packets.length = 0; },
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => { fs.rmSync(listenPath, { force: true }); resolve(); });
    }),
  };
}
