import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPublicAddresses, parsePublicAddresses } from './public-addresses.js';

const dir = mkdtempSync(join(tmpdir(), 'ctdb-pubaddr-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parsePublicAddresses', () => {
  it('reads entries, comments and blank lines', () => {
    const text = '# public\n\n  10.0.2.131/24 eth2\n10.0.2.132/24\teth2,eth3  # two\n2001:DB8::0001/64 eth4\r\n\n';
    expect(parsePublicAddresses(text, 'pa')).toEqual([
      { address: '10.0.2.131', mask: 24, ifaces: ['eth2'] },
      { address: '10.0.2.132', mask: 24, ifaces: ['eth2', 'eth3'] },
      { address: '2001:db8::1', mask: 64, ifaces: ['eth4'] },
    ]);
  });

  it.each([
    ['10.0.0.1/32 e', { address: '10.0.0.1', mask: 32, ifaces: ['e'] }],
    ['10.0.0.1/0 e', { address: '10.0.0.1', mask: 0, ifaces: ['e'] }],
    ['::1/128 lo', { address: '::1', mask: 128, ifaces: ['lo'] }],
  ])('accepts %j', (line, want) => {
    expect(parsePublicAddresses(line, 'pa')).toEqual([want]);
  });

  it.each([
    ['10.0.0.1/24\n', 'pa:1: missing interface'],
    ['\n10.0.0.1 eth0\n', 'pa:2: missing /MASK'],
    ['10.0.0.1/33 eth0\n', "pa:1: invalid prefix length '33' (0-32)"],
    ['::1/129 eth0\n', "pa:1: invalid prefix length '129' (0-128)"],
    ['10.0.0.1/ eth0\n', "pa:1: invalid prefix length ''"],
    ['10.0.0.x/24 eth0\n', "pa:1: invalid address '10.0.0.x'"],
    ['10.0.0.1/24 eth0 extra\n', "pa:1: unexpected text 'extra'"],
    ['10.0.0.1/24 eth0,\n', "pa:1: invalid interface name ''"],
    ['10.0.0.1/24 averyveryverylongname\n', 'pa:1: invalid interface name'],
    ['10.0.0.1/24 eth0,eth0\n', 'pa:1: interface listed twice'],
    ['10.0.0.1/24 eth0\n10.0.0.1/16 eth1\n', 'pa:2: duplicate public address 10.0.0.1 (also on line 1)'],
  ])('rejects %j', (text, msg) => {
    expect(() => parsePublicAddresses(text, 'pa')).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringContaining(msg) }));
  });
});

describe('loadPublicAddresses', () => {
  it('gives [] for a missing file and parses an existing one', () => {
    expect(loadPublicAddresses(join(dir, 'none'))).toEqual([]);
    const f = join(dir, 'public_addresses');
    writeFileSync(f, '10.0.0.1/24 eth0\nbad\n');
    expect(() => loadPublicAddresses(f)).toThrow(`${f}:2: missing interface`);
  });
});
