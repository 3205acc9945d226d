import { runMain } from '../src/common/main.js';
import { exitImmediately } from '../src/mutex/fcntl.js';
import { runFcntlHelper } from '../src/mutex/fcntl-helper.js';
import { FCNTL_HELPER_USAGE, parseFcntlHelperArgs } from '../src/mutex/status.js';

const HELP = `${FCNTL_HELPER_USAGE}

Takes the CTDB cluster lock as a POSIX fcntl write lock on byte 0 of FILE
(on a cluster file system) and prints one character on stdout:
  0  lock taken (the helper keeps running while it holds the lock)
  1  contention: another process holds the lock
  2  timeout
  3  error
RECHECK_INTERVAL (seconds, default 5, 0 = never) checks the file was not
removed or replaced; PING_TIMEOUT (seconds, default 0 = no limit) bounds the
file-system responsiveness probe. Exits (releasing the lock) on SIGTERM,
when its parent dies, or when the lock is lost. See ctdb_mutex_fcntl_helper(1).
`;

await runMain('ctdb_mutex_fcntl_helper', async () => {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(HELP);
    return 0;
  }
  const parentCheckMs = Number(process.env.CTDB_MUTEX_PARENT_CHECK_MS) || undefined;
  return runFcntlHelper(parseFcntlHelperArgs(argv), { parentCheckMs });
});
// A file-system probe may still be blocked in fcntl on a worker thread: it
// must not keep the process (and the parent waiting for EOF) alive.
exitImmediately(typeof process.exitCode === 'number' ? process.exitCode : 0);
