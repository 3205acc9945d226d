import { spawn, spawnSync, type StdioOptions } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { ONNODE_USAGE, parseOnnodeArgs, type OnnodeOptions } from './options.js';
import {
  NodeSpecError, parseOnnodeNodes, parseStatusTable, resolveNodeSpec, specNeedsStatus,
  type NodeHealth, type OnnodeNode,
} from './nodespec.js';

/** Where onnode writes and which environment it runs in (replaceable for tests). */
export interface OnnodeIo {
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdout: Writable;
  stderr: Writable;
}

/** One node to run on: its address and, when known, its PNN. */
interface Target { address: string; pnn?: number }

const truthy = (v: string | undefined): boolean => v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'no';

/** Quotes a word for a POSIX shell when it has anything but safe characters. */
export function shellQuote(w: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

/**
 * The CTDB_BASE of node `t` in local mode: ONNODE_CTDB_BASE with `%n`
 * replaced by the PNN and `%a` by the address. Throws when the template needs
 * a PNN that a host name (-n) does not have.
 */
export function localBase(template: string, t: Target): string {
  if (template.includes('%n') && t.pnn === undefined) {
    throw new NodeSpecError(`cannot find the PNN of "${t.address}" for ONNODE_CTDB_BASE`);
  }
  return template.replace(/%n/g, String(t.pnn)).replace(/%a/g, t.address);
}

/** Reads `ctdb -X status` from the ctdb on PATH (in local mode from the first node that answers). */
function readHealth(io: OnnodeIo, nodes: OnnodeNode[], local: boolean): NodeHealth[] | undefined {
  const envs: NodeJS.ProcessEnv[] = [io.env];
  if (local && io.env.ONNODE_CTDB_BASE) {
    envs.length = 0;
    for (const n of nodes) {
      if (n.address === undefined) continue;
      const env: NodeJS.ProcessEnv = { ...io.env, CTDB_BASE: localBase(io.env.ONNODE_CTDB_BASE, { address: n.address, pnn: n.pnn }) };
      delete env.CTDB_SOCKET;
      envs.push(env);
    }
  }
  for (const env of envs) {
    const r = spawnSync('ctdb', ['-X', 'status'], { env, encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'ignore'] });
    if (r.status === 0) return parseStatusTable(r.stdout);
  }
  return undefined;
}

/** A process to start. */
interface Cmd { argv: string[]; env: NodeJS.ProcessEnv; cwd: string }

/** The words of the process to start for one node (remote shell or, locally, sh -c). */
function commandFor(o: OnnodeOptions, io: OnnodeIo, t: Target, local: boolean): Cmd {
  const line = (o.cwd ? `cd ${shellQuote(io.cwd)} && ` : '') + o.command.join(' ');
  if (local) {
    const env = { ...io.env };
    delete env.CTDB_SOCKET;
    if (io.env.ONNODE_CTDB_BASE) env.CTDB_BASE = localBase(io.env.ONNODE_CTDB_BASE, t);
    env.ONNODE_ADDRESS = t.address;
    // Like a remote login, a local node starts in the home folder (-c adds the cd).
    return { argv: ['/bin/sh', '-c', line], env, cwd: homedir() };
  }
  const ssh = (io.env.ONNODE_SSH || 'ssh').split(/\s+/).filter((w) => w !== '');
  return { argv: [...ssh, ...(o.stdin ? [] : ['-n']), t.address, line], env: io.env, cwd: io.cwd };
}

/** The words that push o.command's files to one node. */
function pushFor(o: OnnodeOptions, io: OnnodeIo, t: Target): string[] {
  const rsync = (io.env.ONNODE_RSYNC || 'rsync').split(/\s+/).filter((w) => w !== '');
  const files = o.command.map((f) => (isAbsolute(f) ? f : resolve(io.cwd, f)));
  // -R keeps each absolute path, so every file lands where it is here.
  return [...rsync, '-aR', ...files, `${t.address.includes(':') ? `[${t.address}]` : t.address}:/`];
}

/** Copies a stream line by line to `out`, each line prefixed. */
function pipePrefixed(src: Readable, out: Writable, prefix: string): Promise<void> {
  return new Promise((done) => {
    const rl = createInterface({ input: src, crlfDelay: Infinity });
    rl.on('line', (l) => out.write(`${prefix}${l}\n`));
    rl.on('close', () => done());
  });
}

/** Starts one process; resolves to its exit code (127 if it cannot start, 128+N for a signal). */
function runOne({ argv, env, cwd }: Cmd, stdio: StdioOptions, io: OnnodeIo, prefix?: string): Promise<number> {
  return new Promise((done) => {
    const p = spawn(argv[0]!, argv.slice(1), { env, stdio, cwd });
    const pending: Promise<void>[] = [];
    if (prefix !== undefined) {
      if (p.stdout) pending.push(pipePrefixed(p.stdout, io.stdout, prefix));
      if (p.stderr) pending.push(pipePrefixed(p.stderr, io.stdout, prefix));
    } else {
      p.stdout?.on('data', (d: Buffer) => io.stdout.write(d));
      p.stderr?.on('data', (d: Buffer) => io.stderr.write(d));
    }
    let failed = false;
    p.on('error', (err) => { failed = true; io.stderr.write(`onnode: ${argv[0]}: ${err.message}\n`); });
    p.on('close', (code, signal) => {
      void Promise.all(pending).then(() => done(failed ? 127 : code ?? 128 + (signal === 'SIGKILL' ? 9 : 15)));
    });
  });
}

/**
 * Runs onnode with `argv`; resolves to its exit code: 0 when the command
 * succeeded on every node, otherwise the last failing node's code; 1 for bad
 * usage, an unreadable nodes file, or a NODES word that names no node.
 */
export async function runOnnode(argv: string[], io: OnnodeIo): Promise<number> {
  let o: OnnodeOptions;
  try {
    o = parseOnnodeArgs(argv);
  } catch (err) {
    io.stderr.write(`onnode: ${(err as Error).message}\n${ONNODE_USAGE}`);
    return 1;
  }
  if (o.help) { io.stdout.write(ONNODE_USAGE); return 0; }
  const local = truthy(io.env.ONNODE_LOCAL);
  const file = o.nodesFile ?? join(io.env.CTDB_BASE || '/etc/ctdb', 'nodes');
  let nodes: OnnodeNode[];
  try {
    nodes = parseOnnodeNodes(readFileSync(resolve(io.cwd, file), 'utf8'));
  } catch (err) {
    io.stderr.write(`onnode: cannot read nodes file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
    return 1;
  }
  let targets: Target[];
  try {
    const health = specNeedsStatus(o.nodes) ? readHealth(io, nodes, local) : undefined;
    targets = resolveNodeSpec(o.nodes, nodes, o.names, health).map((address) => {
      const pnn = nodes.findIndex((n) => n.address === address);
      return pnn < 0 ? { address } : { address, pnn };
    });
    if (local && o.push) throw new NodeSpecError('-P is not supported with ONNODE_LOCAL (every node is this host)');
  } catch (err) {
    io.stderr.write(`onnode: ${(err as Error).message}\n`);
    if (err instanceof NodeSpecError && err.showUsage) io.stderr.write(`\n${ONNODE_USAGE}`);
    return 1;
  }
  const many = targets.length > 1 || o.verbose;
  const prefixed = o.parallel && !o.quiet && many;
  const banner = !o.parallel && !o.quiet && many;
  const job = async (t: Target): Promise<number> => {
    let cmd: Cmd;
    try {
      cmd = o.push ? { argv: pushFor(o, io, t), env: io.env, cwd: io.cwd } : commandFor(o, io, t, local);
    } catch (err) {
      io.stderr.write(`onnode: ${(err as Error).message}\n`);
      return 1;
    }
    const outFd = o.outPrefix !== undefined ? openSync(`${o.outPrefix}.${t.address}`, 'w') : undefined;
    try {
      const stdin = o.stdin ? 'inherit' : 'ignore';
      const stdio: StdioOptions = [stdin, outFd ?? 'pipe', 'pipe'];
      const prefix = prefixed ? `[${t.address}] ` : undefined;
      return await runOne(cmd, stdio, io, prefix);
    } finally {
      if (outFd !== undefined) closeSync(outFd);
    }
  };
  let codes: number[];
  if (o.parallel) {
    codes = await Promise.all(targets.map(job));
  } else {
    codes = [];
    for (const t of targets) {
      if (banner) io.stderr.write(`\n>> NODE: ${t.address} <<\n`);
      codes.push(await job(t));
    }
  }
  return codes.reduce((last, c) => (c !== 0 ? c : last), 0);
}
