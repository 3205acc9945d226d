/**
 * A CTDB cluster whose nodes run in network namespaces (root only): one
 * bridge namespace, one namespace per node (eth0 on the bridge, node address
 * 10.77.0.(pnn+1)/24) and a client namespace (10.78.0.100/24 on the public
 * network). Public addresses live in 10.78.0.0/24 and only inside these
 * namespaces. Daemons run with our 10.interface event script, so takeip and
 * releaseip really add and remove addresses. Names start with `ctip-`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIST, LocalCluster, ROOT, type RunResult } from '../harness/cluster.js';

/** True when this process may create network namespaces. */
export const canUseNetns = (): boolean =>
  process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list'], { stdio: 'ignore' }).status === 0;

/** Runs `ip ARGS` (optionally inside `ns`); throws with stderr on failure. */
export function ip(args: string[], ns?: string): string {
  const argv = ns ? ['netns', 'exec', ns, 'ip', ...args] : args;
  const r = spawnSync('ip', argv, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Options of a namespace cluster. */
export interface NetnsClusterOptions {
  nodes: number; publicIps: string[]; tunables?: string; firstOctet?: number;
  /** Run Debian's ctdbd, ctdb and 10.interface script instead of ours. */
  real?: boolean;
}

export class NetnsCluster {
  readonly prefix: string;
  readonly cl: LocalCluster;
  readonly procs = new Map<number, ChildProcess>();
  readonly helperDir: string;
  private readonly servers: ChildProcess[] = [];

  constructor(readonly opts: NetnsClusterOptions) {
    this.prefix = `ctip-${process.pid % 100000}`;
    this.cl = new LocalCluster({ nodes: opts.nodes, firstOctet: opts.firstOctet ?? 200, tunables: opts.tunables, keep: process.env.CTIP_KEEP === '1' });
    this.helperDir = join(this.cl.dir, 'helpers');
  }

  ns(pnn: number): string { return `${this.prefix}-n${pnn}`; }
  get brNs(): string { return `${this.prefix}-br`; }
  get clientNs(): string { return `${this.prefix}-cl`; }
  nodeAddress(pnn: number): string { return `10.77.0.${pnn + 1}`; }

  /** Creates namespaces, links and per-node configuration. */
  setup(): void {
    ip(['netns', 'add', this.brNs]);
    ip(['link', 'add', 'br0', 'type', 'bridge'], this.brNs);
    ip(['link', 'set', 'br0', 'up'], this.brNs);
    const attach = (ns: string, port: string, addr: string): void => {
      ip(['netns', 'add', ns]);
      ip(['link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', port, 'netns', this.brNs]);
      ip(['link', 'set', port, 'master', 'br0', 'up'], this.brNs);
      ip(['link', 'set', 'lo', 'up'], ns);
      ip(['link', 'set', 'eth0', 'up'], ns);
      ip(['addr', 'add', addr, 'dev', 'eth0'], ns);
      // Removing the first address of a subnet must not take the others with it.
      spawnSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.conf.all.promote_secondaries=1'], { stdio: 'ignore' });
    };
    for (let p = 0; p < this.opts.nodes; p++) attach(this.ns(p), `v${p}`, `${this.nodeAddress(p)}/24`);
    attach(this.clientNs, 'vcl', '10.78.0.100/24');
    // Helpers under the names scripts use (ctdb_killtcp) and the names ctdbd uses (*.js).
    mkdirSync(this.helperDir);
    for (const f of readdirSync(DIST).filter((x) => x.endsWith('.js'))) {
      symlinkSync(join(DIST, f), join(this.helperDir, f));
      symlinkSync(join(DIST, f), join(this.helperDir, f.slice(0, -3)));
    }
    const nodes = Array.from({ length: this.opts.nodes }, (_, p) => this.nodeAddress(p)).join('\n') + '\n';
    for (let p = 0; p < this.opts.nodes; p++) {
      const b = this.cl.base(p);
      this.cl.writeNodes(p, nodes);
      const conf = join(b, 'ctdb.conf');
      writeFileSync(conf, readFileSync(conf, 'utf8').replace(/node address = \S+/, `node address = ${this.nodeAddress(p)}`));
      writeFileSync(join(b, 'public_addresses'), this.opts.publicIps.map((a) => `${a}/24 eth0\n`).join(''));
      copyFileSync(this.opts.real ? '/etc/ctdb/functions' : join(ROOT, 'events/functions'), join(b, 'functions'));
      const script = join(b, 'events/legacy/10.interface.script');
      copyFileSync(this.opts.real ? '/usr/share/ctdb/events/legacy/10.interface.script' : join(ROOT, 'events/legacy/10.interface.script'), script);
      chmodSync(script, 0o755);
    }
  }

  env(pnn: number): NodeJS.ProcessEnv {
    if (this.opts.real) return { ...this.cl.env(pnn), CTDB: '/usr/bin/ctdb' };
    return { ...this.cl.env(pnn), CTDB_HELPER_BINDIR: this.helperDir, CTDB: join(this.helperDir, 'ctdb') };
  }

  /** Starts node `pnn`'s ctdbd inside its namespace (`ip netns exec` execs, so the PID is the daemon's). */
  start(pnn: number): void {
    const daemon = this.opts.real ? ['/usr/sbin/ctdbd'] : [process.execPath, join(DIST, 'ctdbd.js')];
    const p = spawn('ip', ['netns', 'exec', this.ns(pnn), ...daemon, '-i'],
      { env: this.env(pnn), stdio: ['ignore', 'ignore', 'ignore'] });
    this.procs.set(pnn, p);
  }

  startAll(): void { for (let p = 0; p < this.opts.nodes; p++) this.start(p); }

  /** Kills node `pnn` with `signal` and waits for it to exit. */
  async kill(pnn: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.procs.get(pnn);
    this.procs.delete(pnn);
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill(signal);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (p.exitCode === null && p.signalCode === null) { p.kill('SIGKILL'); await exited; }
  }

  /**
   * Simulates the death of node `pnn`'s machine: its link goes down first
   * (so its sockets send nothing more: peers notice only by missed
   * keepalives), then ctdbd gets SIGKILL.
   */
  async crash(pnn: number): Promise<void> {
    ip(['link', 'set', 'eth0', 'down'], this.ns(pnn));
    await this.kill(pnn, 'SIGKILL');
  }

  /** Brings a crashed node's machine back (link up, stale public addresses gone) and starts ctdbd. */
  revive(pnn: number): void {
    for (const a of this.hosted(pnn)) ip(['addr', 'del', `${a}/24`, 'dev', 'eth0'], this.ns(pnn));
    ip(['link', 'set', 'eth0', 'up'], this.ns(pnn));
    this.start(pnn);
  }

  ctdb(pnn: number, args: string[], input?: string): RunResult {
    const tool = this.opts.real ? ['/usr/bin/ctdb'] : [process.execPath, join(DIST, 'ctdb.js')];
    const r = spawnSync(tool[0]!, [...tool.slice(1), ...args], { env: this.env(pnn), input, encoding: 'utf8', timeout: 60_000 });
    return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /** `ctdb ip all` as address → PNN (-1 unassigned). */
  owners(from: number): Map<string, number> {
    const m = new Map<string, number>();
    for (const l of this.ctdb(from, ['-X', 'ip', 'all']).stdout.split('\n').slice(1)) {
      const f = l.split('|');
      if (f.length >= 3 && f[1]) m.set(f[1], Number(f[2]));
    }
    return m;
  }

  /** Public addresses present on eth0 in node `pnn`'s namespace. */
  hosted(pnn: number): string[] {
    const out = ip(['-o', '-4', 'addr', 'show', 'dev', 'eth0'], this.ns(pnn));
    return [...out.matchAll(/inet (10\.78\.0\.\d+)\//g)].map((m) => m[1]!).sort();
  }

  /** Starts a TCP server on `port` in every node namespace (accepts and keeps connections). */
  startServers(port: number): void {
    const code = `require('net').createServer((s)=>{s.on('error',()=>{});}).listen(${port})`;
    for (let p = 0; p < this.opts.nodes; p++) {
      this.servers.push(spawn('ip', ['netns', 'exec', this.ns(p), process.execPath, '-e', code], { stdio: 'ignore' }));
    }
  }

  /** Spawns a command in the client namespace. */
  spawnInClient(argv: string[]): ChildProcess {
    return spawn('ip', ['netns', 'exec', this.clientNs, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  }

  async waitFor(pred: () => boolean | Promise<boolean>, timeoutMs = 30_000, intervalMs = 250): Promise<boolean> {
    return this.cl.waitFor(pred, timeoutMs, intervalMs);
  }

  /** Stops daemons and servers by PID, deletes the namespaces and folders. */
  async teardown(): Promise<void> {
    await Promise.all([...this.procs.keys()].map((p) => this.kill(p, 'SIGKILL')));
    for (const s of this.servers) s.kill('SIGKILL');
    for (const ns of [...Array.from({ length: this.opts.nodes }, (_, p) => this.ns(p)), this.clientNs, this.brNs]) {
      spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    }
    await this.cl.stop();
  }
}
