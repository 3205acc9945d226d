import { createRequire } from 'node:module';
import type * as KoffiModule from 'koffi';

let koffiMod: typeof KoffiModule | undefined;

/**
 * koffi, loaded on first use. Importing koffi loads its native addon (~20 ms);
 * the ctdb tool bundles modules that need it only for a few commands, so they
 * reach it through this proxy and every other command starts without it.
 */
export const koffi: typeof KoffiModule = new Proxy({} as typeof KoffiModule, {
  get(_t, prop) {
    koffiMod ??= createRequire(import.meta.url)('koffi') as typeof KoffiModule;
    return (koffiMod as unknown as Record<string | symbol, unknown>)[prop];
  },
});
export default koffi;
