/**
 * Records golden client-protocol bytes from Debian's real CTDB (4.17).
 * Run by hand:  npx tsx test/protocol/record-golden.ts [OUTDIR]
 *
 * Starts a 3-node test-mode cluster on 127.0.0.91-93 under a temp dir, waits
 * until every node is OK, then runs each `ctdb` command below through
 * capture-proxy (CTDB_SOCKET points the tool at the proxy) and writes
 * OUTDIR/<name>.json (default test/fixtures/golden) holding the command and
 * every packet in both directions as hex; `backupdb` leaves OUTDIR/testpers.backup.
 * Daemons are stopped by PID at the end.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCaptureProxy } from './capture-proxy.js';
import { readTcpStreams } from './pcap.js';
import { PacketFramer } from '../../src/protocol/framer.js';
import { decodePacket } from '../../src/protocol/packets.js';
import { Operation } from '../../src/protocol/constants.js';

const CTDBD = '/usr/sbin/ctdbd';
const CTDB = '/usr/bin/ctdb';
const ADDRS = ['127.0.0.91', '127.0.0.92', '127.0.0.93'];
if (process.argv.includes('--help')) {
  process.stdout.write('usage: npx tsx test/protocol/record-golden.ts [OUTDIR]\n'
    + 'Starts Debian\'s ctdbd as 3 test-mode nodes on 127.0.0.91-93, records the client packets of a\n'
    + 'list of ctdb commands through a logging proxy, writes OUTDIR/<command>.json\n'
    + '(default test/fixtures/golden) and a backupdb file, then stops the daemons.\n');
  process.exit(0);
}
const outDir = path.resolve(process.argv[2] ?? 'test/fixtures/golden');

/** name, ctdb arguments. Order matters: attach before DB commands, ban before unban. */
const COMMANDS: [string, string[]][] = [
  ['pnn', ['pnn']],
  ['listnodes', ['listnodes']],
  ['nodestatus', ['nodestatus', 'all']],
  ['status', ['status']],
  ['getvar', ['getvar', 'RecoverTimeout']],
  ['getvar-unknown', ['getvar', 'NoSuchTunable']],
  ['setvar', ['setvar', 'RecoverTimeout', '31']],
  ['listvars', ['listvars']],
  ['getcapabilities', ['getcapabilities']],
  ['runstate', ['runstate']],
  ['ping', ['ping']],
  ['uptime', ['uptime']],
  ['getpid', ['getpid']],
  ['getdebug', ['getdebug']],
  ['getreclock', ['getreclock']],
  ['statistics', ['statistics']],
  ['stats-history', ['stats', '3']],
  ['attach', ['attach', 'testvol.tdb']],
  ['attach-persistent', ['attach', 'testpers.tdb', 'persistent']],
  ['getdbmap', ['getdbmap']],
  ['getdbstatus', ['getdbstatus', 'testvol.tdb']],
  ['writekey', ['writekey', 'testvol.tdb', 'k1', 'v1']],
  ['readkey', ['readkey', 'testvol.tdb', 'k1']],
  ['pstore', ['pstore', 'testpers.tdb', 'key1', 'value1']],
  ['getdbseqnum', ['getdbseqnum', 'testpers.tdb']],
  ['catdb', ['catdb', 'testvol.tdb']],
  ['dbstatistics', ['dbstatistics', 'testvol.tdb']],
  ['ip', ['ip', 'all']],
  ['ipinfo', ['ipinfo', '10.254.91.1']],
  ['ifaces', ['ifaces']],
  ['gettickles', ['gettickles', '10.254.91.1']],
  ['process-exists', ['process-exists', '1']],
  ['getpid-node1', ['getpid', '-n', '1']],
  ['to-missing-node', ['getpid', '-n', '7']],
  ['stop', ['stop', '-n', '2']],
  ['continue', ['continue', '-n', '2']],
  ['ban', ['ban', '100', '-n', '1']],
  ['unban', ['unban', '-n', '1']],
  ['disable', ['disable', '-n', '2']],
  ['enable', ['enable', '-n', '2']],
  ['reloadnodes', ['reloadnodes']],
  ['addip', ['addip', '10.254.91.3/24', 'lo']],
  ['delip', ['delip', '10.254.91.3']],
  ['setdebug', ['setdebug', 'NOTICE']],
  ['dumpmemory', ['dumpmemory']],
  ['statisticsreset', ['statisticsreset']],
  ['setdbreadonly', ['setdbreadonly', 'testvol.tdb']],
  ['setdbsticky', ['setdbsticky', 'testvol.tdb']],
  ['addtickle', ['addtickle', '10.254.91.200:40000', '10.254.91.1:445']],
  ['gettickles-one', ['gettickles', '10.254.91.1']],
  ['deltickle', ['deltickle', '10.254.91.200:40000', '10.254.91.1:445']],
  ['setifacelink-down', ['setifacelink', 'lo', 'down']],
  ['setifacelink-up', ['setifacelink', 'lo', 'up']],
  ['process-exists-srvid', ['process-exists', '1', '0xBE00000000000001']],
  ['setlmasterrole', ['setlmasterrole', 'on']],
  ['setleaderrole', ['setleaderrole', 'on']],
  ['pfetch', ['pfetch', 'testpers.tdb', 'key1']],
  ['pdelete', ['pdelete', 'testpers.tdb', 'key1']],
  ['pstore-again', ['pstore', 'testpers.tdb', 'key1', 'value1']],
  ['ipreallocate', ['ipreallocate']],
  ['moveip', ['moveip', '10.254.91.1', '1']],
  ['reloadips', ['reloadips']],
  ['backupdb', ['backupdb', 'testpers.tdb', 'testpers.backup']],
  ['restoredb', ['restoredb', 'testpers.backup', 'testpers.tdb']],
  ['wipedb', ['wipedb', 'testvol.tdb']],
  ['recover', ['recover']],
];

function writeBase(run: string, pnn: number): string {
  const base = path.join(run, `node.${pnn}`);
  for (const d of ['run', 'db/volatile', 'db/persistent', 'db/state', 'events/legacy', 'var/scripts']) {
    fs.mkdirSync(path.join(base, d), { recursive: true });
  }
  fs.writeFileSync(path.join(base, 'nodes'), ADDRS.join('\n') + '\n');
  fs.writeFileSync(path.join(base, 'public_addresses'), '10.254.91.1/24 lo\n10.254.91.2/24 lo\n');
  fs.writeFileSync(path.join(base, 'ctdb.conf'), [
    '[logging]', `\tlocation = file:${base}/log.ctdb`, '\tlog level = NOTICE',
    '[cluster]', `\tnode address = ${ADDRS[pnn]}`, `\tcluster lock = ${run}/shared/cluster.lock`,
    '[database]', `\tvolatile database directory = ${base}/db/volatile`,
    `\tpersistent database directory = ${base}/db/persistent`, `\tstate database directory = ${base}/db/state`,
    '[legacy]', '\trealtime scheduling = false', '',
  ].join('\n'));
  return base;
}

const envFor = (base: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...process.env, CTDB_TEST_MODE: 'yes', CTDB_BASE: base, CTDB_TEST_HELPER_BINDIR: '/usr/libexec/ctdb',
  CTDB_SCRIPT_VARDIR: path.join(base, 'var/scripts'), ...extra,
});

/** Runs the real tool without blocking the event loop (the proxy lives in this process). */
function runCtdb(base: string, args: string[], extra: Record<string, string> = {}, cwd?: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const c = spawn(CTDB, args, { env: envFor(base, extra), stdio: ['ignore', 'pipe', 'pipe'], cwd });
    let out = ''; let err = '';
    c.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    c.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const timer = setTimeout(() => c.kill('SIGKILL'), 30_000);
    c.on('close', (code) => { clearTimeout(timer); resolve({ code, out, err }); });
  });
}

/** A request and, for controls, its reply, as hex. */
interface Exchange { kind: string; flow: string; request: string; replyFlow?: string; reply?: string }

/**
 * Frames every node connection, pairs REQ_CONTROL with REPLY_CONTROL (the reply
 * travels on the other node's connection: same reqid, nodes swapped) and keeps
 * up to 2 exchanges of each kind (control opcode, message srvid class, operation).
 */
function writeNodeTraffic(pcap: Buffer, out: string): void {
  const pkts = readTcpStreams(pcap).flatMap((st) => new PacketFramer().push(st.data).map((b) => ({ flow: st.flow, b, h: decodePacket(b) })));
  const replies = new Map<string, { flow: string; b: Buffer }>();
  for (const p of pkts) {
    if (p.h.operation === Operation.REPLY_CONTROL) replies.set(`${p.h.destnode}>${p.h.srcnode}:${p.h.reqid}`, p);
  }
  const perKind = new Map<string, number>();
  const exchanges: Exchange[] = [];
  for (const p of pkts) {
    if (p.h.operation === Operation.REPLY_CONTROL) continue;
    const h = p.h;
    const kind = h.operation === Operation.REQ_CONTROL ? `control ${h.opcode}`
      : h.operation === Operation.REQ_MESSAGE ? `message 0x${(h.srvid >> 48n).toString(16)}`
        : `operation ${h.operation}`;
    const n = perKind.get(kind) ?? 0;
    if (n >= 2) continue;
    const e: Exchange = { kind, flow: p.flow, request: p.b.toString('hex') };
    if (h.operation === Operation.REQ_CONTROL && (h.flags & 1) === 0) {
      const r = replies.get(`${h.srcnode}>${h.destnode}:${h.reqid}`);
      if (!r) continue; // reply fell outside the capture
      e.replyFlow = r.flow; e.reply = r.b.toString('hex');
    }
    perKind.set(kind, n + 1);
    exchanges.push(e);
  }
  fs.writeFileSync(out, JSON.stringify({ source: 'tcpdump of ctdbd 4.17 node connections (port 4379)', exchanges }, null, 1) + '\n');
  process.stderr.write(`node traffic: ${pkts.length} packets, kept ${exchanges.length} exchanges of ${perKind.size} kinds\n`);
}

async function main(): Promise<void> {
  const run = fs.mkdtempSync(path.join(os.tmpdir(), 'ctdb-golden-'));
  fs.mkdirSync(path.join(run, 'shared'));
  const bases = ADDRS.map((_, i) => writeBase(run, i));
  // Node-to-node traffic: tcpdump on loopback, only between our three node addresses (127.0.0.88/29).
  const pcapPath = path.join(run, 'nodes.pcap');
  const dump = spawn('tcpdump', ['-i', 'lo', '-U', '-s', '0', '-w', pcapPath,
    'tcp port 4379 and src net 127.0.0.88/29 and dst net 127.0.0.88/29'], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    dump.stderr.on('data', (d: Buffer) => { err += d.toString(); if (err.includes('listening on')) resolve(); });
    dump.on('error', reject);
    dump.on('exit', (code) => reject(new Error(`tcpdump exited ${code}: ${err}`)));
  });
  const daemons = bases.map((b) => spawn(CTDBD, ['-i'], { env: envFor(b), stdio: ['ignore', 'ignore', 'ignore'] }));
  const pids = [...daemons.map((d) => d.pid!), dump.pid!];
  process.stderr.write(`ctdbd pids ${pids.join(' ')} in ${run}\n`);
  try {
    let ok = false;
    for (let i = 0; i < 60 && !ok; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      ok = (await runCtdb(bases[0]!, ['nodestatus', 'all'])).code === 0;
    }
    if (!ok) throw new Error(`cluster not healthy; see ${run}/node.*/log.ctdb`);
    await new Promise((r) => setTimeout(r, 2000));
    const proxyPath = path.join(run, 'proxy.socket');
    const proxy = await startCaptureProxy(proxyPath, path.join(bases[0]!, 'run/ctdbd.socket'));
    fs.mkdirSync(outDir, { recursive: true });
    for (const [name, args] of COMMANDS) {
      if (name === 'dbstatistics') {
        // Migrate k1 and k2 to node 1 and back so node 0 reports them as hot keys.
        for (const base of [bases[1]!, bases[0]!]) {
          for (const k of ['k1', 'k2']) await runCtdb(base, ['writekey', 'testvol.tdb', k, `${k}-again`]);
        }
      }
      proxy.clear();
      const r = await runCtdb(bases[0]!, args, { CTDB_SOCKET: proxyPath }, outDir);
      await new Promise((res) => setTimeout(res, 100));
      const fixture = {
        command: ['ctdb', ...args].join(' '),
        exitCode: r.code,
        stdout: r.out,
        packets: proxy.packets.map((p) => ({ conn: p.conn, dir: p.dir, hex: p.bytes.toString('hex') })),
      };
      fs.writeFileSync(path.join(outDir, `${name}.json`), JSON.stringify(fixture, null, 1) + '\n');
      process.stderr.write(`${name}: exit ${r.code}, ${fixture.packets.length} packets ${r.err.trim()}\n`);
      if (['ban', 'unban', 'stop', 'continue', 'disable', 'enable'].includes(name)) {
        for (let i = 0; i < 30 && (await runCtdb(bases[0]!, ['nodestatus', 'all'])).code !== 0 && !['ban', 'stop', 'disable'].includes(name); i++) {
          await new Promise((res) => setTimeout(res, 1000));
        }
      }
    }
    await proxy.close();
    // Cross-node activity: migrations from the other nodes, a delete for vacuuming, a cluster-wide traverse.
    for (const [i, args] of [[1, ['writekey', 'testvol.tdb', 'k1', 'n1']], [2, ['writekey', 'testvol.tdb', 'k2', 'n2']],
      [1, ['deletekey', 'testvol.tdb', 'k2']], [1, ['catdb', 'testvol.tdb']], [2, ['readkey', 'testvol.tdb', 'k1']]] as const) {
      await runCtdb(bases[i]!, [...args]);
    }
    await new Promise((r) => setTimeout(r, 12_000)); // one VacuumInterval (10 s)
    process.kill(dump.pid!, 'SIGINT');
    await new Promise((r) => dump.once('exit', r));
    writeNodeTraffic(fs.readFileSync(pcapPath), path.join(outDir, 'node-traffic.json'));
  } finally {
    for (const b of bases) await runCtdb(b, ['shutdown']);
    await new Promise((r) => setTimeout(r, 1000));
    for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ } }
    fs.rmSync(run, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => { process.stderr.write(`record-golden: ${String(e)}\n`); process.exitCode = 1; });
