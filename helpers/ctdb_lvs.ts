import { runMain } from '../src/common/main.js';
import { lvsHelperSpec } from '../src/lvs/commands.js';
import { runGroupHelper } from '../src/natgw/group-helper.js';

await runMain('ctdb_lvs', () => runGroupHelper(lvsHelperSpec, process.argv.slice(2)));
