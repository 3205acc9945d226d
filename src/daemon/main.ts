import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { loadConfig, type CtdbConfig } from '../common/config.js';
import { CtdbError } from '../common/errors.js';
import { configureLogging, DebugLevels } from '../common/log.js';
import { canonicalNodeAddress, loadNodes, type NodeEntry } from '../common/nodes.js';
import { resolvePaths, type CtdbPaths } from '../common/paths.js';
import { Tunables } from '../common/tunables.js';
import { Ctdbd, type EventRunner } from './ctdbd.js';
import { helperEnv } from '../common/helper-env.js';

/** Command-line options of ctdbd. */
export interface CtdbdArgs { interactive: boolean; debug?: string }

export const CTDBD_USAGE = `Usage: ctdbd [OPTIONS]

Start the CTDB daemon for this node. Configuration comes from
$CTDB_BASE/ctdb.conf (default /etc/ctdb); with CTDB_TEST_MODE=yes every
path derives from CTDB_BASE so several daemons can share one host.

Options:
  -i, --interactive   stay in the foreground (do not daemonise)
  -d, --debug LEVEL   override [logging] log level (ERROR, WARNING, NOTICE, INFO, DEBUG)
  -h, --help          show this help
`;

/** Parses ctdbd's argv; throws CtdbError('EINVAL') naming a bad option. */
export function parseCtdbdArgs(argv: string[]): CtdbdArgs | 'help' {
  const out: CtdbdArgs = { interactive: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') return 'help';
    if (a === '-i' || a === '--interactive') out.interactive = true;
    else if (a === '-d' || a === '--debug') {
      const v = argv[++i];
      if (v === undefined) throw new CtdbError('EINVAL', `option ${a} needs a level`);
      out.debug = v;
    } else if (a.startsWith('--debug=')) out.debug = a.slice(8);
    else throw new CtdbError('EINVAL', `unknown option '${a}' (see ctdbd --help)`);
  }
  return out;
}

async function canBind(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ host: address, port: 0 }, () => s.close(() => resolve(true)));
  });
}

/** Finds this node in the nodes file: the configured node address, else the first address we can bind. */
export async function findMyNode(nodes: NodeEntry[], cfg: CtdbConfig): Promise<NodeEntry> {
  if (cfg.cluster.nodeAddress) {
    const want = canonicalNodeAddress(cfg.cluster.nodeAddress);
    const me = nodes.find((n) => !n.deleted && n.address === want);
    if (!me) throw new CtdbError('EINVAL', `node address ${want} from ctdb.conf is not in the nodes file`);
    return me;
  }
  for (const n of nodes) if (!n.deleted && await canBind(n.address)) return n;
  throw new CtdbError('EADDRNOTAVAIL', 'this host owns none of the addresses in the nodes file');
}

async function socketInUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** Where pino should write, from `[logging] location`. */
function logDestination(cfg: CtdbConfig, paths: CtdbPaths): { dest: string; syslog: boolean } {
  const loc = cfg.logging.location;
  if (loc.startsWith('file:')) return { dest: loc.slice(5) || `${paths.logdir}/log.ctdb`, syslog: false };
  return { dest: 'stderr', syslog: loc.startsWith('syslog') };
}

/** Runs ctdbd until it shuts down; returns the exit code. */
export async function runCtdbd(args: CtdbdArgs, makeEvents?: (d: { paths: CtdbPaths; config: CtdbConfig; log: Logger }) => Promise<EventRunner>): Promise<number> {
  const paths = resolvePaths();
  const config = loadConfig(paths);
  const tunables = new Tunables();
  tunables.loadFile(paths.tunablesFile);
  const nodes = loadNodes(config.cluster.nodesList);
  const me = await findMyNode(nodes, config);

  if (await socketInUse(paths.socket)) throw new CtdbError('EADDRINUSE', `another ctdbd is already serving ${paths.socket}`);
  for (const dir of [paths.rundir, config.database.volatileDir, config.database.persistentDir, config.database.stateDir]) {
    mkdirSync(dir, { recursive: true });
  }
  mkdirSync(dirname(paths.socket), { recursive: true });

  const level = args.debug ?? config.logging.logLevel;
  const { dest, syslog } = logDestination(config, paths);
  if (syslog) {
    // pino writes JSON lines; the system logger takes them from a pipe.
    const child = spawn('logger', ['-t', 'ctdbd'], { stdio: ['pipe', 'ignore', 'ignore'], env: helperEnv() });
    child.unref();
    process.stderr.write = child.stdin!.write.bind(child.stdin!) as typeof process.stderr.write;
  }
  const log = configureLogging({ dest, level: level.toUpperCase() as keyof typeof DebugLevels, name: 'ctdbd' }).child({ component: 'ctdbd', pnn: me.pnn });

  writeFileSync(paths.pidfile, `${process.pid}\n`);
  const events = makeEvents ? await makeEvents({ paths, config, log }) : undefined;
  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((r) => { resolveExit = r; });
  let daemon: Ctdbd;
  try {
    daemon = new Ctdbd({ paths, config, nodes, myPnn: me.pnn, myAddress: me.address, tunables, log, events, onExit: resolveExit });
  } catch (err) {
    // The event daemon is already running: stop it, or this process never exits.
    await events?.close().catch(() => {});
    try { unlinkSync(paths.pidfile); } catch { /* gone */ }
    throw err;
  }
  daemon.debugLevel = DebugLevels[level.toUpperCase() as keyof typeof DebugLevels] ?? 3;

  const stop = (): void => { void daemon.shutdown(0); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  try {
    await daemon.start();
  } catch (err) {
    await daemon.shutdown(1);
    throw err;
  }
  const code = await exited;
  try { if (readFileSync(paths.pidfile, 'utf8').trim() === String(process.pid)) unlinkSync(paths.pidfile); } catch { /* gone */ }
  log.info({ code }, 'ctdbd exiting');
  return code;
}
