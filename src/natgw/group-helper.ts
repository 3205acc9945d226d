import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { CtdbError, exitCodeFor, oneLine } from '../common/errors.js';
import { foldLines, runCtdb, splitCtdbCommand } from './ctdb-command.js';
import { parseGroupNodesFile, type GroupNodesFile } from './nodes-file.js';
import { parseNodeStatusX, type NodeStatus } from './node-status.js';
import { ctdbBase, loadScriptOption } from './options.js';

/** Sub-commands both group helpers (`ctdb_natgw`, `ctdb_lvs`) accept. */
export const GroupCommands = ['leader', 'list', 'status'] as const;
export type GroupCommand = (typeof GroupCommands)[number];

/** Output and exit status of one sub-command. */
export interface CommandResult { stdout: string; exitCode: number }

/** Everything a sub-command needs, resolved once per process. */
export interface GroupContext {
  /** Helper name for messages (`ctdb_natgw`). */
  name: string;
  /** Human name of the group for messages (`NAT gateway`). */
  groupName: string;
  /** Path of the nodes file. */
  nodesFile: string;
  /** The ctdb tool as program + leading arguments. */
  ctdb: string[];
  /** Deadline for each ctdb run, in milliseconds. */
  timeoutMs: number;
  /** Exit status when node states cannot be read. */
  statusFailureExit: number;
}

/**
 * Reads and parses the group's nodes file. Throws `CtdbError('ENOENT')`
 * (exit 1) naming the file when it cannot be read, and the parser's
 * "Invalid options" error.
 */
export async function readGroupNodes(ctx: GroupContext): Promise<GroupNodesFile> {
  let text: string;
  try {
    text = await readFile(ctx.nodesFile, 'utf8');
  } catch (err) {
    throw new CtdbError('ENOENT', `${ctx.groupName} nodes file "${ctx.nodesFile}" not found`, { cause: err, exitCode: 1 });
  }
  return parseGroupNodesFile(text, ctx.nodesFile);
}

const statusFailure = (ctx: GroupContext, what: string, detail: string, cause?: unknown): CtdbError =>
  new CtdbError('EIO', `Unable to get status of nodes: "${[...ctx.ctdb, what].join(' ')}" ${detail}`,
    { cause, exitCode: ctx.statusFailureExit });

/**
 * Node states from `ctdb -X nodestatus all`. A run that cannot start, times
 * out, exits 255 or prints no node rows throws a `CtdbError` whose exit code
 * is `ctx.statusFailureExit`. (A non-zero exit with rows is normal: it is
 * the OR of the node flags.)
 */
export async function readNodeStatus(ctx: GroupContext): Promise<NodeStatus[]> {
  const what = '-X nodestatus all';
  const out = await runCtdb(ctx.ctdb, ['-X', 'nodestatus', 'all'], ctx.timeoutMs)
    .catch((err: unknown) => { throw statusFailure(ctx, what, `failed: ${oneLine(err)}`, err); });
  let nodes: NodeStatus[] = [];
  try {
    if (out.exitCode !== 255) nodes = parseNodeStatusX(out.stdout);
  } catch (err) {
    throw statusFailure(ctx, what, `printed ${oneLine(err)}`, err);
  }
  if (nodes.length === 0) {
    throw statusFailure(ctx, what, `exited ${out.exitCode} without node states${out.stderr ? `: ${foldLines(out.stderr)}` : ''}`);
  }
  return nodes;
}

/** Plain `ctdb nodestatus all` output, with the same failure rules as `readNodeStatus`. */
export async function readHumanNodeStatus(ctx: GroupContext): Promise<string> {
  const what = 'nodestatus all';
  const out = await runCtdb(ctx.ctdb, ['nodestatus', 'all'], ctx.timeoutMs)
    .catch((err: unknown) => { throw statusFailure(ctx, what, `failed: ${oneLine(err)}`, err); });
  if (out.exitCode === 255 || out.stdout.trim() === '') {
    throw statusFailure(ctx, what, `exited ${out.exitCode} without node states${out.stderr ? `: ${foldLines(out.stderr)}` : ''}`);
  }
  return out.stdout;
}

/** Joins output lines with a final newline ('' for none). */
export const linesOut = (lines: readonly string[]): string => lines.map((l) => `${l}\n`).join('');

/** How one helper binds to the shared runner. */
export interface GroupHelperSpec {
  name: string;
  groupName: string;
  /** Event script whose options name the nodes file (`11.natgw`). */
  script: string;
  /** Options variable holding the nodes file path (`CTDB_NATGW_NODES`). */
  nodesVar: string;
  /** Default nodes file name under CTDB_BASE (`natgw_nodes`). */
  defaultNodesFile: string;
  statusFailureExit: number;
  usage: string;
  run: (cmd: GroupCommand, ctx: GroupContext) => Promise<CommandResult>;
}

const DEFAULT_TIMEOUT_S = 30;

async function resolveContext(spec: GroupHelperSpec, timeoutS: number): Promise<GroupContext> {
  const base = ctdbBase();
  const configured = await loadScriptOption(base, spec.script, spec.nodesVar);
  return {
    name: spec.name, groupName: spec.groupName,
    nodesFile: configured !== '' ? configured : `${base}/${spec.defaultNodesFile}`,
    ctdb: splitCtdbCommand(process.env.CTDB), timeoutMs: timeoutS * 1000,
    statusFailureExit: spec.statusFailureExit,
  };
}

const isGroupCommand = (w: string): w is GroupCommand => (GroupCommands as readonly string[]).includes(w);

/** Runs one sub-command, turning thrown errors into a stderr line and exit status. */
async function runOne(spec: GroupHelperSpec, word: string, ctx: GroupContext): Promise<CommandResult> {
  if (!isGroupCommand(word)) {
    process.stderr.write(`${spec.name}: unknown command '${word}'\n${spec.usage}`);
    return { stdout: '', exitCode: 1 };
  }
  try {
    return await spec.run(word, ctx);
  } catch (err) {
    process.stderr.write(`${spec.name}: ${oneLine(err)}\n`);
    return { stdout: '', exitCode: exitCodeFor(err) };
  }
}

/**
 * The whole `main` of `ctdb_natgw` / `ctdb_lvs`: parses argv (`--help`,
 * `--timeout SEC`, one sub-command), runs it and returns its exit status.
 * Without a sub-command it reads one per line from stdin and writes, per
 * command, its output followed by the line `# status N`; it then returns 0.
 */
export async function runGroupHelper(spec: GroupHelperSpec, argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv], allowPositionals: true,
    options: { help: { type: 'boolean', short: 'h' }, timeout: { type: 'string', short: 't' } },
  });
  if (values.help) { process.stdout.write(spec.usage); return 0; }
  const timeoutS = values.timeout === undefined ? Number(process.env.CTDB_HELPER_TIMEOUT ?? DEFAULT_TIMEOUT_S) : Number(values.timeout);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) {
    throw new CtdbError('EINVAL', `invalid timeout "${values.timeout ?? process.env.CTDB_HELPER_TIMEOUT}" (seconds > 0)`);
  }
  if (positionals.length > 1) throw new CtdbError('EINVAL', `too many arguments\n${spec.usage}`);
  const ctx = await resolveContext(spec, timeoutS);
  const [word] = positionals;
  if (word !== undefined) {
    const res = await runOne(spec, word, ctx);
    process.stdout.write(res.stdout);
    return res.exitCode;
  }
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    const cmd = line.trim();
    if (cmd === '' || cmd.startsWith('#')) continue;
    const res = await runOne(spec, cmd, ctx);
    process.stdout.write(`${res.stdout}# status ${res.exitCode}\n`);
  }
  return 0;
}
