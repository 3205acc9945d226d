/** Pure command-line parsing for ctdb_killtcp. */
import { CtdbError } from '../common/errors.js';

/** Usage text printed by --help and on usage errors. */
export const USAGE = `Usage: ctdb_killtcp IFACE [CLIENT SERVER]

Reset TCP connections to this node by sending tickle ACKs and answering the
server's replies with RSTs. CLIENT and SERVER are ip:port ([addr]:port for
IPv6). With only IFACE, connections are read from stdin, one 'CLIENT SERVER'
pair per line. IFACE is the interface the server's replies leave by.

Options:
  -h, --help   show this help and exit

Exit status: 0 all connections handled (reset, or retries exhausted),
1 usage error, 22 (EINVAL) some input lines were invalid (the valid ones
were still processed), 19 (ENODEV) no such interface, 1 (EPERM) no raw-socket
privilege.
Environment: CTDB_DEBUGLEVEL sets the log level (logs go to stderr).
`;

/** What the command line asks for. */
export type KillArgs =
  | { kind: 'help' }
  | { kind: 'run'; iface: string; client?: string; server?: string };

/** Parses argv (without node and script). Throws CtdbError EINVAL (exit 1) on misuse. */
export function parseKillArgs(argv: readonly string[]): KillArgs {
  if (argv.includes('-h') || argv.includes('--help')) return { kind: 'help' };
  const bad = argv.find((a) => a.startsWith('-') && a !== '-');
  if (bad) throw new CtdbError('EINVAL', `unknown option '${bad}'`, { exitCode: 1 });
  if (argv.length === 1) return { kind: 'run', iface: argv[0]! };
  if (argv.length === 3) return { kind: 'run', iface: argv[0]!, client: argv[1]!, server: argv[2]! };
  throw new CtdbError('EINVAL', `expected IFACE [CLIENT SERVER], got ${argv.length} argument(s); see --help`, { exitCode: 1 });
}
