import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNodes, parseNodesFile } from './nodes.js';

const dir = mkdtempSync(join(tmpdir(), 'ctdb-nodes-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const brief = (text: string) => parseNodesFile(text, 'nodes').map((n) => `${n.pnn}:${n.deleted ? 'D' : n.address}`);

describe('parseNodesFile (semantics measured on Debian ctdb 4.17 listnodes)', () => {
  it.each([
    ['127.0.0.1\n127.0.0.2\n', ['0:127.0.0.1', '1:127.0.0.2']],
    ['127.0.0.1\n\n127.0.0.3\n', ['0:127.0.0.1', '1:127.0.0.3']],
    ['127.0.0.1\n   \n  #127.0.0.3\n127.0.0.4\n', ['0:127.0.0.1', '1:D', '2:127.0.0.4']],
    ['# a\n# b\n127.0.0.1', ['0:D', '1:D', '2:127.0.0.1']],
    ['  127.0.0.2  \n\t127.0.0.3\r\n', ['0:127.0.0.2', '1:127.0.0.3']],
    ['fe80::0001\n::ffff:1.2.3.4\n', ['0:fe80::1', '1:1.2.3.4']],
    ['10.0.0.1 # rack 3\n', ['0:10.0.0.1']],
    ['', []],
    ['\n\n', []],
  ])('%j', (text, want) => {
    expect(brief(text)).toEqual(want);
  });

  it('gives deleted placeholders the address 0.0.0.0', () => {
    expect(parseNodesFile('#x\n', 'n')).toEqual([{ pnn: 0, address: '0.0.0.0', deleted: true }]);
  });

  it.each([
    ['127.0.0.1\nbogus\n', "nodes:2: invalid node address 'bogus'"],
    ['\n127.0.0.1/24\n', "nodes:2: invalid node address '127.0.0.1/24'"],
    ['127.1\n', "nodes:1: invalid node address '127.1'"],
    ['127.0.0.1 x y\n', "nodes:1: invalid node address '127.0.0.1 x y'"],
    ['127.0.0.1\n\n127.0.0.1\n', 'nodes:3: duplicate node address 127.0.0.1 (also on line 1)'],
    ['fe80::1%eth0\n', 'nodes:1: invalid node address'],
  ])('rejects %j', (text, msg) => {
    expect(() => parseNodesFile(text, 'nodes')).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringContaining(msg) }));
  });
});

describe('loadNodes', () => {
  it('reads a file', () => {
    const f = join(dir, 'nodes');
    writeFileSync(f, '10.0.0.1\n#\n10.0.0.3\n');
    expect(loadNodes(f).map((n) => n.pnn)).toEqual([0, 1, 2]);
  });

  it('throws ENOENT for a missing file', () => {
    expect(() => loadNodes(join(dir, 'none'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  it('runs a !command and parses its stdout', () => {
    const s = join(dir, 'list.sh');
    writeFileSync(s, '#!/bin/sh\nprintf "%s\\n" "$1" "#gone" "$2"\n');
    chmodSync(s, 0o755);
    expect(loadNodes(`!${s} 10.1.0.1\t10.1.0.2`)).toEqual([
      { pnn: 0, address: '10.1.0.1', deleted: false },
      { pnn: 1, address: '0.0.0.0', deleted: true },
      { pnn: 2, address: '10.1.0.2', deleted: false },
    ]);
  });

  it('reports a failing command and bad output', () => {
    expect(() => loadNodes('!/bin/false')).toThrow(expect.objectContaining({ code: 'EIO' }));
    expect(() => loadNodes('!/bin/echo nope')).toThrow("!/bin/echo nope:1: invalid node address 'nope'");
    expect(() => loadNodes('!')).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});
