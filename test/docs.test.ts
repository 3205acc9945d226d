import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/cli/main.js';
import { ROOT } from './harness/cluster.js';

describe('ctdb(1) stays complete', () => {
  it('man/ctdb.1 is generated from the current command table', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/gen-man.ts'), '--check'], { encoding: 'utf8', cwd: ROOT });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('lists every command', () => {
    const page = readFileSync(join(ROOT, 'man/ctdb.1'), 'utf8');
    for (const c of COMMANDS) expect(page).toContain(`.B ${c.name.replace(/-/g, '\\-')}`);
  });

  it('renders without warnings', () => {
    for (const page of ['ctdb.1', 'ctdbd.1', 'ctdb.7']) {
      const r = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', join(ROOT, 'man', page)], { encoding: 'utf8' });
      expect({ page, stderr: r.stderr, status: r.status }).toEqual({ page, stderr: '', status: 0 });
    }
    expect(execFileSync('groff', ['-man', '-Tutf8', join(ROOT, 'man/ctdb.1')], { encoding: 'utf8' })).toContain('CTDB management utility');
  });
});
