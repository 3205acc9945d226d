/**
 * Leader election by messages (no cluster lock) on real daemons: the leader
 * yields when stopped, banned or stripped of the LEADER capability, and
 * another node leads within seconds.
 */
import { describeLeaderYields } from './leadership-helpers.js';

describeLeaderYields('leadership without a cluster lock', 100);
