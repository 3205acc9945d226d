import { runMain } from '../src/common/main.js';
import { runEventd } from '../src/eventd/daemon-main.js';

await runMain('ctdb-eventd', () => runEventd(process.argv.slice(2)));
