import { describe, expect, it } from 'vitest';
import { compactRanges, describeFailure, parseBatch, runBatch, splitWords } from './batch.js';
import { completeLine } from './interactive.js';
import { isStructured } from './structured.js';

describe('splitWords', () => {
  it.each([
    ['a b  c', ['a', 'b', 'c']],
    ['  store db "two words" \'it\'\'s\'', ['store', 'db', 'two words', 'its']],
    ['x "a \\"q\\" \\\\ b" y', ['x', 'a "q" \\ b', 'y']],
    ['a\\ b c', ['a b', 'c']],
    ['key ""', ['key', '']],
    ['', []],
  ])('%j', (line, words) => { expect(splitWords(line)).toEqual(words); });

  it('rejects unterminated quotes', () => {
    expect(() => splitWords('a "b')).toThrow('unterminated double quote');
    expect(() => splitWords("a 'b")).toThrow('unterminated single quote');
  });
});

describe('parseBatch and runBatch', () => {
  it('skips blank and comment lines but keeps physical line numbers', () => {
    expect(parseBatch('a 1\n\n  # c\nb 2\r\n')).toEqual([
      { lineNo: 1, text: 'a 1', words: ['a', '1'] }, { lineNo: 4, text: 'b 2', words: ['b', '2'] }]);
  });

  it('stops at the first failure and says what was applied', async () => {
    const ran: number[] = [];
    let err = '';
    const r = await runBatch(parseBatch('ok\nok\n\nfail 7\nok\n'), async (l) => {
      ran.push(l.lineNo);
      return l.words[0] === 'fail' ? Number(l.words[1]) : 0;
    }, (s) => { err += s; }, 'ctdb x');
    expect(r.code).toBe(7);
    expect(r.applied).toEqual([1, 2]);
    expect(ran).toEqual([1, 2, 4]);
    expect(err).toBe('ctdb x: batch stopped at line 4: fail 7\n'
      + 'ctdb x: line 4 failed with exit code 7; 2 line(s) were applied before it (lines 1-2); later lines were not run\n');
  });

  it('treats a line with bad quoting as a failure without running it', async () => {
    let err = '';
    const r = await runBatch(parseBatch('ok\nx "open\n'), async () => 0, (s) => { err += s; }, 'b');
    expect(r.code).toBe(1);
    expect(err).toContain('unterminated double quote');
    expect(err).toContain('batch stopped at line 2: x "open');
  });

  it('describes a failure on the first line', () => {
    expect(describeFailure('b', { lineNo: 1, text: 't', words: [] }, 2, [])).toContain('nothing was applied before it');
    expect(compactRanges([1, 2, 3, 5, 7, 8])).toBe('1-3,5,7-8');
  });
});

describe('routing and completion', () => {
  it('sends groups, --json and --prometheus to the structured runner but keeps classic ip', () => {
    expect(isStructured(['node', 'status'], { json: false })).toBe(true);
    expect(isStructured(['db'], { json: false })).toBe(true);
    expect(isStructured(['ip'], { json: false })).toBe(false);
    expect(isStructured(['ip', 'all'], { json: false })).toBe(false);
    expect(isStructured(['ip', 'connection', 'list'], { json: false })).toBe(false);
    expect(isStructured(['ip', 'move', '10.0.0.1', '2'], { json: false })).toBe(true);
    expect(isStructured(['status'], { json: false })).toBe(false);
    expect(isStructured(['listnodes'], { json: true })).toBe(true);
    expect(isStructured(['statistics'], { json: false, prometheus: true })).toBe(true);
  });

  it('completes command names, then group sub-commands', () => {
    const names = ['status', 'statistics', 'stop', 'nodestatus'];
    expect(completeLine('sta', names)).toEqual([['statistics', 'status'], 'sta']);
    expect(completeLine('node', names)[0]).toEqual(['node', 'nodestatus']);
    expect(completeLine('node di', names)).toEqual([['disable'], 'di']);
    expect(completeLine('-n 1 db s', names)[0]).toEqual(['status', 'store', 'seqnum']);
    expect(completeLine('status x', names)[0]).toEqual([]);
  });
});
