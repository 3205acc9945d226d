import { describe, expect, it } from 'vitest';
import { formatConnection, parseConnection, parseConnectionLine, parseConnectionLines } from './connections.js';
import { parseKillArgs } from './args.js';

describe('parseConnectionLine', () => {
  it.each([
    ['10.0.0.1:1234 10.0.0.2:445', '10.0.0.1:1234 10.0.0.2:445'],
    ['  10.0.0.1:1234\t10.0.0.2:445  ', '10.0.0.1:1234 10.0.0.2:445'],
    ['[FD99::0:1]:5000 [fd99::2]:80', '[fd99::1]:5000 [fd99::2]:80'],
  ])('parses %j', (line, text) => {
    expect(formatConnection(parseConnectionLine(line)!)).toBe(text);
  });

  it('skips blank lines', () => {
    expect(parseConnectionLine('   ')).toBeUndefined();
  });

  it.each([
    ['junk', /2 field|1 field/],
    ['10.0.0.1:1 10.0.0.2:2 extra', /3 field/],
    ['10.0.0.1 10.0.0.2:2', /missing port/],
    ['10.0.0.1:70000 10.0.0.2:2', /invalid port/],
    ['10.0.0.1:1 [fd99::2]:2', /different address families/],
    ['fd99::1:1 fd99::2:2', /brackets/],
    ['999.0.0.1:1 10.0.0.2:2', /invalid IP/],
  ])('rejects %j', (line, msg) => {
    expect(() => parseConnectionLine(line)).toThrow(msg);
  });
});

describe('parseConnectionLines', () => {
  it('keeps good lines and names bad ones by number', () => {
    const r = parseConnectionLines(['10.0.0.1:1 10.0.0.2:2', 'junk', '', '10.0.0.1:3 10.0.0.2:2', 'a b']);
    expect(r.connections.map(formatConnection)).toEqual(['10.0.0.1:1 10.0.0.2:2', '10.0.0.1:3 10.0.0.2:2']);
    expect(r.errors.map((e) => e.line)).toEqual([2, 5]);
  });
});

describe('parseKillArgs', () => {
  it.each([
    [['--help'], { kind: 'help' }],
    [['eth0', '-h'], { kind: 'help' }],
    [['eth0'], { kind: 'run', iface: 'eth0' }],
    [['eth0', '1.2.3.4:1', '5.6.7.8:2'], { kind: 'run', iface: 'eth0', client: '1.2.3.4:1', server: '5.6.7.8:2' }],
  ])('parses %j', (argv, want) => {
    expect(parseKillArgs(argv)).toEqual(want);
  });
  it.each([[[]], [['eth0', '1.2.3.4:1']], [['eth0', 'a', 'b', 'c']], [['--bogus', 'eth0']]])('rejects %j with exit 1', (argv) => {
    expect(() => parseKillArgs(argv)).toThrow(expect.objectContaining({ code: 'EINVAL', exitCode: 1 }));
  });
});

describe('IPv4 fast path', () => {
  it('agrees with the shared address parser on every input shape', async () => {
    const fc = (await import('fast-check')).default;
    const { parseIpPort } = await import('../common/address.js');
    const octet = fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.constantFrom('00', '01', '007', '255', '256'));
    const port = fc.oneof(fc.integer({ min: 0, max: 70000 }).map(String), fc.constantFrom('00', '080', ''));
    const text = fc.tuple(octet, octet, octet, octet, port).map(([a, b, c, d, p]) => `${a}.${b}.${c}.${d}:${p}`);
    const attempt = (f: () => unknown): unknown => { try { return f(); } catch (e) { return { error: (e as { code?: string }).code }; } };
    fc.assert(fc.property(text, (t) => {
      const fast = attempt(() => parseConnection(t, '10.0.0.1:1').client);
      const slow = attempt(() => parseIpPort(t));
      expect(fast).toEqual(slow);
    }), { numRuns: 2000 });
  });
});
