import { describe, expect, it } from 'vitest';
import { parseOnnodeArgs } from './options.js';
import { parseOnnodeNodes, parseStatusTable, resolveNodeSpec, specNeedsStatus } from './nodespec.js';

const nodes = parseOnnodeNodes('10.0.0.1\n\n#10.0.0.3\n10.0.0.4 # comment\n 10.0.0.5 \n');
const health = parseStatusTable([
  '|Node|IP|Disconnected|Unknown|Banned|Disabled|Unhealthy|Stopped|Inactive|PartiallyOnline|ThisNode|',
  '|0|10.0.0.1|0|0|0|0|0|0|0|0|Y|',
  '|3|10.0.0.4|1|0|0|0|0|0|1|0|N|',
  '|4|10.0.0.5|0|0|0|0|1|0|0|0|N|',
].join('\n'));

describe('onnode nodes file', () => {
  it('keeps PNNs for blank and commented lines and strips comments and blanks', () => {
    expect(nodes.map((n) => n.address)).toEqual(['10.0.0.1', undefined, undefined, '10.0.0.4', '10.0.0.5']);
  });
});

describe('ctdb -X status parsing', () => {
  it('derives connected and ok from the flag columns', () => {
    expect(health).toEqual([
      { pnn: 0, connected: true, ok: true },
      { pnn: 3, connected: false, ok: false },
      { pnn: 4, connected: true, ok: false },
    ]);
  });
});

describe('node specs', () => {
  it.each([
    ['all', ['10.0.0.1', '10.0.0.4', '10.0.0.5']],
    ['0', ['10.0.0.1']],
    ['4,0,0', ['10.0.0.5', '10.0.0.1', '10.0.0.1']],
    ['3-4', ['10.0.0.4', '10.0.0.5']],
    ['4-3', []],
    ['ok', ['10.0.0.1']],
    ['healthy', ['10.0.0.1']],
    ['con', ['10.0.0.1', '10.0.0.5']],
    ['connected,3', ['10.0.0.1', '10.0.0.5', '10.0.0.4']],
    ['any', ['10.0.0.1']],
  ])('%s', (spec, want) => {
    expect(resolveNodeSpec(spec, nodes, false, health)).toEqual(want);
  });

  it('rejects dead, missing and malformed nodes', () => {
    expect(() => resolveNodeSpec('1', nodes, false)).toThrow('"node 1" does not exist');
    expect(() => resolveNodeSpec('0-2', nodes, false)).toThrow('"node 1" does not exist');
    expect(() => resolveNodeSpec('9', nodes, false)).toThrow('"node 9" does not exist');
    expect(() => resolveNodeSpec('host1', nodes, false)).toThrow('Invalid <nodespec>');
    expect(() => resolveNodeSpec('ok', nodes, false, undefined)).toThrow('ctdb -X status');
  });

  it('accepts host names with -n', () => {
    expect(resolveNodeSpec('host1,0', nodes, true)).toEqual(['host1', '10.0.0.1']);
  });

  it('knows which specs need node states', () => {
    expect(specNeedsStatus('0,1-2,all')).toBe(false);
    expect(specNeedsStatus('0,ok')).toBe(true);
  });
});

describe('onnode options', () => {
  it('parses combined flags and option arguments up to NODES', () => {
    const o = parseOnnodeArgs(['-pq', '-ffile', '-o', 'pre', 'all', 'ls', '-l']);
    expect(o).toMatchObject({ parallel: true, quiet: true, nodesFile: 'file', outPrefix: 'pre', nodes: 'all', command: ['ls', '-l'] });
  });
  it('requires NODES and COMMAND and known options', () => {
    expect(() => parseOnnodeArgs(['all'])).toThrow('missing <COMMAND>');
    expect(() => parseOnnodeArgs([])).toThrow('missing <NODES>');
    expect(() => parseOnnodeArgs(['-z', 'all', 'x'])).toThrow('illegal option -- z');
    expect(() => parseOnnodeArgs(['-f'])).toThrow('requires an argument');
  });
});
