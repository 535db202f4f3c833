// BGPPeer resources from the datastore: pure selection (resource.ts), the watching source (source.ts),
// CLI helpers (store.ts).
export * from './resource.js';
export * from './errors.js';
export { DatastorePeerSource, type PeerListener, type PeerSourceOptions } from './source.js';
export { bgpWithDatastorePeers } from './merge.js';
export { listPeerResources, putPeerResource, deletePeerResource, showPeerResources } from './store.js';
