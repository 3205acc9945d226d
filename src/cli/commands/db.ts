import { readFileSync, writeFileSync } from 'node:fs';
import {
  ClusterDb, attachDb, dbControl, findDb, getDbHealth, getDbPath, getDbSeqnum, getDbStatistics, getDbmap, getDbName,
  persistentTransaction, traverseDb, type DbInfo, type DbKindName,
} from '../../client/db.js';
import { checked, getNodemap, getTunable, getVnnmap } from '../../client/controls.js';
import { CtdbError } from '../../common/errors.js';
import { formatDbStatistics, formatDbStatus, formatDbmap, formatDbmapMachine, formatRecord, parseDatum, parsePtrans, type DbRow } from '../../db/db-format.js';
import { decodeRecordValue, encodeRecordValue } from '../../db/ltdb.js';
import { TdbFile } from '../../db/tdb.js';
import { Reader, writeAll } from '../../protocol/buffer.js';
import { DbFlag, NodeFlag } from '../../protocol/constants.js';
import { Opcode } from '../../protocol/opcodes.js';
import {
  BACKUP_VERSION, decodeBackupFile, encodeBackupFile, encodePulldbExt, encodeRecBuffer, encodeTransdb, type RecData,
} from '../../protocol/payloads.js';
import { command, type Command } from '../command.js';
import type { CliContext } from '../context.js';

const o = (ctx: CliContext) => ({ timeoutMs: ctx.timeoutMs });
const u32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b; };
/** The tool's reply srvids: 0xCE01 | (pid & 0xffff) << 16 | counter. */
let srvidCounter = 0;
const toolSrvid = (): bigint => 0xCE01000000000000n | (BigInt(process.pid & 0xffff) << 16n) | BigInt(++srvidCounter);

/**
 * A one-line progress display on stderr for long operations. Only on a
 * terminal (and never in machine-readable mode); redrawn at most every 100 ms
 * and erased when done, so pipes and scripts see nothing.
 */
class Progress {
  private last = 0;
  private shown = false;
  private readonly on: boolean;
  constructor(private readonly label: string, private readonly total: number | undefined, ctx: CliContext) {
    this.on = process.stderr.isTTY === true && !ctx.opts.machine;
  }
  update(done: number): void {
    if (!this.on) return;
    const now = Date.now();
    if (now - this.last < 100) return;
    this.last = now;
    this.shown = true;
    let text = `${this.label}: ${done}`;
    if (this.total) {
      const width = 30;
      const filled = Math.min(width, Math.round((done / this.total) * width));
      text = `${this.label} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${this.total}`;
    }
    process.stderr.write(`\r${text}\x1b[K`);
  }
  done(): void { if (this.shown) process.stderr.write('\r\x1b[K'); }
}

async function row(ctx: CliContext, id: number, flags: number, name?: string): Promise<DbRow> {
  const c = await ctx.client();
  return {
    id, flags, name: name ?? await getDbName(c, ctx.target, id, o(ctx)),
    path: await getDbPath(c, ctx.target, id, o(ctx)), health: await getDbHealth(c, ctx.target, id, o(ctx)),
  };
}

async function find(ctx: CliContext, arg: string): Promise<DbInfo> {
  return findDb(await ctx.client(), ctx.target, arg, o(ctx));
}

/** Opens a volatile DB for record access on the local node; refuses persistent ones with CTDB's text. */
async function openDb(ctx: CliContext, arg: string, want: 'volatile' | 'persistent'): Promise<ClusterDb> {
  const info = await findDb(await ctx.client(), ctx.myPnn, arg, o(ctx));
  const persistent = (info.flags & (DbFlag.PERSISTENT | DbFlag.REPLICATED)) !== 0;
  if (want === 'volatile' && persistent) throw new CtdbError('EINVAL', `DB ${info.name} is not a volatile database`, { exitCode: 1 });
  if (want === 'persistent' && !(info.flags & DbFlag.PERSISTENT)) throw new CtdbError('EINVAL', `Transactions not supported on DB ${info.name}`, { exitCode: 1 });
  return ClusterDb.open(await ctx.client(), info, o(ctx));
}

async function activeNodes(ctx: CliContext): Promise<number[]> {
  const nm = await getNodemap(await ctx.client(), ctx.myPnn, o(ctx));
  return nm.nodes.filter((n) => (n.flags & NodeFlag.INACTIVE) === 0).map((n) => n.pnn);
}

const attach = command({
  name: 'attach', args: '<dbname> [persistent|replicated]', help: 'attach a database', minArgs: 1, maxArgs: 2, remote: false,
  async run(ctx, [name, kind]) {
    if (kind !== undefined && kind !== 'persistent' && kind !== 'replicated') {
      throw new CtdbError('EINVAL', `Invalid database type '${kind}'; use persistent or replicated`, { exitCode: 1 });
    }
    await attachDb(await ctx.client(), ctx.target, name!, (kind ?? 'volatile') as DbKindName, o(ctx));
    return 0;
  },
});

const detach = command({
  name: 'detach', args: '<dbname|dbid> ...', help: 'detach database(s)', minArgs: 1, maxArgs: 64, remote: false,
  async run(ctx, args) {
    const c = await ctx.client();
    const nodes = await activeNodes(ctx);
    for (const pnn of nodes) {
      if ((await getTunable(c, pnn, 'AllowClientDBAttach', o(ctx))) !== 0) {
        ctx.err(`Database access is still active on node ${pnn}. Set AllowclientDBAttach=0 on all nodes.\n`);
        return 1;
      }
    }
    let rc = 0;
    for (const arg of args) {
      const info = await find(ctx, arg);
      if (info.flags & (DbFlag.PERSISTENT | DbFlag.REPLICATED)) { ctx.err('Only volatile databases can be detached\n'); rc = 1; continue; }
      for (const pnn of nodes) {
        const r = await c.control(pnn, Opcode.DB_DETACH, u32(info.id), o(ctx));
        if (r.status !== 0) { ctx.err(`Database ${info.name} detach failed\n`); rc = 1; break; }
      }
    }
    return rc;
  },
});

const getdbmap = command({
  name: 'getdbmap', help: 'show attached databases',
  async run(ctx) {
    const dbs = await getDbmap(await ctx.client(), ctx.target, o(ctx));
    const rows: DbRow[] = [];
    for (const d of dbs) rows.push(await row(ctx, d.dbId, d.flags));
    ctx.out(ctx.opts.machine ? formatDbmapMachine(rows, ctx.opts.separator) : formatDbmap(rows));
    return 0;
  },
});

const getdbstatus = command({
  name: 'getdbstatus', args: '<dbname|dbid>', help: 'show database status', minArgs: 1, maxArgs: 1,
  async run(ctx, [arg]) {
    const info = await find(ctx, arg!);
    ctx.out(formatDbStatus(await row(ctx, info.id, info.flags, info.name)));
    return 0;
  },
});

const getdbseqnum = command({
  name: 'getdbseqnum', args: '<dbname|dbid>', help: 'get database sequence number', minArgs: 1, maxArgs: 1,
  async run(ctx, [arg]) {
    const info = await find(ctx, arg!);
    ctx.out(`0x${(await getDbSeqnum(await ctx.client(), ctx.target, info.id, o(ctx))).toString(16)}\n`);
    return 0;
  },
});

const dbstatistics = command({
  name: 'dbstatistics', args: '<dbname|dbid>', help: 'show database statistics', minArgs: 1, maxArgs: 1,
  async run(ctx, [arg]) {
    const info = await find(ctx, arg!);
    ctx.out(formatDbStatistics(info.name, await getDbStatistics(await ctx.client(), ctx.target, info.id, o(ctx))));
    return 0;
  },
});

const flagCommand = (name: string, help: string, opcode: number): Command => command({
  name, args: '<dbname|dbid>', help, minArgs: 1, maxArgs: 1,
  async run(ctx, [arg]) {
    const info = await find(ctx, arg!);
    if (info.flags & (DbFlag.PERSISTENT | DbFlag.REPLICATED)) {
      ctx.err(`Cannot set ${name === 'setdbreadonly' ? 'READONLY' : 'STICKY'} on persistent database ${info.name}\n`);
      return 1;
    }
    const c = await ctx.client();
    for (const pnn of await activeNodes(ctx)) await dbControl(c, pnn, opcode, info.id, o(ctx));
    return 0;
  },
});

const readkey = command({
  name: 'readkey', args: '<dbname|dbid> <key> [readonly]', help: 'read value of a database key', minArgs: 2, maxArgs: 3, remote: false,
  async run(ctx, [arg, key, mode]) {
    if (mode !== undefined && mode !== 'readonly') { ctx.err(`readkey: third argument must be 'readonly', got '${mode}'\n`); return 1; }
    const db = await openDb(ctx, arg!, 'volatile');
    try {
      let data: Buffer;
      if (mode === 'readonly') {
        data = (await db.fetchReadonly(parseDatum(key!), o(ctx))).data;
      } else {
        const rec = await db.fetchLock(parseDatum(key!), o(ctx));
        rec.release();
        data = rec.data;
      }
      ctx.out(`Data: size:${data.length} ptr:[${data.toString('latin1')}]\n`);
      return 0;
    } finally { db.close(); }
  },
});

const writekey = command({
  name: 'writekey', args: '<dbname|dbid> <key> <value>', help: 'write value for a database key', minArgs: 3, maxArgs: 3, remote: false,
  async run(ctx, [arg, key, value]) {
    const db = await openDb(ctx, arg!, 'volatile');
    try {
      const rec = await db.fetchLock(parseDatum(key!), o(ctx));
      try { rec.store(parseDatum(value!)); } finally { rec.release(); }
      return 0;
    } finally { db.close(); }
  },
});

const deletekey = command({
  name: 'deletekey', args: '<dbname|dbid> <key>', help: 'delete a database key', minArgs: 2, maxArgs: 2, remote: false,
  async run(ctx, [arg, key]) {
    const db = await openDb(ctx, arg!, 'volatile');
    try {
      const k = parseDatum(key!);
      const rec = await db.fetchLock(k, o(ctx));
      try { await rec.delete(o(ctx)); } finally { rec.release(); }
      return 0;
    } finally { db.close(); }
  },
});

const cattdb = command({
  name: 'cattdb', args: '<dbname|dbid>', help: 'dump local ctdb database', minArgs: 1, maxArgs: 1, remote: false,
  async run(ctx, [arg]) {
    const info = await find(ctx, arg!);
    const db = await ClusterDb.open(await ctx.client(), info, o(ctx));
    try {
      let n = 0;
      db.tdb.traverse((key, value) => {
        const rec = decodeRecordValue(value);
        if (!rec) return;
        n++;
        ctx.out(formatRecord(key, rec.header, rec.data));
      }, { readOnly: true });
      ctx.out(`Dumped ${n} record(s)\n`);
      return 0;
    } finally { db.close(); }
  },
});

const catdb = command({
  name: 'catdb', args: '<dbname|dbid>', help: 'dump cluster-wide ctdb database', minArgs: 1, maxArgs: 1,
  async run(ctx, [arg]) {
    const info = await find(ctx, arg!);
    const c = await ctx.client();
    const bar = new Progress('catdb', undefined, ctx);
    let seen = 0;
    const n = await traverseDb(c, ctx.target, info.id, toolSrvid(), (rec) => {
      const r = decodeRecordValue(rec.data);
      if (r) ctx.out(formatRecord(rec.key, r.header, r.data));
      bar.update(++seen);
    }, { timeoutMs: Math.max(ctx.timeoutMs, 120_000) });
    bar.done();
    ctx.out(`Dumped ${n} records\n`);
    return 0;
  },
});

const pfetch = command({
  name: 'pfetch', args: '<dbname|dbid> <key> [<file>]', help: 'fetch a value from a persistent database', minArgs: 2, maxArgs: 3, remote: false,
  async run(ctx, [arg, key, file]) {
    const db = await openDb(ctx, arg!, 'persistent');
    try {
      const rec = db.read(parseDatum(key!));
      const data = rec?.data ?? Buffer.alloc(0);
      if (file) writeFileSync(file, data);
      else ctx.out(`${data.toString('latin1')}\n`);
      return 0;
    } finally { db.close(); }
  },
});

/** Runs `changes` as one persistent transaction on `arg`. */
async function ptransaction(ctx: CliContext, arg: string, changes: { key: Buffer; data: Buffer | undefined }[]): Promise<void> {
  const db = await openDb(ctx, arg, 'persistent');
  try {
    await persistentTransaction(await ctx.client(), db, () => changes, o(ctx));
  } finally { db.close(); }
}

const pstore = command({
  name: 'pstore', args: '<dbname|dbid> <key> <value>', help: 'write value for a persistent database key', minArgs: 3, maxArgs: 3, remote: false,
  async run(ctx, [arg, key, value]) {
    await ptransaction(ctx, arg!, [{ key: parseDatum(key!), data: parseDatum(value!) }]);
    return 0;
  },
});

const pdelete = command({
  name: 'pdelete', args: '<dbname|dbid> <key>', help: 'delete a persistent database key', minArgs: 2, maxArgs: 2, remote: false,
  async run(ctx, [arg, key]) {
    await ptransaction(ctx, arg!, [{ key: parseDatum(key!), data: undefined }]);
    return 0;
  },
});

const ptrans = command({
  name: 'ptrans', args: '<dbname|dbid> [<file>]', help: 'update a persistent database (from file or stdin)', minArgs: 1, maxArgs: 2, remote: false,
  async run(ctx, [arg, file]) {
    let text: string;
    try { text = file !== undefined ? readFileSync(file, 'utf8') : await readStdin(); } catch (err) {
      throw new CtdbError('ENOENT', `ptrans: cannot read ${file ?? 'stdin'}: ${(err as Error).message}`, { exitCode: 1 });
    }
    const entries = parsePtrans(text);
    await ptransaction(ctx, arg!, entries.map((e) => ({ key: e.key, data: e.value.length > 0 ? e.value : undefined })));
    return 0;
  },
});

const tfetch = command({
  name: 'tfetch', args: '<tdb-file> <key> [<outfile>]', help: 'fetch a key from a tdb file', minArgs: 2, maxArgs: 3, daemon: false, remote: false,
  async run(ctx, [path, key, outfile]) {
    const tdb = openRaw(path!, false);
    try {
      const v = tdb.fetch(parseDatum(key!));
      if (v === undefined) { ctx.err(`No record for key ${key}\n`); return 1; }
      if (outfile) { writeFileSync(outfile, v); return 0; }
      const rec = decodeRecordValue(v);
      if (!rec) { ctx.err(`Record for key ${key} has no ltdb header\n`); return 1; }
      ctx.out(formatRecord(Buffer.alloc(0), rec.header, rec.data).replace(/^key\(0\) = ""\n/, '').replace(/\n\n$/, '\n'));
      return 0;
    } finally { tdb.close(); }
  },
});

const tstore = command({
  name: 'tstore', args: '<tdb-file> <key> <data> [<rsn> <dmaster> <flags>]', help: 'store a key in a tdb file', minArgs: 3, maxArgs: 6,
  daemon: false, remote: false,
  async run(_ctx, [path, key, data, rsn, dmaster, flags]) {
    const num = (s: string | undefined, what: string): number => {
      if (s === undefined) return 0;
      const v = Number(s);
      if (!Number.isInteger(v) || v < 0) throw new CtdbError('EINVAL', `Invalid ${what} '${s}'`, { exitCode: 1 });
      return v;
    };
    const header = { rsn: BigInt(num(rsn, 'rsn')), dmaster: num(dmaster, 'dmaster'), flags: num(flags, 'flags') };
    const tdb = openRaw(path!, true);
    try { tdb.store(parseDatum(key!), encodeRecordValue(header, parseDatum(data!))); } finally { tdb.close(); }
    return 0;
  },
});

const backupdb = command({
  name: 'backupdb', args: '<dbname|dbid> <file>', help: 'backup a database into a file', minArgs: 2, maxArgs: 2, remote: false,
  async run(ctx, [arg, file]) {
    const info = await find(ctx, arg!);
    const db = await ClusterDb.open(await ctx.client(), info, o(ctx));
    const records: RecData[] = [];
    const bar = new Progress('backupdb', undefined, ctx);
    try {
      db.tdb.traverse((key, value) => {
        if (value.length >= 24) records.push({ reqid: 0, key, data: value });
        bar.update(records.length);
      }, { readOnly: true });
    } finally { db.close(); bar.done(); }
    writeFileSync(file!, writeAll(encodeBackupFile, {
      version: BACKUP_VERSION, timestamp: Math.floor(Date.now() / 1000), dbFlags: info.flags, dbName: info.name, records,
    }));
    ctx.out(`Database backed up to ${file}\n`);
    return 0;
  },
});

const dumpdbbackup = command({
  name: 'dumpdbbackup', args: '<file>', help: 'dump database from a backup file', minArgs: 1, maxArgs: 1, daemon: false, remote: false,
  async run(ctx, [file]) {
    const b = readBackup(file!);
    ctx.out(`Dumping database ${b.dbName} from backup @ ${backupTime(b.timestamp)}\n`);
    for (const r of b.records) {
      const rec = decodeRecordValue(r.data);
      if (rec) ctx.out(formatRecord(r.key, rec.header, rec.data));
    }
    ctx.out(`Dumped ${b.records.length} record(s)\n`);
    return 0;
  },
});

/** All of stdin (a stream read: a non-blocking pipe makes readFileSync(0) fail with EAGAIN). */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `%Y/%m/%d %H:%M:%S` in local time, as the backup commands print it. */
function backupTime(sec: number): string {
  const d = new Date(sec * 1000);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Opens a raw TDB file for tfetch/tstore; `Failed to open TDB file X` when it cannot. */
function openRaw(path: string, create: boolean): TdbFile {
  try { return TdbFile.open(path, create ? {} : { openFlags: 0 }); } catch (err) {
    throw new CtdbError('EIO', `Failed to open TDB file ${path}`, { cause: err, exitCode: 1 });
  }
}

function readBackup(file: string): ReturnType<typeof decodeBackupFile> {
  let buf: Buffer;
  try { buf = readFileSync(file); } catch (err) {
    throw new CtdbError('ENOENT', `Failed to open file ${file}: ${(err as Error).message}`, { exitCode: 1 });
  }
  const b = decodeBackupFile(new Reader(buf));
  if (b.version !== BACKUP_VERSION) throw new CtdbError('EINVAL', `Wrong version of backup file, expected ${BACKUP_VERSION} got ${b.version}`, { exitCode: 1 });
  return b;
}

/** Freeze, transaction, wipe, optional push, commit and thaw on every active node (restoredb/wipedb). */
async function replaceContents(ctx: CliContext, info: DbInfo, records: RecData[]): Promise<void> {
  const c = await ctx.client();
  const nodes = await activeNodes(ctx);
  const gen = (await getVnnmap(c, ctx.myPnn, o(ctx))).generation;
  const tdb = writeAll(encodeTransdb, { dbId: info.id, tid: gen });
  const all = async (opcode: number, data: Buffer): Promise<void> => {
    for (const pnn of nodes) await checked(c, pnn, opcode, data, o(ctx));
  };
  const srvid = 0xCE02000000000000n;
  await all(Opcode.DB_FREEZE, u32(info.id));
  try {
    await all(Opcode.DB_TRANSACTION_START, tdb);
    await all(Opcode.WIPE_DATABASE, tdb);
    await all(Opcode.DB_PUSH_START, writeAll(encodePulldbExt, { dbId: info.id, lmaster: 0, srvid }));
    const bar = new Progress('restoring', records.length * nodes.length, ctx);
    let sent = 0;
    for (const pnn of nodes) {
      for (let i = 0; i < records.length; i += 1000) {
        const chunk = records.slice(i, i + 1000);
        c.message(pnn, srvid, writeAll(encodeRecBuffer, { dbId: info.id, records: chunk }));
        sent += chunk.length;
        bar.update(sent);
      }
    }
    bar.done();
    for (const pnn of nodes) {
      const r = await checked(c, pnn, Opcode.DB_PUSH_CONFIRM, u32(info.id), o(ctx));
      const got = new Reader(r.data).u32();
      const want = records.filter((x) => x.data.length >= 24).length;
      if (got !== want) throw new CtdbError('EIO', `node ${pnn} received ${got} of ${want} records`, { exitCode: 1 });
    }
    await all(Opcode.DB_SET_HEALTHY, u32(info.id));
    await all(Opcode.DB_TRANSACTION_COMMIT, tdb);
  } finally {
    for (const pnn of nodes) await c.control(pnn, Opcode.DB_THAW, u32(info.id), o(ctx)).catch(() => undefined);
  }
}

const restoredb = command({
  name: 'restoredb', args: '<file> [<dbname>]', help: 'restore a database from a file', minArgs: 1, maxArgs: 2, remote: false,
  async run(ctx, [file, name]) {
    const b = readBackup(file!);
    const dbName = name ?? b.dbName;
    const kind: DbKindName = b.dbFlags & DbFlag.PERSISTENT ? 'persistent' : b.dbFlags & DbFlag.REPLICATED ? 'replicated' : 'volatile';
    const c = await ctx.client();
    const id = await attachDb(c, ctx.myPnn, dbName, kind, o(ctx));
    ctx.out(`Restoring database ${dbName} from backup @ ${backupTime(b.timestamp)}\n`);
    await replaceContents(ctx, { id, name: dbName, flags: b.dbFlags & 0xff }, b.records);
    ctx.out(`Database ${dbName} restored\n`);
    return 0;
  },
});

const wipedb = command({
  name: 'wipedb', args: '<dbname|dbid>', help: 'wipe the contents of a database.', minArgs: 1, maxArgs: 1, remote: false,
  async run(ctx, [arg]) {
    const info = await find(ctx, arg!);
    await replaceContents(ctx, info, []);
    ctx.out(`Database ${info.name} wiped\n`);
    return 0;
  },
});

/** Every database command. */
export const dbCommands: Command[] = [
  getdbmap, getdbstatus, catdb, cattdb, getdbseqnum, attach, detach, dbstatistics,
  flagCommand('setdbreadonly', 'set a database read-only', Opcode.SET_DB_READONLY),
  flagCommand('setdbsticky', 'set a database sticky-records', Opcode.SET_DB_STICKY),
  readkey, writekey, deletekey, pfetch, pstore, pdelete, ptrans, tfetch, tstore, backupdb, restoredb, dumpdbbackup, wipedb,
];

