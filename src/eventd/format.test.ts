import { describe, expect, it } from 'vitest';
import { formatCtime, formatEventStatus, formatRunFailure, formatScriptList } from './format.js';

const at = (sec: number, usec = 0) => ({ sec, usec });

describe('event output formatting', () => {
  it('formats ctime like C', () => {
    const t = Math.floor(new Date(2026, 10, 3, 7, 5, 9).getTime() / 1000);
    expect(formatCtime(at(t))).toBe('Tue Nov  3 07:05:09 2026\n');
  });

  it('formats each result kind as 4.17 does', () => {
    const t = Math.floor(new Date(2026, 10, 23, 17, 43, 46).getTime() / 1000);
    const out = formatEventStatus([
      { name: '01.ok', begin: at(t, 100), end: at(t, 1300), result: 0, output: 'not shown\n' },
      { name: '02.fail', begin: at(t), end: at(t, 2000), result: 3, output: 'line1\nline2\n' },
      { name: '03.off', begin: at(t), end: at(t), result: -8, output: '' },
      { name: '04.hang', begin: at(t), end: at(t + 1), result: -110, output: '' },
      { name: '05.sig', begin: at(t), end: at(t), result: -4, output: 'x' },
    ]);
    expect(out).toBe([
      '01.ok                OK         0.001 Mon Nov 23 17:43:46 2026',
      '02.fail              ERROR      0.002 Mon Nov 23 17:43:46 2026',
      '  OUTPUT: line1', 'line2', '',
      '03.off               DISABLED  ',
      '04.hang              TIMEDOUT   Mon Nov 23 17:43:46 2026',
      '  OUTPUT: ',
      '05.sig               CANNOT RUN (Interrupted system call)',
      '  OUTPUT: x', '',
    ].join('\n'));
  });

  it.each([
    [2, 'Event dir for legacy does not exist\n'], [110, 'Event monitor in legacy timed out\n'],
    [125, 'Event monitor in legacy got cancelled\n'], [8, 'Event monitor in legacy failed\n'],
    [22, 'Failed to run event monitor in legacy, result=22\n'], [0, ''],
  ])('run failure %d', (result, text) => {
    expect(formatRunFailure(result, 'legacy', 'monitor')).toBe(text);
  });

  it('lists packaged then local scripts with a blank line between', () => {
    expect(formatScriptList([{ name: '05.pkg', enabled: true }, { name: '06.x', enabled: false }], [{ name: '01.ok', enabled: true }]))
      .toBe('* 05.pkg\n  06.x\n\n* 01.ok\n');
    expect(formatScriptList([], [{ name: '01.ok', enabled: false }])).toBe('  01.ok\n');
  });
});
