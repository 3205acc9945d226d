/**
 * Leader election with a cluster lock (a lock file in the cluster's folder,
 * held through the bundled fcntl helper) on real daemons: the leader yields
 * when stopped, banned or stripped of the LEADER capability, and another node
 * takes the lock and leads within seconds.
 */
import { join } from 'node:path';
import { describeLeaderYields } from './leadership-helpers.js';

describeLeaderYields('leadership with a cluster lock', 103, (dir) => join(dir, 'cluster.lock'));
