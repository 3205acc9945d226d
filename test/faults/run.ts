/**
 * Fault rounds on real daemons: `npm run build && npx tsx test/faults/run.ts --rounds 20`.
 * Options: --rounds N, --seed N, --nodes N (default 3), --faults kill9,stop,eventd,lockfile,
 * --lock (configure a cluster lock; 'lockfile' deletes it under the holder).
 * Prints one line per round and the totals; exit 1 on any lost record,
 * zombie or cluster that did not recover.
 */
import { parseArgs } from 'node:util';
import { runFaultRounds, type RealFault } from './faults.js';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: {
    rounds: { type: 'string', default: '10' }, seed: { type: 'string' }, nodes: { type: 'string', default: '3' },
    faults: { type: 'string' }, lock: { type: 'boolean', default: false },
  } });
  const seed = values.seed !== undefined ? Number(values.seed) : Date.now() % 1_000_000;
  process.stdout.write(`fault run seed=${seed}\n`);
  const s = await runFaultRounds({
    rounds: Number(values.rounds), seed, nodes: Number(values.nodes), lock: values.lock,
    ...(values.faults ? { faults: values.faults.split(',') as RealFault[] } : {}),
    log: (l) => process.stdout.write(`${l}\n`), handleSignals: true,
  });
  process.stdout.write(`rounds=${s.rounds.length} faults ${Object.entries(s.faults).map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
  process.stdout.write(`committed=${s.committed} failed-writes=${s.failedWrites} lost=${s.lost} zombies=${s.zombies} not-recovered=${s.notRecovered}\n`);
  return s.lost + s.zombies + s.notRecovered > 0 ? 1 : 0;
}

main().then((code) => { process.exitCode = code; }, (err) => { process.stderr.write(`faults: ${String(err)}\n`); process.exitCode = 1; });
