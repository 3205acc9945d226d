import { join } from 'node:path';
import { CtdbClient } from '../../src/client/client.js';
import { getRecmode, getVnnmap } from '../../src/client/controls.js';
import { Pnn, RecMode } from '../../src/protocol/constants.js';
import type { LocalCluster } from './cluster.js';

/**
 * Waits until every node in `nodes` answers in recovery mode NORMAL on one
 * generation (other than `notGeneration` when given: a recovery since then).
 * False after `timeoutMs`; asks every `intervalMs`. Asks each daemon over
 * its client socket.
 */
export function waitSettled(cl: LocalCluster, nodes: number[], notGeneration?: number, timeoutMs = 120_000, intervalMs = 200): Promise<boolean> {
  return cl.waitFor(async () => {
    const gens = new Set<number>();
    for (const pnn of nodes) {
      const c = await CtdbClient.connect(join(cl.base(pnn), 'run', 'ctdbd.socket')).catch(() => undefined);
      if (!c) return false;
      try {
        if (await getRecmode(c, Pnn.CURRENT, { timeoutMs: 5000 }) !== RecMode.NORMAL) return false;
        gens.add((await getVnnmap(c, Pnn.CURRENT, { timeoutMs: 5000 })).generation);
      } catch { return false; } finally { c.close(); }
    }
    return gens.size === 1 && (notGeneration === undefined || !gens.has(notGeneration));
  }, timeoutMs, intervalMs);
}
