import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { EventdClient } from '../../src/eventd/client.js';
import { EventDaemon, serveEventd } from '../../src/eventd/server.js';
import { REPO, alive } from './helpers.js';

const NGINX = '/usr/sbin/nginx';

const freePort = (): Promise<number> => new Promise((resolve) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
});

const waitFor = async (cond: () => boolean): Promise<boolean> => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
  return cond();
};

// Needs Debian's nginx-light (or nginx) package; CI installs it.
describe.skipIf(!existsSync(NGINX))('41.httpd end to end with a real nginx on loopback (needs apt package nginx-light)', () => {
  it('startup starts nginx, monitor passes, fails once nginx is killed, passes after a restart', async () => {
    const root = mkdtempSync(join(tmpdir(), 'httpd-e2e-'));
    const base = join(root, 'base');
    mkdirSync(join(base, 'events/legacy'), { recursive: true });
    copyFileSync(join(REPO, 'events/functions'), join(base, 'functions'));
    copyFileSync(join(REPO, 'events/legacy/41.httpd.script'), join(base, 'events/legacy/41.httpd.script'));
    chmodSync(join(base, 'events/legacy/41.httpd.script'), 0o755);
    const port = await freePort();
    const pidFile = join(root, 'nginx.pid');
    const conf = join(root, 'nginx.conf');
    writeFileSync(conf, [
      'daemon on;', `pid ${pidFile};`, `error_log ${root}/error.log;`, 'worker_processes 1;',
      'events { worker_connections 16; }',
      'http {', '  access_log off;', `  client_body_temp_path ${root}/body;`, `  proxy_temp_path ${root}/proxy;`,
      `  fastcgi_temp_path ${root}/fastcgi;`, `  uwsgi_temp_path ${root}/uwsgi;`, `  scgi_temp_path ${root}/scgi;`,
      `  server { listen 127.0.0.1:${port}; root ${root}; }`, '}', '',
    ].join('\n'));
    // The service command the script uses: "svc NAME ACTION".
    const svc = join(root, 'svc');
    writeFileSync(svc, `#!/bin/sh\ncase "$1 $2" in\n"nginx start") exec ${NGINX} -e ${root}/error.log -c ${conf} ;;\n`
      + `"nginx stop") exec ${NGINX} -e ${root}/error.log -c ${conf} -s stop ;;\n*) echo "svc: unexpected $*" >&2; exit 99 ;;\nesac\n`);
    chmodSync(svc, 0o755);
    writeFileSync(join(base, 'script.options'), `CTDB_SERVICE_HTTPD=nginx\nCTDB_HTTPD_PORTS=${port}\nCTDB_SERVICE_CMD=${svc}\n`);

    const daemon = new EventDaemon({ ctdbBase: base, env: { CTDB_SCRIPT_VARDIR: join(root, 'var') }, log: pino({ level: 'silent' }) });
    const served = await serveEventd(daemon, join(root, 'eventd.socket'), pino({ level: 'silent' }));
    const client = await EventdClient.connect(join(root, 'eventd.socket'), { timeoutMs: 30_000 });
    const masterPid = (): number => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : 0);
    try {
      expect(await client.run('legacy', 'startup', [], 20)).toBe(0);
      expect(await waitFor(() => masterPid() > 0)).toBe(true);
      expect(await client.run('legacy', 'monitor', [], 20)).toBe(0);

      const pid = masterPid();
      process.kill(pid, 'SIGTERM'); // nginx fast shutdown: master and workers exit
      expect(await waitFor(() => !alive(pid))).toBe(true);
      expect(await client.run('legacy', 'monitor', [], 20)).toBe(1);
      const st = await client.status('legacy', 'monitor');
      expect(st.scripts.map((s) => [s.name, s.result, s.output])).toEqual([
        ['41.httpd', 1, `ERROR: nginx tcp port ${port} is not responding\n`]]);

      expect(await client.run('legacy', 'startup', [], 20)).toBe(0);
      expect(await waitFor(() => masterPid() > 0 && masterPid() !== pid)).toBe(true);
      expect(await client.run('legacy', 'monitor', [], 20)).toBe(0);
      expect(await client.run('legacy', 'shutdown', [], 20)).toBe(0);
      const last = masterPid();
      expect(await waitFor(() => !alive(last))).toBe(true);
    } finally {
      client.close();
      await served.close();
      const p = masterPid();
      if (p > 0 && alive(p)) process.kill(p, 'SIGKILL');
      rmSync(root, { recursive: true, force: true });
    }
  });
});
