// Peers from the datastore: BGPPeer resources (resource.ts) and ToR records (tor.ts), pure selection;
// the watching source (source.ts); the merge with the config file (merge.ts); CLI helpers (store.ts).
export * from './resource.js';
export * from './errors.js';
export { TORS_PREFIX, TOR_PEER_PREFIX, RACK_LABEL, ZONE_LABEL, validateTorRecord, torInNodeRack, torPeerName, torPeersForNode, withTorPeers, type TorResource, type TorSpec, type TorSession, type TorSelection } from './tor.js';
export { DatastorePeerSource, BGPPEER_RECORDS, TOR_RECORDS, type PeerListener, type PeerSourceOptions, type RecordKind } from './source.js';
export { bgpWithDatastorePeers } from './merge.js';
export { listPeerResources, putPeerResource, deletePeerResource, showPeerResources, putTorRecord, deleteTorRecord, listTorRecords } from './store.js';
