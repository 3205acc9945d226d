import { CtdbClient } from '../src/client/client.js';
import { getPnn, getTunable } from '../src/client/controls.js';
import { CtdbError } from '../src/common/errors.js';
import { logger } from '../src/common/log.js';
import { runMain } from '../src/common/main.js';
import { resolvePaths } from '../src/common/paths.js';
import { Pnn } from '../src/protocol/constants.js';
import { vacuumOnNodes, volatileDbs } from '../src/vacuum/front.js';
import { decodeQueue, runVacuum, tryDeleteRecords } from '../src/vacuum/worker.js';

const NAME = 'ctdb_vacuum';

const USAGE = `Usage: ${NAME} [--fast] [DB...]
       ${NAME} --worker DBID [--full]     (run by ctdbd; delete queue on stdin)
       ${NAME} --try-delete               (run by ctdbd; TRY_DELETE_RECORDS on stdin)

Garbage-collects deleted records of volatile databases on this node (all of
them when no DB is named; names or 0x ids). Without --fast a full run also
traverses the database. Connects to ctdbd through CTDB_SOCKET or the
default socket; safe to run from cron: a run that meets a recovery stops
cleanly.

Exit status: 0 success, 1/2 no such database, 5 a run failed, 22 bad
arguments, 111 cannot connect to ctdbd, 125 interrupted by a recovery.
`;

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function connect(): Promise<CtdbClient> {
  const c = await CtdbClient.connect(resolvePaths().socket);
  c.pnn = await getPnn(c, Pnn.CURRENT);
  return c;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes('-h') || argv.includes('--help')) { process.stdout.write(USAGE); return 0; }
  const c = await connect();
  try {
    if (argv[0] === '--try-delete') {
      process.stdout.write(await tryDeleteRecords(c, await readStdin()));
      return 0;
    }
    if (argv[0] === '--worker') {
      const id = argv[1] ?? '';
      if (!/^(0x[0-9a-f]+|\d+)$/i.test(id)) throw new CtdbError('EINVAL', `invalid database id '${id}'`);
      const s = await runVacuum(c, Number(id) >>> 0, argv.includes('--full'), decodeQueue(await readStdin()), logger('vacuum'));
      process.stdout.write(`${s.db} ${s.full ? 'full' : 'fast'}: ${s.candidates} candidates, ${s.deleted} deleted, ${s.fetched} sent to lmaster, ${s.kept} kept${s.repacked ? ', repacked' : ''}\n`);
      return 0;
    }
    const bad = argv.find((a) => a.startsWith('-') && a !== '--fast');
    if (bad) throw new CtdbError('EINVAL', `unknown option '${bad}'`);
    const timeoutMs = (((await getTunable(c, c.pnn, 'VacuumMaxRunTime')) ?? 120) + 10) * 1000;
    for (const db of await volatileDbs(c, c.pnn, argv.filter((a) => a !== '--fast'), 10_000)) {
      await vacuumOnNodes(c, [c.pnn], db.id, !argv.includes('--fast'), timeoutMs);
      process.stdout.write(`vacuumed ${db.name}\n`);
    }
    return 0;
  } finally { c.close(); }
}

await runMain(NAME, main);
