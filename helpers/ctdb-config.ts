import { existsSync } from 'node:fs';
import { CtdbError } from '../src/common/errors.js';
import { configureLogging, parseDebugLevel, type DebugLevelName } from '../src/common/log.js';
import { runMain } from '../src/common/main.js';
import { formatConfig, getConfigText, loadConfigFile } from '../src/common/config.js';
import { resolvePaths } from '../src/common/paths.js';

const USAGE = `Usage: ctdb-config [-d LEVEL] COMMAND [ARGS]

Checks and prints CTDB's configuration file (<CTDB_BASE>/ctdb.conf).

Options:
  -d, --debug=LEVEL     log level: ERROR, WARNING, NOTICE, INFO or DEBUG
  -h, --help            show this help

Commands:
  validate              exit 0 when the file exists and is valid
  dump                  print the effective configuration (INI)
  get SECTION KEY       print one value (empty when unset)

Exit codes: 0 ok, 1 usage, 2 file missing (validate) or unknown option (get),
22 invalid configuration or arguments.
`;

const ARITY: Record<string, number> = { validate: 0, dump: 0, get: 2 };

/** Splits argv into the debug level and the command words; throws EINVAL. */
function parseArgs(argv: string[]): { help: boolean; level: DebugLevelName; words: string[] } {
  let level: DebugLevelName = 'ERROR';
  let help = false;
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    let value: string | undefined;
    if (a === '-h' || a === '--help' || a === '-?') { help = true; continue; }
    if (a === '-d' || a === '--debug') value = argv[++i];
    else if (a.startsWith('--debug=')) value = a.slice(8);
    else if (a.startsWith('-d') && a.length > 2) value = a.slice(2);
    else if (a.startsWith('-') && words.length === 0) throw new CtdbError('EINVAL', `unknown option '${a}'`);
    else { words.push(a); continue; }
    if (value === undefined) throw new CtdbError('EINVAL', `${a} needs a LEVEL`);
    try { level = parseDebugLevel(value); } catch (err) {
      throw new CtdbError('EINVAL', `invalid debug level '${value}'`, { cause: err });
    }
  }
  return { help, level, words };
}

async function main(): Promise<number> {
  const { help, level, words } = parseArgs(process.argv.slice(2));
  if (help) { process.stdout.write(USAGE); return 0; }
  const [cmd, ...rest] = words;
  if (cmd === undefined) { process.stderr.write(USAGE); return 1; }
  const arity = ARITY[cmd];
  if (arity === undefined) throw new CtdbError('EPERM', `unknown command '${cmd}' (see ctdb-config --help)`);
  if (rest.length !== arity) throw new CtdbError('EINVAL', `${cmd} takes ${arity} argument(s) (see ctdb-config --help)`);
  const log = configureLogging({ dest: 'stderr', level, name: 'ctdb-config' });
  const paths = resolvePaths();
  log.debug({ file: paths.configFile }, 'reading config file');
  if (cmd === 'validate' && !existsSync(paths.configFile)) {
    throw new CtdbError('ENOENT', `failed to load config file ${paths.configFile}: no such file`);
  }
  const parsed = loadConfigFile(paths);
  for (const w of parsed.warnings) log.warn({ file: paths.configFile }, w);
  if (cmd === 'dump') process.stdout.write(formatConfig(parsed.config, parsed.values));
  if (cmd === 'get') process.stdout.write(`${getConfigText(parsed.config, rest[0]!, rest[1]!, parsed.values)}\n`);
  return 0;
}

await runMain('ctdb-config', main);
