// ctdb_lvs against Debian's shell ctdb_lvs: same stdout and exit codes for
// the same nodes file and the same (fake) ctdb node states.
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLvsCommand } from '../../src/lvs/commands.js';
import type { GroupContext } from '../../src/natgw/group-helper.js';
import { debianMissing, fakeCtdb, makeBase, runHelper, writeScenario, type Base } from '../fixtures/natgw/harness.js';

const noDebian = debianMissing();
const IPS = ['192.168.78.11', '192.168.78.12', '192.168.78.13', '192.168.78.14'];
const FLAGS = ['OK', 'DISCONNECTED', 'UNHEALTHY', 'BANNED', 'STOPPED', 'DISABLED', 'UNKNOWN',
  'UNHEALTHY|STOPPED', 'DISABLED|UNHEALTHY', 'PARTIALLYONLINE'];

let base: Base;
beforeAll(() => { base = makeBase('ctlvs-helper-'); });
afterAll(() => base.cleanup());

async function ours(cmd: 'leader' | 'list' | 'status', mode = 'ok'): Promise<{ stdout: string; status: number }> {
  process.env.FAKE_CTDB_NODES = base.scenario;
  process.env.FAKE_CTDB_MODE = mode;
  const ctx: GroupContext = {
    name: 'ctdb_lvs', groupName: 'LVS', nodesFile: base.nodesFile, ctdb: [fakeCtdb],
    timeoutMs: 10_000, statusFailureExit: 10,
  };
  try {
    const r = await runLvsCommand(cmd, ctx);
    return { stdout: r.stdout, status: r.exitCode };
  } catch (err) {
    return { stdout: '', status: (err as { exitCode?: number }).exitCode ?? -1 };
  } finally {
    delete process.env.FAKE_CTDB_MODE;
  }
}

const scenarioArb = fc.array(fc.constantFrom(...FLAGS), { minLength: 1, maxLength: 4 });
const fileArb = fc.array(
  fc.record({ ip: fc.constantFrom(...IPS, '# comment', ''), fo: fc.boolean() }), { minLength: 1, maxLength: 5 });

describe.skipIf(noDebian !== undefined)(`ctdb_lvs matches Debian's helper${noDebian ? ` (skipped: ${noDebian})` : ''}`, () => {
  it('same stdout and exit code over random node states and nodes files', async () => {
    await fc.assert(fc.asyncProperty(scenarioArb, fileArb, async (flags, lines) => {
      writeScenario(base, flags.map((f, i): [number, string, string] => [i, IPS[i] ?? '', f]));
      writeFileSync(base.nodesFile, lines.map((l) =>
        (l.ip !== '' && !l.ip.startsWith('#') && l.fo ? `${l.ip} follower-only` : l.ip) + '\n').join(''));
      for (const cmd of ['leader', 'list', 'status'] as const) {
        const deb = runHelper('lvs', 'debian', base, [cmd]);
        const our = await ours(cmd);
        expect({ cmd, stdout: our.stdout, status: our.status }).toEqual({ cmd, stdout: deb.stdout, status: deb.status });
      }
    }), { numRuns: 40 });
  });

  it.each([
    ['all healthy', ['OK', 'OK', 'OK']],
    ['only unhealthy nodes', ['UNHEALTHY', 'UNHEALTHY', 'DISCONNECTED']],
    ['nobody usable', ['DISCONNECTED', 'DISABLED', 'STOPPED']],
  ])('built helper, one-shot, %s', (_name, flags) => {
    writeScenario(base, flags.map((f, i): [number, string, string] => [i, IPS[i] ?? '', f]));
    writeFileSync(base.nodesFile, `${IPS[0]} follower-only\n${IPS[1]}\n${IPS[2]}\n`);
    for (const cmd of ['leader', 'list', 'status']) {
      const deb = runHelper('lvs', 'debian', base, [cmd]);
      const our = runHelper('lvs', 'ours', base, [cmd]);
      expect([cmd, our.stdout, our.status]).toEqual([cmd, deb.stdout, deb.status]);
    }
  });

  it('ctdb printing nothing: exit 10 for every command, like Debian', async () => {
    writeScenario(base, [[0, IPS[0] ?? '', 'OK']]);
    writeFileSync(base.nodesFile, `${IPS[0]}\n`);
    for (const cmd of ['leader', 'list', 'status'] as const) {
      const deb = runHelper('lvs', 'debian', base, [cmd], { FAKE_CTDB_MODE: 'empty' });
      const our = await ours(cmd, 'empty');
      expect([cmd, our.stdout, our.status]).toEqual([cmd, deb.stdout, deb.status]);
      expect(our.status).toBe(10);
    }
  });

  it('missing nodes file and invalid options: exit 1 like Debian', () => {
    writeScenario(base, [[0, IPS[0] ?? '', 'OK']]);
    const missing = { CTDB_LVS_NODES: `${base.dir}/nope` };
    let deb = runHelper('lvs', 'debian', base, ['list'], missing);
    let our = runHelper('lvs', 'ours', base, ['list'], missing);
    expect([our.stdout, our.status]).toEqual([deb.stdout, deb.status]);
    expect(our.stderr).toContain(`LVS nodes file "${base.dir}/nope" not found`);
    writeFileSync(base.nodesFile, `${IPS[0]} sometimes\n`);
    deb = runHelper('lvs', 'debian', base, ['leader']);
    our = runHelper('lvs', 'ours', base, ['leader']);
    expect([our.stdout, our.status]).toEqual([deb.stdout, deb.status]);
    expect(our.stderr).toContain(`Invalid options "sometimes" in "${base.nodesFile}" line 1`);
  });
});

describe('ctdb_lvs on its own', () => {
  it('--help prints usage and exits 0', () => {
    const r = runHelper('lvs', 'ours', base, ['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Usage: ctdb_lvs/);
  });

  it('a failing ctdb: clear error, exit 10', () => {
    writeFileSync(base.nodesFile, `${IPS[0]}\n`);
    for (const cmd of ['leader', 'list', 'status']) {
      const r = runHelper('lvs', 'ours', base, [cmd], { FAKE_CTDB_MODE: 'fail' });
      expect([cmd, r.stdout, r.status]).toEqual([cmd, '', 10]);
      expect(r.stderr).toContain('Unable to get status of nodes');
    }
  });

  it('a hanging ctdb is killed at the deadline (exit 10)', () => {
    writeFileSync(base.nodesFile, `${IPS[0]}\n`);
    const r = runHelper('lvs', 'ours', base, ['--timeout=0.5', 'list'], { FAKE_CTDB_MODE: 'hang' });
    expect(r.status).toBe(10);
    expect(r.stderr).toContain('did not finish within 0.5 s');
  });

  it('stdin: leader and list blocks', () => {
    writeScenario(base, [[0, IPS[0] ?? '', 'OK'], [1, IPS[1] ?? '', 'OK'], [2, IPS[2] ?? '', 'DISABLED']]);
    writeFileSync(base.nodesFile, `${IPS[0]} follower-only\n${IPS[1]}\n${IPS[2]}\n`);
    const r = runHelper('lvs', 'ours', base, [], {}, 'leader\nlist\n');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`1\n# status 0\n0 ${IPS[0]}\n1 ${IPS[1]}\n# status 0\n`);
  });
});
