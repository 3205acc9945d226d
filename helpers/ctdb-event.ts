import { runMain } from '../src/common/main.js';
import { resolvePaths } from '../src/common/paths.js';
import { EVENT_TOOL_USAGE, runEventTool } from '../src/eventd/tool.js';

await runMain('ctdb-event', async () => {
  const argv = process.argv.slice(2);
  if (argv.length === 0 || argv[0] === '-h' || argv[0] === '--help') {
    process.stdout.write(EVENT_TOOL_USAGE);
    return argv.length === 0 ? 1 : 0;
  }
  const paths = resolvePaths();
  return runEventTool(argv, { socketPath: process.env.CTDB_EVENTD_SOCKET || paths.eventdSocket, ctdbBase: paths.base });
});
