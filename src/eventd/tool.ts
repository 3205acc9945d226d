import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CtdbError, Errno } from '../common/errors.js';
import { resolvePaths } from '../common/paths.js';
import { EventdClient } from './client.js';
import { formatEventStatus, formatRunFailure, formatScriptList, type ScriptListEntry } from './format.js';
import { EventCmd } from './protocol.js';
import { byteOrder, isScriptFileName, setScriptEnabled } from './scripts.js';

/** Options of the event tool. */
export interface EventToolOptions {
  socketPath: string;
  ctdbBase: string;
  /** Folder with packaged scripts in `events/<component>/` (default: the resolved datadir). */
  dataDir?: string;
  out?: (s: string) => void;
  err?: (s: string) => void;
  /** Milliseconds to wait for connecting (default 10 s). */
  connectTimeoutMs?: number;
}

/** Usage text of the event tool. */
export const EVENT_TOOL_USAGE = `Usage: ctdb-event [options] <command> [<args>]

Commands:
  run <timeout> <component> <event> [<args>...]   Run an event
  status <component> <event>                      Get status of an event
  script list <component>                         List event scripts
  script enable <component> <script>              Enable an event script
  script disable <component> <script>             Disable an event script
  scriptstatus [<event>]                          Status of a legacy event (default monitor)
`;

async function listNames(dir: string): Promise<string[] | undefined> {
  try {
    return (await readdir(dir)).filter(isScriptFileName).sort(byteOrder);
  } catch {
    return undefined;
  }
}

async function isExecutable(path: string): Promise<boolean> {
  try { return ((await stat(path)).mode & 0o100) !== 0; } catch { return false; }
}

/**
 * Runs one `ctdb event ...` command (argv without the leading "event").
 * Output and exit codes are those of CTDB 4.17's ctdb-event (cli.md §5).
 * Resolves with the exit code; throws only for a daemon that cannot be reached.
 */
export async function runEventTool(argv: string[], opts: EventToolOptions): Promise<number> {
  const out = opts.out ?? ((s: string) => { process.stdout.write(s); });
  const err = opts.err ?? ((s: string) => { process.stderr.write(s); });
  const usage = (): number => { err(EVENT_TOOL_USAGE); return 1; };
  const [cmd, ...rest] = argv;
  const dataDir = opts.dataDir ?? resolvePaths().datadir;

  const withClient = async <T>(fn: (c: EventdClient) => Promise<T>): Promise<T> => {
    const c = await EventdClient.connect(opts.socketPath, { timeoutMs: opts.connectTimeoutMs ?? 10_000 });
    try { return await fn(c); } finally { c.close(); }
  };

  const status = async (component: string, event: string): Promise<number> => withClient(async (c) => {
    const r = await c.request({ cmd: EventCmd.STATUS, component, event });
    if (r.result === Errno.ENOENT) { out(`Event dir for ${component} does not exist\n`); return r.result; }
    if (r.result === Errno.EINVAL) { out(`Event ${event} has never run in ${component}\n`); return r.result; }
    if (r.result !== 0 || !r.status) { out(`Failed to get status for event ${event} in ${component}, result=${r.result}\n`); return Math.abs(r.result); }
    out(formatEventStatus(r.status.scripts));
    return Math.abs(r.status.summary);
  });

  switch (cmd) {
    case 'run': {
      if (rest.length < 3) return usage();
      const [timeoutText, component, event, ...args] = rest as [string, string, string, ...string[]];
      if (!/^\d+$/.test(timeoutText)) { err(`Invalid timeout "${timeoutText}"\n`); return usage(); }
      return withClient(async (c) => {
        const r = await c.request({ cmd: EventCmd.RUN, component, event, args: args.join(' '), timeout: Number(timeoutText), flags: 0 });
        out(formatRunFailure(r.result, component, event));
        return Math.abs(r.result);
      });
    }
    case 'status':
      if (rest.length !== 2) return usage();
      return status(rest[0]!, rest[1]!);
    case 'scriptstatus':
      if (rest.length > 1) return usage();
      await status('legacy', rest[0] ?? 'monitor');
      return 0;
    case 'script': {
      const [action, component, script] = rest;
      if (action === 'list' && component !== undefined && script === undefined) {
        const etcDir = join(opts.ctdbBase, 'events', component);
        const local = await listNames(etcDir);
        if (local === undefined) { err(`Command script list finished with result=${Errno.ENOENT}\n`); return Errno.ENOENT; }
        const packagedNames = (await listNames(join(dataDir, 'events', component))) ?? [];
        const packaged: ScriptListEntry[] = [];
        for (const f of packagedNames) packaged.push({ name: f.slice(0, -7), enabled: await isExecutable(join(etcDir, f)) });
        const localOnly: ScriptListEntry[] = [];
        for (const f of local.filter((n) => !packagedNames.includes(n))) {
          localOnly.push({ name: f.slice(0, -7), enabled: await isExecutable(join(etcDir, f)) });
        }
        out(formatScriptList(packaged, localOnly));
        return 0;
      }
      if ((action === 'enable' || action === 'disable') && component !== undefined && script !== undefined && rest.length === 3) {
        const etcDir = join(opts.ctdbBase, 'events', component);
        try {
          await setScriptEnabled(etcDir, script, action === 'enable', join(dataDir, 'events', component));
          return 0;
        } catch (e) {
          const code = e instanceof CtdbError ? e.code : (e as NodeJS.ErrnoException).code ?? 'EIO';
          if (code === 'ENOENT') { out(`Script ${script} does not exist in ${component}\n`); return Errno.ENOENT; }
          if (code === 'EINVAL') { out(`Script ${script} is invalid in ${component}\n`); return Errno.EINVAL; }
          out(`Failed to ${action} script ${script} in ${component}: ${code}\n`);
          return (Errno as Record<string, number>)[code] ?? 1;
        }
      }
      return usage();
    }
    default:
      return usage();
  }
}
