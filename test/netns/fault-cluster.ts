/**
 * A NetnsCluster for fault rounds (root only): namespaces named `ctrel-<pid>-*`,
 * a cluster lock on a file in the cluster folder (one host, so an fcntl lock
 * works across the namespaces), fast keepalives, public addresses really
 * added by 10.interface, and the calls test/faults needs (async ctdb, link
 * down/up of one node, counting public addresses hosted twice or nowhere).
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIST, type RunResult } from '../harness/cluster.js';
import { ip, NetnsCluster } from './netns-cluster.js';

/** What `countIps` saw. */
export interface IpCount { duplicates: number; unhosted: number; detail: string }

export class FaultNetnsCluster extends NetnsCluster {
  constructor(nodes: number, publicIps: string[], opts: { lock?: boolean } = {}) {
    super({ nodes, publicIps, tunables: 'KeepaliveInterval=1\nKeepaliveLimit=3\nTickleUpdateInterval=1\n' });
    (this as { prefix: string }).prefix = `ctrel-${process.pid % 100000}`;
    this.lock = opts.lock ?? true;
  }

  private readonly lock: boolean;
  get dir(): string { return this.cl.dir; }
  base(pnn: number): string { return this.cl.base(pnn); }

  /** Namespaces, links and configuration, plus the cluster lock and a quick leader timeout. */
  override setup(): void {
    super.setup();
    for (let p = 0; p < this.opts.nodes; p++) {
      const conf = join(this.base(p), 'ctdb.conf');
      const extra = `\tleader timeout = 2\n${this.lock ? `\tcluster lock = ${join(this.dir, 'cluster.lock')}\n` : ''}`;
      writeFileSync(conf, readFileSync(conf, 'utf8').replace(/(node address = \S+\n)/, `$1${extra}`));
    }
  }

  /** `ctdb ARGS` against node `pnn` without blocking the event loop. */
  ctdbAsync(pnn: number, args: string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
    return new Promise((resolveRun) => {
      const p = spawn(process.execPath, [join(DIST, 'ctdb.js'), ...args], { env: this.env(pnn), stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = ''; let stderr = '';
      p.stdout.on('data', (d) => { stdout += d; });
      p.stderr.on('data', (d) => { stderr += d; });
      const t = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
      p.on('close', (code) => { clearTimeout(t); resolveRun({ code: code ?? -1, stdout, stderr }); });
    });
  }

  /** Waits until `ctdb nodestatus all` exits 0 on node `pnn`. */
  waitAllOk(pnn = 0, timeoutMs = 60_000): Promise<boolean> {
    return this.waitFor(async () => (await this.ctdbAsync(pnn, ['nodestatus', 'all'], { timeoutMs: 10_000 })).code === 0, timeoutMs, 300);
  }

  /** Takes node `pnn`'s only link down (a partition: it and the rest stop hearing each other) or up. */
  setLink(pnn: number, up: boolean): void {
    ip(['link', 'set', 'eth0', up ? 'up' : 'down'], this.ns(pnn));
  }

  /** Restarts a node killed with SIGKILL: its machine kept the addresses it had; ctdbd must sort them out. */
  restart(pnn: number): void { this.start(pnn); }

  /** Public addresses present on two or more nodes' eth0, and ones present on none. */
  countIps(): IpCount {
    const where = new Map<string, number[]>();
    for (let p = 0; p < this.opts.nodes; p++) for (const a of this.hosted(p)) where.set(a, [...(where.get(a) ?? []), p]);
    let duplicates = 0; let unhosted = 0; const notes: string[] = [];
    for (const a of this.opts.publicIps) {
      const on = where.get(a) ?? [];
      if (on.length > 1) { duplicates++; notes.push(`${a} on nodes ${on.join(',')}`); }
      if (on.length === 0) { unhosted++; notes.push(`${a} on no node`); }
    }
    return { duplicates, unhosted, detail: notes.join('; ') };
  }

  /** Stops every daemon, deletes the namespaces and the folders. */
  stop(): Promise<void> { return this.teardown(); }
}
