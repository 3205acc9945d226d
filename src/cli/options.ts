import { CtdbError } from '../common/errors.js';

/** Global options of the ctdb tool (popt-style, anywhere on the line). */
export interface CliOptions {
  node?: number;
  machine: boolean;
  separator: string;
  verbose: boolean;
  json: boolean;
  timelimit: number;
  maxruntime: number;
  debug?: string;
  help: boolean;
  usage: boolean;
  /** `--prometheus`: statistics in Prometheus text format (structured.ts). */
  prometheus?: boolean;
}

/** The parsed command line: options plus command words. */
export interface ParsedArgs { opts: CliOptions; words: string[] }

/** A usage error: printed with the option summary, exit 1. */
export class UsageError extends CtdbError {
  constructor(message: string) { super('EINVAL', message, { exitCode: 1 }); }
}

const intArg = (opt: string, v: string | undefined): number => {
  if (v === undefined || !/^-?\d+$/.test(v)) throw new UsageError(`Invalid option ${opt}: ${v === undefined ? 'missing argument' : 'invalid numeric value'}`);
  return Number(v);
};

/**
 * Parses argv the way CTDB's tool (popt) does: options may appear anywhere
 * before `--`; the rest are the command and its arguments. Throws UsageError
 * with CTDB's message for unknown options.
 */
export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ParsedArgs {
  const opts: CliOptions = {
    machine: false, separator: '|', verbose: false, json: false, timelimit: 10,
    maxruntime: 0, help: false, usage: false,
  };
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') { words.push(...argv.slice(i + 1)); break; }
    if (!a.startsWith('-') || a === '-' || /^-\d/.test(a)) { words.push(a); continue; }
    let name = a;
    let inline: string | undefined;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) { name = a.slice(0, eq); inline = a.slice(eq + 1); }
    else if (!a.startsWith('--') && a.length > 2 && 'ntxdT'.includes(a[1]!)) { name = a.slice(0, 2); inline = a.slice(2); }
    const value = (): string | undefined => inline ?? argv[++i];
    switch (name) {
      case '-n': case '--node': opts.node = intArg(name, value()); break;
      case '-Y': opts.machine = true; break;
      case '-X': opts.machine = true; break;
      case '-x': case '--separator': {
        const v = value();
        if (v === undefined || v.length !== 1) throw new UsageError(`Invalid option ${name}: separator must be a single character`);
        opts.separator = v; break;
      }
      case '-v': case '--verbose': opts.verbose = true; break;
      case '-j': case '--json': opts.json = true; break;
      case '-t': case '--timelimit': opts.timelimit = intArg(name, value()); break;
      case '-T': case '--maxruntime': opts.maxruntime = intArg(name, value()); break;
      case '-d': case '--debug': opts.debug = value(); break;
      case '-?': case '-h': case '--help': opts.help = true; break;
      case '--usage': opts.usage = true; break;
      case '--prometheus': opts.prometheus = true; break;
      default: {
        // Combined short flags such as -Xv.
        if (!a.startsWith('--') && /^-[YXvj]+$/.test(a)) {
          for (const ch of a.slice(1)) {
            if (ch === 'Y') { opts.machine = true; }
            if (ch === 'X') { opts.machine = true; }
            if (ch === 'v') opts.verbose = true;
            if (ch === 'j') opts.json = true;
          }
          break;
        }
        throw new UsageError(`Invalid option ${a}: unknown option`);
      }
    }
  }
  if (opts.json && opts.machine) throw new UsageError('Invalid option -j: cannot be combined with -X or -Y');
  if (opts.maxruntime === 0) {
    const t = Number(env.CTDB_TIMEOUT);
    opts.maxruntime = Number.isInteger(t) && t > 0 ? t : 120;
  }
  return { opts, words };
}
