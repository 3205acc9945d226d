import { runMain } from '../src/common/main.js';
import { natgwHelperSpec } from '../src/natgw/commands.js';
import { runGroupHelper } from '../src/natgw/group-helper.js';

await runMain('ctdb_natgw', () => runGroupHelper(natgwHelperSpec, process.argv.slice(2)));
