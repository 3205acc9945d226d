import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIST } from '../harness/cluster.js';
import { runFaultRounds } from './faults.js';

const built = existsSync(join(DIST, 'ctdbd.js'));

describe.skipIf(!built)('fault injection on real daemons (127.0.0.180..182, 186..188, 192..194)', () => {
  it('kill -9 and SIGSTOP/SIGCONT rounds with persistent writes: cluster agrees again, 0 lost, 0 zombies (seed printed)', async () => {
    const seed = Number(process.env.FAULT_SEED ?? Date.now() % 1_000_000);
    process.stdout.write(`fault rounds seed=${seed} (replay: npx tsx test/faults/run.ts --rounds 4 --seed ${seed} --faults kill9,stop)\n`);
    const s = await runFaultRounds({ rounds: 4, seed, faults: ['kill9', 'stop'], firstOctet: 180, log: (l) => process.stdout.write(`${l}\n`) });
    expect(s.rounds.length).toBe(4);
    expect(s.committed).toBeGreaterThan(0);
    expect({ lost: s.lost, zombies: s.zombies, notRecovered: s.notRecovered }).toEqual({ lost: 0, zombies: 0, notRecovered: 0 });
  }, 170_000);

  it('with a cluster lock: the lock file deleted under its holder (twice); cluster agrees again, 0 lost', async () => {
    const seed = Number(process.env.FAULT_SEED ?? Date.now() % 1_000_000) + 1;
    process.stdout.write(`lock fault rounds seed=${seed} (replay: npx tsx test/faults/run.ts --lock --rounds 2 --seed ${seed} --faults lockfile)\n`);
    const s = await runFaultRounds({ rounds: 2, seed, lock: true, faults: ['lockfile'], firstOctet: 192, writesPerRound: 2, log: (l) => process.stdout.write(`${l}\n`) });
    expect(s.committed).toBeGreaterThan(0);
    expect({ lost: s.lost, zombies: s.zombies, notRecovered: s.notRecovered }).toEqual({ lost: 0, zombies: 0, notRecovered: 0 });
  }, 170_000);

  // Found by this round (fixed in src/daemon/events.ts): ctdb-eventd killed after
  // start-up used to leave the node UNHEALTHY for good; ctdbd now starts a new
  // event daemon on the next event. Replay: npx tsx test/faults/run.ts
  // --rounds 1 --seed 1 --faults eventd
  it('killing a node\'s event daemon: the node becomes healthy again (ctdbd restarts it)', async () => {
    const s = await runFaultRounds({ rounds: 1, seed: 1, faults: ['eventd'], firstOctet: 186, settleMs: 25_000, writesPerRound: 1 });
    expect(s.notRecovered).toBe(0);
  }, 120_000);
});
