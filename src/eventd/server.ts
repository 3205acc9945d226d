import { statSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { stat, unlink, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { CtdbError, Errno } from '../common/errors.js';
import { logger } from '../common/log.js';
import { componentAccepts, isKnownEvent, isValidComponent } from './events.js';
import {
  EventCmd, EventFramer, RunFlag, ScriptAction, decodeEventRequest, encodeEventReply, framePacket, openPacket,
  type EventReply, type EventRequest, type RunRequest, type ScriptStatus,
} from './protocol.js';
import { runEvent } from './runner.js';
import { listScripts, setScriptEnabled } from './scripts.js';

/** Settings of one event daemon. */
export interface EventDaemonOptions {
  /** Configuration folder; components are the folders under `<ctdbBase>/events/`. */
  ctdbBase: string;
  /** Hung-script debug hook (absolute path, or bare name resolved in ctdbBase). */
  debugScript?: string;
  /** Extra environment for scripts (CTDB_BASE is always set). */
  env?: NodeJS.ProcessEnv;
  outputLimit?: number;
  debugTimeoutMs?: number;
  log?: Logger;
}

/** Last result of one event in one component. */
export interface EventStatus { summary: number; scripts: ScriptStatus[] }

interface Job { req: RunRequest; abort: AbortController; resolve: (result: number) => void }
interface ComponentState { running?: Job; queue: Job[]; status: Map<string, EventStatus> }

/** Maps an event summary to the RUN reply result CTDB 4.17 sends (positive errno). */
export function wireRunResult(summary: number): number {
  if (summary === 0) return 0;
  if (summary === -Errno.ETIMEDOUT || summary === -Errno.ECANCELED || summary === -Errno.ENOENT || summary === -Errno.EINVAL) return -summary;
  return Errno.ENOEXEC;
}

/** Longest output excerpt written to the log for a failing script. */
const LOG_OUTPUT_MAX = 1000;

/**
 * The event daemon's logic, independent of sockets: runs events one at a
 * time per component with CTDB's monitor-cancel rules and keeps the last
 * status of every event. `handle` never throws; errors become results.
 */
export class EventDaemon {
  private readonly components = new Map<string, ComponentState>();
  private readonly log: Logger;
  private readonly debugScript?: string;

  constructor(private readonly opts: EventDaemonOptions) {
    this.log = opts.log ?? logger('eventd');
    const d = opts.debugScript;
    this.debugScript = d === undefined || d === '' ? undefined : d.includes('/') ? d : join(opts.ctdbBase, d);
  }

  private state(component: string): ComponentState {
    let s = this.components.get(component);
    if (!s) { s = { queue: [], status: new Map() }; this.components.set(component, s); }
    return s;
  }

  private componentDir(component: string): string { return join(this.opts.ctdbBase, 'events', component); }

  private componentExistsNow(component: string): boolean {
    if (!isValidComponent(component)) return false;
    try { return statSync(this.componentDir(component)).isDirectory(); } catch { return false; }
  }

  private async componentExists(component: string): Promise<boolean> {
    if (!isValidComponent(component)) return false;
    try { return (await stat(this.componentDir(component))).isDirectory(); } catch { return false; }
  }

  /** Answers one request. */
  async handle(req: EventRequest): Promise<EventReply> {
    try {
      switch (req.cmd) {
        case EventCmd.RUN: return { cmd: req.cmd, result: wireRunResult(await this.run(req)) };
        case EventCmd.STATUS: return this.status(req.component, req.event);
        case EventCmd.SCRIPT: return { cmd: req.cmd, result: -(await this.script(req.component, req.script, req.action)) };
      }
    } catch (err) {
      this.log.error({ err }, 'request failed');
      return { cmd: req.cmd, result: Errno.EIO };
    }
  }

  /**
   * Runs an event and resolves with its summary: 0, a script's exit code,
   * or a negative errno (-ENOENT no component, -EINVAL unknown event,
   * -ETIMEDOUT, -ECANCELED, -EINTR). Exposed for in-process use and tests.
   */
  runEvent(component: string, event: string, args: string[], timeoutSec: number, flags = 0): Promise<number> {
    return this.run({ cmd: EventCmd.RUN, component, event, args: args.join(' '), timeout: timeoutSec, flags });
  }

  /** Last status of an event, or undefined when it never ran. */
  lastStatus(component: string, event: string): EventStatus | undefined {
    return this.components.get(component)?.status.get(event);
  }

  private async run(req: RunRequest): Promise<number> {
    const { component, event } = req;
    if (!isKnownEvent(event)) {
      this.log.warn({ eventComponent: component, event }, 'refusing unknown event');
      return -Errno.EINVAL;
    }
    // Checked synchronously: an await here would let a later request overtake this one
    // and events must run in the order they arrived.
    if (!this.componentExistsNow(component)) {
      this.log.warn({ eventComponent: component, event }, 'event folder for component does not exist');
      return -Errno.ENOENT;
    }
    if (!componentAccepts(component, event)) {
      this.log.warn({ eventComponent: component, event }, 'component does not take this event');
      return -Errno.EINVAL;
    }
    const st = this.state(component);
    if (event === 'monitor') {
      const busy = (st.running && st.running.req.event !== 'monitor') || st.queue.some((j) => j.req.event !== 'monitor');
      if (busy) {
        this.log.info({ eventComponent: component }, 'monitor refused while another event runs');
        return -Errno.ECANCELED;
      }
    }
    // Any new event pre-empts a monitor, running or queued.
    if (st.running?.req.event === 'monitor') {
      this.log.info({ eventComponent: component, by: event }, 'cancelling running monitor');
      st.running.abort.abort();
    }
    for (const j of st.queue.filter((q) => q.req.event === 'monitor')) {
      st.queue.splice(st.queue.indexOf(j), 1);
      j.resolve(-Errno.ECANCELED);
    }
    return new Promise<number>((resolve) => {
      st.queue.push({ req, abort: new AbortController(), resolve });
      this.pump(component);
    });
  }

  private pump(component: string): void {
    const st = this.state(component);
    if (st.running) return;
    const job = st.queue.shift();
    if (!job) return;
    st.running = job;
    void this.execute(component, job).then((result) => {
      st.running = undefined;
      job.resolve(result);
      this.pump(component);
    });
  }

  private async execute(component: string, job: Job): Promise<number> {
    const { event } = job.req;
    const log = this.log.child({ eventComponent: component, event });
    let scripts;
    try {
      scripts = await listScripts(this.componentDir(component));
    } catch {
      log.warn('event folder vanished');
      return -Errno.ENOENT;
    }
    const args = job.req.args.trim() === '' ? [] : job.req.args.trim().split(/\s+/);
    log.debug({ args, timeout: job.req.timeout }, 'running event');
    const res = await runEvent({
      scripts, event, args,
      timeoutMs: job.req.timeout * 1000,
      // Deliberate difference from CTDB 4.17: monitor always runs every script.
      runAll: event === 'monitor' || (job.req.flags & RunFlag.RUN_ALL) !== 0,
      signal: job.abort.signal,
      env: { ...process.env, ...this.opts.env, CTDB_BASE: this.opts.ctdbBase },
      debugScript: this.debugScript,
      debugTimeoutMs: this.opts.debugTimeoutMs,
      outputLimit: this.opts.outputLimit,
      onDebugOutput: (script, pid, output, result) =>
        log.error({ script, pid, result, output: output.slice(0, 4 * LOG_OUTPUT_MAX) }, 'debug script output for hung script'),
    });
    for (const s of res.scripts) {
      if (s.result === 0 || s.result === -Errno.ENOMSG) continue;
      if (s.result === -Errno.ENOEXEC) { if (s.output) log.warn({ script: s.name, problem: s.output }, 'script cannot run'); continue; }
      log.warn({ script: s.name, result: s.result, output: s.output.slice(0, LOG_OUTPUT_MAX) }, 'event script failed');
    }
    if (res.summary === -Errno.ECANCELED) {
      log.info('event cancelled; previous status kept');
      return res.summary;
    }
    this.state(component).status.set(event, res);
    return res.summary;
  }

  private async status(component: string, event: string): Promise<EventReply> {
    if (!(await this.componentExists(component))) return { cmd: EventCmd.STATUS, result: Errno.ENOENT };
    const s = this.components.get(component)?.status.get(event);
    if (!s) return { cmd: EventCmd.STATUS, result: Errno.EINVAL };
    return { cmd: EventCmd.STATUS, result: 0, status: s };
  }

  private async script(component: string, script: string, action: number): Promise<number> {
    if (!(await this.componentExists(component))) return -Errno.ENOENT;
    try {
      await setScriptEnabled(this.componentDir(component), script, action === ScriptAction.ENABLE);
      this.log.info({ eventComponent: component, script, enable: action === ScriptAction.ENABLE }, 'script state changed');
      return 0;
    } catch (err) {
      const code = err instanceof CtdbError ? err.code : (err as NodeJS.ErrnoException).code ?? 'EIO';
      return -((Errno as Record<string, number>)[code] ?? Errno.EIO);
    }
  }

  /** Cancels everything queued or running (daemon shutdown). */
  cancelAll(): void {
    for (const st of this.components.values()) {
      for (const j of st.queue.splice(0)) j.resolve(-Errno.ECANCELED);
      st.running?.abort.abort();
    }
  }
}

/**
 * Serves an EventDaemon on a Unix socket. A malformed packet drops that
 * connection only. Returns a function that closes the server.
 */
export async function serveEventd(daemon: EventDaemon, socketPath: string, log: Logger = logger('eventd')): Promise<{ server: Server; close(): Promise<void> }> {
  try { await unlink(socketPath); } catch { /* not there */ }
  const conns = new Set<Socket>();
  const server = createServer((sock) => {
    conns.add(sock);
    const framer = new EventFramer();
    sock.on('close', () => conns.delete(sock));
    sock.on('error', (err) => log.debug({ err }, 'client socket error'));
    sock.on('data', (chunk: Buffer) => {
      let pkts: Buffer[];
      try { pkts = framer.push(chunk); } catch (err) { log.warn({ err }, 'bad packet, dropping client'); sock.destroy(); return; }
      for (const pkt of pkts) {
        let reqid: number; let req: EventRequest;
        try {
          const p = openPacket(pkt); reqid = p.reqid; req = decodeEventRequest(p.body);
        } catch (err) { log.warn({ err }, 'undecodable request, dropping client'); sock.destroy(); return; }
        void daemon.handle(req).then((reply) => {
          if (!sock.destroyed) sock.write(framePacket(reqid, encodeEventReply, reply));
        });
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new CtdbError('EADDRINUSE', `cannot listen on ${socketPath}`, { cause: err })));
    server.listen(socketPath, () => resolve());
  });
  await chmod(socketPath, 0o600).catch(() => undefined);
  return {
    server,
    close: async () => {
      daemon.cancelAll();
      for (const c of conns) c.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await unlink(socketPath).catch(() => undefined);
    },
  };
}
