import { readFile } from 'node:fs/promises';
import { CtdbError } from '../src/common/errors.js';
import { logger } from '../src/common/log.js';
import { runMain } from '../src/common/main.js';
import { computeAllocation, parseComputeArgs } from '../src/takeover/compute.js';
import { runTakeoverHelper } from '../src/takeover/helper-run.js';

const NAME = 'ctdb_takeover_helper';

const USAGE = `Usage: ${NAME} --compute --node-flags F0,F1,... [OPTIONS] < IP-LIST
       ${NAME} WRITE-FD CTDBD-SOCKET [PNN,...]

Preview mode (--compute) reads lines "IP CURRENT_PNN [ALLOWED_PNN,...]" on
stdin (-1 = unassigned; no list = every node may host the address) and prints
the allocation as "IP PNN" lines, highest address first.

Takeover-run mode (started by the leader's ctdbd) performs one takeover run
through the ctdbd socket, rebalancing onto the given PNNs, and writes the
result (0, or a negative errno) as a 4-byte integer to WRITE-FD.

Options:
  --compute                 preview an allocation without a cluster
  --node-flags LIST         node flag words, one per node (decimal or 0x hex)
  --algorithm NAME          deterministic | nondeterministic | lcp2 (default)
  --no-ip-takeover          as tunable NoIPTakeover=1
  --no-ip-failback          as tunable NoIPFailback=1
  --force-rebalance LIST    PNNs to rebalance onto (lcp2)
  --home-nodes FILE         home_nodes file (deterministic)
  -h, --help                show this help

Exit status: 0 success, 1 takeover run failed, 22 bad input (nothing
printed on stdout).
`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function runCompute(argv: string[]): Promise<number> {
  const { homeNodesFile, ...opts } = parseComputeArgs(argv);
  const homeNodesText = homeNodesFile === undefined ? undefined
    : await readFile(homeNodesFile, 'utf8').catch((err: unknown) => {
      throw new CtdbError('ENOENT', `cannot read home nodes file ${homeNodesFile}`, { cause: err });
    });
  const { output, warnings } = computeAllocation(await readStdin(),
    homeNodesText === undefined ? opts : { ...opts, homeNodesText });
  for (const w of warnings) logger('takeover').warn(w);
  process.stdout.write(output);
  return 0;
}

async function runTakeover(argv: string[]): Promise<number> {
  return runTakeoverHelper(argv);
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(USAGE);
    return 0;
  }
  return argv.includes('--compute') ? runCompute(argv) : runTakeover(argv);
}

await runMain(NAME, main);
