/**
 * Bob Jenkins' lookup3 `hashlittle` with initval 0, as TDB uses it for
 * record hashes (and CTDB for lmaster selection and database ids).
 * Written from the published algorithm description.
 */
export function jenkinsHash(key: Uint8Array): number {
  let length = key.length;
  let a = (0xdeadbeef + length) >>> 0;
  let b = a;
  let c = a;
  let k = 0;
  const rot = (x: number, n: number): number => ((x << n) | (x >>> (32 - n))) >>> 0;
  const word = (i: number): number =>
    (key[i]! | (key[i + 1]! << 8) | (key[i + 2]! << 16) | (key[i + 3]! << 24)) >>> 0;

  while (length > 12) {
    a = (a + word(k)) >>> 0;
    b = (b + word(k + 4)) >>> 0;
    c = (c + word(k + 8)) >>> 0;
    // mix
    a = (a - c) >>> 0; a ^= rot(c, 4); c = (c + b) >>> 0;
    b = (b - a) >>> 0; b ^= rot(a, 6); a = (a + c) >>> 0;
    c = (c - b) >>> 0; c ^= rot(b, 8); b = (b + a) >>> 0;
    a = (a - c) >>> 0; a ^= rot(c, 16); c = (c + b) >>> 0;
    b = (b - a) >>> 0; b ^= rot(a, 19); a = (a + c) >>> 0;
    c = (c - b) >>> 0; c ^= rot(b, 4); b = (b + a) >>> 0;
    a >>>= 0; b >>>= 0; c >>>= 0;
    length -= 12;
    k += 12;
  }
  if (length === 0) return c >>> 0;
  // Tail: up to 12 bytes, little-endian into a, b, c.
  const tail = [0, 0, 0];
  for (let i = 0; i < length; i++) tail[i >> 2]! += key[k + i]! << (8 * (i & 3));
  a = (a + (tail[0]! >>> 0)) >>> 0;
  b = (b + (tail[1]! >>> 0)) >>> 0;
  c = (c + (tail[2]! >>> 0)) >>> 0;
  // final
  c ^= b; c = (c - rot(b, 14)) >>> 0;
  a ^= c; a = (a - rot(c, 11)) >>> 0;
  b ^= a; b = (b - rot(a, 25)) >>> 0;
  c ^= b; c = (c - rot(b, 16)) >>> 0;
  a ^= c; a = (a - rot(c, 4)) >>> 0;
  b ^= a; b = (b - rot(a, 14)) >>> 0;
  c ^= b; c = (c - rot(b, 24)) >>> 0;
  return c >>> 0;
}

/** The database id CTDB derives from a name: jenkinsHash over the name and its NUL. */
export function dbIdForName(name: string): number {
  const b = Buffer.from(name, 'utf8');
  const z = Buffer.alloc(b.length + 1);
  b.copy(z);
  return jenkinsHash(z);
}
