import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Every file and folder location CTDB uses on one node. All of it derives from
 * `CTDB_BASE` and, in test mode (`CTDB_TEST_MODE` set), nothing points
 * outside it, so several daemons (ours or Debian's) can share a host.
 */
export interface CtdbPaths {
  /** The configuration folder (`CTDB_BASE`, default /etc/ctdb). */
  base: string;
  /** True when `CTDB_TEST_MODE` is set to a non-empty value. */
  testMode: boolean;
  configFile: string;
  nodesFile: string;
  publicAddressesFile: string;
  tunablesFile: string;
  scriptOptionsFile: string;
  notifyScript: string;
  /** `<base>/events`; event scripts live in `<eventsDir>/legacy`. */
  eventsDir: string;
  /** Sockets and pid files (/run/ctdb; test mode `<base>/run`). */
  rundir: string;
  /** Databases and state (/var/lib/ctdb; test mode `<base>/var`). */
  vardir: string;
  /** Default log folder (/var/log/ctdb; test mode `<base>`). */
  logdir: string;
  /** Read-only data such as event scripts shipped with the package (/usr/share/ctdb; test mode `<base>/share`). */
  datadir: string;
  /** The ctdbd client socket; `CTDB_SOCKET` overrides. */
  socket: string;
  pidfile: string;
  eventdSocket: string;
  /** Where our bundled helpers live (this package's dist/); `CTDB_HELPER_BINDIR` overrides. */
  helperDir: string;
  /** Scripts' state folder; `CTDB_SCRIPT_VARDIR` overrides (default `<vardir>/scripts`). */
  scriptVardir: string;
}

/** Debian's compiled-in locations, used outside test mode. */
export const DEFAULT_DIRS = {
  base: '/etc/ctdb',
  rundir: '/run/ctdb',
  vardir: '/var/lib/ctdb',
  logdir: '/var/log/ctdb',
  datadir: '/usr/share/ctdb',
} as const;

const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);

/**
 * Resolves every path from an environment (default `process.env`). Pure apart
 * from locating this package's dist/ folder on disk; never throws.
 */
export function resolvePaths(env: NodeJS.ProcessEnv = process.env): CtdbPaths {
  const testMode = nonEmpty(env.CTDB_TEST_MODE) !== undefined;
  const base = resolve(nonEmpty(env.CTDB_BASE) ?? DEFAULT_DIRS.base);
  const rundir = testMode ? join(base, 'run') : DEFAULT_DIRS.rundir;
  const vardir = testMode ? join(base, 'var') : DEFAULT_DIRS.vardir;
  const logdir = testMode ? base : DEFAULT_DIRS.logdir;
  const datadir = testMode ? join(base, 'share') : DEFAULT_DIRS.datadir;
  return {
    base,
    testMode,
    configFile: join(base, 'ctdb.conf'),
    nodesFile: join(base, 'nodes'),
    publicAddressesFile: join(base, 'public_addresses'),
    tunablesFile: join(base, 'ctdb.tunables'),
    scriptOptionsFile: join(base, 'script.options'),
    notifyScript: join(base, 'notify.sh'),
    eventsDir: join(base, 'events'),
    rundir,
    vardir,
    logdir,
    datadir,
    socket: nonEmpty(env.CTDB_SOCKET) ?? daemonSocket(rundir, 'ctdbd'),
    pidfile: daemonPidfile(rundir, 'ctdbd'),
    eventdSocket: daemonSocket(rundir, 'eventd'),
    helperDir: nonEmpty(env.CTDB_HELPER_BINDIR) ?? packageDistDir(),
    scriptVardir: nonEmpty(env.CTDB_SCRIPT_VARDIR) ?? join(vardir, 'scripts'),
  };
}

/** `<rundir>/<daemon>.socket`. */
export function daemonSocket(rundir: string, daemon: string): string {
  return join(rundir, `${daemon}.socket`);
}

/** `<rundir>/<daemon>.pid`. */
export function daemonPidfile(rundir: string, daemon: string): string {
  return join(rundir, `${daemon}.pid`);
}

/**
 * This package's dist/ folder. Bundled executables run from dist/ itself;
 * under tsx/vitest this file sits in src/common, two levels below the root.
 */
export function packageDistDir(moduleUrl: string = import.meta.url): string {
  let dir: string;
  try { dir = dirname(fileURLToPath(moduleUrl)); } catch { return resolve('dist'); }
  if (basename(dir) === 'dist') return dir;
  // Walk up (bounded) to the folder holding package.json, then its dist/.
  let d = dir;
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(d, 'package.json'))) return join(d, 'dist');
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  return dir;
}
