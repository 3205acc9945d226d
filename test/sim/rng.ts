/**
 * Seeded pseudo-random numbers for the simulator (sfc32 seeded by
 * splitmix32). One seed drives every decision of a run, so a seed replays
 * exactly.
 */
export class Rng {
  private a: number; private b: number; private c: number; private d: number;

  constructor(readonly seed: number) {
    let s = seed >>> 0;
    const mix = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = mix(); this.b = mix(); this.c = mix(); this.d = mix();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A uniform unsigned 32-bit integer. */
  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** A float in [0, 1). */
  float(): number { return this.u32() / 0x1_0000_0000; }

  /** An integer in [0, n). */
  int(n: number): number { return Math.floor(this.float() * n); }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number { return lo + this.int(hi - lo + 1); }

  /** True with probability `p`. */
  chance(p: number): boolean { return this.float() < p; }

  /** One element of a non-empty array. */
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]!; }
}
