/**
 * Fuzzing of every configuration-file and helper-stdin parser: random text
 * built from the parsers' own vocabulary plus raw junk. Each parser returns
 * or throws a CtdbError whose message names the file or line; nothing
 * crashes and nothing hangs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { CtdbError } from '../../src/common/errors.js';
import { parseConfigFile } from '../../src/common/config.js';
import { parseIni } from '../../src/common/ini.js';
import { parseNodesFile } from '../../src/common/nodes.js';
import { resolvePaths } from '../../src/common/paths.js';
import { parsePublicAddresses } from '../../src/common/public-addresses.js';
import { parseTunableValue, Tunables } from '../../src/common/tunables.js';
import { parsePtrans } from '../../src/db/db-format.js';
import { parseConnectionLine, parseConnectionLines } from '../../src/killtcp/connections.js';
import { parseGroupNodesFile } from '../../src/natgw/nodes-file.js';
import { parseComputeArgs, parseComputeInput, parseHomeNodes, parseNodeFlags } from '../../src/takeover/compute.js';
import { expectClean, RUNS } from './expect-clean.js';

const base = mkdtempSync(join(tmpdir(), 'ctdb-fuzz-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const paths = resolvePaths({ CTDB_BASE: base, CTDB_TEST_MODE: 'yes' });

/** Pieces that real files are made of, so random text often gets deep into a parser. */
const vocabulary = [
  '127.0.0.1', '10.0.0.31', '192.168.1.1/24', 'fd00::1', 'fd00::1/64', '::ffff:1.2.3.4', '1.2.3.4:445', '[fd00::1]:2049',
  'eth0', 'eth0,eth1', ' ', '\t', '#', '# comment', '=', ' = ', '[cluster]', '[logging]', '[database]', '[legacy]', '[nosuch]',
  'node address', 'cluster lock', 'leader timeout', 'location', 'log level', 'true', 'false', 'yes', 'no', '0', '-1', '1', '99999999999',
  '0x10', '0777', 'RecoverTimeout', 'KeepaliveInterval', 'follower-only', ',', '"', '"key"', '"0x41"', '\\', '%', '!', '/', ':', '::',
  '\u00e9', '\u0000', '\r', 'file:/tmp/x', 'syslog', 'NOTICE',
];
const junkLine = fc.array(fc.oneof(fc.constantFrom(...vocabulary), fc.string({ maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 6 })), { maxLength: 6 }).map((xs) => xs.join(''));
const junkText = fc.array(junkLine, { maxLength: 12 }).map((ls) => ls.join('\n'));

/** Checks a rejected input got a message that names where it went wrong. */
function namesPlace(err: CtdbError, place: RegExp): void {
  expect(err.message).toMatch(place);
  expect(err.message).not.toMatch(/undefined|\[object Object\]|NaN/);
}

const parsers: Array<{ name: string; run: (text: string) => unknown; place?: RegExp; plainError?: boolean }> = [
  { name: 'ctdb.conf (parseConfigFile)', run: (t) => parseConfigFile(t, 'ctdb.conf', paths), place: /ctdb\.conf/ },
  { name: 'ini (parseIni)', run: (t) => parseIni(t, 'x.ini'), place: /x\.ini/ },
  { name: 'nodes (parseNodesFile)', run: (t) => parseNodesFile(t, 'nodes'), place: /nodes/ },
  { name: 'public_addresses (parsePublicAddresses)', run: (t) => parsePublicAddresses(t, 'public_addresses'), place: /public_addresses/ },
  { name: 'ctdb.tunables (Tunables.applyText)', run: (t) => new Tunables().applyText(t, 'ctdb.tunables'), place: /ctdb\.tunables/ },
  { name: 'tunable value (parseTunableValue)', run: (t) => parseTunableValue(t), plainError: true },
  { name: 'killtcp stdin line (parseConnectionLine)', run: (t) => parseConnectionLine(t.split('\n')[0] ?? '') },
  { name: 'natgw/lvs nodes file (parseGroupNodesFile)', run: (t) => parseGroupNodesFile(t, 'natgw_nodes'), place: /natgw_nodes/ },
  { name: 'takeover --compute stdin (parseComputeInput)', run: (t) => parseComputeInput(t, 4), place: /line \d+/ },
  { name: 'takeover home_nodes (parseHomeNodes)', run: (t) => parseHomeNodes(t) },
  { name: 'takeover --node-flags (parseNodeFlags)', run: (t) => parseNodeFlags(t) },
  { name: 'ptrans stdin (parsePtrans)', run: (t) => parsePtrans(t), place: /line \d+|\d/ },
];

describe('parser fuzzing', () => {
  it.each(parsers.map((p) => [p.name, p] as const))('%s: no crash on random text, errors name the place', (_n, p) => {
    fc.assert(fc.property(junkText, (text) => {
      const r = expectClean(p.name, text, () => p.run(text), { plainError: p.plainError });
      if (!r.ok && p.place) namesPlace(r.error, p.place);
    }), { numRuns: RUNS * 3 });
  });

  it.each(parsers.map((p) => [p.name, p] as const))('%s: no crash on raw binary', (_n, p) => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
      expectClean(p.name, text, () => p.run(text), { plainError: p.plainError });
    }), { numRuns: RUNS });
  });

  it('parsers finish on large inputs (no quadratic blow-up on 20,000 lines)', () => {
    const big = Array.from({ length: 20_000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`).join('\n');
    for (const p of parsers) expectClean(p.name, 'big', () => p.run(big), { plainError: p.plainError });
    const r = parseConnectionLines(Array.from({ length: 20_000 }, () => '1.2.3.4:1 5.6.7.8:2'));
    expect(r.connections.length).toBe(20_000);
  }, 60_000);

  it('killtcp: parseConnectionLines reports bad lines by number and keeps the good ones', () => {
    fc.assert(fc.property(fc.array(junkLine, { maxLength: 20 }), (lines) => {
      const r = expectClean('parseConnectionLines', lines, () => parseConnectionLines(lines));
      if (!r.ok) throw new Error('parseConnectionLines must not throw');
      const v = r.value as { connections: unknown[]; errors: Array<{ line: number; message: string }> };
      for (const e of v.errors) { expect(e.line).toBeGreaterThanOrEqual(1); expect(e.line).toBeLessThanOrEqual(lines.length); expect(e.message).not.toBe(''); }
    }), { numRuns: RUNS });
  });

  it('takeover helper argv (parseComputeArgs): no crash on random arguments', () => {
    const word = fc.oneof(fc.constantFrom('--compute', '--node-flags', '--algorithm', 'lcp2', 'deterministic', '--force-rebalance', '0,1', '0x20', '--home-nodes', '--', '-x', ''), fc.string({ maxLength: 8 }));
    fc.assert(fc.property(fc.array(word, { maxLength: 8 }), (argv) => {
      expectClean('parseComputeArgs', argv, () => parseComputeArgs(argv));
    }), { numRuns: RUNS });
  });

  it('the fuzz check itself rejects a crash (TypeError) and accepts a CtdbError', () => {
    expect(() => expectClean('t', 'x', () => { throw new TypeError('boom'); })).toThrow(/crashed/);
    expect(() => expectClean('t', 'x', () => { throw new Error('plain'); })).toThrow(/crashed/);
    expect(expectClean('t', 'x', () => { throw new CtdbError('EINVAL', 'bad'); }).ok).toBe(false);
  });
});
