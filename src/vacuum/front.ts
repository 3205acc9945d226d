/**
 * Starting vacuum runs from outside the daemon (cron, `ctdb vacuum`): each
 * run is a DB_VACUUM control, so the daemon hands over its delete queue and
 * runs the worker; runs on several nodes go in parallel.
 */
import type { CtdbClient } from '../client/client.js';
import { findDb, getDbName, getDbmap, type DbInfo } from '../client/db.js';
import { CtdbError } from '../common/errors.js';
import { DbFlag } from '../protocol/constants.js';
import { Opcode } from '../protocol/opcodes.js';

/** DB_VACUUM request: u32 db_id, bool full_vacuum_run (padded to 8). */
export function encodeDbVacuum(dbId: number, full: boolean): Buffer {
  const b = Buffer.alloc(8); b.writeUInt32LE(dbId >>> 0, 0); b.writeUInt8(full ? 1 : 0, 4);
  return b;
}

/** Decodes DB_VACUUM; throws CtdbError EINVAL when short or the bool is not 0/1. */
export function decodeDbVacuum(data: Buffer): { dbId: number; full: boolean } {
  if (data.length < 5) throw new CtdbError('EINVAL', `DB_VACUUM data of ${data.length} bytes, need 5`);
  const f = data.readUInt8(4);
  if (f > 1) throw new CtdbError('EINVAL', `DB_VACUUM full flag ${f} is not a bool`);
  return { dbId: data.readUInt32LE(0), full: f === 1 };
}

/**
 * The volatile databases named by `args` (names or 0x ids) on node `pnn`, or
 * all of them when `args` is empty. Throws ENOENT for an unknown name and
 * EINVAL for a persistent database.
 */
export async function volatileDbs(c: CtdbClient, pnn: number, args: string[], timeoutMs: number): Promise<DbInfo[]> {
  const o = { timeoutMs };
  if (args.length === 0) {
    const all = (await getDbmap(c, pnn, o)).filter((e) => (e.flags & (DbFlag.PERSISTENT | DbFlag.REPLICATED)) === 0);
    return Promise.all(all.map(async (e) => ({ id: e.dbId, name: await getDbName(c, pnn, e.dbId, o), flags: e.flags })));
  }
  const out: DbInfo[] = [];
  for (const a of args) {
    const db = await findDb(c, pnn, a, o);
    if (db.flags & (DbFlag.PERSISTENT | DbFlag.REPLICATED)) throw new CtdbError('EINVAL', `database ${db.name} is not volatile: only volatile databases are vacuumed`);
    out.push(db);
  }
  return out;
}

/**
 * Runs DB_VACUUM for `dbId` on every node of `nodes` in parallel; throws EIO
 * naming the failed nodes, or ECANCELED when every failed run was stopped by
 * a recovery (generation change).
 */
export async function vacuumOnNodes(c: CtdbClient, nodes: number[], dbId: number, full: boolean, timeoutMs: number): Promise<void> {
  const res = await Promise.all(nodes.map((pnn) => c.control(pnn, Opcode.DB_VACUUM, encodeDbVacuum(dbId, full), { timeoutMs })
    .catch((err: unknown) => ({ status: -1, errmsg: err instanceof Error ? err.message : String(err), data: Buffer.alloc(0) }))));
  const bad = res.map((r, i) => ({ r, pnn: nodes[i]! })).filter((x) => x.r.status !== 0);
  if (bad.length > 0) {
    // Runs that met a recovery stopped cleanly: report that, not a failure.
    const code = bad.every((b) => /aborted: generation changed|recovery in progress/.test(b.r.errmsg)) ? 'ECANCELED' : 'EIO';
    throw new CtdbError(code, bad.map((b) => `vacuum failed on node ${b.pnn}: ${b.r.errmsg || `status ${b.r.status}`}`).join('; '));
  }
}
