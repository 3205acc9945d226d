import { describe, expect, it } from 'vitest';
import { CtdbError } from '../common/errors.js';
import { parseEtcdLockArgs, statusForError } from './etcd-lock.js';

describe('parseEtcdLockArgs', () => {
  it('has sensible defaults', () => {
    expect(parseEtcdLockArgs([])).toEqual({
      endpoints: ['http://127.0.0.1:2379'], key: '/ctdb/cluster_lock', ttlSec: 10, timeoutSec: 5, help: false,
    });
  });

  it.each([
    [['-e', 'http://a:1', '-e', 'http://b:2/'], { endpoints: ['http://a:1', 'http://b:2/'] }],
    [['--endpoint=http://a:1,https://b:2'], { endpoints: ['http://a:1', 'https://b:2'] }],
    [['-k', 'cl/x', '-t', '30', '-T', '2'], { key: 'cl/x', ttlSec: 30, timeoutSec: 2 }],
    [['--help'], { help: true }],
  ])('%j', (argv, expected) => {
    expect(parseEtcdLockArgs(argv)).toMatchObject(expected);
  });

  it.each([
    [['-t', '1']], [['-t', 'x']], [['-T', '0']], [['-e', 'a:1']], [['-e', 'http://a:1/path']],
    [['-k', '']], [['extra']], [['--bogus']], [['-t']],
  ])('rejects %j with EINVAL', (argv) => {
    let err: unknown;
    try { parseEtcdLockArgs(argv); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(CtdbError);
    expect((err as CtdbError).code).toBe('EINVAL');
  });
});

describe('statusForError', () => {
  it.each([
    [new CtdbError('ETIMEDOUT', 't'), '2'],
    [new CtdbError('ECONNREFUSED', 'c'), '3'],
    [new CtdbError('EPROTO', 'p'), '3'],
    [new Error('other'), '3'],
  ])('%s → %s', (err, ch) => {
    expect(statusForError(err)).toBe(ch);
  });
});
