/**
 * Fault rounds on real daemons: `npm run build && npx tsx test/faults/run.ts --rounds 20`.
 * Options: --rounds N, --seed N, --nodes N (default 3),
 * --faults kill9,stop,eventd,lockfile,diskfull,partition,
 * --lock (configure a cluster lock; 'lockfile' deletes it under the holder),
 * --diskfull (root: a 4 MiB tmpfs under each node's persistent database
 * folder; 'diskfull' fills one), --netns (root: nodes in network namespaces
 * with public addresses and a cluster lock; 'partition' takes a node's link
 * down; addresses hosted twice or nowhere are counted after each round).
 * CTDB_FAULTS_BAN_PERIOD=default (or seconds) sets the RecoveryBanPeriod of
 * --diskfull runs (5 s unless set).
 * Prints one line per round and the totals; exit 1 on any lost or diverged
 * record, zombie, duplicate or unhosted address, diskfull misbehaviour or
 * cluster that did not recover.
 */
import { parseArgs } from 'node:util';
import { REAL_FAULTS, runFaultRounds, type RealFault } from './faults.js';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: {
    rounds: { type: 'string', default: '10' }, seed: { type: 'string' }, nodes: { type: 'string', default: '3' },
    faults: { type: 'string' }, lock: { type: 'boolean', default: false },
    diskfull: { type: 'boolean', default: false }, netns: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
  } });
  if (values.help) {
    process.stdout.write('usage: npm run faults -- [--rounds N] [--seed N] [--nodes N] [--faults kill9,stop,eventd,lockfile,diskfull,partition] [--lock] [--diskfull] [--netns]\n');
    return 0;
  }
  const bad = (values.faults ?? '').split(',').filter((f) => f !== '' && !(REAL_FAULTS as readonly string[]).includes(f));
  if (bad.length > 0) { process.stderr.write(`faults: unknown fault kind '${bad[0]}' (known: ${REAL_FAULTS.join(', ')})\n`); return 2; }
  if ((values.diskfull || values.netns) && process.getuid?.() !== 0) { process.stderr.write('faults: --diskfull and --netns need root\n'); return 2; }
  const seed = values.seed !== undefined ? Number(values.seed) : Date.now() % 1_000_000;
  process.stdout.write(`fault run seed=${seed}\n`);
  const s = await runFaultRounds({
    rounds: Number(values.rounds), seed, nodes: Number(values.nodes), lock: values.lock, diskfull: values.diskfull, netns: values.netns,
    ...(values.faults ? { faults: values.faults.split(',') as RealFault[] } : {}),
    log: (l) => process.stdout.write(`${l}\n`), handleSignals: true,
  });
  process.stdout.write(`rounds=${s.rounds.length} faults ${Object.entries(s.faults).map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
  process.stdout.write(`committed=${s.committed} failed-writes=${s.failedWrites} lost=${s.lost} diverged=${s.diverged} zombies=${s.zombies} `
    + `duplicates=${values.netns ? s.duplicates : 'n/a'} unhosted=${values.netns ? s.unhosted : 'n/a'} diskfull-problems=${s.diskfullProblems} not-recovered=${s.notRecovered}\n`);
  return s.lost + s.diverged + s.zombies + s.duplicates + s.unhosted + s.diskfullProblems + s.notRecovered > 0 ? 1 : 0;
}

main().then((code) => { process.exitCode = code; }, (err) => { process.stderr.write(`faults: ${String(err)}\n`); process.exitCode = 1; });
