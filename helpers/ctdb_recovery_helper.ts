import { runMain } from '../src/common/main.js';
import { exitCodeFor } from '../src/common/errors.js';
import { parseHelperArgs, runRecoveryHelper, writeResult } from '../src/recovery/helper-main.js';

const NAME = 'ctdb_recovery_helper';

const USAGE = `Usage: ${NAME} WRITE-FD SOCKET GENERATION [PNN,...] [--no-pull PNN,...]

Recovers every clustered database across the active nodes (or the PNN
list): freeze, pull, keep the newest copy of each record, push, thaw.
Connects to the ctdbd client socket SOCKET. Writes the result as a 4-byte
int to WRITE-FD ('-' for none) and prints 'culprit PNN COUNT' lines for
nodes that failed controls. --no-pull names nodes whose volatile records
are not trusted (they were banned or stopped).

Exit status: 0 success, 5 a database could not be recovered, 22 bad
arguments, 111 cannot connect to ctdbd.
`;

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes('-h') || argv.includes('--help')) { process.stdout.write(USAGE); return 0; }
  const args = parseHelperArgs(argv);
  let result: number;
  try { result = await runRecoveryHelper(args); } catch (err) {
    writeResult(args.writeFd, exitCodeFor(err) || 1);
    throw err;
  }
  writeResult(args.writeFd, result);
  return result;
}

await runMain(NAME, main);
