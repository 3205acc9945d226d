/** The public IP allocation algorithms (tunable IPAllocAlgorithm). */
export const IpAllocAlgorithm = { DETERMINISTIC: 0, NONDETERMINISTIC: 1, LCP2: 2 } as const;
export type IpAllocAlgorithmName = keyof typeof IpAllocAlgorithm;

/** PNN meaning "no node hosts this address". */
export const NO_OWNER = -1;

/**
 * One node of the nodemap, as allocation sees it. `nodes[i]` of
 * {@link IpAllocInput} describes PNN `i`.
 */
export interface IpAllocNode {
  /**
   * The node's flag word (NodeFlag bits). A node with any INACTIVE bit
   * (disconnected, banned, deleted, stopped) or DISABLED bit (unhealthy,
   * permanently disabled) never hosts an address.
   */
  readonly flags: number;
  /** The node's runstate (RunState value). Only RUNNING nodes host addresses. Default RUNNING. */
  readonly runState?: number;
}

/** One public address and what the nodes say about it. */
export interface PublicIpState {
  /** The address, IPv4 or IPv6 text (any valid spelling). */
  readonly ip: string;
  /**
   * The PNN currently hosting it, or -1 (NO_OWNER; CTDB's 0xFFFFFFFF is
   * accepted as the same). A takeover run trusts a
   * node only about itself; see {@link mergePublicIps}.
   */
  readonly owner: number;
  /**
   * Nodes that could host it as far as the address goes: they list it in
   * their public_addresses, it is not pending deletion, and one of its
   * interfaces has link up (the nodes' ONLY_AVAILABLE answers). Node-level
   * state (flags, runstate) is applied on top. Omitted: every node.
   */
  readonly availableOn?: readonly number[];
  /**
   * Nodes that list it in public_addresses at all ("known"). Allocation does
   * not use it; it is carried for the release phase of a takeover run.
   * Omitted: every node.
   */
  readonly knownOn?: readonly number[];
}

/** Allocation tunables, as CTDB names them. */
export interface IpAllocTunables {
  /** 0 deterministic, 1 non-deterministic, 2 LCP2; any other value means LCP2. Default 2. */
  readonly IPAllocAlgorithm: number;
  /** When set, no node takes an address it does not already host. Default false. */
  readonly NoIPTakeover: boolean;
  /** When set, addresses that are hosted are never moved to rebalance. Default false. */
  readonly NoIPFailback: boolean;
  /** Obsolete: accepted and ignored (inactive and disabled nodes never host). Default true. */
  readonly NoIPHostOnAllDisabled: boolean;
}

/** Default values of {@link IpAllocTunables}. */
export const DEFAULT_IPALLOC_TUNABLES: IpAllocTunables = {
  IPAllocAlgorithm: IpAllocAlgorithm.LCP2,
  NoIPTakeover: false,
  NoIPFailback: false,
  NoIPHostOnAllDisabled: true,
};

/** Everything an allocation decision depends on. */
export interface IpAllocInput {
  /** The nodemap: `nodes[pnn]`, length = node count (deleted nodes included). */
  readonly nodes: readonly IpAllocNode[];
  /** The public addresses, in any order; each address at most once. */
  readonly ips: readonly PublicIpState[];
  /** Tunables; missing ones take {@link DEFAULT_IPALLOC_TUNABLES}. */
  readonly tunables?: Partial<IpAllocTunables>;
  /**
   * PNNs asked to take a share of addresses even though they host some
   * already (LCP2 only). PNNs outside the nodemap are ignored.
   */
  readonly forceRebalanceNodes?: readonly number[];
  /** Deterministic only: the home_nodes file, address → PNN. PNNs outside the nodemap are ignored. */
  readonly homeNodes?: ReadonlyMap<string, number>;
}

/** The result with notes worth logging (e.g. a tunable that was ignored). */
export interface IpAllocResult {
  /** Canonical address text → PNN or -1, in allocation list order (highest address first). */
  readonly owners: Map<string, number>;
  readonly warnings: string[];
}
