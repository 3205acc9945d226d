import { CtdbError, exitCodeFor, oneLine } from '../common/errors.js';
import type { Command } from './command.js';
import { adminCommands } from './commands/admin.js';
import { dbCommands } from './commands/db.js';
import { eventCommands } from './commands/event.js';
import { infoCommands } from './commands/info.js';
import { ipCommands } from './commands/ip.js';
import { nodeCommands } from './commands/nodes.js';
import { recoveryCommands } from './commands/recovery.js';
import { topCommands } from './commands/top.js';
import { CliContext } from './context.js';
import { padRight } from './format.js';
import { parseArgs, UsageError, type CliOptions } from './options.js';
import { isStructured, runStructured } from './structured.js';

/** Every command, in the order `ctdb --help` lists them. */
export const COMMANDS: Command[] = (() => {
  const all = [...nodeCommands, ...infoCommands, ...adminCommands, ...dbCommands, ...eventCommands, ...ipCommands, ...recoveryCommands,
    ...topCommands];
  const order = ['version', 'status', 'uptime', 'ping', 'runstate', 'getvar', 'setvar', 'listvars', 'statistics',
    'statisticsreset', 'ip', 'ipinfo', 'ifaces', 'setifacelink', 'process-exists', 'getcapabilities', 'pnn', 'setdebug', 'getdebug', 'getpid', 'disable',
    'enable', 'stop', 'continue', 'ban', 'unban', 'shutdown', 'recover', 'sync', 'ipreallocate', 'gratarp', 'tickle', 'gettickles',
    'addtickle', 'deltickle', 'listnodes', 'reloadnodes', 'moveip', 'addip', 'delip', 'leader', 'event', 'scriptstatus', 'getreclock', 'setlmasterrole', 'setleaderrole', 'nodestatus',
    'getdbmap', 'getdbstatus', 'catdb', 'cattdb', 'getdbseqnum', 'attach', 'detach', 'dbstatistics', 'setdbreadonly',
    'setdbsticky', 'readkey', 'writekey', 'deletekey', 'pfetch', 'pstore', 'pdelete', 'ptrans', 'tfetch', 'tstore',
    'backupdb', 'restoredb', 'dumpdbbackup', 'wipedb', 'reloadips'];
  const rank = (n: string): number => { const i = order.indexOf(n); return i < 0 ? order.length : i; };
  return all.sort((a, b) => rank(a.name) - rank(b.name));
})();

const OPTION_HELP = `Usage: [OPTION...]
  -d, --debug=STRING       debug level
  -t, --timelimit=INT      timelimit (in seconds)
  -n, --node=INT           node specification - integer
  -Y                       enable machine readable output
  -x, --separator=CHAR     specify separator for machine readable output
  -X                       enable machine parsable output with separator |
  -v, --verbose            enable verbose output
  -T, --maxruntime=INT     die if runtime exceeds this limit (in seconds)
  -j, --json               JSON output (status, nodestatus; an addition to CTDB's tool)

Help options:
  -?, --help               Show this help message
      --usage              Display brief usage message
`;

const BRIEF_USAGE = `Usage: [-?YXvj] [-?|--help] [--usage] [-d|--debug=STRING]
        [-t|--timelimit=INT] [-n|--node=INT] [-Y] [-x|--separator=CHAR]
        [-X] [-v|--verbose] [-T|--maxruntime=INT] [-j|--json]
`;

/** `  %-15s %-27s  %s` usage line of one command. */
export const commandLine = (c: Command): string => `  ${padRight(c.name, 15)} ${padRight(c.args, 27)}  ${c.help}\n`;

/** Full help: options and every command. */
export function fullUsage(commands: Command[] = COMMANDS): string {
  return `${OPTION_HELP}\nCommands:\n${commands.map(commandLine).join('')}`;
}

/** Output streams a run writes to (replaceable for tests and batch mode). */
export interface CliIo { out: (s: string) => void; err: (s: string) => void }

const defaultIo: CliIo = { out: (s) => { process.stdout.write(s); }, err: (s) => { process.stderr.write(s); } };

/** Runs one `ctdb` command line; resolves to its exit code. Never throws. */
export async function runCtdb(argv: string[], io: CliIo = defaultIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let opts: CliOptions;
  let words: string[];
  try {
    ({ opts, words } = parseArgs(argv, env));
  } catch (err) {
    io.err(`${oneLine(err)}\n`);
    return 1;
  }
  if (opts.help) { io.out(fullUsage()); return 0; }
  if (opts.usage) { io.out(BRIEF_USAGE); return 0; }
  if (words.length === 0 && process.stdin.isTTY) { // interactive prompt on a terminal (interactive.ts)
    const { openPrompt } = await import('./interactive.js');
    return openPrompt(COMMANDS, commandLine, (w) => runCtdb([...argv, ...w], io, env));
  }
  if (words.length === 0) { io.out(fullUsage()); return 1; }
  if (isStructured(words, opts)) return runStructured(words, opts, io, env, COMMANDS); // node/db/event/ip groups, --json
  const name = words[0]!;
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) { io.err(`Unknown command '${name}'\n`); return 1; }
  const args = words.slice(1);
  const ctx = new CliContext(opts, io.out, io.err, env);
  const timer = setTimeout(() => {
    io.err('Maximum runtime exceeded - exiting\n');
    process.exit(1);
  }, opts.maxruntime * 1000);
  timer.unref();
  try {
    if (!cmd.daemon && opts.node !== undefined) throw new CtdbError('EINVAL', `Cannot specify node for command ${name}`, { exitCode: 1 });
    if (cmd.daemon) {
      await ctx.client();
      await ctx.checkTargetExists();
      if (opts.node !== undefined && !cmd.remote && opts.node !== ctx.myPnn) {
        throw new CtdbError('EINVAL', `Node cannot be specified for command ${name}`, { exitCode: 1 });
      }
    }
    if (args.length < cmd.minArgs || args.length > cmd.maxArgs) {
      io.out(`${BRIEF_USAGE}\nCommands:\n${commandLine(cmd)}`);
      return 1;
    }
    const code = await cmd.run(ctx, args);
    return code < 0 ? 1 : code;
  } catch (err) {
    io.err(`${err instanceof Error ? err.message : String(err)}\n`);
    if (err instanceof CtdbError && err.code === 'ECONNREFUSED') {
      await explainNotMember(ctx, io);
    } else if (!(err instanceof UsageError)) {
      const { logger } = await import('../common/log.js');
      logger('ctdb').debug({ err }, 'command failed');
    }
    const code = exitCodeFor(err);
    return code < 0 ? 1 : code;
  } finally {
    clearTimeout(timer);
    ctx.close();
  }
}

/** After a failed connect: say so if this host owns none of the node addresses. */
async function explainNotMember(ctx: CliContext, io: CliIo): Promise<void> {
  try {
    const { loadNodes } = await import('../common/nodes.js');
    const { networkInterfaces } = await import('node:os');
    const mine = new Set(Object.values(networkInterfaces()).flat().map((i) => i?.address));
    let nodes;
    try { nodes = loadNodes(ctx.paths.nodesFile); } catch {
      io.err(`Failed to read nodes file "${ctx.paths.nodesFile}"\n`);
      io.err('Is this node part of CTDB cluster?\n');
      return;
    }
    if (!nodes.some((n) => mine.has(n.address))) io.err('Is this node part of CTDB cluster?\n');
  } catch { /* best effort */ }
}
