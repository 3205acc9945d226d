// Bundles every executable in bin/ and helpers/ into one ESM file each under dist/,
// so an executable starts by reading one file instead of resolving hundreds of modules.
import { build } from 'esbuild';
import { readdirSync, chmodSync, mkdirSync, symlinkSync, rmSync } from 'node:fs';
import { join, basename } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const entries = [];
for (const dir of ['bin', 'helpers']) {
  let names = [];
  try { names = readdirSync(join(root, dir)); } catch { continue; }
  for (const n of names) if (n.endsWith('.ts')) entries.push(join(root, dir, n));
}
mkdirSync(join(root, 'dist'), { recursive: true });
await Promise.all(entries.map(async (entry) => {
  const out = join(root, 'dist', basename(entry, '.ts') + '.js');
  await build({
    entryPoints: [entry],
    outfile: out,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    // koffi loads a native addon at run time; pino spawns worker transports by file name.
    external: ['koffi', 'pino', 'pino-*', 'thread-stream'],
    banner: { js: "#!/usr/bin/env node\nimport { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: 'warning',
    minifyWhitespace: true,
    minifySyntax: true,
  });
  chmodSync(out, 0o755);
  // Event scripts and CTDB's own tooling call helpers by bare name
  // ($CTDB_HELPER_BINDIR/ctdb_killtcp), so each bundle gets an extensionless link.
  const bare = join(root, 'dist', basename(entry, '.ts'));
  rmSync(bare, { force: true });
  symlinkSync(basename(out), bare);
}));
