import { describe, expect, it } from 'vitest';
import {
  ctime, formatClusterLock, formatElapsed, formatFlags, formatNodeLine, formatNodeTable, formatPing,
  formatStatus, formatStatusJson, formatVar,
} from './format.js';

describe('node flag text', () => {
  it.each([
    [0, 'OK'], [0x1, 'DISCONNECTED|INACTIVE'], [0x8, 'BANNED|INACTIVE'], [0x20, 'STOPPED|INACTIVE'],
    [0x2, 'UNHEALTHY'], [0x4, 'DISABLED'], [0x6, 'DISABLED|UNHEALTHY'], [0x3, 'DISCONNECTED|UNHEALTHY|INACTIVE'],
    [0x41, 'DISCONNECTED|UNKNOWN|INACTIVE'],
  ])('flags 0x%s -> %s', (flags, text) => {
    expect(formatFlags(flags)).toBe(text);
  });
  it('shows PARTIALLYONLINE only for a flag-less node', () => {
    expect(formatFlags(0, true)).toBe('PARTIALLYONLINE');
    expect(formatFlags(2, true)).toBe('UNHEALTHY');
  });
});

describe('node listings', () => {
  const nodes = [{ pnn: 0, ip: '10.0.0.1', flags: 0 }, { pnn: 1, ip: '10.0.0.22', flags: 8 }, { pnn: 2, ip: '0.0.0.0', flags: 0x10 }];
  it('pads the address to 16 columns and marks this node', () => {
    expect(formatNodeLine(nodes[0]!, 0)).toBe('pnn:0 10.0.0.1         OK (THIS NODE)\n');
    expect(formatNodeLine(nodes[1]!, 0)).toBe('pnn:1 10.0.0.22        BANNED|INACTIVE\n');
  });
  it('-X table omits deleted nodes and starts and ends every line with the separator', () => {
    expect(formatNodeTable(nodes, 1, '|')).toBe(
      '|Node|IP|Disconnected|Unknown|Banned|Disabled|Unhealthy|Stopped|Inactive|PartiallyOnline|ThisNode|\n'
      + '|0|10.0.0.1|0|0|0|0|0|0|0|0|N|\n|1|10.0.0.22|0|0|1|0|0|0|1|0|Y|\n');
  });
  it('status counts deleted nodes and shows INVALID generation and UNKNOWN leader', () => {
    const s = formatStatus({ nodes, myPnn: 0, generation: 1, vnnmap: [0], recmode: 1, leader: 0xffffffff });
    expect(s).toBe('Number of nodes:3 (including 1 deleted nodes)\npnn:0 10.0.0.1         OK (THIS NODE)\n'
      + 'pnn:1 10.0.0.22        BANNED|INACTIVE\nGeneration:INVALID\nSize:1\nhash:0 lmaster:0\n'
      + 'Recovery mode:RECOVERY (1)\nLeader:UNKNOWN\n');
  });
  it('JSON status carries flags, leader and the cluster lock', () => {
    const j = JSON.parse(formatStatusJson({ nodes, myPnn: 0, generation: 7, vnnmap: [0, 1], recmode: 0, leader: 0, clusterLock: '/c/lock' }));
    expect(j.nodes).toHaveLength(2);
    expect(j.nodes[1]).toEqual({ pnn: 1, address: '10.0.0.22', flags: 8, status: 'BANNED|INACTIVE', this_node: false });
    expect(j.cluster_lock).toEqual({ setting: '/c/lock', holder: 0 });
    expect(j.generation).toBe(7);
  });
  it('cluster lock lines for status -v', () => {
    const base = { nodes, myPnn: 0, generation: 7, vnnmap: [0], recmode: 0 };
    expect(formatClusterLock({ ...base, leader: 1, clusterLock: '/c/lock' })).toBe('Cluster lock:/c/lock\nCluster lock holder:1\n');
    expect(formatClusterLock({ ...base, leader: 0xffffffff, clusterLock: '/c/lock' })).toBe('Cluster lock:/c/lock\nCluster lock holder:UNKNOWN\n');
    expect(formatClusterLock({ ...base, leader: 1, clusterLock: '' })).toBe('Cluster lock:none\n');
  });
});

describe('small formats', () => {
  it('getvar pads the name to 26 columns', () => {
    expect(formatVar('RecoverTimeout', 30)).toBe('RecoverTimeout             = 30\n');
  });
  it('ping prints six decimals and two spaces before the client count', () => {
    expect(formatPing(2, 0.0004651, 3)).toBe('response from 2 time=0.000465 sec  (3 clients)\n');
  });
  it('elapsed time as (DDD HH:MM:SS)', () => {
    expect(formatElapsed(0)).toBe('(000 00:00:00)');
    expect(formatElapsed(90061)).toBe('(001 01:01:01)');
  });
  it('ctime pads the day of month with a space like C', () => {
    const t = new Date(2026, 10, 3, 7, 5, 9).getTime() / 1000;
    expect(ctime(t)).toBe('Tue Nov  3 07:05:09 2026');
  });
});
