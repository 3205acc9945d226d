import { filterHumanNodeStatus } from '../natgw/node-status.js';
import { groupIps } from '../natgw/nodes-file.js';
import {
  linesOut, readGroupNodes, readHumanNodeStatus, readNodeStatus,
  type CommandResult, type GroupCommand, type GroupContext, type GroupHelperSpec,
} from '../natgw/group-helper.js';
import { chooseLvsLeader, listLvsNodes } from './leader.js';

/** Exit status of `ctdb_lvs leader` when no node can lead. */
export const LVS_NO_LEADER_EXIT = 255;
/** Exit status when node states cannot be read. */
export const LVS_STATUS_FAILURE_EXIT = 10;

/**
 * Runs one `ctdb_lvs` sub-command. `leader` prints the leader's PNN (nothing
 * and exit 255 when none); `list` prints `PNN IP` of usable nodes (exit 0
 * even when none); `status` prints the group's lines of `ctdb nodestatus
 * all`. Unreadable node states → `CtdbError` with exit 10; a missing or
 * invalid nodes file → exit 1.
 */
export async function runLvsCommand(cmd: GroupCommand, ctx: GroupContext): Promise<CommandResult> {
  const group = await readGroupNodes(ctx);
  switch (cmd) {
    case 'leader': {
      const pnn = chooseLvsLeader(await readNodeStatus(ctx), group);
      return pnn === undefined ? { stdout: '', exitCode: LVS_NO_LEADER_EXIT } : { stdout: `${pnn}\n`, exitCode: 0 };
    }
    case 'list':
      return { stdout: linesOut(listLvsNodes(await readNodeStatus(ctx), group).map((n) => `${n.pnn} ${n.ip}`)), exitCode: 0 };
    case 'status':
      return { stdout: linesOut(filterHumanNodeStatus(await readHumanNodeStatus(ctx), groupIps(group))), exitCode: 0 };
  }
}

/** `ctdb_lvs` usage text (also its --help). */
export const LVS_USAGE = `Usage: ctdb_lvs [--timeout SEC] [leader|list|status]

  leader     Print the PNN of the LVS leader node
  list       List PNN and private IP address of the usable nodes in the group
  status     Show the status of all nodes in the LVS group

With no command, read one command per line from stdin; each command's output
is followed by a line "# status N" giving its exit status.
Nodes file: CTDB_LVS_NODES (script options of 91.lvs), default
$CTDB_BASE/lvs_nodes. Node states come from "\${CTDB:-ctdb} -X nodestatus all".
`;

/** Binds `ctdb_lvs` to the shared group helper runner. */
export const lvsHelperSpec: GroupHelperSpec = {
  name: 'ctdb_lvs', groupName: 'LVS', script: '91.lvs', nodesVar: 'CTDB_LVS_NODES',
  defaultNodesFile: 'lvs_nodes', statusFailureExit: LVS_STATUS_FAILURE_EXIT, usage: LVS_USAGE, run: runLvsCommand,
};
