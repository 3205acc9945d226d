import { CtdbError } from '../../common/errors.js';
import { command, type Command } from '../command.js';
import type { CliContext } from '../context.js';

async function top(ctx: CliContext, args: string[]): Promise<number> {
  const count = args[0] === undefined ? undefined : Number(args[0]);
  if (count !== undefined && (!Number.isInteger(count) || count < 1)) {
    throw new CtdbError('EINVAL', `Invalid count '${args[0]}' (a positive number of refreshes)`, { exitCode: 1 });
  }
  const { TopCollector, runTop } = await import('../top.js');
  const col = new TopCollector(ctx.paths.socket, ctx.paths.eventdSocket, ctx.opts.node, ctx.timeoutMs);
  // Not on a terminal without a count: one frame, like `top -b -n 1`.
  const frames = count ?? (process.stdout.isTTY ? undefined : 1);
  const out = process.stdout.isTTY ? process.stdout : { write: (s: string): boolean => { ctx.out(s); return true; } };
  return runTop(col, { count: frames, intervalMs: 1000, out, input: process.stdin });
}

const mk = (name: string): Command => command({
  name, args: '[<count>]', help: 'live view of nodes, leader, recovery, public IPs and monitor results',
  maxArgs: 1, run: top,
});

/** `ctdb top` and its alias `ctdb watch`. */
export const topCommands: Command[] = [mk('top'), mk('watch')];
