/**
 * The libc calls killtcp needs, through koffi: a non-blocking AF_PACKET
 * capture socket bound to one interface, and raw IPv4/IPv6 sockets that send
 * whole packets. Waiting uses poll() on a worker thread so the event loop
 * never blocks.
 */
import koffi from '../common/koffi-lazy.js';
import { ipToBytes, type IpFamily } from '../common/address.js';
import { CtdbError } from '../common/errors.js';

const AF_INET = 2;
const AF_INET6 = 10;
const AF_PACKET = 17;
const SOCK_RAW = 3;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const IPPROTO_RAW = 255;
const ETH_P_ALL = 0x0003;
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SO_RCVBUFFORCE = 33;
const SO_SNDBUF = 7;
const SO_SNDBUFFORCE = 32;
const POLLIN = 0x0001;
const EAGAIN = 11;
const EINTR = 4;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
/** The libc functions the raw-socket helpers call (shared with src/takeover/announce.ts). */
export interface Libc {
  socket: (domain: number, type: number, proto: number) => number;
  bind: (fd: number, addr: Buffer, len: number) => number;
  setsockopt: (fd: number, level: number, name: number, val: Buffer, len: number) => number;
  sendto: (fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, alen: number) => number;
  recvfrom: (fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, alen: Buffer) => number;
  close: (fd: number) => number;
  if_nametoindex: (name: string) => number;
  poll: { async: (...args: any[]) => void };
}

let libc: Libc | undefined;

/** libc bound through koffi, loaded once on first use. */
export function loadLibc(): Libc {
  if (libc) return libc;
  const lib = koffi.load('libc.so.6');
  libc = {
    socket: lib.func('int socket(int, int, int)'),
    bind: lib.func('int bind(int, void *, uint32_t)'),
    setsockopt: lib.func('int setsockopt(int, int, int, void *, uint32_t)'),
    sendto: lib.func('intptr_t sendto(int, void *, size_t, int, void *, uint32_t)'),
    recvfrom: lib.func('intptr_t recvfrom(int, void *, size_t, int, void *, void *)'),
    close: lib.func('int close(int)'),
    if_nametoindex: lib.func('uint32_t if_nametoindex(const char *)'),
    poll: lib.func('int poll(void *, uint64_t, int)'),
  };
  return libc;
}

function fail(what: string, hint = ''): never {
  const errno = koffi.errno();
  const name = Object.entries(koffi.os.errno).find(([, v]) => v === errno)?.[0] ?? 'EIO';
  throw new CtdbError(name, `${what} failed (errno ${errno})${hint}`);
}

function intOpt(v: number): Buffer { const b = Buffer.alloc(4); b.writeInt32LE(v); return b; }

/** Sets a socket buffer size, forcing past the sysctl limit when allowed (root). */
function setBufferSize(fd: number, force: number, plain: number, bytes: number): void {
  const c = loadLibc();
  if (c.setsockopt(fd, SOL_SOCKET, force, intOpt(bytes), 4) === 0) return;
  c.setsockopt(fd, SOL_SOCKET, plain, intOpt(bytes), 4);
}

/** A packet read from the capture socket: the bytes are valid until the next read. */
export interface CapturedFrame { data: Buffer; length: number }

/** A non-blocking AF_PACKET socket that sees every frame in and out of one interface. */
export class CaptureSocket {
  private readonly buf = Buffer.alloc(2048);
  private readonly from = Buffer.alloc(32);
  private readonly fromLen = Buffer.alloc(4);
  private readonly pollfd = Buffer.alloc(8);
  private closed = false;

  private constructor(readonly fd: number, readonly iface: string) {
    this.pollfd.writeInt32LE(fd, 0);
    this.pollfd.writeInt16LE(POLLIN, 4);
  }

  /**
   * Opens the capture on `iface` with a receive buffer of `rcvbufBytes`.
   * Throws CtdbError ENODEV for an unknown interface, EPERM without
   * CAP_NET_RAW.
   */
  static open(iface: string, rcvbufBytes = 32 << 20): CaptureSocket {
    const c = loadLibc();
    const ifindex = c.if_nametoindex(iface);
    if (ifindex === 0) throw new CtdbError('ENODEV', `no such interface '${iface}'`);
    // Protocol 0 at creation: no frames arrive until bind() names the interface.
    const fd = c.socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) fail(`capture socket on ${iface}`, ' (needs root or CAP_NET_RAW)');
    setBufferSize(fd, SO_RCVBUFFORCE, SO_RCVBUF, rcvbufBytes);
    const sll = Buffer.alloc(20);
    sll.writeUInt16LE(AF_PACKET, 0);
    sll.writeUInt16BE(ETH_P_ALL, 2);
    sll.writeInt32LE(ifindex, 4);
    if (c.bind(fd, sll, sll.length) !== 0) { c.close(fd); fail(`binding capture socket to ${iface}`); }
    return new CaptureSocket(fd, iface);
  }

  /** Reads one frame without waiting; undefined when none is queued. Throws on errors. */
  read(): CapturedFrame | undefined {
    const c = loadLibc();
    this.fromLen.writeUInt32LE(this.from.length, 0);
    for (;;) {
      const n = c.recvfrom(this.fd, this.buf, this.buf.length, 0, this.from, this.fromLen);
      if (n >= 0) return { data: this.buf, length: n };
      const e = koffi.errno();
      if (e === EAGAIN) return undefined;
      if (e !== EINTR) fail(`reading capture socket on ${this.iface}`);
    }
  }

  /** Waits up to `timeoutMs` for a frame on a worker thread; true when one is ready. */
  wait(timeoutMs: number): Promise<boolean> {
    const c = loadLibc();
    return new Promise((resolve, reject) => {
      c.poll.async(this.pollfd, 1, Math.max(0, Math.ceil(timeoutMs)), (err: unknown, n: number) => {
        if (err) reject(new CtdbError('EIO', 'poll on capture socket failed', { cause: err }));
        else resolve(n > 0);
      });
    });
  }

  /** Closes the socket (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    loadLibc().close(this.fd);
  }
}

/** Raw sockets that send whole IP packets (header included), one per family. */
export class RawSender {
  private readonly fds = new Map<IpFamily, number>();
  private readonly addrCache = new Map<string, Buffer>();

  private fdFor(family: IpFamily): number {
    const have = this.fds.get(family);
    if (have !== undefined) return have;
    const c = loadLibc();
    // IPPROTO_RAW implies the IP header is ours, for both families.
    const fd = c.socket(family === 'inet' ? AF_INET : AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_RAW);
    if (fd < 0) fail(`raw ${family} socket`, ' (needs root or CAP_NET_RAW)');
    setBufferSize(fd, SO_SNDBUFFORCE, SO_SNDBUF, 4 << 20);
    this.fds.set(family, fd);
    return fd;
  }

  private sockaddr(address: string, family: IpFamily): Buffer {
    const cached = this.addrCache.get(address);
    if (cached) return cached;
    const bytes = ipToBytes(address);
    let sa: Buffer;
    if (family === 'inet') {
      sa = Buffer.alloc(16);
      sa.writeUInt16LE(AF_INET, 0);
      sa.set(bytes, 4);
    } else {
      // Port stays 0: raw IPv6 sockets reject any other.
      sa = Buffer.alloc(28);
      sa.writeUInt16LE(AF_INET6, 0);
      sa.set(bytes, 8);
    }
    this.addrCache.set(address, sa);
    return sa;
  }

  /**
   * Sends one packet to `address`. Returns false when the kernel has no room
   * (EAGAIN/ENOBUFS; the caller retries later); throws CtdbError otherwise.
   */
  send(packet: Buffer, address: string, family: IpFamily): boolean {
    const c = loadLibc();
    const fd = this.fdFor(family);
    const sa = this.sockaddr(address, family);
    if (c.sendto(fd, packet, packet.length, 0, sa, sa.length) >= 0) return true;
    const e = koffi.errno();
    if (e === EAGAIN || e === koffi.os.errno.ENOBUFS) return false;
    return fail(`sending to ${address}`);
  }

  /** Opens the socket for `family` now, so permission errors show before any work. */
  prepare(family: IpFamily): void { this.fdFor(family); }

  /** Closes every socket. */
  close(): void {
    const c = loadLibc();
    for (const fd of this.fds.values()) c.close(fd);
    this.fds.clear();
  }
}
