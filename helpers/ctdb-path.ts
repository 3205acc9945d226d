import { CtdbError } from '../src/common/errors.js';
import { runMain } from '../src/common/main.js';
import { daemonPidfile, daemonSocket, resolvePaths, type CtdbPaths } from '../src/common/paths.js';

const USAGE = `Usage: ctdb-path [-h|--help] COMMAND [ARGS]

Prints one CTDB path (from CTDB_BASE, CTDB_TEST_MODE and CTDB_SOCKET).

Commands:
  config                 path of ctdb.conf
  pidfile [DAEMON]       pid file of DAEMON (default ctdbd)
  socket [DAEMON]        socket of DAEMON (default ctdbd; CTDB_SOCKET wins for ctdbd)
  datadir [append PATH]  read-only data folder
  etcdir [append PATH]   configuration folder (CTDB_BASE)
  rundir [append PATH]   sockets and pid files
  lockdir, piddir, socketdir [append PATH]   the same as rundir
  vardir [append PATH]   databases and state
`;

const DIRS: Record<string, (p: CtdbPaths) => string> = {
  datadir: (p) => p.datadir,
  etcdir: (p) => p.base,
  rundir: (p) => p.rundir,
  lockdir: (p) => p.rundir,
  piddir: (p) => p.rundir,
  socketdir: (p) => p.rundir,
  vardir: (p) => p.vardir,
};

const usageError = (what: string): CtdbError => new CtdbError('EINVAL', `${what} (see ctdb-path --help)`);

/** The path a command line asks for; throws CtdbError EINVAL on bad usage. */
function pathFor(args: string[], paths: CtdbPaths): string {
  const [cmd, ...rest] = args as [string, ...string[]];
  if (cmd === 'config') {
    if (rest.length !== 0) throw usageError('config takes no arguments');
    return paths.configFile;
  }
  if (cmd === 'pidfile' || cmd === 'socket') {
    if (rest.length > 1) throw usageError(`${cmd} takes one DAEMON`);
    const daemon = rest[0] ?? 'ctdbd';
    if (daemon === '' || daemon.includes('/')) throw usageError(`invalid daemon name '${daemon}'`);
    if (cmd === 'pidfile') return daemonPidfile(paths.rundir, daemon);
    return daemon === 'ctdbd' ? paths.socket : daemonSocket(paths.rundir, daemon);
  }
  const dir = DIRS[cmd];
  if (!dir) throw new CtdbError('EPERM', `unknown command '${cmd}' (see ctdb-path --help)`);
  if (rest.length === 0) return dir(paths);
  if (rest.length !== 2 || rest[0] !== 'append') throw usageError(`usage: ${cmd} [append PATH]`);
  return `${dir(paths)}/${rest[1]}`;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.some((a) => a === '-h' || a === '--help' || a === '-?')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (args.length === 0) {
    process.stderr.write(USAGE);
    return 1;
  }
  process.stdout.write(`${pathFor(args, resolvePaths())}\n`);
  return 0;
}

await runMain('ctdb-path', main);
