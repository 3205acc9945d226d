/**
 * Event names and which component folder gets which events.
 *
 * `legacy` gets every event (upstream layout). The split folders are this
 * project's addition: `cluster` for membership/recovery life-cycle events,
 * `service` for running and checking services, `failover` for public IP
 * events. A configuration with only `events/legacy/` works unchanged.
 */

/** Every event ctdbd runs, in the legacy enum order. */
export const EVENTS = [
  'init', 'setup', 'startup', 'startrecovery', 'recovered', 'takeip', 'releaseip',
  'monitor', 'shutdown', 'updateip', 'ipreallocated', 'startipreallocate',
] as const;
export type EventName = (typeof EVENTS)[number];

/** Events each component folder receives. */
export const COMPONENT_EVENTS: Readonly<Record<string, readonly EventName[]>> = {
  legacy: EVENTS,
  cluster: ['init', 'setup', 'startup', 'startrecovery', 'recovered', 'shutdown'],
  service: ['startup', 'monitor', 'shutdown'],
  failover: ['takeip', 'releaseip', 'updateip', 'ipreallocated', 'startipreallocate'],
};

/** Components ctdbd runs an event in, in order: legacy first, then the split folders. */
export const STANDARD_COMPONENTS = ['legacy', 'cluster', 'service', 'failover'] as const;

/** True when `event` is a known event name. */
export const isKnownEvent = (event: string): event is EventName => (EVENTS as readonly string[]).includes(event);

/**
 * Whether `component` accepts `event`: the standard components accept their
 * listed events; any other component folder accepts every known event.
 */
export function componentAccepts(component: string, event: string): boolean {
  if (!isKnownEvent(event)) return false;
  const list = COMPONENT_EVENTS[component];
  return list === undefined || list.includes(event);
}

/** The standard components that get `event`, in run order. */
export function componentsForEvent(event: string): string[] {
  return STANDARD_COMPONENTS.filter((c) => componentAccepts(c, event));
}

/** A component name must be a single folder name. */
export const isValidComponent = (c: string): boolean => /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(c) && c !== '..';
