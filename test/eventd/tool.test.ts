import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runEventTool } from '../../src/eventd/tool.js';
import { startEventd } from '../../src/eventd/spawn.js';
import { REPO, addScripts, alive, startTestEventd, type TestEventd } from './helpers.js';

let t: TestEventd | undefined;
afterEach(async () => { await t?.close(); t = undefined; });

async function tool(argv: string[], dataDir?: string): Promise<{ rc: number; out: string; err: string }> {
  let out = ''; let err = '';
  const rc = await runEventTool(argv, { socketPath: t!.socket, ctdbBase: t!.base, dataDir: dataDir ?? join(t!.base, 'share'),
    out: (s) => { out += s; }, err: (s) => { err += s; } });
  return { rc, out, err };
}

describe('ctdb event tool', () => {
  it('run prints nothing on success and the 4.17 messages on failure, exit = |result|', async () => {
    t = await startTestEventd({ legacy: { '01.ok': { fixture: 'record.sh' } }, other: { '01.fail': { fixture: 'fail.sh' } } });
    expect(await tool(['run', '10', 'legacy', 'takeip', 'eth0', '10.1.1.1', '24'])).toEqual({ rc: 0, out: '', err: '' });
    expect(t.ran()).toEqual(['01.ok takeip eth0 10.1.1.1 24']);
    expect(await tool(['run', '10', 'other', 'startup'])).toEqual({ rc: 8, out: 'Event startup in other failed\n', err: '' });
    expect(await tool(['run', '10', 'missing', 'startup'])).toEqual({ rc: 2, out: 'Event dir for missing does not exist\n', err: '' });
    expect(await tool(['run', '10', 'legacy', 'nosuchevent'])).toEqual({ rc: 22, out: 'Failed to run event nosuchevent in legacy, result=22\n', err: '' });
    expect((await tool(['run', 'x', 'legacy', 'monitor'])).rc).toBe(1);
    expect((await tool(['run', '10', 'legacy'])).err).toMatch(/^Usage:/);
  });

  it('status prints scripts and exits with the summary; never-run and missing dir messages', async () => {
    t = await startTestEventd({ legacy: { '01.ok': { fixture: 'record.sh' }, '02.fail': { fixture: 'fail.sh' } } });
    expect(await tool(['status', 'legacy', 'monitor'])).toEqual({ rc: 22, out: 'Event monitor has never run in legacy\n', err: '' });
    expect(await tool(['status', 'gone', 'monitor'])).toEqual({ rc: 2, out: 'Event dir for gone does not exist\n', err: '' });
    await tool(['run', '10', 'legacy', 'monitor']);
    const r = await tool(['status', 'legacy', 'monitor']);
    expect(r.rc).toBe(3);
    expect(r.out).toMatch(/^01\.ok {16}OK {9}\d+\.\d{3} \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\n02\.fail {14}ERROR {6}\d+\.\d{3} .*\n  OUTPUT: failing on monitor\nsecond line\n\n$/);
    // scriptstatus is status of legacy, default monitor, always exit 0.
    expect(await tool(['scriptstatus'])).toEqual({ rc: 0, out: r.out, err: '' });
    expect((await tool(['scriptstatus', 'startup'])).out).toBe('Event startup has never run in legacy\n');
  });

  it('script list/enable/disable handles local files and packaged symlinks', async () => {
    t = await startTestEventd({ legacy: { '01.local': { fixture: 'record.sh' }, '02.off': { fixture: 'record.sh', mode: 0o644 } } });
    const share = join(t.base, 'share');
    addScripts(share, 'legacy', { '05.pkg': { fixture: 'record.sh' } });
    expect(await tool(['script', 'list', 'legacy'])).toEqual({ rc: 0, out: '  05.pkg\n\n* 01.local\n  02.off\n', err: '' });
    expect((await tool(['script', 'enable', 'legacy', '05.pkg'])).rc).toBe(0);
    expect(lstatSync(join(t.base, 'events/legacy/05.pkg.script')).isSymbolicLink()).toBe(true);
    expect((await tool(['script', 'enable', 'legacy', '02.off'])).rc).toBe(0);
    expect(lstatSync(join(t.base, 'events/legacy/02.off.script')).mode & 0o777).toBe(0o755);
    expect(await tool(['script', 'list', 'legacy'])).toEqual({ rc: 0, out: '* 05.pkg\n\n* 01.local\n* 02.off\n', err: '' });
    expect((await tool(['script', 'disable', 'legacy', '05.pkg'])).rc).toBe(0);
    expect(existsSync(join(t.base, 'events/legacy/05.pkg.script'))).toBe(false);
    expect((await tool(['script', 'disable', 'legacy', '01.local'])).rc).toBe(0);
    expect(lstatSync(join(t.base, 'events/legacy/01.local.script')).mode & 0o111).toBe(0);
    expect(await tool(['script', 'enable', 'legacy', '99.none'])).toEqual({ rc: 2, out: 'Script 99.none does not exist in legacy\n', err: '' });
    expect(await tool(['script', 'enable', 'legacy', 'bad'])).toEqual({ rc: 22, out: 'Script bad is invalid in legacy\n', err: '' });
    expect(await tool(['script', 'list', 'nope'])).toEqual({ rc: 2, out: '', err: 'Command script list finished with result=2\n' });
  });

  it('reads options through the functions library; a broken options file fails the script clearly', async () => {
    t = await startTestEventd({ legacy: { '01.opts': { fixture: 'options.sh' } } });
    writeFileSync(join(t.base, 'script.options'), 'GLOBAL_OPT=g1\nLOCAL_OPT=fromglobal\n');
    writeFileSync(join(t.base, 'events/legacy/01.opts.options'), 'LOCAL_OPT=l1\n');
    await tool(['run', '10', 'legacy', 'monitor']);
    expect(t.daemon.lastStatus('legacy', 'monitor')!.scripts[0]).toMatchObject({ result: 0, output: 'global=g1 local=l1\n' });
    writeFileSync(join(t.base, 'events/legacy/01.opts.options'), 'LOCAL_OPT="unterminated\nif then\n');
    expect(await tool(['run', '10', 'legacy', 'monitor'])).toMatchObject({ rc: 8 });
    expect(t.daemon.lastStatus('legacy', 'monitor')!.scripts[0]!.output).toMatch(/syntax error in options file ".*01\.opts\.options"/);
  });
});

const DIST = join(REPO, 'dist/ctdb-eventd.js');
const DEBIAN_TOOL = '/usr/libexec/ctdb/ctdb-event';

describe.skipIf(!existsSync(DIST))('ctdb-eventd executable (needs npm run build)', () => {
  it('starts via startEventd, serves Debian ctdb-event 4.17 and exits when stopped', async () => {
    t = await startTestEventd({ legacy: { '01.ok': { fixture: 'record.sh' }, '02.fail': { fixture: 'fail.sh' } } });
    const base = t.base;
    mkdirSync(join(base, 'run'), { recursive: true });
    const socketPath = join(base, 'run/eventd.socket');
    const d = await startEventd({ ctdbBase: base, socketPath, stderr: 'ignore', env: { EVENTD_TEST_LOG: t.log } });
    try {
      expect(alive(d.pid)).toBe(true);
      let out = '';
      expect(await runEventTool(['run', '10', 'legacy', 'monitor'], { socketPath, ctdbBase: base, dataDir: join(base, 'share'), out: (s) => { out += s; } })).toBe(8);
      expect(out).toBe('Event monitor in legacy failed\n');
      if (existsSync(DEBIAN_TOOL)) {
        // Debian's C tool finds <CTDB_BASE>/run/eventd.socket in test mode.
        const env = { ...process.env, CTDB_TEST_MODE: 'yes', CTDB_BASE: base };
        const r = spawnSync(DEBIAN_TOOL, ['status', 'legacy', 'monitor'], { env, encoding: 'utf8', timeout: 10_000 });
        expect(r.status).toBe(3);
        expect(r.stdout).toMatch(/^01\.ok {16}OK .*\n02\.fail {14}ERROR .*\n  OUTPUT: failing on monitor\nsecond line\n\n$/);
        const r2 = spawnSync(DEBIAN_TOOL, ['run', '10', 'legacy', 'startup'], { env, encoding: 'utf8', timeout: 10_000 });
        expect([r2.status, r2.stdout]).toEqual([8, 'Event startup in legacy failed\n']);
      }
      expect(execFileSync(process.execPath, [DIST, '--help'], { encoding: 'utf8' })).toMatch(/^Usage: ctdb-eventd/);
    } finally {
      await d.stop();
    }
    expect(alive(d.pid)).toBe(false);
  });

  it('exits by itself when the parent pid it watches is gone', async () => {
    t = await startTestEventd({ legacy: {} });
    const parent = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' });
    const deadPid = Number(parent.stdout.trim());
    const socketPath = join(t.base, 'other.socket');
    const child = (await import('node:child_process')).spawn(process.execPath,
      [DIST, '--socket', socketPath, '--ctdb-base', t.base, '--pid', String(deadPid)], { stdio: 'ignore' });
    try {
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

