import { runMain } from '../src/common/main.js';
import { startEventRunner } from '../src/daemon/events.js';
import { CTDBD_USAGE, parseCtdbdArgs, runCtdbd } from '../src/daemon/main.js';

await runMain('ctdbd', async () => {
  const args = parseCtdbdArgs(process.argv.slice(2));
  if (args === 'help') { process.stdout.write(CTDBD_USAGE); return 0; }
  if (!args.interactive && process.env.CTDBD_DAEMONISED !== '1') {
    // Daemonise: re-run ourselves detached, wait until the socket answers or the child fails.
    const { daemonise } = await import('../src/daemon/daemonise.js');
    return daemonise();
  }
  const code = await runCtdbd(args, ({ paths, config, log }) => startEventRunner(paths, config, log));
  process.exit(code);
});
