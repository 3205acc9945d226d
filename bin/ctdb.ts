import { runCtdb } from '../src/cli/main.js';

process.exitCode = await runCtdb(process.argv.slice(2));
