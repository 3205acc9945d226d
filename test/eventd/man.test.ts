import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './helpers.js';

const PAGES = ['ctdb-eventd.1', 'ctdb-event.1', 'ctdb-scripts.7', 'ctdb-script.options.5'];
const haveGroff = spawnSync('groff', ['--version']).status === 0;

describe.skipIf(!haveGroff)('man pages (need groff to render)', () => {
  it.each(PAGES)('%s renders without warnings', (page) => {
    const r = spawnSync('groff', ['-man', '-ww', '-Tutf8', join(REPO, 'man', page)], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const [name, section] = [page.slice(0, page.lastIndexOf('.')), page.slice(page.lastIndexOf('.') + 1)];
    expect(r.stdout.startsWith(`${name.toUpperCase()}(${section})`)).toBe(true);
  });
});

describe.skipIf(!existsSync(join(REPO, 'dist/ctdb-event.js')))('--help (needs npm run build)', () => {
  it.each(['ctdb-event', 'ctdb-eventd'])('%s --help prints usage and exits 0', (exe) => {
    const r = spawnSync(process.execPath, [join(REPO, 'dist', `${exe}.js`), '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: ${exe} `));
  });
});
