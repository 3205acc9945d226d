import { runEventTool } from '../../eventd/tool.js';
import { command, type Command } from '../command.js';
import type { CliContext } from '../context.js';

const runTool = (ctx: CliContext, argv: string[]): Promise<number> =>
  runEventTool(argv, { socketPath: ctx.paths.eventdSocket, ctdbBase: ctx.paths.base, dataDir: ctx.paths.datadir, out: ctx.out, err: ctx.err });

const event = command({
  name: 'event', args: '', help: 'event and event script commands', daemon: false, remote: false, maxArgs: 64,
  async run(ctx, args) { return runTool(ctx, args); },
});

const scriptstatus = command({
  name: 'scriptstatus', args: '[init|setup|startup|monitor|takeip|releaseip|ipreallocated]',
  help: 'show event script status', daemon: false, remote: false, maxArgs: 1,
  async run(ctx, args) {
    await runTool(ctx, ['status', 'legacy', args[0] ?? 'monitor']);
    return 0;
  },
});

/** Event daemon commands (run against the local ctdb-eventd). */
export const eventCommands: Command[] = [event, scriptstatus];
