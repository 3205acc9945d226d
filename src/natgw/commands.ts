import { chooseNatgwLeader, formatNatgwList } from './leader.js';
import { filterHumanNodeStatus } from './node-status.js';
import { groupIps } from './nodes-file.js';
import {
  linesOut, readGroupNodes, readHumanNodeStatus, readNodeStatus,
  type CommandResult, type GroupCommand, type GroupContext, type GroupHelperSpec,
} from './group-helper.js';

/** Exit status of `ctdb_natgw leader` when no node can lead. */
export const NATGW_NO_LEADER_EXIT = 2;

/**
 * Runs one `ctdb_natgw` sub-command. `leader` prints `PNN IP` (exit 2 when
 * none); `list` prints the file annotated with `LEADER`; `status` prints the
 * group's lines of `ctdb nodestatus all`. Throws `CtdbError` (exit 1) for a
 * missing or invalid nodes file and unreadable node states.
 */
export async function runNatgwCommand(cmd: GroupCommand, ctx: GroupContext): Promise<CommandResult> {
  const group = await readGroupNodes(ctx);
  switch (cmd) {
    case 'leader': {
      const leader = chooseNatgwLeader(await readNodeStatus(ctx), group);
      return leader ? { stdout: `${leader.pnn} ${leader.ip}\n`, exitCode: 0 } : { stdout: '', exitCode: NATGW_NO_LEADER_EXIT };
    }
    case 'list':
      return { stdout: linesOut(formatNatgwList(group, chooseNatgwLeader(await readNodeStatus(ctx), group))), exitCode: 0 };
    case 'status':
      return { stdout: linesOut(filterHumanNodeStatus(await readHumanNodeStatus(ctx), groupIps(group))), exitCode: 0 };
  }
}

/** `ctdb_natgw` usage text (also its --help). */
export const NATGW_USAGE = `Usage: ctdb_natgw [--timeout SEC] [leader|list|status]

  leader     Print PNN and private IP address of the NAT gateway leader node
  list       List private IP addresses of the group's nodes, marking the leader
  status     Show the status of the nodes in the NAT gateway group

With no command, read one command per line from stdin; each command's output
is followed by a line "# status N" giving its exit status.
Nodes file: CTDB_NATGW_NODES (script options of 11.natgw), default
$CTDB_BASE/natgw_nodes. Node states come from "\${CTDB:-ctdb} -X nodestatus all".
`;

/** Binds `ctdb_natgw` to the shared group helper runner. */
export const natgwHelperSpec: GroupHelperSpec = {
  name: 'ctdb_natgw', groupName: 'NAT gateway', script: '11.natgw', nodesVar: 'CTDB_NATGW_NODES',
  defaultNodesFile: 'natgw_nodes', statusFailureExit: 1, usage: NATGW_USAGE, run: runNatgwCommand,
};
