import { describe, expect, it } from 'vitest';
import { CtdbError } from '../common/errors.js';
import { decodeMutexStatus, MutexStatus, parseFcntlHelperArgs } from './status.js';

describe('decodeMutexStatus', () => {
  it.each([
    [MutexStatus.HELD, 'held'],
    [MutexStatus.CONTENDED, 'contended'],
    [MutexStatus.TIMEOUT, 'timeout'],
    [MutexStatus.ERROR, 'error'],
    ['4', 'error'],
    ['h', 'error'],
    ['\n', 'error'],
    ['', 'error'],
  ])('%j → %s', (ch, result) => {
    expect(decodeMutexStatus(ch)).toBe(result);
  });
});

describe('parseFcntlHelperArgs', () => {
  it.each([
    [['/l'], { file: '/l', recheckSec: 5, pingTimeoutSec: 0 }],
    [['/l', '0'], { file: '/l', recheckSec: 0, pingTimeoutSec: 0 }],
    [['/l', '10', '3'], { file: '/l', recheckSec: 10, pingTimeoutSec: 3 }],
    [['rel/lock', '1'], { file: 'rel/lock', recheckSec: 1, pingTimeoutSec: 0 }],
  ])('%j', (argv, expected) => {
    expect(parseFcntlHelperArgs(argv)).toEqual(expected);
  });

  it.each([[[]], [['']], [['/l', 'x']], [['/l', '-1']], [['/l', '1.5']], [['/l', '1', 'y']], [['/l', '99999999']], [['/l', '1', '2', '3']]])(
    'rejects %j with EINVAL', (argv) => {
      let err: unknown;
      try { parseFcntlHelperArgs(argv); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(CtdbError);
      expect((err as CtdbError).code).toBe('EINVAL');
    });
});
