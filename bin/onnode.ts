import { runMain } from '../src/common/main.js';
import { runOnnode } from '../src/onnode/run.js';

await runMain('onnode', () => runOnnode(process.argv.slice(2), {
  env: process.env, cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr,
}));
