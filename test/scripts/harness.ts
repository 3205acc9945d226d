import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync, chmodSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export const REPO = resolve(__dirname, '../..');
const STUB = join(__dirname, 'stubs/stub.sh');

/** Commands that are always replaced by stubs: an unplanned call fails the test. */
export const STUBBED = ['ip', 'ss', 'ctdb', 'ctdb_killtcp', 'ctdb-config', 'service', 'systemctl', 'df', 'testparm',
  'smbcontrol', 'wbinfo', 'rpcinfo', 'multipath', 'pkill', 'pgrep', 'exportfs', 'tdbtool', 'sm-notify'] as const;

/** One planned stub answer: arguments glob, exit status, stdout. */
export interface StubRule { cmd: (typeof STUBBED)[number]; args: string; rc?: number; out?: string }

/** A scratch node: CTDB_BASE with the repo's scripts, stub bin folder, state folder. */
export class ScriptSandbox {
  readonly root = mkdtempSync(join(tmpdir(), 'script-test-'));
  readonly base = join(this.root, 'base');
  readonly bin = join(this.root, 'bin');
  readonly rules = join(this.root, 'rules');
  readonly vardir = join(this.root, 'var/scripts');
  readonly log = join(this.root, 'stub.log');
  private ruleCount = 0;
  env: Record<string, string> = {};

  constructor() {
    mkdirSync(join(this.base, 'events/legacy'), { recursive: true });
    mkdirSync(this.bin); mkdirSync(this.rules);
    // Installed layout: functions, callouts and nfs-checks.d in CTDB_BASE; scripts in CTDB_BASE/events/<component>.
    for (const f of readdirSync(join(REPO, 'events'))) {
      const dest = f === 'legacy' || f === 'notification' ? join(this.base, 'events', f) : join(this.base, f);
      cpSync(join(REPO, 'events', f), dest, { recursive: true });
    }
    for (const c of STUBBED) symlinkSync(STUB, join(this.bin, c));
  }

  stub(...rules: StubRule[]): this {
    for (const r of rules) {
      const dir = join(this.rules, r.cmd);
      mkdirSync(dir, { recursive: true });
      const n = String(this.ruleCount++).padStart(3, '0');
      writeFileSync(join(dir, n), `${r.args}\n${r.rc ?? 0}\n${r.out ?? ''}`);
    }
    return this;
  }

  file(rel: string, text: string, mode = 0o644): string {
    const p = rel.startsWith('/') ? rel : join(this.root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
    chmodSync(p, mode);
    return p;
  }

  /** Runs `<base>/<path>` (e.g. events/legacy/10.interface.script) with args. */
  run(path: string, args: string[], extraEnv: Record<string, string> = {}): { rc: number; out: string; calls: string[]; stdin: string } {
    if (existsSync(this.log)) rmSync(this.log);
    if (existsSync(`${this.log}.stdin`)) rmSync(`${this.log}.stdin`);
    const r = spawnSync(join(this.base, path), args, {
      encoding: 'utf8', timeout: 20_000,
      env: {
        PATH: `${this.bin}:/usr/bin:/bin:/usr/sbin:/sbin`, CTDB_BASE: this.base, CTDB_HELPER_BINDIR: this.bin,
        CTDB_SCRIPT_VARDIR: this.vardir, STUB_LOG: this.log, STUB_RULES: this.rules, LC_ALL: 'C', ...this.env, ...extraEnv,
      },
    });
    const calls = existsSync(this.log) ? readFileSync(this.log, 'utf8').trim().split('\n').filter((l) => l !== '') : [];
    const stdin = existsSync(`${this.log}.stdin`) ? readFileSync(`${this.log}.stdin`, 'utf8') : '';
    return { rc: r.status ?? -1, out: (r.stdout ?? '') + (r.stderr ?? ''), calls, stdin };
  }

  cleanup(): void { rmSync(this.root, { recursive: true, force: true }); }
}

export { copyFileSync };
