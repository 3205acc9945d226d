import { NodeSpecError } from './nodespec.js';

/** Parsed onnode command line. */
export interface OnnodeOptions {
  /** -c: run in the current working directory. */
  cwd: boolean;
  /** -f FILE: nodes file. */
  nodesFile?: string;
  /** -i: keep stdin open. */
  stdin: boolean;
  /** -n: host names allowed in NODES. */
  names: boolean;
  /** -o PREFIX: save each node's stdout to PREFIX.ADDR. */
  outPrefix?: string;
  /** -p: run in parallel. */
  parallel: boolean;
  /** -P: push files instead of running a command. */
  push: boolean;
  /** -q: no banners (wins over -v). */
  quiet: boolean;
  /** -v: banner even for one node. */
  verbose: boolean;
  help: boolean;
  nodes: string;
  command: string[];
}

/** onnode's usage text (printed to stderr on bad usage, stdout for -h). */
export const ONNODE_USAGE = `Usage: onnode [OPTION] ... <NODES> <COMMAND> ...
  options:
    -c          Run in the current working directory on the nodes.
    -f FILE     Nodes file to use instead of <CTDB_BASE>/nodes.
    -i          Keep standard input open (by default it is closed).
    -n          Allow host names in <NODES>.
    -o PREFIX   Save each node's standard output in PREFIX.<address>.
    -p          Run on all the nodes at once; prefix output with [address].
    -P          Push the files named in <COMMAND> to the nodes (rsync).
    -q          No node banners (wins over -v).
    -v          Banner even for a single node.
    -h          This help.
  <NODES>       all, any, ok (or healthy), con (or connected), a PNN,
                a range A-B of PNNs, a host name (with -n), or a comma
                separated list of these.
  Environment:  ONNODE_SSH (remote shell, default ssh), ONNODE_RSYNC
                (default rsync), ONNODE_LOCAL=1 with ONNODE_CTDB_BASE
                (run every node on this host; see onnode(1)).
`;

/**
 * Parses argv getopt-style: option letters may be combined (`-pq`), `-f`
 * and `-o` take the next word or the rest of the word, and the first
 * non-option ends the options. Throws NodeSpecError (with usage) when NODES
 * or COMMAND is missing or an option is unknown.
 */
export function parseOnnodeArgs(argv: string[]): OnnodeOptions {
  const o: OnnodeOptions = {
    cwd: false, stdin: false, names: false, parallel: false, push: false, quiet: false, verbose: false,
    help: false, nodes: '', command: [],
  };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') { i++; break; }
    if (!a.startsWith('-') || a === '-') break;
    for (let j = 1; j < a.length; j++) {
      const ch = a[j]!;
      if (ch === 'f' || ch === 'o') {
        const v = j + 1 < a.length ? a.slice(j + 1) : argv[++i];
        if (v === undefined) throw new NodeSpecError(`option requires an argument -- ${ch}`, true);
        if (ch === 'f') o.nodesFile = v; else o.outPrefix = v;
        break;
      }
      switch (ch) {
        case 'c': o.cwd = true; break;
        case 'i': o.stdin = true; break;
        case 'n': o.names = true; break;
        case 'p': o.parallel = true; break;
        case 'P': o.push = true; break;
        case 'q': o.quiet = true; break;
        case 'v': o.verbose = true; break;
        case 'h': o.help = true; break;
        default: throw new NodeSpecError(`illegal option -- ${ch}`, true);
      }
    }
  }
  if (o.help) return o;
  const rest = argv.slice(i);
  if (rest.length < 2) throw new NodeSpecError(rest.length === 0 ? 'missing <NODES>' : 'missing <COMMAND>', true);
  o.nodes = rest[0]!;
  o.command = rest.slice(1);
  return o;
}
