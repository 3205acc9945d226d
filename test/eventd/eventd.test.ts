import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Errno } from '../../src/common/errors.js';
import { alive, startTestEventd, type TestEventd } from './helpers.js';

let t: TestEventd | undefined;
afterEach(async () => { await t?.close(); t = undefined; });

describe('eventd runs events', () => {
  it('runs enabled scripts in byte order with the event and its args', async () => {
    t = await startTestEventd({ legacy: {
      '10.b': { fixture: 'record.sh' }, '01.a': { fixture: 'record.sh' }, '10.B': { fixture: 'record.sh' },
      '02.notascript': { fixture: 'record.sh' },
    } });
    // A file without the .script suffix is not a script.
    writeFileSync(join(t.base, 'events/legacy/03.readme'), 'x');
    expect(await t.client.run('legacy', 'takeip', ['eth0', '10.0.0.1', '24'], 10)).toBe(0);
    expect(t.ran()).toEqual([
      '01.a takeip eth0 10.0.0.1 24', '02.notascript takeip eth0 10.0.0.1 24',
      '10.B takeip eth0 10.0.0.1 24', '10.b takeip eth0 10.0.0.1 24',
    ]);
    const st = await t.client.status('legacy', 'takeip');
    expect(st.found).toBe(true);
    expect(st.scripts.map((s) => [s.name, s.result, s.output])).toEqual([
      ['01.a', 0, 'ran takeip eth0 10.0.0.1 24\n'], ['02.notascript', 0, 'ran takeip eth0 10.0.0.1 24\n'],
      ['10.B', 0, 'ran takeip eth0 10.0.0.1 24\n'], ['10.b', 0, 'ran takeip eth0 10.0.0.1 24\n'],
    ]);
  });

  it('skips disabled scripts and reports them as -ENOEXEC', async () => {
    t = await startTestEventd({ legacy: { '01.on': { fixture: 'record.sh' }, '02.off': { fixture: 'record.sh', mode: 0o644 } } });
    expect(await t.client.run('legacy', 'startup', [], 10)).toBe(0);
    expect(t.ran()).toEqual(['01.on startup']);
    expect((await t.client.status('legacy', 'startup')).scripts.map((s) => s.result)).toEqual([0, -Errno.ENOEXEC]);
  });

  it('stops a non-monitor event at the first failure and reports the exit code', async () => {
    t = await startTestEventd({ legacy: { '01.fail': { fixture: 'fail.sh' }, '02.next': { fixture: 'record.sh' } } });
    expect(await t.client.run('legacy', 'startup', [], 10)).toBe(3);
    expect(t.ran()).toEqual(['01.fail startup']);
    const st = await t.client.status('legacy', 'startup');
    expect(st.result).toBe(3);
    expect(st.scripts).toHaveLength(1);
    expect(st.scripts[0]!.output).toBe('failing on startup\nsecond line\n');
  });

  it('runs every monitor script and reports every failure (deliberate difference from 4.17)', async () => {
    t = await startTestEventd({ legacy: {
      '01.fail': { fixture: 'fail.sh' }, '02.ok': { fixture: 'record.sh' }, '03.fail': { fixture: 'fail.sh' },
    } });
    expect(await t.client.run('legacy', 'monitor', [], 10)).toBe(3);
    expect(t.ran()).toEqual(['01.fail monitor', '02.ok monitor', '03.fail monitor']);
    expect((await t.client.status('legacy', 'monitor')).scripts.map((s) => s.result)).toEqual([3, 0, 3]);
  });

  it('RUN_ALL makes any event continue after failures', async () => {
    t = await startTestEventd({ legacy: { '01.fail': { fixture: 'fail.sh' }, '02.ok': { fixture: 'record.sh' } } });
    expect(await t.client.run('legacy', 'startup', [], 10, 1)).toBe(3);
    expect(t.ran()).toEqual(['01.fail startup', '02.ok startup']);
  });

  it('times out a hung script, runs the debug hook with its pid first, and kills its process group', async () => {
    t = await startTestEventd({ legacy: { '01.hang': { fixture: 'hang.sh' }, '02.after': { fixture: 'record.sh' } } },
      { debugScript: join(__dirname, '../fixtures/eventd/debug-hook.sh') });
    expect(await t.client.run('legacy', 'monitor', [], 1)).toBe(-Errno.ETIMEDOUT);
    const hangPid = Number(readFileSync(`${t.log}.hang-pid`, 'utf8'));
    const childPid = Number(readFileSync(`${t.log}.child-pid`, 'utf8'));
    // The hook saw the hung script still alive, then the whole group was killed.
    expect(readFileSync(`${t.log}.debug`, 'utf8').trim()).toBe(`${hangPid} monitor alive`);
    expect(alive(hangPid)).toBe(false);
    for (let i = 0; i < 50 && alive(childPid); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive(childPid)).toBe(false);
    const st = await t.client.status('legacy', 'monitor');
    expect(st.result).toBe(-Errno.ETIMEDOUT);
    expect(st.scripts.map((s) => [s.name, s.result])).toEqual([['01.hang', -Errno.ETIMEDOUT]]);
    expect(t.ran()).toEqual(['01.hang monitor']);
  });

  it('caps the output of a script that prints megabytes', async () => {
    t = await startTestEventd({ legacy: { '01.big': { fixture: 'big.sh' } } }, { outputLimit: 4096 });
    expect(await t.client.run('legacy', 'monitor', [], 20)).toBe(0);
    const out = (await t.client.status('legacy', 'monitor')).scripts[0]!.output;
    expect(out.length).toBeLessThan(4096 + 100);
    expect(out).toMatch(/^x{4096}\n\[output truncated: \d+ more bytes dropped\]$/);
  });

  it('reports a script killed by a signal as -EINTR', async () => {
    t = await startTestEventd({ legacy: { '01.sig': { fixture: 'signal.sh' } } });
    expect(await t.client.run('legacy', 'startup', [], 10)).toBe(-Errno.EINTR);
    expect((await t.client.status('legacy', 'startup')).scripts[0]).toMatchObject({ result: -Errno.EINTR, output: 'killing myself\n' });
  });

  it('lists a dangling symlink as disabled with the reason and keeps going', async () => {
    t = await startTestEventd({ legacy: { '01.dangling': { link: '/nonexistent/eventd-test.script' }, '02.ok': { fixture: 'record.sh' } } });
    expect(await t.client.run('legacy', 'monitor', [], 10)).toBe(0);
    expect((await t.client.status('legacy', 'monitor')).scripts.map((s) => [s.name, s.result, s.output])).toEqual([
      ['01.dangling', -Errno.ENOEXEC, 'dangling symbolic link'], ['02.ok', 0, 'ran monitor\n'],
    ]);
  });

  it('does not wait for background children that keep stdout open', async () => {
    t = await startTestEventd({ legacy: { '01.bg': { fixture: 'background.sh' } } });
    expect(await t.client.run('legacy', 'startup', [], 10)).toBe(0);
    const bg = Number(readFileSync(`${t.log}.bg-pid`, 'utf8'));
    expect(alive(bg)).toBe(true); // a service a script starts must survive the event
  });

  it('refuses unknown events, missing components and events a component does not take', async () => {
    t = await startTestEventd({ legacy: { '01.ok': { fixture: 'record.sh' } }, service: { '01.svc': { fixture: 'record.sh' } } });
    expect(await t.client.run('legacy', 'bogus', [], 10)).toBe(-Errno.EINVAL);
    expect(await t.client.run('nope', 'monitor', [], 10)).toBe(-Errno.ENOENT);
    expect(await t.client.run('../legacy', 'monitor', [], 10)).toBe(-Errno.ENOENT);
    expect(await t.client.run('service', 'takeip', ['e', '1.2.3.4', '24'], 10)).toBe(-Errno.EINVAL);
    expect(t.ran()).toEqual([]);
    expect((await t.client.status('legacy', 'bogus')).result).toBe(-Errno.EINVAL);
    expect((await t.client.status('nope', 'monitor')).result).toBe(-Errno.ENOENT);
    // The daemon still works afterwards.
    expect(await t.client.run('service', 'monitor', [], 10)).toBe(0);
  });

  it('runEvent runs legacy then the split components that take the event, skipping missing ones', async () => {
    t = await startTestEventd({
      legacy: { '01.l': { fixture: 'record.sh' } }, failover: { '01.f': { fixture: 'record.sh' } },
      cluster: { '01.c': { fixture: 'record.sh' } },
    });
    expect(await t.client.runEvent('takeip', ['eth0', '10.0.0.9', '24'], 10)).toBe(0);
    expect(t.ran()).toEqual(['01.l takeip eth0 10.0.0.9 24', '01.f takeip eth0 10.0.0.9 24']);
    expect(await t.client.runEvent('recovered', [], 10)).toBe(0);
    expect(t.ran().slice(2)).toEqual(['01.l recovered', '01.c recovered']);
  });

  it('has never-run status before the first run', async () => {
    t = await startTestEventd({ legacy: {} });
    expect(await t.client.status('legacy', 'monitor')).toEqual({ result: -Errno.EINVAL, found: false, scripts: [] });
    expect(await t.client.run('legacy', 'monitor', [], 10)).toBe(0);
    expect(await t.client.status('legacy', 'monitor')).toEqual({ result: 0, found: true, scripts: [] });
  });
});

describe('eventd concurrency rules', () => {
  const waitFor = async (cond: () => boolean): Promise<void> => {
    for (let i = 0; i < 250 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
    if (!cond()) throw new Error('condition not reached');
  };

  it('a non-monitor event cancels a running monitor, which reports -ECANCELED', async () => {
    t = await startTestEventd({ legacy: { '01.hang': { fixture: 'hang.sh' } } });
    const te = t;
    const monitor = t.client.run('legacy', 'monitor', [], 60);
    await waitFor(() => existsSync(`${te.log}.hang-pid`));
    const hangPid = Number(readFileSync(`${t.log}.hang-pid`, 'utf8'));
    // Make the script harmless for the next event.
    chmodSync(join(t.base, 'events/legacy/01.hang.script'), 0o644);
    const ip = t.client.run('legacy', 'ipreallocated', [], 10);
    expect(await monitor).toBe(-Errno.ECANCELED);
    expect(await ip).toBe(0);
    expect(alive(hangPid)).toBe(false);
    // A cancelled monitor keeps no status.
    expect((await t.client.status('legacy', 'monitor')).found).toBe(false);
  });

  it('a monitor requested while another event runs is refused with -ECANCELED', async () => {
    t = await startTestEventd({ legacy: { '01.hang': { fixture: 'hang.sh' } } });
    const te = t;
    const startup = t.client.run('legacy', 'startup', [], 2);
    await waitFor(() => existsSync(`${te.log}.hang-pid`));
    expect(await t.client.run('legacy', 'monitor', [], 10)).toBe(-Errno.ECANCELED);
    expect(await startup).toBe(-Errno.ETIMEDOUT);
    expect(t.ran()).toEqual(['01.hang startup']);
  });

  it('queues other events one at a time per component, in order', async () => {
    t = await startTestEventd({ legacy: { '01.a': { fixture: 'record.sh' }, '02.b': { fixture: 'record.sh' } } });
    const results = await Promise.all([
      t.client.run('legacy', 'startrecovery', [], 10), t.client.run('legacy', 'recovered', [], 10),
      t.client.run('legacy', 'ipreallocated', [], 10),
    ]);
    expect(results).toEqual([0, 0, 0]);
    expect(t.ran()).toEqual(['01.a startrecovery', '02.b startrecovery', '01.a recovered', '02.b recovered',
      '01.a ipreallocated', '02.b ipreallocated']);
  });
});
