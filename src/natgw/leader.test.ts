import { describe, expect, it } from 'vitest';
import { CtdbError } from '../common/errors.js';
import { chooseNatgwLeader, formatNatgwList, isFollowerOnly } from './leader.js';
import { filterHumanNodeStatus, parseNodeStatusX, type NodeStatus } from './node-status.js';
import { parseGroupNodesFile } from './nodes-file.js';

type Flag = 'D' | 'U' | 'B' | 'DIS' | 'UNH' | 'ST';

/** A node row from short flag names; Inactive follows from D/B/ST as ctdb derives it. */
const node = (pnn: number, flags: Flag[] = []): NodeStatus => {
  const has = (f: Flag): boolean => flags.includes(f);
  return {
    pnn, ip: `10.0.0.${pnn + 1}`, disconnected: has('D'), unknown: has('U'), banned: has('B'),
    disabled: has('DIS'), unhealthy: has('UNH'), stopped: has('ST'),
    inactive: has('D') || has('B') || has('ST'), partiallyOnline: false, thisNode: pnn === 0,
  };
};

const file3 = parseGroupNodesFile('10.0.0.1\n10.0.0.2\n10.0.0.3\n', 'natgw_nodes');

describe('parseGroupNodesFile', () => {
  it('splits lines like the shell read IP OPTIONS', () => {
    const g = parseGroupNodesFile('  10.0.0.1\tfollower-only  \n# a comment\n\n10.0.0.2\n\n\n', 'f');
    expect(g.lines).toEqual([
      { lineNo: 1, ip: '10.0.0.1', options: 'follower-only', comment: false },
      { lineNo: 2, ip: '#', options: 'a comment', comment: true },
      { lineNo: 3, ip: '', options: '', comment: false },
      { lineNo: 4, ip: '10.0.0.2', options: '', comment: false },
    ]);
  });
  it.each([
    ['10.0.0.1 leader-only\n', '"leader-only"', 'line 1'],
    ['10.0.0.1\n10.0.0.2 follower-only extra\n', '"follower-only extra"', 'line 2'],
    ['#ok x\n10.0.0.3 FOLLOWER-ONLY\n', '"FOLLOWER-ONLY"', 'line 2'],
  ])('rejects %j with Invalid options naming file and line', (text, opt, line) => {
    let caught: unknown;
    try { parseGroupNodesFile(text, '/etc/ctdb/natgw_nodes'); } catch (err) { caught = err; }
    expect(caught).toBeInstanceOf(CtdbError);
    const msg = (caught as CtdbError).message;
    expect(msg).toContain('Invalid options');
    expect(msg).toContain(opt);
    expect(msg).toContain('/etc/ctdb/natgw_nodes');
    expect(msg).toContain(line);
    expect((caught as CtdbError).exitCode).toBe(1);
  });
  it('an empty file is one blank line', () => {
    expect(parseGroupNodesFile('', 'f').lines).toEqual([{ lineNo: 1, ip: '', options: '', comment: false }]);
  });
});

describe('chooseNatgwLeader', () => {
  it.each<[string, Flag[][], number | undefined]>([
    ['all healthy: lowest PNN', [[], [], []], 0],
    ['pass 1 skips UNKNOWN', [['U'], [], []], 1],
    ['pass 1 skips DISABLED', [['DIS'], [], []], 1],
    ['pass 1 skips UNHEALTHY', [['UNH'], [], []], 1],
    ['pass 1 skips BANNED (inactive)', [['B'], [], []], 1],
    ['pass 1 skips STOPPED (inactive)', [['ST'], [], []], 1],
    ['pass 1 skips DISCONNECTED', [['D'], [], []], 1],
    ['pass 2: UNHEALTHY will do', [['D'], ['UNH'], ['D']], 1],
    ['pass 2: BANNED will do', [['D'], ['D'], ['B']], 2],
    ['pass 2: UNKNOWN will do', [['U'], ['D'], ['D']], 0],
    ['pass 2 prefers unhealthy over stopped', [['ST'], ['UNH'], ['D']], 1],
    ['pass 3: STOPPED will do', [['D'], ['ST'], ['D']], 1],
    ['pass 3: STOPPED+UNHEALTHY will do', [['D'], ['ST', 'UNH'], ['D']], 1],
    ['disabled never leads', [['DIS'], ['DIS'], ['DIS']], undefined],
    ['disconnected never leads', [['D'], ['D'], ['D', 'ST']], undefined],
    ['disabled+stopped never leads', [['DIS', 'ST'], ['D'], ['D']], undefined],
  ])('%s', (_name, flags, expected) => {
    const nodes = flags.map((f, i) => node(i, f));
    expect(chooseNatgwLeader(nodes, file3)?.pnn).toBe(expected);
  });

  it('follower-only nodes never lead, even when the others are down', () => {
    const g = parseGroupNodesFile('10.0.0.1 follower-only\n10.0.0.2\n10.0.0.3 follower-only\n', 'f');
    expect(chooseNatgwLeader([node(0), node(1, ['ST']), node(2)], g)).toEqual({ pnn: 1, ip: '10.0.0.2' });
    expect(chooseNatgwLeader([node(0), node(1, ['D']), node(2)], g)).toBeUndefined();
  });
  it('nodes not in the file never lead; comment lines are not candidates', () => {
    const g = parseGroupNodesFile('#10.0.0.1\n10.0.0.3\n', 'f');
    expect(chooseNatgwLeader([node(0), node(1), node(2)], g)).toEqual({ pnn: 2, ip: '10.0.0.3' });
  });
  it('follows nodestatus order, not file order', () => {
    const g = parseGroupNodesFile('10.0.0.3\n10.0.0.2\n', 'f');
    expect(chooseNatgwLeader([node(0), node(1), node(2)], g)?.pnn).toBe(1);
  });
});

describe('formatNatgwList', () => {
  const g = parseGroupNodesFile('10.0.0.1 follower-only\n#  note  here\n\n10.0.0.2\n10.0.0.3  follower-only\n', 'f');
  it('marks the leader and keeps every line', () => {
    expect(formatNatgwList(g, { pnn: 1, ip: '10.0.0.2' }))
      .toEqual(['10.0.0.1\tfollower-only', '#\tnote  here', '', '10.0.0.2\tLEADER', '10.0.0.3\tfollower-only']);
  });
  it('LEADER goes before other options', () => {
    expect(formatNatgwList(g, { pnn: 2, ip: '10.0.0.3' })[4]).toBe('10.0.0.3\tLEADER,follower-only');
  });
  it('no leader: no annotation', () => {
    expect(formatNatgwList(g, undefined)[3]).toBe('10.0.0.2');
  });
  it('isFollowerOnly reads the first non-comment line for the address', () => {
    expect(isFollowerOnly(g, '10.0.0.1')).toBe(true);
    expect(isFollowerOnly(g, '10.0.0.2')).toBe(false);
    expect(isFollowerOnly(g, '10.9.9.9')).toBe(false);
  });
});

describe('node status parsing', () => {
  const x = '|Node|IP|Disconnected|Unknown|Banned|Disabled|Unhealthy|Stopped|Inactive|PartiallyOnline|ThisNode|\n'
    + '|0|10.0.0.1|0|0|0|0|0|0|0|0|Y|\n|1|10.0.0.2|1|0|0|0|0|0|1|0|N|\n|2|fd00::3|0|1|1|1|1|1|1|1|N|\n';
  it('parses -X rows by position', () => {
    const rows = parseNodeStatusX(x);
    expect(rows.map((r) => [r.pnn, r.ip, r.disconnected, r.inactive, r.thisNode]))
      .toEqual([[0, '10.0.0.1', false, false, true], [1, '10.0.0.2', true, true, false], [2, 'fd00::3', false, true, false]]);
    expect(rows[2]).toMatchObject({ unknown: true, banned: true, disabled: true, unhealthy: true, stopped: true, partiallyOnline: true });
  });
  it('header only → no rows; junk rows → EPROTO', () => {
    expect(parseNodeStatusX(x.split('\n')[0] + '\n')).toEqual([]);
    expect(() => parseNodeStatusX('header\nnot a row\n')).toThrow(/unexpected line/);
  });
  it('status keeps human lines of group members only', () => {
    const human = 'Number of nodes:3\npnn:0 10.0.0.1         OK (THIS NODE)\npnn:1 10.0.0.2         DISCONNECTED|INACTIVE\npnn:2 10.0.0.3         OK\n';
    expect(filterHumanNodeStatus(human, new Set(['10.0.0.3', '10.0.0.1'])))
      .toEqual(['pnn:0 10.0.0.1         OK (THIS NODE)', 'pnn:2 10.0.0.3         OK']);
  });
});
