import { configureLogging, parseDebugLevel, type DebugLevelName } from '../common/log.js';
import { CtdbError } from '../common/errors.js';
import { loadConfig } from '../common/config.js';
import { resolvePaths } from '../common/paths.js';
import { EventDaemon, serveEventd } from './server.js';

/** Usage text of ctdb-eventd. */
export const EVENTD_USAGE = `Usage: ctdb-eventd [options]

Runs CTDB event scripts for ctdbd; listens on a Unix socket.

Options:
  -s, --socket PATH        socket to listen on (default <rundir>/eventd.socket)
  -b, --ctdb-base DIR      configuration folder (default $CTDB_BASE or /etc/ctdb)
  -P, --pid PID            exit when process PID (ctdbd) is gone
  -D, --debug-script FILE  hung-script debug hook (default [event] debug script)
  -d, --debug LEVEL        ERROR, WARNING, NOTICE, INFO or DEBUG (default NOTICE)
  -l, --log DEST           "stderr" or a file path (default stderr)
  -h, --help               show this help
`;

/** Parsed command line of ctdb-eventd. */
export interface EventdArgs {
  help: boolean; socket?: string; ctdbBase?: string; parentPid?: number;
  debugScript?: string; level?: DebugLevelName; log?: string;
}

/** Parses ctdb-eventd's argv; throws CtdbError('EINVAL') on bad usage. */
export function parseEventdArgs(argv: string[]): EventdArgs {
  const a: EventdArgs = { help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const [flag, inline] = arg.startsWith('--') && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new CtdbError('EINVAL', `option ${flag} needs a value (see --help)`);
      return v;
    };
    switch (flag) {
      case '-h': case '--help': a.help = true; break;
      case '-s': case '--socket': a.socket = value(); break;
      case '-b': case '--ctdb-base': a.ctdbBase = value(); break;
      case '-P': case '--pid': {
        const v = value();
        if (!/^\d+$/.test(v)) throw new CtdbError('EINVAL', `invalid pid "${v}"`);
        a.parentPid = Number(v); break;
      }
      case '-D': case '--debug-script': a.debugScript = value(); break;
      case '-d': case '--debug': a.level = parseDebugLevel(value()); break;
      case '-l': case '--log': a.log = value(); break;
      default: throw new CtdbError('EINVAL', `unknown argument "${arg}" (see --help)`);
    }
  }
  return a;
}

/** Runs the daemon until SIGTERM/SIGINT or until the parent pid is gone. */
export async function runEventd(argv: string[]): Promise<number> {
  const args = parseEventdArgs(argv);
  if (args.help) { process.stdout.write(EVENTD_USAGE); return 0; }
  const env = args.ctdbBase ? { ...process.env, CTDB_BASE: args.ctdbBase } : process.env;
  const paths = resolvePaths(env);
  const config = loadConfig(paths);
  const log = configureLogging({ dest: args.log ?? 'stderr', level: args.level ?? config.logging.logLevel, name: 'ctdb-eventd' })
    .child({ component: 'eventd' });
  const socketPath = args.socket ?? paths.eventdSocket;
  const daemon = new EventDaemon({
    ctdbBase: paths.base, debugScript: args.debugScript ?? config.event.debugScript,
    env: { CTDB_BASE: paths.base }, log,
  });
  const served = await serveEventd(daemon, socketPath, log);
  log.info({ socketPath, ctdbBase: paths.base, parentPid: args.parentPid }, 'event daemon listening');

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (why: string): void => {
      if (stopping) return;
      stopping = true;
      clearInterval(watch);
      log.info({ why }, 'event daemon stopping');
      void served.close().then(() => resolve(0));
    };
    // ctdbd may die without telling us: poll for it so no eventd is left behind.
    const watch = setInterval(() => {
      if (args.parentPid === undefined) return;
      try { process.kill(args.parentPid, 0); } catch { stop('parent process is gone'); }
    }, 1000);
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
