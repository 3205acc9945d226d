import { describe, expect, it } from 'vitest';
import { CtdbError } from '../common/errors.js';
import {
  computeAllocation, formatAllocation, parseAlgorithm, parseComputeArgs, parseComputeInput, parseHomeNodes,
  parseNodeFlags,
} from './compute.js';

const opts = (nodeFlags: number[], more: Partial<Parameters<typeof computeAllocation>[1]> = {}) => ({
  nodeFlags, algorithm: 2, noIpTakeover: false, noIpFailback: false, forceRebalanceNodes: [], ...more,
});

function errorOf(f: () => unknown): CtdbError {
  try { f(); } catch (e) { if (e instanceof CtdbError) return e; throw e; }
  throw new Error('expected an error');
}

describe('parseNodeFlags', () => {
  it('reads decimal and hex words, one per node', () => {
    expect(parseNodeFlags('0,0x2,0')).toEqual([0, 2, 0]);
    expect(parseNodeFlags(' 0X20 , 1 ')).toEqual([0x20, 1]);
  });
  it.each([
    ['', /one flag word per node/],
    ['0,,0', /node 1: '' is not a flag word/],
    ['0,zz', /node 1: 'zz'/],
    ['0x40', /unknown flag bits/],
    ['0x100000000', /unknown flag bits/],
    ['-1', /not a flag word/],
  ])('rejects %j', (text, msg) => {
    const e = errorOf(() => parseNodeFlags(text));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toMatch(msg);
  });
});

describe('parseAlgorithm', () => {
  it('maps names to IPAllocAlgorithm values', () => {
    expect(['deterministic', 'nondeterministic', 'LCP2'].map(parseAlgorithm)).toEqual([0, 1, 2]);
    expect(errorOf(() => parseAlgorithm('random')).message).toMatch(/unknown algorithm 'random'/);
  });
});

describe('parseComputeArgs', () => {
  it('reads every option', () => {
    expect(parseComputeArgs(['--compute', '--node-flags', '0,1,0', '--algorithm', 'deterministic',
      '--no-ip-takeover', '--no-ip-failback', '--force-rebalance', '2,0', '--home-nodes', '/x'])).toEqual({
      nodeFlags: [0, 1, 0], algorithm: 0, noIpTakeover: true, noIpFailback: true,
      forceRebalanceNodes: [2, 0], homeNodesFile: '/x',
    });
  });
  it.each([
    [['--compute'], /needs --node-flags/],
    [['--compute', '--node-flags', '0', '--frobnicate'], /frobnicate/],
    [['--compute', '--node-flags', '0', 'extra'], /extra/],
    [['--compute', '--node-flags', '0,0', '--force-rebalance', '2'], /PNN 2 is beyond the node count 2/],
  ])('rejects %j', (argv, msg) => {
    const e = errorOf(() => parseComputeArgs(argv));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toMatch(msg);
  });
});

describe('parseComputeInput', () => {
  it('reads owner and optional allowed list, skipping blanks and comments', () => {
    expect(parseComputeInput('# c\n\n 10.0.0.1  -1 \nfd00:0::1 2 0,2\n', 3)).toEqual([
      { ip: '10.0.0.1', owner: -1 },
      { ip: 'fd00::1', owner: 2, availableOn: [0, 2] },
    ]);
  });
  it.each([
    ['10.0.0.1\n', 1, /line 1: expected/],
    ['10.0.0.1 0\n10.0.0.2 0 1 2\n', 2, /line 2: expected/],
    ['10.0.0.1 0\n\nnot-an-ip 0\n', 3, /line 3: 'not-an-ip' is not an IP address/],
    ['10.0.0.1 x\n', 1, /line 1: 'x' is not a PNN/],
    ['10.0.0.1 -2\n', 1, /line 1: '-2' is not a PNN/],
    ['10.0.0.1 3\n', 3, /line 1: current PNN 3 is beyond the node count 3/],
    ['10.0.0.1 0 0,3\n', 3, /line 1: .*PNN 3 is beyond the node count 3/],
    ['10.0.0.1 0 0,,1\n', 3, /line 1: .*'' is not a PNN/],
    ['fd00::1 0\nfd00:0:0::1 1\n', 2, /line 2: fd00::1 was already given on line 1/],
  ])('rejects %j', (text, num, msg) => {
    const e = errorOf(() => parseComputeInput(text, num));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toMatch(msg);
  });
});

describe('parseHomeNodes', () => {
  it('reads IP PNN lines and skips short ones', () => {
    expect([...parseHomeNodes('10.0.0.1 2\nshort\n\nfd00::1 0\n')]).toEqual([['10.0.0.1', 2], ['fd00::1', 0]]);
  });
  it('ignores the whole file when one line is bad', () => {
    expect(parseHomeNodes('10.0.0.1 2\n10.0.0.300 1\n').size).toBe(0);
    expect(parseHomeNodes('10.0.0.1 two\n').size).toBe(0);
  });
});

describe('computeAllocation', () => {
  it('prints IP PNN lines, highest address first, -1 when nobody may host', () => {
    const r = computeAllocation('10.0.0.1 0\n10.0.0.2 1\nfd00::1 -1 1\n10.0.0.3 -1 2\n',
      opts([0, 0, 0x2]));
    expect(r.output).toBe('fd00::1 1\n10.0.0.3 -1\n10.0.0.2 1\n10.0.0.1 0\n');
  });
  it('passes algorithm and tunables through', () => {
    const input = '10.0.0.1 0\n10.0.0.2 0\n10.0.0.3 0\n';
    expect(computeAllocation(input, opts([0, 0], { algorithm: 0 })).output)
      .toBe('10.0.0.3 0\n10.0.0.2 1\n10.0.0.1 0\n');
    expect(computeAllocation(input, opts([0, 0], { noIpFailback: true })).output)
      .toBe('10.0.0.3 0\n10.0.0.2 0\n10.0.0.1 0\n');
    expect(computeAllocation('10.0.0.1 -1\n', opts([0], { noIpTakeover: true })).output).toBe('10.0.0.1 -1\n');
    expect(computeAllocation('10.0.0.2 -1\n10.0.0.1 -1\n', opts([0, 0, 0], { algorithm: 0, homeNodesText: '10.0.0.2 2\n' })).output)
      .toBe('10.0.0.2 2\n10.0.0.1 1\n');
  });
  it('formats an empty allocation as nothing', () => {
    expect(formatAllocation(new Map())).toBe('');
    expect(computeAllocation('', opts([0])).output).toBe('');
  });
});
