import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { EventdClient } from '../../src/eventd/client.js';
import { EventDaemon, serveEventd } from '../../src/eventd/server.js';

export const FIXTURES = resolve(__dirname, '../fixtures/eventd');
export const REPO = resolve(__dirname, '../..');

/** A script to place in a component folder. */
export type ScriptSpec =
  | { fixture: string; mode?: number }
  | { link: string };

/** A temporary CTDB_BASE with an event daemon served on a socket. */
export interface TestEventd {
  base: string;
  socket: string;
  log: string;
  daemon: EventDaemon;
  client: EventdClient;
  /** Lines the record/fail/hang fixtures appended. */
  ran(): string[];
  close(): Promise<void>;
}

/** Writes scripts into `<base>/events/<component>/`. */
export function addScripts(base: string, component: string, scripts: Record<string, ScriptSpec>): void {
  const dir = join(base, 'events', component);
  mkdirSync(dir, { recursive: true });
  for (const [name, spec] of Object.entries(scripts)) {
    const path = join(dir, `${name}.script`);
    if ('link' in spec) { symlinkSync(spec.link, path); continue; }
    copyFileSync(join(FIXTURES, spec.fixture), path);
    chmodSync(path, spec.mode ?? 0o755);
  }
}

/** Creates a base with the given components and starts a daemon on it. */
export async function startTestEventd(components: Record<string, Record<string, ScriptSpec>>,
  opts: { debugScript?: string; outputLimit?: number } = {}): Promise<TestEventd> {
  const base = mkdtempSync(join(tmpdir(), 'eventd-test-'));
  copyFileSync(join(REPO, 'events/functions'), join(base, 'functions'));
  for (const [c, scripts] of Object.entries(components)) addScripts(base, c, scripts);
  const log = join(base, 'ran.log');
  const socket = join(base, 'eventd.socket');
  const daemon = new EventDaemon({
    ctdbBase: base, env: { EVENTD_TEST_LOG: log }, debugScript: opts.debugScript,
    outputLimit: opts.outputLimit, debugTimeoutMs: 5000, log: pino({ level: 'silent' }),
  });
  const served = await serveEventd(daemon, socket, pino({ level: 'silent' }));
  const client = await EventdClient.connect(socket, { timeoutMs: 20_000 });
  return {
    base, socket, log, daemon, client,
    ran: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter((l) => l !== '') : []),
    close: async () => {
      client.close();
      await served.close();
      for (const f of ['.hang-pid', '.child-pid', '.bg-pid']) {
        if (!existsSync(log + f)) continue;
        const pid = Number(readFileSync(log + f, 'utf8'));
        try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      }
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/** True when process `pid` exists and is not a zombie (PID 1 in a container may never reap). */
export function alive(pid: number): boolean {
  try { process.kill(pid, 0); } catch { return false; }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch { return false; }
}
