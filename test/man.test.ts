import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './harness/cluster.js';

// Needs man-db and groff (apt-get install man-db groff); CI installs both.
const hasMan = spawnSync('man', ['--version']).status === 0 && spawnSync('groff', ['--version']).status === 0;
const pages = readdirSync(join(ROOT, 'man')).filter((f) => /^[^.].*\.[1-8]$/.test(f)).sort();

describe.skipIf(!hasMan)('man pages render without warnings (man -l, groff -ww)', () => {
  it.each(pages)('%s', (page) => {
    const file = join(ROOT, 'man', page);
    const viaMan = spawnSync('man', ['--warnings=w', '-E', 'UTF-8', '-l', file], {
      encoding: 'utf8', env: { ...process.env, MANWIDTH: '80', MANPAGER: 'cat', PAGER: 'cat' },
    });
    expect({ page, status: viaMan.status, stderr: viaMan.stderr }).toEqual({ page, status: 0, stderr: '' });
    const name = page.replace(/\.[1-8]$/, '').toUpperCase();
    expect(viaMan.stdout).toContain(name.replace(/\\-/g, '-'));
    const viaGroff = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', file], { encoding: 'utf8' });
    expect({ page, status: viaGroff.status, stderr: viaGroff.stderr }).toEqual({ page, status: 0, stderr: '' });
  });
});

describe('every executable and the admin pages have a man page', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  it.each(Object.keys(pkg.bin))('%s(1)', (exe) => {
    expect(pages).toContain(`${exe}.1`);
  });
  it.each(['ctdb.7', 'ctdb-admin.7', 'ctdb.conf.5', 'onnode.1'])('%s', (page) => {
    expect(pages).toContain(page);
  });
});
