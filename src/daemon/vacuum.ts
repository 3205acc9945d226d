import type { Ctdbd } from './ctdbd.js';

/** Plugs vacuuming into the daemon (filled in below). */
export function attachVacuum(_d: Ctdbd): void {}
