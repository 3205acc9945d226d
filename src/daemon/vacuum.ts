/**
 * Daemon side of vacuuming: the delete queue (fed by SCHEDULE_FOR_DELETION
 * and by records fetched here for deletion), the VacuumInterval timer, and
 * the controls that start a run (DB_VACUUM), migrate records to their
 * lmaster (VACUUM_FETCH) and delete remote copies (TRY_DELETE_RECORDS). The
 * work itself runs in `ctdb_vacuum` child processes, never on this event loop.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { oneLine } from '../common/errors.js';
import { Reader } from '../protocol/buffer.js';
import { CallFlag, CallId, DbFlag, NodeFlag, Operation, RecMode } from '../protocol/constants.js';
import { Opcode } from '../protocol/opcodes.js';
import { decodeDbidMap, decodeKeyData, decodeRecBuffer, type LtdbHeader } from '../protocol/payloads.js';
import { decodeDbVacuum } from '../vacuum/front.js';
import { encodeQueue } from '../vacuum/worker.js';
import type { ControlReply } from './controls.js';
import type { Ctdbd } from './ctdbd.js';
import { helperEnv } from '../common/helper-env.js';

interface QueueEntry { key: Buffer; header?: LtdbHeader }

/** reqids of our vacuum-migration REQ_CALLs: below the call engine's range, so no reply is ever matched. */
let fetchReqid = 0x08000000;

/** Plugs vacuuming into the daemon. */
export function attachVacuum(d: Ctdbd): void {
  const log = d.log.child({ component: 'vacuum' });
  const queues = new Map<number, Map<string, QueueEntry>>();
  const running = new Map<number, Promise<ControlReply>>();
  const runs = new Map<number, number>();
  const enqueue = (dbId: number, e: QueueEntry): void => {
    let q = queues.get(dbId);
    if (!q) { q = new Map(); queues.set(dbId, q); }
    q.set(e.key.toString('latin1'), e);
  };
  const script = (): string => join(d.opts.paths.helperDir, 'ctdb_vacuum.js');

  /** Runs the helper with `input` on stdin; resolves with its exit code, stdout and last stderr line. */
  const runHelper = (args: string[], input: Buffer, timeoutMs: number): Promise<{ code: number; out: Buffer; err: string }> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [script(), ...args], {
        stdio: ['pipe', 'pipe', 'pipe'], env: helperEnv({ CTDB_SOCKET: d.opts.paths.socket }),
      });
      const out: Buffer[] = []; let err = '';
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => { err = (err + b.toString()).slice(-2000); });
      child.stdin.on('error', () => {});
      child.stdin.end(input);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('error', (e) => { err = oneLine(e); });
      child.once('close', (code) => {
        clearTimeout(timer);
        const last = err.trim().split('\n').filter((l) => !l.startsWith('{')).pop() ?? '';
        resolve({ code: code ?? -1, out: Buffer.concat(out), err: last });
      });
    });

  /** One run over `dbId` (at most one at a time per database). */
  const vacuumDb = (dbId: number, full: boolean): Promise<ControlReply> => {
    const busy = running.get(dbId);
    if (busy) return busy;
    const q = queues.get(dbId);
    queues.delete(dbId);
    const entries = q ? [...q.values()] : [];
    const args = ['--worker', `0x${dbId.toString(16)}`, ...(full ? ['--full'] : [])];
    const timeoutMs = Math.max(1, d.tunable('VacuumMaxRunTime') || 120) * 1000;
    const p = runHelper(args, encodeQueue(dbId, entries), timeoutMs).then((r): ControlReply => {
      if (r.code === 0) { log.info({ result: r.out.toString().trim() }, 'vacuum run done'); return { status: 0 }; }
      // A failed run hands nothing back itself: keep its queue for the next one.
      for (const e of entries) if (!queues.get(dbId)?.has(e.key.toString('latin1'))) enqueue(dbId, e);
      log.warn({ dbId, code: r.code, err: r.err }, 'vacuum run failed');
      return { status: -1, errmsg: r.err || `vacuum helper exited with ${r.code}` };
    }).finally(() => running.delete(dbId));
    running.set(dbId, p);
    return p;
  };

  // Store rule: the call engine stored an empty record this node is dmaster of.
  d.databases.onScheduleForDeletion = (dbId, key, header) => enqueue(dbId, { key, header });

  d.registerControl(Opcode.SCHEDULE_FOR_DELETION, (req) => {
    const k = decodeKeyData(new Reader(req.data));
    enqueue(k.dbId, { key: Buffer.from(k.key), header: k.header });
    return { status: 0 };
  });

  d.registerControl(Opcode.DB_VACUUM, async (req) => {
    let v;
    try { v = decodeDbVacuum(req.data); } catch (err) { return { status: -1, errmsg: oneLine(err) }; }
    return vacuumDb(v.dbId, v.full);
  });

  // The vacuuming node asks us (its records' lmaster) to pull empty records here.
  d.registerControl(Opcode.VACUUM_FETCH, (req) => {
    let buf;
    try { buf = decodeRecBuffer(new Reader(req.data)); } catch (err) { return { status: -1, errmsg: oneLine(err) }; }
    const from = req.srcnode;
    for (const r of buf.records) {
      const key = Buffer.from(r.key);
      fetchReqid = fetchReqid >= 0x0fffffff ? 0x08000000 : fetchReqid + 1;
      if (from !== d.pnn) {
        d.sendToNode(from, {
          operation: Operation.REQ_CALL, generation: d.vnnmap.generation, destnode: from, srcnode: d.pnn, reqid: fetchReqid,
          flags: CallFlag.IMMEDIATE_MIGRATION | CallFlag.VACUUM_MIGRATION, dbId: buf.dbId, callId: CallId.NULL_FUNC,
          hopcount: 0, key, callData: Buffer.alloc(0),
        });
      }
      // Once here it is ours to delete: the next run picks it up whatever its rsn.
      enqueue(buf.dbId, { key });
    }
    return { status: 0 };
  });

  d.registerControl(Opcode.TRY_DELETE_RECORDS, async (req) => {
    const r = await runHelper(['--try-delete'], req.data, Math.max(1, d.tunable('ControlTimeout') || 60) * 1000);
    return r.code === 0 ? { status: 0, data: r.out } : { status: -1, errmsg: r.err || `try-delete helper exited with ${r.code}` };
  });

  // The VacuumInterval timer: a fast run per database with queued deletions, a full run every VacuumFastPathCount runs.
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async (): Promise<void> => {
    const interval = d.tunable('VacuumInterval');
    if (interval > 0 && d.recmode === RecMode.NORMAL && (d.membership.ownFlags & NodeFlag.INACTIVE) === 0) {
      const map = await d.sendControl(d.pnn, Opcode.GET_DBMAP, Buffer.alloc(0), 5000);
      const dbs = map.status === 0 && map.data ? decodeDbidMap(new Reader(map.data)).dbs : [];
      const every = Math.max(1, d.tunable('VacuumFastPathCount') || 60);
      for (const db of dbs) {
        if (stopped || d.recmode !== RecMode.NORMAL) break;
        if (db.flags & (DbFlag.PERSISTENT | DbFlag.REPLICATED)) continue;
        const n = (runs.get(db.dbId) ?? 0) + 1;
        runs.set(db.dbId, n);
        const full = n % every === 0;
        if (!full && !(queues.get(db.dbId)?.size)) continue;
        await vacuumDb(db.dbId, full);
      }
    }
    if (!stopped) timer = setTimeout(() => { void tick(); }, Math.max(1, interval || 10) * 1000);
  };
  timer = setTimeout(() => { void tick(); }, Math.max(1, d.tunable('VacuumInterval') || 10) * 1000);
  d.onStop(() => { stopped = true; if (timer) clearTimeout(timer); });
}
