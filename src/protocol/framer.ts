import { CtdbError } from '../common/errors.js';
import { HEADER_SIZE } from './constants.js';

/** Largest packet we accept; anything bigger is treated as a corrupt stream. */
export const MAX_PACKET_SIZE = 256 * 1024 * 1024;

/**
 * Splits a byte stream into whole packets by their leading u32 length.
 * Feed chunks with `push`; complete packets are returned in order. Throws
 * CtdbError('EPROTO') on a length that cannot be valid (0, < header, huge):
 * the caller must then drop the connection.
 */
export class PacketFramer {
  private chunks: Buffer[] = [];
  private buffered = 0;

  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Buffer[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      const head = this.peek(4);
      const len = head.readUInt32LE(0);
      if (len < HEADER_SIZE || len > MAX_PACKET_SIZE) {
        throw new CtdbError('EPROTO', `invalid packet length ${len} in stream`);
      }
      if (this.buffered < len) break;
      out.push(this.take(len));
    }
    return out;
  }

  /** Bytes received but not yet part of a whole packet. */
  get pending(): number { return this.buffered; }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length >= n) return this.chunks[0]!;
    const all = Buffer.concat(this.chunks);
    this.chunks = [all];
    return all;
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length === n) { this.chunks.shift(); this.buffered -= n; return first; }
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return first.subarray(0, n);
    }
    const all = Buffer.concat(this.chunks);
    this.chunks = all.length > n ? [all.subarray(n)] : [];
    this.buffered -= n;
    return all.subarray(0, n);
  }
}
