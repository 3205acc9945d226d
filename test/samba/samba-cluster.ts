/**
 * Real Samba (Debian's smbd, smbclient, net, smbstatus, smbcontrol) on a
 * LocalCluster: one smb.conf per node under the cluster's temporary folder,
 * `clustering = yes` pointing at that node's ctdbd socket, one folder shared
 * by every node (the stand-in for a cluster filesystem). Every smbd is started
 * in its own session (so its SIGTERM to the process group stays inside) and
 * stopped by PID.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { LocalCluster, type LocalClusterOptions, type RunResult } from '../harness/cluster.js';

/** TCP port every test smbd listens on (not 445, so no system smbd is disturbed). */
export const SMB_PORT = 4450;

/** Share name exported by every node. */
export const SHARE = 'share';

const BINARIES = ['/usr/sbin/smbd', '/usr/bin/smbclient', '/usr/bin/net', '/usr/bin/smbstatus', '/usr/bin/smbcontrol', '/usr/bin/smbpasswd'];

/** Why Samba tests cannot run here, or undefined when they can. */
export function sambaMissing(): string | undefined {
  const missing = BINARIES.filter((b) => !existsSync(b));
  if (missing.length) return `Samba is not installed (missing ${missing.join(', ')}; apt-get install samba smbclient)`;
  // smbd switches to each user's uid (guests map to nobody): it needs root.
  return process.getuid?.() === 0 ? undefined : 'smbd needs root to serve guests and users';
}

/** Why smbtorture tests cannot run here, or undefined when they can. */
export function smbtortureMissing(): string | undefined {
  return existsSync('/usr/bin/smbtorture') ? undefined : 'smbtorture is not installed (apt-get install samba-testsuite)';
}

/** Options of a Samba cluster. */
export interface SambaClusterOptions extends Omit<LocalClusterOptions, 'firstOctet'> {
  /** Last octet of node 0 (default 80; the tests use 127.0.0.80–89). */
  firstOctet?: number;
  /** Extra [global] lines for every node's smb.conf. */
  extraGlobal?: string[];
  /** smbd log level (default 1). */
  logLevel?: number;
}

/** A LocalCluster with Samba configured on every node. */
export class SambaCluster {
  readonly cluster: LocalCluster;
  readonly shareDir: string;
  readonly smbd = new Map<number, ChildProcess>();
  private readonly extra: ChildProcess[] = [];

  constructor(readonly opts: SambaClusterOptions) {
    this.cluster = new LocalCluster({ ...opts, firstOctet: opts.firstOctet ?? 80 });
    this.shareDir = join(this.cluster.dir, 'share');
    mkdirSync(this.shareDir, { recursive: true });
    chmodSync(this.shareDir, 0o777);
    // Guests map to nobody, who must reach the share through the (0700) temporary folder.
    chmodSync(this.cluster.dir, 0o711);
    for (let pnn = 0; pnn < opts.nodes; pnn++) this.writeSmbConf(pnn);
  }

  /** Samba's own folder of node `pnn`. */
  smbDir(pnn: number): string { return join(this.cluster.dir, `smb.${pnn}`); }

  /** Path of node `pnn`'s smb.conf. */
  conf(pnn: number): string { return join(this.smbDir(pnn), 'smb.conf'); }

  /** Address of node `pnn`. */
  address(pnn: number): string { return this.cluster.addresses[pnn]!; }

  private writeSmbConf(pnn: number): void {
    writeSmbConf({
      conf: this.conf(pnn), smbDir: this.smbDir(pnn), shareDir: this.shareDir,
      socket: join(this.cluster.base(pnn), 'run/ctdbd.socket'), interfaces: `${this.address(pnn)}/8`,
      logLevel: this.opts.logLevel, extraGlobal: this.opts.extraGlobal,
    });
  }

  /** Starts the ctdb daemons and waits until every node is OK. */
  async startCluster(timeoutMs = 90_000): Promise<void> {
    this.cluster.startAll();
    if (!(await this.cluster.waitAllOk(0, timeoutMs))) throw new Error('cluster did not reach all-OK');
  }

  /**
   * Starts smbd on node `pnn` in its own session and waits until it accepts
   * SMB connections; returns the milliseconds it took.
   */
  async startSmbd(pnn: number, timeoutMs = 60_000): Promise<number> {
    const t0 = Date.now();
    const p = spawn('/usr/sbin/smbd', ['-F', '--no-process-group', '-s', this.conf(pnn)], {
      detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: this.sambaEnv(),
    });
    let out = '';
    const keep = (d: Buffer): void => { out = (out + d.toString()).slice(-20_000); };
    p.stdout?.on('data', keep); p.stderr?.on('data', keep);
    this.smbd.set(pnn, p);
    const ready = await this.cluster.waitFor(async () => {
      if (p.exitCode !== null || p.signalCode !== null) return true;
      return (await portOpen(this.address(pnn), SMB_PORT)) && this.smbclient(pnn, ['-L', `//${this.address(pnn)}`, '-N']).code === 0;
    }, timeoutMs, 100);
    if (p.exitCode !== null || p.signalCode !== null) throw new Error(`smbd on node ${pnn} exited (${p.exitCode ?? p.signalCode}): ${out.slice(-3000)}`);
    if (!ready) throw new Error(`smbd on node ${pnn} not serving after ${timeoutMs} ms: ${out.slice(-3000)}`);
    return Date.now() - t0;
  }

  /** Stops node `pnn`'s smbd by PID (SIGTERM, then SIGKILL of its process group). */
  async stopSmbd(pnn: number): Promise<void> {
    const p = this.smbd.get(pnn);
    this.smbd.delete(pnn);
    if (p) await stopProcess(p, true);
  }

  /** Starts a long-running Samba tool (kept and stopped by PID in stop()). */
  spawnTool(cmd: string, args: string[]): ChildProcess {
    const p = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: this.sambaEnv() });
    p.stdout?.on('data', () => {}); p.stderr?.on('data', () => {});
    this.extra.push(p);
    return p;
  }

  private sambaEnv(): NodeJS.ProcessEnv {
    const env = { ...process.env };
    delete env.CTDB_BASE; delete env.CTDB_SOCKET;
    return env;
  }

  /** Runs smbclient against node `pnn` (args after the common ones). */
  smbclient(pnn: number, args: string[], opts: { input?: string; timeoutMs?: number } = {}): RunResult {
    return run('/usr/bin/smbclient', ['-s', this.conf(pnn), '-p', String(SMB_PORT), '--option=clientmaxprotocol=SMB3', ...args],
      { ...opts, env: this.sambaEnv() });
  }

  /** Runs `smbclient //node/share -c cmds` as guest, or as `user%password`. */
  smbCommands(pnn: number, cmds: string, user?: string, timeoutMs = 60_000): RunResult {
    const auth = user ? ['-U', user] : ['-N'];
    return this.smbclient(pnn, [`//${this.address(pnn)}/${SHARE}`, ...auth, '-c', cmds], { timeoutMs });
  }

  /** Runs a Samba tool (net, smbstatus, smbcontrol, smbpasswd, …) with node `pnn`'s smb.conf. */
  tool(pnn: number, cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): RunResult {
    const confFlag = cmd.endsWith('smbpasswd') ? ['-c', this.conf(pnn)] : ['-s', this.conf(pnn)];
    return run(cmd, [...confFlag, ...args], { ...opts, env: this.sambaEnv() });
  }

  /** Stops every smbd and tool, then the daemons; removes the folder unless kept. */
  async stop(): Promise<void> {
    await Promise.all([...this.smbd.keys()].map((pnn) => this.stopSmbd(pnn)));
    await Promise.all(this.extra.map((p) => stopProcess(p, true)));
    await this.cluster.stop();
  }
}

function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv }): RunResult {
  const r = spawnSync(cmd, args, { input: opts.input, encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000, env: opts.env });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** True when a TCP connection to host:port succeeds. */
export function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean): void => { s.destroy(); resolve(ok); };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(2000, () => done(false));
  });
}

/** Stops a process we started: SIGTERM, up to 10 s, then SIGKILL (of its group when it leads one). */
export async function stopProcess(p: ChildProcess, group: boolean): Promise<void> {
  if (p.pid === undefined) return;
  const pid = p.pid;
  const exited = new Promise<void>((r) => { if (p.exitCode !== null || p.signalCode !== null) r(); else p.once('exit', () => r()); });
  const signal = (sig: NodeJS.Signals): void => {
    try { process.kill(pid, sig); } catch { /* already gone */ }
  };
  signal('SIGTERM');
  const timedOut = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 10_000))]);
  if (timedOut) signal('SIGKILL');
  await exited;
  // Children an smbd forked live in its session's group; SIGTERM normally ends them, this catches stragglers.
  if (group) { try { process.kill(-pid, 'SIGKILL'); } catch { /* group already empty */ } }
}

/** What one node's smb.conf needs. */
export interface SmbConfOptions {
  /** Where to write it. */
  conf: string;
  /** Samba's own folder for this node (private, lock, state, … directories are made under it). */
  smbDir: string;
  /** The folder every node shares. */
  shareDir: string;
  /** The node's ctdbd client socket. */
  socket: string;
  /** `interfaces` value with `bind interfaces only`; undefined listens on every address (public IPs come and go). */
  interfaces?: string;
  logLevel?: number;
  extraGlobal?: string[];
}

/** Writes a clustered smb.conf (and its folders) for one node. */
export function writeSmbConf(o: SmbConfOptions): void {
  const s = o.smbDir;
  for (const d of ['private', 'lock', 'state', 'cache', 'pid', 'ncalrpc', 'wb', 'logs']) mkdirSync(join(s, d), { recursive: true });
  const lines = [
    '[global]',
    '\tclustering = yes',
    `\tctdbd socket = ${o.socket}`,
    '\tnetbios name = SMBCLU',
    '\tworkgroup = CLUWG',
    '\tserver role = standalone server',
    '\tsecurity = user',
    '\tmap to guest = Bad User',
    '\tpassdb backend = tdbsam',
    ...(o.interfaces ? [`\tinterfaces = ${o.interfaces}`, '\tbind interfaces only = yes'] : ['\tbind interfaces only = no']),
    `\tsmb ports = ${SMB_PORT}`,
    '\tdisable netbios = yes',
    `\tprivate dir = ${join(s, 'private')}`,
    `\tlock directory = ${join(s, 'lock')}`,
    `\tstate directory = ${join(s, 'state')}`,
    `\tcache directory = ${join(s, 'cache')}`,
    `\tpid directory = ${join(s, 'pid')}`,
    `\tncalrpc dir = ${join(s, 'ncalrpc')}`,
    `\twinbindd socket directory = ${join(s, 'wb')}`,
    `\tlog file = ${join(s, 'logs/log.%m')}`,
    `\tlog level = ${o.logLevel ?? 1}`,
    '\tload printers = no',
    '\tprinting = bsd',
    '\tprintcap name = /dev/null',
    '\tdisable spoolss = yes',
    '\tkernel oplocks = no',
    '\tkernel share modes = no',
    // Change notifications between nodes then come only through notifyd over the cluster, never from inotify.
    '\tkernel change notify = no',
    '\tposix locking = no',
    '\tregistry shares = yes',
    ...(o.extraGlobal ?? []).map((l) => `\t${l}`),
    `[${SHARE}]`,
    `\tpath = ${o.shareDir}`,
    '\tread only = no',
    '\tguest ok = yes',
    '\tcreate mask = 0666',
    '',
  ];
  writeFileSync(o.conf, lines.join('\n'));
}
