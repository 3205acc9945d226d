import { CtdbError } from '../common/errors.js';

/**
 * Little-endian byte reader over a Buffer. Every read checks bounds and throws
 * `CtdbError('EMSGSIZE')` when the input is short, so decoders never read junk.
 */
export class Reader {
  private off: number;
  constructor(readonly buf: Buffer, offset = 0, private readonly end = buf.length) {
    this.off = offset;
  }
  get offset(): number { return this.off; }
  get remaining(): number { return this.end - this.off; }

  private need(n: number, what: string): void {
    if (n < 0 || this.off + n > this.end) {
      throw new CtdbError('EMSGSIZE', `truncated data: need ${n} bytes for ${what} at offset ${this.off}, have ${this.end - this.off}`);
    }
  }
  u8(): number { this.need(1, 'u8'); return this.buf.readUInt8(this.off++); }
  u16(): number { this.need(2, 'u16'); const v = this.buf.readUInt16LE(this.off); this.off += 2; return v; }
  u16be(): number { this.need(2, 'u16be'); const v = this.buf.readUInt16BE(this.off); this.off += 2; return v; }
  u32(): number { this.need(4, 'u32'); const v = this.buf.readUInt32LE(this.off); this.off += 4; return v; }
  i32(): number { this.need(4, 'i32'); const v = this.buf.readInt32LE(this.off); this.off += 4; return v; }
  u64(): bigint { this.need(8, 'u64'); const v = this.buf.readBigUInt64LE(this.off); this.off += 8; return v; }
  i64(): bigint { this.need(8, 'i64'); const v = this.buf.readBigInt64LE(this.off); this.off += 8; return v; }
  /** A u64 that must fit a JS number (timestamps, counters). */
  u64n(): number { return Number(this.u64()); }
  i64n(): number { return Number(this.i64()); }
  f64(): number { this.need(8, 'double'); const v = this.buf.readDoubleLE(this.off); this.off += 8; return v; }
  bool(): boolean {
    const v = this.u8();
    if (v > 1) throw new CtdbError('EINVAL', `invalid bool value ${v}`);
    return v === 1;
  }
  /** `n` raw bytes (a copy, safe to keep). */
  bytes(n: number): Buffer {
    this.need(n, `${n} bytes`);
    const v = Buffer.from(this.buf.subarray(this.off, this.off + n));
    this.off += n;
    return v;
  }
  skip(n: number): void { this.need(n, 'padding'); this.off += n; }
  /** A NUL-terminated string occupying exactly `n` bytes (0 bytes = empty). */
  fixedString(n: number): string {
    const b = this.bytes(n);
    const z = b.indexOf(0);
    return b.subarray(0, z < 0 ? b.length : z).toString('utf8');
  }
  /** `stringn`: u32 length (incl. NUL) then bytes. */
  stringn(): string {
    const len = this.u32();
    return this.fixedString(len);
  }
  /** `tdb_datan`: u32 length then bytes. */
  datan(): Buffer { return this.bytes(this.u32()); }
  /** Everything left. */
  rest(): Buffer { return this.bytes(this.remaining); }
}

/** Little-endian byte writer that grows as needed. */
export class Writer {
  private buf: Buffer;
  private off = 0;
  constructor(initial = 256) { this.buf = Buffer.alloc(initial); }
  get length(): number { return this.off; }

  private grow(n: number): void {
    if (this.off + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.off + n) size *= 2;
    const nb = Buffer.alloc(size);
    this.buf.copy(nb, 0, 0, this.off);
    this.buf = nb;
  }
  u8(v: number): this { this.grow(1); this.buf.writeUInt8(v, this.off); this.off += 1; return this; }
  u16(v: number): this { this.grow(2); this.buf.writeUInt16LE(v, this.off); this.off += 2; return this; }
  u16be(v: number): this { this.grow(2); this.buf.writeUInt16BE(v, this.off); this.off += 2; return this; }
  u32(v: number): this { this.grow(4); this.buf.writeUInt32LE(v >>> 0, this.off); this.off += 4; return this; }
  i32(v: number): this { this.grow(4); this.buf.writeInt32LE(v | 0, this.off); this.off += 4; return this; }
  u64(v: bigint | number): this { this.grow(8); this.buf.writeBigUInt64LE(BigInt(v), this.off); this.off += 8; return this; }
  i64(v: bigint | number): this { this.grow(8); this.buf.writeBigInt64LE(BigInt(v), this.off); this.off += 8; return this; }
  f64(v: number): this { this.grow(8); this.buf.writeDoubleLE(v, this.off); this.off += 8; return this; }
  bool(v: boolean): this { return this.u8(v ? 1 : 0); }
  bytes(b: Uint8Array): this { this.grow(b.length); this.buf.set(b, this.off); this.off += b.length; return this; }
  zeros(n: number): this { this.grow(n); this.buf.fill(0, this.off, this.off + n); this.off += n; return this; }
  /** A string plus NUL (empty string → just the NUL). */
  cstring(s: string): this { return this.bytes(Buffer.from(s, 'utf8')).u8(0); }
  /** A string NUL-padded into exactly `n` bytes (truncated to n-1). */
  fixedString(s: string, n: number): this {
    const b = Buffer.from(s, 'utf8').subarray(0, n - 1);
    return this.bytes(b).zeros(n - b.length);
  }
  /** `stringn`: u32 length incl. NUL, then bytes and NUL. */
  stringn(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.u32(b.length + 1).bytes(b).u8(0);
  }
  /** `tdb_datan`: u32 length then bytes. */
  datan(b: Uint8Array): this { return this.u32(b.length).bytes(b); }
  /** Overwrites a u32 already written at `at`. */
  patchU32(at: number, v: number): void { this.buf.writeUInt32LE(v >>> 0, at); }
  /** The bytes written so far (a view; copy if the writer is reused). */
  finish(): Buffer { return this.buf.subarray(0, this.off); }
}

/** Encodes with a fresh writer and returns the bytes. */
export function writeAll<T>(encode: (w: Writer, v: T) => void, v: T): Buffer {
  const w = new Writer();
  encode(w, v);
  return w.finish();
}
