/**
 * The structured command groups — `ctdb node …`, `ctdb db …`, `ctdb event …`,
 * `ctdb ip …` — layered over the classic commands, with stdin batches:
 * a group without a command reads command lines from stdin; a command
 * without its required arguments reads one argument set per line. A batch
 * runs in this one process over one daemon connection and stops at the
 * first failing line. Also the runner behind `--json` for classic commands.
 */
import { CtdbError, exitCodeFor } from '../common/errors.js';
import { parseBatch, runBatch, splitWords } from './batch.js';
import type { Command } from './command.js';
import { CliContext } from './context.js';
import { padRight } from './format.js';
import { JSON_COMMANDS, toJson } from './json.js';
import { UsageError, type CliOptions } from './options.js';

/** Output streams (same shape as main's CliIo). */
export interface StructuredIo { out: (s: string) => void; err: (s: string) => void }

/** Where batch lines come from. */
export interface StdinSource { isTTY: boolean; read(): Promise<string> }

/** A classic command to run: name, arguments and, for node actions, the target PNN. */
export interface Plan { command: string; args: string[]; node?: number }

/** What a sub-command's planner may use. */
interface Planner { dbKind(db: string): Promise<'persistent' | 'volatile'> }

/** One sub-command of a group. */
interface Sub {
  name: string;
  args: string;
  help: string;
  minArgs: number;
  maxArgs: number;
  plan(args: string[], p: Planner): Plan | Promise<Plan>;
}

/** A group of sub-commands. */
interface Group { name: string; help: string; subs: Sub[] }

const pnnArg = (w: string): number => {
  if (!/^\d+$/.test(w)) throw new CtdbError('EINVAL', `Invalid node '${w}' (a PNN is expected)`, { exitCode: 1 });
  return Number(w);
};

const sub = (name: string, args: string, help: string, minArgs: number, maxArgs: number, plan: Sub['plan']): Sub =>
  ({ name, args, help, minArgs, maxArgs, plan });

const nodeAction = (name: string, help: string): Sub =>
  sub(name, '<pnn>', help, 1, 1, ([p]) => ({ command: name, args: [], node: pnnArg(p!) }));

/** The groups, their sub-commands and the classic command each maps to. */
export const GROUPS: readonly Group[] = [
  {
    name: 'node', help: 'node state and administration',
    subs: [
      sub('status', '[all|<pnn-list>]', 'show node status (exit code = OR of flags)', 0, 1, (a) => ({ command: 'nodestatus', args: a })),
      sub('list', '', 'list node addresses from the nodes file', 0, 0, () => ({ command: 'listnodes', args: [] })),
      sub('ban', '<pnn> <bantime>', 'ban a node for BANTIME seconds', 2, 2, ([p, t]) => ({ command: 'ban', args: [t!], node: pnnArg(p!) })),
      nodeAction('unban', 'unban a node'),
      nodeAction('stop', 'stop a node'),
      nodeAction('continue', 'continue a stopped node'),
      nodeAction('disable', 'disable a node'),
      nodeAction('enable', 'enable a disabled node'),
    ],
  },
  {
    name: 'db', help: 'cluster databases',
    subs: [
      sub('list', '', 'list databases', 0, 0, () => ({ command: 'getdbmap', args: [] })),
      sub('status', '<db>', 'show database status', 1, 1, (a) => ({ command: 'getdbstatus', args: a })),
      sub('attach', '<name> [persistent|replicated]', 'attach a database', 1, 2, (a) => ({ command: 'attach', args: a })),
      sub('detach', '<db>', 'detach a volatile database', 1, 1, (a) => ({ command: 'detach', args: a })),
      sub('store', '<db> <key> <value>', 'store a record (transaction on persistent databases)', 3, 3,
        async (a, p) => ({ command: (await p.dbKind(a[0]!)) === 'persistent' ? 'pstore' : 'writekey', args: a })),
      sub('fetch', '<db> <key>', 'fetch a record', 2, 2,
        async (a, p) => ({ command: (await p.dbKind(a[0]!)) === 'persistent' ? 'pfetch' : 'readkey', args: a })),
      sub('delete', '<db> <key>', 'delete a record', 2, 2,
        async (a, p) => ({ command: (await p.dbKind(a[0]!)) === 'persistent' ? 'pdelete' : 'deletekey', args: a })),
      sub('dump', '<db>', 'print every record cluster-wide', 1, 1, (a) => ({ command: 'catdb', args: a })),
      sub('seqnum', '<db>', 'show the sequence number', 1, 1, (a) => ({ command: 'getdbseqnum', args: a })),
      sub('vacuum', '[<db>]', 'vacuum databases', 0, 1, (a) => ({ command: 'vacuum', args: a })),
      sub('backup', '<db> <file>', 'back up a database', 2, 2, (a) => ({ command: 'backupdb', args: a })),
      sub('restore', '<file> [<db>]', 'restore a database', 1, 2, (a) => ({ command: 'restoredb', args: a })),
      sub('wipe', '<db>', 'wipe a database', 1, 1, (a) => ({ command: 'wipedb', args: a })),
    ],
  },
  {
    name: 'event', help: 'event scripts',
    subs: [
      sub('run', '<timeout> <component> <event> [<args>...]', 'run an event', 3, 64, (a) => ({ command: 'event', args: ['run', ...a] })),
      sub('status', '<component> <event>', 'show the last result of an event', 2, 2, (a) => ({ command: 'event', args: ['status', ...a] })),
      sub('script', 'list|enable|disable <component> [<script>]', 'list, enable or disable scripts', 2, 3,
        (a) => ({ command: 'event', args: ['script', ...a] })),
    ],
  },
  {
    name: 'ip', help: 'public IP addresses ("ctdb ip" and "ctdb ip all" keep their classic meaning)',
    subs: [
      sub('list', '[all]', 'show public IPs', 0, 1, (a) => ({ command: 'ip', args: a })),
      sub('info', '<ip>', 'show public IP details', 1, 1, (a) => ({ command: 'ipinfo', args: a })),
      sub('add', '<ip/mask> <iface>', 'add a public IP to the node', 2, 2, (a) => ({ command: 'addip', args: a })),
      sub('del', '<ip>', 'delete a public IP from the node', 1, 1, (a) => ({ command: 'delip', args: a })),
      sub('move', '<ip> <pnn>', 'move a public IP to another node', 2, 2, (a) => ({ command: 'moveip', args: a })),
      sub('reallocate', '', 'run a takeover run', 0, 0, () => ({ command: 'ipreallocate', args: [] })),
      sub('reload', '[all|<pnn-list>]', 'reload the public addresses file', 0, 1, (a) => ({ command: 'reloadips', args: a })),
      sub('ifaces', '', 'show interfaces', 0, 0, () => ({ command: 'ifaces', args: [] })),
    ],
  },
];

/** Group usage text. */
export function groupUsage(g: Group): string {
  return `Usage: ctdb [OPTIONS] ${g.name} <command> [<args>...]   (${g.help})\n`
    + `With no <command>, command lines are read from stdin; with a command but\n`
    + `none of its required arguments, argument lines are read from stdin.\n\nCommands:\n`
    + g.subs.map((s) => `  ${padRight(s.name, 12)} ${padRight(s.args, 34)}  ${s.help}\n`).join('');
}

/**
 * True when `words` belong to the structured runner: a group word (for `ip`
 * only with a structured sub-command, so `ctdb ip` and `ctdb ip all` stay
 * classic and `ctdb ip connection …` reaches the classic ip command), or any
 * command under --json or --prometheus.
 */
export function isStructured(words: string[], opts: Pick<CliOptions, 'json' | 'prometheus'>): boolean {
  if (opts.prometheus && words.length > 0) return true;
  const g = GROUPS.find((x) => x.name === words[0]);
  if (g?.name === 'ip') return opts.json || (words[1] !== undefined && g.subs.some((s) => s.name === words[1]));
  return g !== undefined || (opts.json && words.length > 0);
}

/** A per-line context sharing one daemon connection with the whole batch. */
class LineContext extends CliContext {
  constructor(opts: CliOptions, out: (s: string) => void, err: (s: string) => void, env: NodeJS.ProcessEnv,
    private readonly shared: CliContext) {
    super(opts, out, err, env);
  }

  override client(): ReturnType<CliContext['client']> {
    return this.shared.client().then((c) => { this.myPnn = this.shared.myPnn; return c; });
  }

  override close(): void { /* the shared context closes the connection */ }
}

/** Runs classic commands (with the checks main does) over one shared connection. */
export class Executor {
  private readonly shared: CliContext;

  constructor(readonly opts: CliOptions, readonly io: StructuredIo, readonly env: NodeJS.ProcessEnv,
    readonly commands: readonly Command[]) {
    this.shared = new CliContext(opts, io.out, io.err, env);
  }

  /** Runs one plan; resolves to its exit code. Never throws. */
  async run(plan: Plan, out: (s: string) => void = this.io.out, json = this.opts.json, override: Partial<CliOptions> = {}): Promise<number> {
    const cmd = this.commands.find((c) => c.name === plan.command);
    if (!cmd) { this.io.err(`Command '${plan.command}' is not available in this build\n`); return 1; }
    if (this.opts.prometheus) return this.prometheus(cmd, plan, out);
    const shape = json ? JSON_COMMANDS[cmd.name] : undefined;
    if (json && !shape) { this.io.err(`--json is not supported for '${cmd.name}' (JSON listings: ${Object.keys(JSON_COMMANDS).join(', ')})\n`); return 1; }
    if (shape?.kind === 'events') return this.eventsJson(cmd.name, plan.args, out);
    const opts: CliOptions = { ...this.opts, ...(plan.node !== undefined ? { node: plan.node } : {}), ...override };
    let buf = '';
    let lineOut = out;
    if (shape && shape.kind !== 'native') {
      Object.assign(opts, { json: false, machine: shape.kind === 'table', separator: '|' });
      lineOut = (s) => { buf += s; };
    }
    const ctx = new LineContext(opts, lineOut, this.io.err, this.env, this.shared);
    const timer = setTimeout(() => { this.io.err('Maximum runtime exceeded - exiting\n'); process.exit(1); }, opts.maxruntime * 1000);
    timer.unref();
    try {
      if (!cmd.daemon && opts.node !== undefined && plan.node === undefined) {
        throw new CtdbError('EINVAL', `Cannot specify node for command ${cmd.name}`, { exitCode: 1 });
      }
      if (cmd.daemon) {
        await ctx.client();
        await ctx.checkTargetExists();
        if (opts.node !== undefined && !cmd.remote && opts.node !== ctx.myPnn) {
          throw new CtdbError('EINVAL', `Node cannot be specified for command ${cmd.name}`, { exitCode: 1 });
        }
      }
      if (plan.args.length < cmd.minArgs || plan.args.length > cmd.maxArgs) {
        throw new UsageError(`Usage: ctdb ${cmd.name} ${cmd.args}`);
      }
      const code = await cmd.run(ctx, plan.args);
      if (shape && shape.kind !== 'native' && code === 0) out(toJson(shape, buf, '|'));
      else if (buf !== '') out(buf);
      return code < 0 ? 1 : code;
    } catch (err) {
      this.io.err(`${err instanceof Error ? err.message : String(err)}\n`);
      const code = exitCodeFor(err);
      return code < 0 ? 1 : code;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Whether DB is persistent, from `getdbmap -X` (name or 0x id). Throws ENOENT when unknown. */
  async dbKind(db: string): Promise<'persistent' | 'volatile'> {
    let text = '';
    const code = await this.run({ command: 'getdbmap', args: [] }, (s) => { text += s; }, false,
      { json: false, machine: true, separator: '|' });
    if (code !== 0) throw new CtdbError('EIO', 'cannot read the database map', { exitCode: 1 });
    // Rows: |ID|Name|Path|Persistent|Sticky|Unhealthy|Readonly|Replicated|
    for (const line of text.split('\n').slice(1)) {
      const f = line.split('|');
      if (f.length < 6) continue;
      if (f[2] === db || f[1]!.toLowerCase() === db.toLowerCase()) return f[4] === '1' ? 'persistent' : 'volatile';
    }
    throw new CtdbError('ENOENT', `No database matching '${db}' found`, { exitCode: 1 });
  }

  /**
   * `--json` of `scriptstatus [EVENT]` and `event status COMPONENT EVENT`:
   * `{component, event, result, scripts: [{name, status, result, begin, end,
   * duration, output}]}` (times in seconds since the epoch). Exit codes as
   * the classic commands: 0 for scriptstatus, |result| for event status.
   */
  private async eventsJson(name: string, args: string[], out: (s: string) => void): Promise<number> {
    let component = 'legacy';
    let event = args[0] ?? 'monitor';
    if (name === 'event') {
      if (args[0] !== 'status' || args.length !== 3) {
        this.io.err(`--json is supported for 'event status COMPONENT EVENT' only\n`);
        return 1;
      }
      [component, event] = [args[1]!, args[2]!];
    }
    try {
      const { EventdClient } = await import('../eventd/client.js');
      const { scriptResult } = await import('./top.js');
      const ev = await EventdClient.connect(this.shared.paths.eventdSocket, { timeoutMs: this.shared.timeoutMs });
      let st;
      try { st = await ev.status(component, event); } finally { ev.close(); }
      if (!st.found) {
        this.io.err(st.result === -2 ? `Event dir for ${component} does not exist\n` : `Event ${event} has never run in ${component}\n`);
        return name === 'scriptstatus' ? 0 : Math.abs(st.result) || 1;
      }
      const sec = (t: { sec: number; usec: number }): number => t.sec + t.usec / 1e6;
      out(`${JSON.stringify({
        component, event, result: st.result,
        scripts: st.scripts.map((x) => ({
          name: x.name, status: scriptResult(x), result: x.result, begin: sec(x.begin), end: sec(x.end),
          duration: Math.max(0, Math.round((sec(x.end) - sec(x.begin)) * 1000) / 1000), output: x.output,
        })),
      }, null, 2)}\n`);
      return name === 'scriptstatus' ? 0 : Math.abs(st.result);
    } catch (err) {
      this.io.err(`${err instanceof Error ? err.message : String(err)}\n`);
      return 1;
    }
  }

  /** `statistics --prometheus`: the target node's counters and cluster view as Prometheus text. */
  private async prometheus(cmd: Command, plan: Plan, out: (s: string) => void): Promise<number> {
    if (cmd.name !== 'statistics' || plan.args.length > 0) {
      this.io.err(`--prometheus is only for 'statistics'\n`);
      return 1;
    }
    try {
      const { getNodemap, getRecmode, getStatistics, getVnnmap } = await import('../client/controls.js');
      const { renderPrometheus } = await import('./prometheus.js');
      const c = await this.shared.client();
      await this.shared.checkTargetExists();
      const t = this.opts.node ?? this.shared.myPnn;
      const o = { timeoutMs: this.shared.timeoutMs };
      const [stats, nm, recmode, vm] = await Promise.all([getStatistics(c, t, o), getNodemap(c, t, o),
        getRecmode(c, t, o).catch(() => undefined), getVnnmap(c, t, o).catch(() => undefined)]);
      out(renderPrometheus({
        pnn: t, stats, recmode, generation: vm?.generation,
        nodes: nm.nodes.map((n) => ({ pnn: n.pnn, address: n.addr.address, flags: n.flags })),
      }));
      return 0;
    } catch (err) {
      this.io.err(`${err instanceof Error ? err.message : String(err)}\n`);
      const code = exitCodeFor(err);
      return code < 0 ? 1 : code;
    }
  }

  close(): void { this.shared.close(); }
}

/** Runs one line of a group (sub-command and arguments); batches arguments from stdin when they are omitted. */
async function runGroupLine(g: Group, words: string[], ex: Executor, stdin: StdinSource | undefined, io: StructuredIo): Promise<number> {
  const name = words[0];
  if (name === 'help') { io.out(groupUsage(g)); return 0; }
  const s = g.subs.find((x) => x.name === name);
  if (!s) {
    // Unknown words under `event` go to the classic command, which owns its own messages.
    if (g.name === 'event' && name !== undefined) return ex.run({ command: 'event', args: words });
    io.err(`Unknown ${g.name} command '${name}'\n${groupUsage(g)}`);
    return 1;
  }
  const args = words.slice(1);
  if (args.length === 0 && s.minArgs > 0 && stdin) {
    if (stdin.isTTY) { io.err(`Usage: ctdb ${g.name} ${s.name} ${s.args}\n`); return 1; }
    const lines = parseBatch(await stdin.read());
    const r = await runBatch(lines, (l) => runSub(g, s, l.words, ex, io), io.err, `ctdb ${g.name} ${s.name}`);
    return r.code;
  }
  return runSub(g, s, args, ex, io);
}

/** Checks a sub-command's arguments, plans the classic command and runs it. */
async function runSub(g: Group, s: Sub, args: string[], ex: Executor, io: StructuredIo): Promise<number> {
  if (args.length < s.minArgs || args.length > s.maxArgs) {
    io.err(`Usage: ctdb ${g.name} ${s.name} ${s.args}\n`);
    return 1;
  }
  let plan: Plan;
  try {
    plan = await s.plan(args, ex);
  } catch (err) {
    io.err(`${(err as Error).message}\n`);
    const code = exitCodeFor(err);
    return code < 0 ? 1 : code;
  }
  return ex.run(plan);
}

/**
 * Runs a structured command line (`words` after the global options).
 * Resolves to the exit code; never throws.
 */
export async function runStructured(words: string[], opts: CliOptions, io: StructuredIo, env: NodeJS.ProcessEnv,
  commands: readonly Command[], stdin: StdinSource = processStdin()): Promise<number> {
  const ex = new Executor(opts, io, env, commands);
  try {
    const g = GROUPS.find((x) => x.name === words[0]);
    if (!g || (g.name === 'ip' && !g.subs.some((s) => s.name === words[1]))) {
      // A classic command (under --json), including `ip`, `ip all` and `ip connection …`.
      return await ex.run({ command: words[0]!, args: words.slice(1) });
    }
    if (words.length === 1) {
      if (stdin.isTTY) { io.err(groupUsage(g)); return 1; }
      const lines = parseBatch(await stdin.read());
      const r = await runBatch(lines, (l) => runGroupLine(g, l.words, ex, undefined, io), io.err, `ctdb ${g.name}`);
      return r.code;
    }
    return await runGroupLine(g, words.slice(1), ex, stdin, io);
  } finally {
    ex.close();
  }
}

/** Stdin of this process as a batch source. */
export function processStdin(): StdinSource {
  return {
    isTTY: process.stdin.isTTY === true,
    async read() {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
  };
}

/** Words of one interactive or batch line (re-exported for the prompt). */
export { splitWords };
