import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync, appendFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Operation, Pnn } from '../../src/protocol/constants.js';
import { decodePacket, encodePacket } from '../../src/protocol/packets.js';
import { PacketFramer } from '../../src/protocol/framer.js';
import { DIST, LocalCluster } from '../harness/cluster.js';

const built = existsSync(join(DIST, 'ctdbd.js'));

function runDaemon(c: LocalCluster, pnn: number): { code: number; stderr: string } {
  const r = spawnSync(process.execPath, [join(DIST, 'ctdbd.js'), '-i'], { env: c.env(pnn), encoding: 'utf8', timeout: 30_000 });
  return { code: r.status ?? -1, stderr: r.stderr };
}

describe.skipIf(!built)('ctdbd refuses broken configuration', () => {
  const c = new LocalCluster({ nodes: 1, firstOctet: 14 });
  afterAll(async () => { await c.stop(); });

  it('a bad ctdb.conf line names file and line, exit non-zero', () => {
    appendFileSync(join(c.base(0), 'ctdb.conf'), '[cluster]\n\tleader timeout = soon\n');
    const r = runDaemon(c, 0);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^ctdbd: .*ctdb\.conf:\d+: /m);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a bad nodes entry names file and line, exit non-zero', () => {
    const conf = join(c.base(0), 'ctdb.conf');
    writeFileSync(conf, `[logging]\n\tlocation = file:${join(c.base(0), 'log.ctdb')}\n[cluster]\n\tnode address = 127.0.0.14\n`);
    c.writeNodes(0, '127.0.0.14\n127.0.0.300\n');
    const r = runDaemon(c, 0);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/nodes:2: /);
  });

  it('a node address that is not in the nodes file is refused', () => {
    c.writeNodes(0, '127.0.0.15\n');
    const r = runDaemon(c, 0);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('127.0.0.14');
  });
});

/** Sends raw bytes on the client socket and collects whole reply packets until `n` arrive or the socket closes. */
function rawExchange(socket: string, bytes: Buffer, n: number): Promise<{ packets: Buffer[]; closed: boolean }> {
  return new Promise((resolve) => {
    const s = connect(socket);
    const framer = new PacketFramer();
    const packets: Buffer[] = [];
    const done = (closed: boolean): void => { clearTimeout(t); s.destroy(); resolve({ packets, closed }); };
    const t = setTimeout(() => done(false), 5000);
    s.on('connect', () => s.write(bytes));
    s.on('data', (d) => { packets.push(...framer.push(d)); if (packets.length >= n) done(false); });
    s.on('close', () => done(true));
    s.on('error', () => {});
  });
}

const control = (opcode: number, reqid: number, data = Buffer.alloc(0)): Buffer => encodePacket({
  operation: Operation.REQ_CONTROL, generation: 0, destnode: Pnn.CURRENT, srcnode: Pnn.UNKNOWN, reqid,
  opcode, srvid: 0n, clientId: 0, flags: 0, data,
});

describe.skipIf(!built)('ctdbd survives bad packets', () => {
  const c = new LocalCluster({ nodes: 1, firstOctet: 16 });
  const socket = join(c.base(0), 'run/ctdbd.socket');
  beforeAll(async () => { c.startAll(); expect(await c.waitAllOk(0, 30_000)).toBe(true); });
  afterAll(async () => { await c.stop(); });

  it('answers unknown and obsolete controls with status -1', async () => {
    const r = await rawExchange(socket, Buffer.concat([control(999, 1), control(2, 2), control(35, 3)]), 3);
    const replies = r.packets.map(decodePacket);
    expect(replies.map((p) => [p.reqid, p.operation === Operation.REPLY_CONTROL ? p.status : 'x'])).toEqual([[1, -1], [2, -1], [3, 0]]);
  });

  it('refuses a fixed-size control with short data', async () => {
    const r = await rawExchange(socket, control(109 /* SET_BAN_STATE */, 7, Buffer.alloc(3)), 1);
    const p = decodePacket(r.packets[0]!);
    expect(p.operation === Operation.REPLY_CONTROL && p.status).toBe(-1);
  });

  it('drops a client that sends a bad magic or a zero length, and keeps serving', async () => {
    const bad = control(35, 1);
    bad.writeUInt32LE(0xdeadbeef, 4);
    expect((await rawExchange(socket, bad, 1)).closed).toBe(true);
    const zero = Buffer.alloc(64);
    expect((await rawExchange(socket, zero, 1)).closed).toBe(true);
    const junk = Buffer.from('GET / HTTP/1.0\r\n\r\n'.padEnd(64, 'x'));
    expect((await rawExchange(socket, junk, 1)).closed).toBe(true);
    expect(c.ctdb(0, ['pnn']).stdout).toBe('0\n');
  });

  it('tolerates a client that disconnects mid-packet', async () => {
    const whole = control(35, 1);
    await rawExchange(socket, whole.subarray(0, 20), 1).catch(() => undefined);
    expect(c.ctdb(0, ['ping']).code).toBe(0);
  });

  it('refuses node connections from addresses outside the nodes file', async () => {
    const closed = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.16', port: 4379, localAddress: '127.0.0.17' });
      const t = setTimeout(() => { s.destroy(); resolve(false); }, 5000);
      s.on('connect', () => s.write(control(35, 1)));
      s.on('close', () => { clearTimeout(t); resolve(true); });
      s.on('error', () => {});
    });
    expect(closed).toBe(true);
    expect(c.ctdb(0, ['pnn']).stdout).toBe('0\n');
  });
});
