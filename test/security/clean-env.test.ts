/**
 * Helpers start with a clean environment: two real daemons (127.0.0.160-161)
 * are started with secret variables in their environment; none of their
 * children — ctdb-eventd, the cluster lock helper (read from
 * /proc/PID/environ), event scripts and notify.sh (which dump `env`), the
 * recovery and takeover helpers (wrapped so they record their environment
 * and then run the real helper) — may see them, while the variables they
 * need (PATH, CTDB_BASE, CTDB_TEST_MODE ...) are there.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIST, LocalCluster } from '../harness/cluster.js';

const built = existsSync(join(DIST, 'ctdbd.js')) && existsSync(join(DIST, 'ctdb_recovery_helper.js'));
const SECRETS = { FOO_SECRET: 'foo-secret-4711', CTDB_TEST_SECRET_X: 'ctdb-secret-0815' };
const WRAPPED = ['ctdb_recovery_helper.js', 'ctdb_takeover_helper.js', 'ctdb_vacuum.js'];

/** A cluster whose daemons get the secrets and a helper folder with recording wrappers. */
class SecretCluster extends LocalCluster {
  readonly helperDir = join(this.dir, 'helpers');
  override env(pnn: number): NodeJS.ProcessEnv {
    return { ...super.env(pnn), ...SECRETS, CTDB_HELPER_BINDIR: this.helperDir };
  }
}

/** Wrapper (CommonJS, outside any package): appends `name env-json` to `log`, then runs the real helper with the same fds. */
const wrapper = (real: string, log: string): string => `const fs = require('fs');
const cp = require('child_process');
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify({ helper: ${JSON.stringify(real)}, env: process.env }) + '\\n');
let fd3 = 'ignore';
try { fs.fstatSync(3); fd3 = 3; } catch {}
const r = cp.spawnSync(process.execPath, [${JSON.stringify(real)}, ...process.argv.slice(2)], { stdio: [0, 1, 2, fd3] });
process.exit(r.status === null ? 1 : r.status);
`;

/** PIDs of every descendant of `root`, from /proc. */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch { /* exited */ }
  }
  const out: number[] = [];
  const walk = (p: number): void => { for (const [c, pp] of parent) if (pp === p) { out.push(c); walk(c); } };
  walk(root);
  return out;
}

const environOf = (pid: number): Record<string, string> | undefined => {
  try {
    return Object.fromEntries(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  } catch { return undefined; }
};
const cmdlineOf = (pid: number): string => {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' '); } catch { return ''; }
};

describe.skipIf(!built)('helpers start with a clean environment (127.0.0.160-161)', () => {
  let c: SecretCluster;
  let lockDir = '';
  const helperLog = (): string => join(c.dir, 'helper-envs.jsonl');

  beforeAll(async () => {
    lockDir = mkdtempSync(join(tmpdir(), 'ctrel-lock-'));
    c = new SecretCluster({
      nodes: 2, firstOctet: 160,
      extraConf: () => `[cluster]\n\tcluster lock = ${join(lockDir, 'reclock')}\n`,
    });
    mkdirSync(c.helperDir);
    for (const f of readdirSync(DIST).filter((x) => x.endsWith('.js'))) {
      const p = join(c.helperDir, f);
      if (WRAPPED.includes(f)) writeFileSync(p, wrapper(join(DIST, f), helperLog()));
      else symlinkSync(join(DIST, f), p);
    }
    for (let pnn = 0; pnn < 2; pnn++) {
      const b = c.base(pnn);
      writeFileSync(join(b, 'public_addresses'), '10.251.0.1/24 ctrel0\n10.251.0.2/24 ctrel0\n');
      const script = join(b, 'events/legacy/50.envdump.script');
      writeFileSync(script, '#!/bin/sh\nenv > "$CTDB_BASE/env.$1"\nexit 0\n');
      chmodSync(script, 0o755);
      writeFileSync(join(b, 'notify.sh'), '#!/bin/sh\nenv > "$CTDB_BASE/env.notify.$1"\n');
      chmodSync(join(b, 'notify.sh'), 0o755);
    }
    c.startAll();
    expect(await c.waitAllOk(0, 60_000)).toBe(true);
  }, 90_000);
  afterAll(async () => { await c?.stop(); if (lockDir) rmSync(lockDir, { recursive: true, force: true }); });


  const assertClean = (what: string, env: Record<string, string | undefined>): void => {
    for (const [k, v] of Object.entries(SECRETS)) {
      expect(env[k], `${what} sees ${k}`).toBeUndefined();
      expect(Object.values(env).some((x) => x?.includes(v)), `${what} sees the value of ${k}`).toBe(false);
    }
    expect(env.PATH, `${what} has PATH`).toBeTruthy();
    expect(env.CTDB_BASE, `${what} has CTDB_BASE`).toMatch(/node\.\d$/);
  };

  it('the daemon itself does have the secrets (the check can fail)', () => {
    const env = environOf(c.procs.get(0)!.pid!);
    expect(env?.FOO_SECRET).toBe(SECRETS.FOO_SECRET);
    expect(env?.CTDB_TEST_SECRET_X).toBe(SECRETS.CTDB_TEST_SECRET_X);
  });

  it('no running child of ctdbd (event daemon, cluster lock helper) has a secret', async () => {
    // The leader holds the cluster lock through its helper: wait until some node runs one.
    const seen = new Set<string>();
    const ok = await c.waitFor(() => {
      for (let pnn = 0; pnn < 2; pnn++) {
        for (const pid of descendants(c.procs.get(pnn)!.pid!)) {
          const cmd = cmdlineOf(pid);
          if (cmd.includes('ctdb-eventd')) seen.add('eventd');
          if (cmd.includes('ctdb_mutex_fcntl_helper')) seen.add('cluster-lock');
        }
      }
      return seen.has('eventd') && seen.has('cluster-lock');
    }, 30_000);
    expect([...seen].sort()).toEqual(['cluster-lock', 'eventd']);
    expect(ok).toBe(true);
    let checked = 0;
    for (let pnn = 0; pnn < 2; pnn++) {
      for (const pid of descendants(c.procs.get(pnn)!.pid!)) {
        const env = environOf(pid);
        if (!env) continue;
        assertClean(`pid ${pid} (${cmdlineOf(pid)})`, env);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(3);
  });

  const parseEnv = (text: string): Record<string, string> => Object.fromEntries(text.split('\n').filter((l) => l.includes('='))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));

  it('event scripts and notify.sh see the documented script environment and no secret', async () => {
    const files = ['env.startup', 'env.monitor', 'env.notify.startup'];
    expect(await c.waitFor(() => files.every((f) => existsSync(join(c.base(0), f))), 30_000)).toBe(true);
    for (const f of files) {
      const env = parseEnv(readFileSync(join(c.base(0), f), 'utf8'));
      assertClean(f, env);
      expect(env.CTDB_TEST_MODE).toBe('yes');
      expect(env.CTDB_SCRIPT_VARDIR).toBeTruthy();
      expect(env.CTDB_HELPER_BINDIR).toBe(c.helperDir);
    }
  });

  it('the recovery and takeover helpers get no secret', async () => {
    // Force one more recovery and takeover run, then read what the wrappers recorded.
    expect(c.ctdb(0, ['recover']).code).toBe(0);
    expect(c.ctdb(0, ['ipreallocate']).code).toBe(0);
    const runs = (): Array<{ helper: string; env: Record<string, string> }> => existsSync(helperLog())
      ? readFileSync(helperLog(), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { helper: string; env: Record<string, string> }) : [];
    const kinds = (): Set<string> => new Set(runs().map((r) => r.helper.replace(/^.*\//, '')));
    expect(await c.waitFor(() => kinds().has('ctdb_recovery_helper.js') && kinds().has('ctdb_takeover_helper.js'), 30_000)).toBe(true);
    for (const r of runs()) {
      for (const [k, v] of Object.entries(SECRETS)) {
        expect(r.env[k], `${r.helper} sees ${k}`).toBeUndefined();
        expect(Object.values(r.env).some((x) => x.includes(v))).toBe(false);
      }
      expect(r.env.PATH).toBeTruthy();
    }
    process.stdout.write(`helper runs recorded: ${[...kinds()].sort().join(', ')} (${runs().length} runs)\n`);
  }, 60_000);
});
