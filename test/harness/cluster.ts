import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** Repository root and built executables. */
export const ROOT = resolve(new URL('../..', import.meta.url).pathname);
export const DIST = join(ROOT, 'dist');

/** Options for a local test cluster. */
export interface LocalClusterOptions {
  /** Number of nodes (addresses 127.0.0.<first>..). */
  nodes: number;
  /** Last octet of node 0's address (default 1). */
  firstOctet?: number;
  /** Extra `ctdb.conf` text per node, appended after the defaults. */
  extraConf?: (pnn: number) => string;
  /** `ctdb.tunables` text for every node. */
  tunables?: string;
  /** Run Debian's real ctdbd instead of ours. */
  real?: boolean;
  /** Keep the folders after stop() (for debugging). */
  keep?: boolean;
}

/**
 * Tunables text for Debian's ctdbd. `VacuumInterval=0` turns our timer off,
 * but CTDB 4.17 takes it as "vacuum again at once": its vacuum event then
 * re-arms itself with no delay, the daemon's event loop never gets to the
 * freeze's lock result, and SET_RECMODE (so `ctdb recover`) times out. For
 * real CTDB the harness writes an hour instead.
 */
export function realTunables(text: string): string {
  return text.replace(/^(\s*VacuumInterval\s*=\s*)0\s*$/m, '$13600');
}

/** Result of one command run. */
export interface RunResult { code: number; stdout: string; stderr: string }

/**
 * N daemons on 127.0.0.X with one CTDB_BASE each under a temporary folder
 * (CTDB's test mode), started and stopped by PID. Works for our daemon and,
 * with `real`, for Debian's.
 */
export class LocalCluster {
  readonly dir: string;
  readonly addresses: string[];
  readonly procs = new Map<number, ChildProcess>();

  constructor(readonly opts: LocalClusterOptions) {
    this.dir = mkdtempSync(join(tmpdir(), 'ctdb-cluster-'));
    const first = opts.firstOctet ?? 1;
    this.addresses = Array.from({ length: opts.nodes }, (_, i) => `127.0.0.${first + i}`);
    for (let pnn = 0; pnn < opts.nodes; pnn++) this.writeBase(pnn);
  }

  base(pnn: number): string { return join(this.dir, `node.${pnn}`); }

  private writeBase(pnn: number): void {
    const b = this.base(pnn);
    for (const d of ['events/legacy', 'run', 'var/scripts', 'db/volatile', 'db/persistent', 'db/state']) mkdirSync(join(b, d), { recursive: true });
    this.writeNodes(pnn, this.addresses.join('\n') + '\n');
    writeFileSync(join(b, 'ctdb.conf'), [
      '[logging]', `\tlocation = file:${join(b, 'log.ctdb')}`, '\tlog level = INFO',
      '[cluster]', `\tnode address = ${this.addresses[pnn]}`,
      '[database]', `\tvolatile database directory = ${join(b, 'db/volatile')}`,
      `\tpersistent database directory = ${join(b, 'db/persistent')}`, `\tstate database directory = ${join(b, 'db/state')}`,
      '[legacy]', '\trealtime scheduling = false', '',
    ].join('\n') + (this.opts.extraConf?.(pnn) ?? ''));
    if (this.opts.tunables) writeFileSync(join(b, 'ctdb.tunables'), this.opts.real ? realTunables(this.opts.tunables) : this.opts.tunables);
  }

  /** Rewrites one node's nodes file. */
  writeNodes(pnn: number, text: string): void { writeFileSync(join(this.base(pnn), 'nodes'), text); }

  /** Environment for tools and daemons of node `pnn`. */
  env(pnn: number): NodeJS.ProcessEnv {
    const b = this.base(pnn);
    const env: NodeJS.ProcessEnv = {
      ...process.env, CTDB_TEST_MODE: 'yes', CTDB_BASE: b, CTDB_SCRIPT_VARDIR: join(b, 'var/scripts'),
      CTDB_TEST_HELPER_BINDIR: '/usr/libexec/ctdb',
    };
    delete env.CTDB_SOCKET;
    delete env.CTDB_DEBUGLEVEL;
    return env;
  }

  /** Starts node `pnn` in the foreground (stdin from /dev/null) and remembers its PID. */
  start(pnn: number): ChildProcess {
    const args = this.opts.real ? ['/usr/sbin/ctdbd', '-i'] : [process.execPath, join(DIST, 'ctdbd.js'), '-i'];
    const p = spawn(args[0]!, args.slice(1), { env: this.env(pnn), stdio: ['ignore', 'ignore', 'pipe'] });
    // With `keep`, stderr (where a foreground ctdbd logs) is kept beside the node's folder for debugging.
    const log = this.opts.keep ? createWriteStream(join(this.base(pnn), 'stderr.log'), { flags: 'a' }) : undefined;
    p.stderr?.on('data', (d: Buffer) => { log?.write(d); });
    p.once('close', () => log?.end());
    this.procs.set(pnn, p);
    return p;
  }

  startAll(): void { for (let pnn = 0; pnn < this.opts.nodes; pnn++) this.start(pnn); }

  /** Kills node `pnn` with `signal` and waits for it to exit. */
  async kill(pnn: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.procs.get(pnn);
    if (!p || p.exitCode !== null || p.signalCode !== null) { this.procs.delete(pnn); return; }
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill(signal);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (p.exitCode === null && p.signalCode === null) { p.kill('SIGKILL'); await exited; }
    this.procs.delete(pnn);
  }

  /** Runs a `ctdb` command (ours, or Debian's with `real`) against node `pnn`'s daemon. */
  ctdb(pnn: number, args: string[], opts: { real?: boolean; input?: string; timeoutMs?: number } = {}): RunResult {
    const real = opts.real ?? this.opts.real;
    const cmd = real ? ['/usr/bin/ctdb'] : [process.execPath, join(DIST, 'ctdb.js')];
    const r = spawnSync(cmd[0]!, [...cmd.slice(1), ...args], {
      env: this.env(pnn), input: opts.input, encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000,
    });
    return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /** Async variant of `ctdb` (does not block the test's event loop). */
  ctdbAsync(pnn: number, args: string[], opts: { real?: boolean; timeoutMs?: number } = {}): Promise<RunResult> {
    const real = opts.real ?? this.opts.real;
    const cmd = real ? ['/usr/bin/ctdb'] : [process.execPath, join(DIST, 'ctdb.js')];
    return new Promise((resolveRun) => {
      const p = spawn(cmd[0]!, [...cmd.slice(1), ...args], { env: this.env(pnn), stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = ''; let stderr = '';
      p.stdout.on('data', (d) => { stdout += d; });
      p.stderr.on('data', (d) => { stderr += d; });
      const t = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
      p.on('close', (code) => { clearTimeout(t); resolveRun({ code: code ?? -1, stdout, stderr }); });
    });
  }

  /** Polls `pred` every `intervalMs` until true or `timeoutMs` passes; returns whether it held. */
  async waitFor(pred: () => boolean | Promise<boolean>, timeoutMs = 30_000, intervalMs = 250): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await pred()) return true;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
    return false;
  }

  /** Waits until `ctdb nodestatus all` exits 0 on node `pnn` (every node OK). */
  async waitAllOk(pnn = 0, timeoutMs = 60_000): Promise<boolean> {
    return this.waitFor(async () => (await this.ctdbAsync(pnn, ['nodestatus', 'all'], { timeoutMs: 10_000 })).code === 0, timeoutMs, 300);
  }

  /** Stops every daemon by PID and removes the folders. */
  async stop(): Promise<void> {
    await Promise.all([...this.procs.keys()].map((pnn) => this.kill(pnn, 'SIGTERM')));
    if (!this.opts.keep) rmSync(this.dir, { recursive: true, force: true });
  }
}
