import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CtdbError } from '../common/errors.js';
import { ClusterLock, parseClusterLockSetting } from './cluster-lock.js';

const FIX = join(import.meta.dirname, '../../test/fixtures/mutex');
const fixture = (name: string, ...args: string[]): string[] => [join(FIX, name), ...args];
const silent = pino({ level: 'silent' });

/** A logger that records messages, so tests can check failures are logged clearly. */
function recordingLogger(): { log: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => { out.push(s); } });
  return { log, lines: () => out.map((s) => JSON.parse(s) as Record<string, unknown>) };
}

const live: ClusterLock[] = [];
function lock(argv: string[], timeoutMs = 10_000, log: pino.Logger = silent): ClusterLock {
  const l = new ClusterLock({ argv, timeoutMs, log });
  live.push(l);
  return l;
}
afterEach(async () => {
  await Promise.all(live.splice(0).map((l) => l.release()));
});

describe('parseClusterLockSetting', () => {
  it.each([
    ['/shared/.ctdb.lock', ['/shared/.ctdb.lock']],
    ['  /shared/lock  ', ['/shared/lock']],
  ])('plain path %j runs the fcntl helper', (value, rest) => {
    expect(parseClusterLockSetting(value, '/opt/ctdb/dist').argv)
      .toEqual([process.execPath, '/opt/ctdb/dist/ctdb_mutex_fcntl_helper.js', ...rest]);
  });

  it.each([
    ['!/usr/bin/helper', ['/usr/bin/helper']],
    ['!/usr/bin/helper -e http://x:2379  -k\tkey', ['/usr/bin/helper', '-e', 'http://x:2379', '-k', 'key']],
    ['! /usr/bin/helper a', ['/usr/bin/helper', 'a']],
  ])('command %j is split on blanks', (value, argv) => {
    expect(parseClusterLockSetting(value, '/h').argv).toEqual(argv);
  });

  it.each(['', '   ', '!', '! ', '!helper arg', '!./helper'])('rejects %j with EINVAL', (value) => {
    expect(() => parseClusterLockSetting(value, '/h')).toThrow(CtdbError);
    try { parseClusterLockSetting(value, '/h'); } catch (e) { expect((e as CtdbError).code).toBe('EINVAL'); }
  });
});

describe('ClusterLock with fixture helpers', () => {
  it.each([
    ['0', 'held'],
    ['1', 'contended'],
    ['2', 'timeout'],
    ['3', 'error'],
  ] as const)("status '%s' → %s", async (ch, expected) => {
    const l = lock(fixture('print-status.sh', ch));
    expect(await l.take()).toBe(expected);
    expect(l.held).toBe(expected === 'held');
  });

  it('a second take() while held answers held without a new helper', async () => {
    const l = lock(fixture('print-status.sh', '0'));
    const [a, b] = await Promise.all([l.take(), l.take()]);
    expect([a, b]).toEqual(['held', 'held']);
    expect(await l.take()).toBe('held');
    expect(l.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('release() stops the helper without emitting lost, and the lock can be taken again', async () => {
    const l = lock(fixture('print-status.sh', '0'));
    let lost = 0;
    l.on('lost', () => { lost += 1; });
    expect(await l.take()).toBe('held');
    await l.release();
    expect(l.held).toBe(false);
    expect(await l.take()).toBe('held');
    await l.release();
    expect(lost).toBe(0);
  });

  it('garbage output is an error, logged with the output', async () => {
    const rec = recordingLogger();
    const l = lock(fixture('garbage.sh'), 10_000, rec.log);
    expect(await l.take()).toBe('error');
    expect(l.held).toBe(false);
    expect(rec.lines().some((e) => String(e.msg).includes('garbage') && String(e.output).startsWith('hello'))).toBe(true);
  });

  it('a helper that never answers gives timeout and is killed', async () => {
    const rec = recordingLogger();
    const l = lock(fixture('hang.sh'), 300, rec.log);
    expect(await l.take()).toBe('timeout');
    expect(l.held).toBe(false);
    expect(rec.lines().some((e) => e.level === 50 && String(e.msg).includes('no answer within 300 ms'))).toBe(true);
    await l.release(); // waits for the killed helper to be reaped
  });

  it('release() during a take() with no timeout stops the silent helper', async () => {
    const l = lock(fixture('hang.sh'), 0);
    const taking = l.take();
    await l.release();
    expect(await taking).toBe('error');
    expect(l.held).toBe(false);
  });

  it('a helper exiting without an answer is an error and its stderr is logged', async () => {
    const rec = recordingLogger();
    const l = lock(fixture('exit-silent.sh'), 10_000, rec.log);
    expect(await l.take()).toBe('error');
    await l.release();
    expect(rec.lines().some((e) => String(e.msg).includes('exited without an answer'))).toBe(true);
    expect(rec.lines().some((e) => String(e.line).includes('exit-silent: giving up'))).toBe(true);
  });

  describe('unrunnable helpers', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cluster-lock-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('a missing helper is an error', async () => {
      expect(await lock([join(dir, 'no-such-helper')]).take()).toBe('error');
    });

    it('a helper without the execute bit is an error', async () => {
      const path = join(dir, 'not-executable.sh');
      writeFileSync(path, '#!/bin/sh\nprintf 0\n');
      chmodSync(path, 0o644);
      expect(await lock([path]).take()).toBe('error');
    });
  });

  it.each(['hold-then-exit.sh', 'hold-then-close.sh'])('%s: loss after a 0 emits lost once', async (name) => {
    const l = lock(fixture(name));
    const lost = new Promise<void>((resolve) => l.once('lost', () => resolve()));
    let count = 0;
    l.on('lost', () => { count += 1; });
    expect(await l.take()).toBe('held');
    await lost;
    expect(l.held).toBe(false);
    await l.release();
    expect(count).toBe(1);
  });

  it('an empty argv is rejected', () => {
    expect(() => new ClusterLock({ argv: [], timeoutMs: 1 })).toThrow(CtdbError);
  });
});
