import type { CliContext } from './context.js';

/** One `ctdb` command: its usage line and handler. */
export interface Command {
  name: string;
  /** Argument synopsis shown in usage, e.g. `<name> <value>`. */
  args: string;
  help: string;
  /** Accepts `-n PNN` for another node. */
  remote: boolean;
  /** Talks to ctdbd (connection is made before arguments are checked, as CTDB does). */
  daemon: boolean;
  minArgs: number;
  maxArgs: number;
  /** Runs the command; resolves to the exit code. */
  run(ctx: CliContext, args: string[]): Promise<number>;
}

/** Shorthand for building command tables. */
export function command(c: Partial<Command> & Pick<Command, 'name' | 'help' | 'run'>): Command {
  return { args: '', remote: true, daemon: true, minArgs: 0, maxArgs: 0, ...c };
}
