// Public API of Uplink IPAM and its datastore.
//
//   const store = await openDatastore({ kind: 'embedded', path: '/var/lib/uplink/ipam.db' });
//   const ipam = new Ipam(store, { node: 'node-a', nodeLabels: { rack: 'r1' } });
//   await ipam.start();                       // loads this node's blocks into the cache
//   const a = await ipam.allocate({ containerId, ifname: 'eth0', pod, namespace });
//   await ipam.release(handleId(containerId, 'eth0'));   // idempotent
//
// Errors: IpamError (`exhausted`, `no-pool`, `contention`, `invalid-pool`, `datastore`) and
// DatastoreError (`conflict`, `not-found`, `exists`, `unavailable`, `timeout`, `compacted`).
// `unavailable`/`timeout` (directly or as the `cause` of IpamError `datastore`) are retryable: the CNI
// plugin maps them to CNI error 11 (try again later).
export * from './datastore/types.js';
export { openDatastore } from './datastore/open.js';
export * from './types.js';
export { Ipam, type IpamOptions } from './ipam.js';
export { blocksOf, watchAffinities, type AffinityEvent } from './affinities.js';
export { putPool, deletePool, listPools } from './pools.js';
export { showIpam, type IpamShow, type IpamSnapshot, readSnapshot } from './show.js';
export { checkIpam, type IpamCheckReport } from './check.js';
