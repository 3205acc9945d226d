/**
 * The environment ctdbd and ctdb-eventd hand to the processes they start
 * (event daemon, event scripts, recovery, takeover, vacuum and cluster-lock
 * helpers, notify.sh, the nodes-list command): an allowlist taken from the
 * daemon's own environment plus what the call site sets. Anything else the
 * daemon was started with (credentials, tokens, unrelated settings) stays
 * in the daemon. Pure: reads only the environment it is given.
 */

/**
 * Variables passed on when the daemon has them: the system basics (search
 * path, locale, time zone, home, temporary folder) and the CTDB_* names
 * that the daemon, its helpers or the shipped event scripts read from the
 * environment — locations (CTDB_BASE, sockets, helper and state folders),
 * logging, test mode, helper time limits, and the path overrides scripts
 * document so a test can redirect them.
 */
export const HELPER_ENV_NAMES: readonly string[] = [
  'PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR',
  'CTDB', 'CTDB_BASE', 'CTDB_TEST_MODE', 'CTDB_SOCKET', 'CTDB_EVENTD_SOCKET',
  'CTDB_DEBUGLEVEL', 'CTDB_LOGGING', 'CTDB_INTERACTIVE',
  'CTDB_HELPER_BINDIR', 'CTDB_TEST_HELPER_BINDIR', 'CTDB_SCRIPT_VARDIR', 'CTDB_VARDIR',
  'CTDB_HELPER_TIMEOUT', 'CTDB_MUTEX_PARENT_CHECK_MS', 'CTDB_TIMEOUT',
  'CTDB_TEST_FAULTS',
  'CTDB_SYS_ETCDIR', 'CTDB_PROC_DIR', 'CTDB_PROC_MEMINFO', 'CTDB_NATGW_HELPER', 'CTDB_LVS_HELPER',
  'CTDB_SERVICE_CMD', 'CTDB_PUBLIC_ADDRESSES',
];

/** Name prefixes passed on (the locale categories). */
export const HELPER_ENV_PREFIXES: readonly string[] = ['LC_'];

/** Search path used when the daemon itself has none. */
export const DEFAULT_HELPER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Builds a child's environment: the allowlisted variables of `from`
 * (default `process.env`), then `set` on top (a key set to undefined
 * removes it). PATH is always present. Never throws.
 */
export function helperEnv(set: NodeJS.ProcessEnv = {}, from: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(from)) {
    if (v === undefined) continue;
    if (HELPER_ENV_NAMES.includes(k) || HELPER_ENV_PREFIXES.some((p) => k.startsWith(p))) env[k] = v;
  }
  for (const [k, v] of Object.entries(set)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  env.PATH ??= DEFAULT_HELPER_PATH;
  return env;
}
