/**
 * ctdb_killtcp against real TCP connections between two network namespaces:
 * killtcp runs in the server namespace on the server's veth, and every
 * connection must end up reset on both sides.
 */
import { existsSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  closeConnections, createNsPair, deleteNsPair, openConnections, pollUntil, run,
  type ConnectionSet, type NsPair,
} from '../fixtures/killtcp/netns.js';

const helper = new URL('../../dist/ctdb_killtcp.js', import.meta.url).pathname;
const isRoot = process.getuid?.() === 0;
const built = existsSync(helper);
const why = !isRoot ? 'needs root for network namespaces and raw sockets'
  : !built ? 'dist/ctdb_killtcp.js missing: run npm run build first' : '';

/** Runs killtcp inside a namespace. */
const killtcp = (ns: string, args: string[], input = '', timeoutMs = 30_000) =>
  run('ip', ['netns', 'exec', ns, 'node', helper, ...args], { input, timeoutMs });

describe.skipIf(why !== '')(`ctdb_killtcp in namespaces${why ? ` (skipped: ${why})` : ''}`, () => {
  let ns: NsPair;
  let set: ConnectionSet | undefined;
  let set6: ConnectionSet | undefined;
  let port = 7000;

  beforeAll(async () => { ns = await createNsPair('t'); });
  afterAll(async () => { closeConnections(set); closeConnections(set6); if (ns) await deleteNsPair(ns); });
  afterEach(() => { closeConnections(set); closeConnections(set6); set = undefined; set6 = undefined; });

  /** Asserts every connection of `set` was reset: the server saw RSTs, and the client sees them on its next write. */
  async function expectAllReset(s: ConnectionSet): Promise<void> {
    const srv = await pollUntil(() => s.server.stats(), (v) => v.resets >= s.count);
    expect(srv).toMatchObject({ accepted: s.count, resets: s.count, otherErrors: 0 });
    expect(await s.client.ask('poke')).toBe('poked');
    const cli = await pollUntil(() => s.client.stats(), (v) => v.resets >= s.count);
    expect(cli).toMatchObject({ connected: s.count, resets: s.count, otherErrors: 0 });
  }

  it('resets one IPv4 connection given on the command line', async () => {
    set = await openConnections(ns, { family: 'inet', count: 1, port: port++ });
    const [client, server] = set.list.trim().split(' ');
    const r = await killtcp(ns.serverNs, [ns.serverIf, client!, server!]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    await expectAllReset(set);
  });

  it.each([1_000, 10_000])('resets %i IPv4 connections read from stdin', async (count) => {
    set = await openConnections(ns, { family: 'inet', count, port: port++ });
    const r = await killtcp(ns.serverNs, [ns.serverIf], set.list);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    await expectAllReset(set);
  });

  it('resets IPv6 connections', async () => {
    set = await openConnections(ns, { family: 'inet6', count: 50, port: port++ });
    expect(set.list).toMatch(/^\[fd99::1\]:\d+ \[fd99::2\]:\d+$/m);
    const r = await killtcp(ns.serverNs, [ns.serverIf], set.list);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    await expectAllReset(set);
  });

  it('resets IPv4 and IPv6 connections given in one batch', async () => {
    set = await openConnections(ns, { family: 'inet', count: 20, port: port++ });
    set6 = await openConnections(ns, { family: 'inet6', count: 20, port: port++ });
    const r = await killtcp(ns.serverNs, [ns.serverIf], set.list + set6.list);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    await expectAllReset(set);
    await expectAllReset(set6);
  });

  it('skips its own packets when they cross the capture interface (both ends on lo)', async () => {
    set = await openConnections(ns, { family: 'inet', count: 100, port: port++, sameHost: true });
    const r = await killtcp(ns.serverNs, ['lo'], set.list);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    await expectAllReset(set);
  });

  it('reports junk lines by number, still resets the valid ones, and exits non-zero', async () => {
    set = await openConnections(ns, { family: 'inet', count: 3, port: port++ });
    const good = set.list.trim().split('\n');
    const input = [good[0], 'junk', good[1], '10.99.0.1:1', '', good[2], '10.99.0.1:1 [fd99::2]:5'].join('\n') + '\n';
    const r = await killtcp(ns.serverNs, [ns.serverIf], input);
    expect(r.code).toBe(22);
    const lines = r.stderr.trim().split('\n');
    expect(lines.filter((l) => /^ctdb_killtcp: line \d+:/.test(l)).map((l) => /line (\d+)/.exec(l)![1])).toEqual(['2', '4', '7']);
    expect(r.stderr).toMatch(/3 invalid input line/);
    await expectAllReset(set);
  });

  it('exits non-zero on input that is all junk', async () => {
    const r = await killtcp(ns.serverNs, [ns.serverIf], 'hello world\n');
    expect(r.code).toBe(22);
    expect(r.stderr).toMatch(/line 1:/);
  });

  it('fails cleanly on an unknown interface', async () => {
    const r = await killtcp(ns.serverNs, ['ctkill-nope', '10.99.0.1:1', '10.99.0.2:2']);
    expect(r.code).toBe(19);
    expect(r.stderr).toMatch(/no such interface 'ctkill-nope'/);
  });

  it('prints usage with --help and rejects wrong arguments', async () => {
    const help = await killtcp(ns.serverNs, ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: ctdb_killtcp IFACE \[CLIENT SERVER\]/);
    const bad = await killtcp(ns.serverNs, [ns.serverIf, '10.99.0.1:1']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/expected IFACE/);
  });

  it('gives up after the retry limits on a connection nobody answers, saying so', async () => {
    // 10.99.0.77 is on no host: tickles go unanswered for all 50 rounds (about 5 s).
    const r = await killtcp(ns.serverNs, [ns.serverIf, '10.99.0.2:1', '10.99.0.77:2'], '', 20_000);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/1 of 1 connection\(s\) not reset after 50 rounds/);
  });
});
