import { describe, expect, it } from 'vitest';
import { CtdbError } from './errors.js';
import {
  compareIps, formatIpPort, ipFamily, isIpv6, parseIp, parseIpPort, sockAddrFromText, sockAddrToText,
} from './address.js';

describe('parseIp', () => {
  it.each([
    ['10.0.0.1', '10.0.0.1'], [' 192.168.1.254 ', '192.168.1.254'], ['FE80:0:0:0:0:0:0:1', 'fe80::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], ['::', '::'], ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['fe80::1%eth0', 'fe80::1'],
  ])('%s → %s', (input, out) => { expect(parseIp(input)).toBe(out); });

  it.each(['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '0x7f.0.0.1', 'host', '1::2::3', '10.0.0.1/24'])(
    'rejects %j with EINVAL naming the input', (bad) => {
      try { parseIp(bad); expect.unreachable(); } catch (e) {
        expect(e).toBeInstanceOf(CtdbError);
        expect((e as CtdbError).code).toBe('EINVAL');
        expect((e as CtdbError).message).toContain(`'${bad}'`);
      }
    });
});

describe('ports', () => {
  it('parses v4 and bracketed v6 with ports', () => {
    expect(parseIpPort('1.2.3.4:80')).toEqual({ address: '1.2.3.4', port: 80, family: 'inet' });
    expect(parseIpPort('[FE80::1]:2049')).toEqual({ address: 'fe80::1', port: 2049, family: 'inet6' });
  });
  it.each(['1.2.3.4', '1.2.3.4:', '1.2.3.4:65536', '1.2.3.4:x', 'fe80::1:80', '[fe80::1]'])('rejects %s', (bad) => {
    expect(() => parseIpPort(bad)).toThrow(CtdbError);
  });
  it('formats with brackets for IPv6', () => {
    expect(formatIpPort({ address: '10.0.2.132', port: 2049 })).toBe('10.0.2.132:2049');
    expect(formatIpPort({ address: 'fd00::1', port: 445 })).toBe('[fd00::1]:445');
  });
});

describe('socket address text', () => {
  it.each([
    ['10.0.0.1', { family: 'inet', address: '10.0.0.1', port: 0 }],
    ['10.0.0.1:99', { family: 'inet', address: '10.0.0.1', port: 99 }],
    ['fd00::5', { family: 'inet6', address: 'fd00::5', port: 0 }],
    ['2001:db8:1:2:3:4:5:6', { family: 'inet6', address: '2001:db8:1:2:3:4:5:6', port: 0 }],
    ['[fd00::5]:445', { family: 'inet6', address: 'fd00::5', port: 445 }],
  ])('%s', (text, sa) => {
    expect(sockAddrFromText(text)).toEqual(sa);
    expect(sockAddrFromText(sockAddrToText(sa as { address: string; port: number }))).toEqual(sa);
  });
});

describe('compareIps / isIpv6 / ipFamily', () => {
  it('sorts numerically with IPv4 first', () => {
    const list = ['fd00::2', '10.0.0.10', '::1', '10.0.0.9', '9.255.255.255', 'fd00::10'];
    expect([...list].sort(compareIps)).toEqual(['9.255.255.255', '10.0.0.9', '10.0.0.10', '::1', 'fd00::2', 'fd00::10']);
    expect(compareIps('10.0.0.1', '10.0.0.1')).toBe(0);
    expect(compareIps('fd00::0:1', 'fd00::1')).toBe(0);
  });
  it('classifies', () => {
    expect(isIpv6('fe80::1')).toBe(true);
    expect(isIpv6('1.2.3.4')).toBe(false);
    expect(isIpv6('junk')).toBe(false);
    expect(ipFamily('1.2.3.4')).toBe('inet');
    expect(ipFamily('::1')).toBe('inet6');
  });
});
