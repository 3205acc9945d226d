import { describe, expect, it } from 'vitest';
import { classify, parseBatch } from './connection-batch.js';

describe('parseBatch', () => {
  it('reads add/del lines, skipping blanks and comments, with line numbers', () => {
    const b = parseBatch('add 10.0.2.132:2049 10.0.1.33:987\n\n# note\ndel [fd00::1]:445 [fd00::2]:5000\n');
    expect(b.map((l) => [l.op, l.a.address, l.b.port, l.line])).toEqual([['add', '10.0.2.132', 987, 1], ['del', 'fd00::1', 5000, 4]]);
  });
  it('uses the fixed operation for argument-only lines', () => {
    expect(parseBatch('1.2.3.4:1 5.6.7.8:2', 'del')[0]!.op).toBe('del');
  });
  it.each([
    ['add 1.2.3.4:1\n', 'line 1: expected two endpoints'],
    ['add 1.2.3.4:1 5.6.7.8:2\nput 1.2.3.4:1 5.6.7.8:2\n', "line 2: unknown command 'put'"],
    ['add 1.2.3.4:1 5.6.7.8:99999\n', 'line 1: invalid port'],
    ['add 1.2.3.4:1 [fd00::1]:2\n', 'line 1: endpoints 1.2.3.4:1 and [fd00::1]:2 are of different address families'],
  ])('rejects %j', (text, msg) => {
    expect(() => parseBatch(text)).toThrow(msg);
  });
});

describe('classify', () => {
  const pub = new Set(['10.0.2.132']);
  const [l] = parseBatch('10.0.2.132:2049 10.0.1.33:987', 'add');
  it('takes the public address as the server in either order', () => {
    expect(classify(l!, pub)).toEqual({ server: l!.a, client: l!.b });
    expect(classify({ ...l!, a: l!.b, b: l!.a }, pub)).toEqual({ server: l!.a, client: l!.b });
  });
  it('refuses pairs with no or two public addresses', () => {
    expect(() => classify(l!, new Set())).toThrow('neither');
    expect(() => classify(l!, new Set(['10.0.2.132', '10.0.1.33']))).toThrow('both');
  });
});
