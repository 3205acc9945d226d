import { runMain } from '../src/common/main.js';
import { ETCD_LOCK_USAGE, parseEtcdLockArgs, runEtcdLock } from '../src/mutex/etcd-lock.js';

const HELP = `${ETCD_LOCK_USAGE}

Takes the CTDB cluster lock in etcd (v3 JSON gateway) and prints one
character on stdout:
  0  lock taken (the helper keeps running while it holds the lock)
  1  contention: another node holds the lock
  2  timeout: etcd did not answer in time
  3  error (etcd unreachable or refusing; the reason goes to stderr)

  -e, --endpoint URL     etcd client URL (default http://127.0.0.1:2379);
                         repeat or separate with commas for fail-over
  -k, --key KEY          lock key (default /ctdb/cluster_lock)
  -t, --ttl SECONDS      lease TTL: a dead holder's lock expires after it
                         (default 10, at least 2)
  -T, --timeout SECONDS  limit for each etcd request (default 5)
  -h, --help             show this help

Use in ctdb.conf:  cluster lock = !/path/to/ctdb_etcd_lock -e http://etcd1:2379
See ctdb_etcd_lock(1).
`;

await runMain('ctdb_etcd_lock', async () => {
  const args = parseEtcdLockArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const parentCheckMs = Number(process.env.CTDB_MUTEX_PARENT_CHECK_MS) || undefined;
  return runEtcdLock(args, { parentCheckMs });
});
process.exit();
