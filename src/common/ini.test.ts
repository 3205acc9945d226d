import { describe, expect, it } from 'vitest';
import { parseIni } from './ini.js';

describe('parseIni', () => {
  it('reads sections, folded keys, comments and line numbers', () => {
    const f = parseIni('# c\n; c\n[ My  Section ]\n  Some   Key = a ; b # c \r\n\nx=\n', 'f');
    expect(f.sections).toEqual([{ name: 'my section', line: 3 }]);
    expect(f.entries).toEqual([
      { section: 'my section', key: 'some key', value: 'a ; b # c', line: 4 },
      { section: 'my section', key: 'x', value: '', line: 6 },
    ]);
  });

  it.each([
    ['[a\n', 'f:1: malformed section header'],
    ['\n[]\n', 'f:2: empty section name'],
    ['[a]\nnovalue\n', "f:2: expected 'key = value'"],
    ['[a]\n\n = v\n', 'f:3: missing key'],
  ])('rejects %j', (text, msg) => {
    expect(() => parseIni(text, 'f')).toThrow(msg);
  });

  it('rejects sections when not allowed', () => {
    expect(() => parseIni('a=1\n[s]\n', 't', { allowSections: false })).toThrow('t:2: sections are not allowed');
  });
});
