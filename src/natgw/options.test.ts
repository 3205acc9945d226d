import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadScriptOption } from './options.js';

describe('loadScriptOption', () => {
  const base = mkdtempSync(join(tmpdir(), 'ctrel-opts-'));
  writeFileSync(join(base, 'script.options'), 'CTDB_NATGW_NODES=/etc/ctdb/natgw_nodes\n');
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('reads a variable set in script.options', async () => {
    expect(await loadScriptOption(base, '11.natgw', 'CTDB_NATGW_NODES', {})).toBe('/etc/ctdb/natgw_nodes');
  });

  it('refuses a name that is not a plain variable name (it would reach eval)', async () => {
    const marker = join(base, 'pwned');
    await expect(loadScriptOption(base, '11.natgw', `X}"; touch ${marker}; echo "\${Y`, {})).rejects.toThrow(/not a shell variable name/);
    const { existsSync } = await import('node:fs');
    expect(existsSync(marker)).toBe(false);
  });
});
