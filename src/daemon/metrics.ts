/**
 * Optional Prometheus endpoint of ctdbd (`[metrics] listen = ADDRESS:PORT`
 * in ctdb.conf, an addition to CTDB). `GET /metrics` answers with what
 * `ctdb statistics --prometheus` prints for this node; the text is made by
 * that command in a child process, so the daemon's loop only relays bytes
 * and the endpoint and the CLI can never disagree. Concurrent scrapes share
 * one child; a scrape that fails or takes over 10 s answers 503.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { loadConfigFile } from '../common/config.js';
import type { Ctdbd } from './ctdbd.js';
import { helperEnv } from '../common/helper-env.js';

const SCRAPE_TIMEOUT_MS = 10_000;

/** Splits `ADDRESS:PORT` / `[ADDRESS]:PORT` (already validated by the config parser). */
export function parseListen(v: string): { host: string; port: number } {
  const i = v.lastIndexOf(':');
  return { host: v.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(v.slice(i + 1)) };
}

/** Runs `ctdb statistics --prometheus` against this daemon; resolves to its stdout. */
function scrape(d: Ctdbd): Promise<string> {
  const p = d.opts.paths;
  const env: NodeJS.ProcessEnv = helperEnv({ CTDB_BASE: p.base, CTDB_SOCKET: p.socket });
  if (p.testMode) env.CTDB_TEST_MODE = 'yes';
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(p.helperDir, 'ctdb.js'), 'statistics', '--prometheus'],
      { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: SCRAPE_TIMEOUT_MS });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString('utf8'); });
    child.stderr.on('data', (b: Buffer) => { err += b.toString('utf8'); });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve(out);
      else reject(new Error(`ctdb statistics --prometheus failed (${signal ?? `exit ${code}`}): ${err.trim().split('\n')[0] ?? ''}`));
    });
  });
}

/**
 * Starts the endpoint when ctdb.conf sets `[metrics] listen`; does nothing
 * otherwise. A bind failure is logged (the daemon keeps running). The
 * server closes when the daemon stops.
 */
export function startMetrics(d: Ctdbd): Server | undefined {
  let listen: string | undefined;
  try { listen = loadConfigFile(d.opts.paths).values.get('metrics/listen'); } catch { return undefined; }
  if (listen === undefined) return undefined;
  const { host, port } = parseListen(listen);
  const log = d.log.child({ component: 'metrics' });
  let inflight: Promise<string> | undefined;
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('try /metrics\n');
      return;
    }
    inflight ??= scrape(d).finally(() => { inflight = undefined; });
    inflight.then(
      (text) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(text),
      (err: Error) => {
        log.warn({ err }, 'metrics scrape failed');
        res.writeHead(503, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' })
          .end(`# ${err.message.replace(/\n/g, ' ')}\nctdb_up{pnn="${d.pnn}"} 0\n`);
      },
    );
  });
  server.on('error', (err) => log.error({ err, listen }, 'cannot start the metrics endpoint'));
  server.listen(port, host, () => log.info({ listen }, 'metrics endpoint listening'));
  d.onStop(() => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); }));
  return server;
}
