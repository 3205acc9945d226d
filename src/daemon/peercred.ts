import type { Socket } from 'node:net';

type GetsockoptFn = (fd: number, level: number, name: number, buf: Buffer, len: Buffer) => number;
let getsockopt: GetsockoptFn | null | undefined;

async function load(): Promise<GetsockoptFn | null> {
  if (getsockopt !== undefined) return getsockopt;
  try {
    const koffi = (await import('koffi')).default;
    const libc = koffi.load('libc.so.6');
    getsockopt = libc.func('int getsockopt(int, int, int, _Inout_ uint8_t *, _Inout_ uint32_t *)') as unknown as GetsockoptFn;
  } catch {
    getsockopt = null;
  }
  return getsockopt;
}

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;

/**
 * The pid of the process at the other end of a Unix socket (SO_PEERCRED),
 * or 0 when it cannot be read.
 */
export async function peerPid(sock: Socket): Promise<number> {
  const fn = await load();
  const fd = (sock as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (!fn || fd === undefined || fd < 0) return 0;
  const buf = Buffer.alloc(12);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(12);
  if (fn(fd, SOL_SOCKET, SO_PEERCRED, buf, len) !== 0) return 0;
  return buf.readInt32LE(0);
}
