// The one call the agent makes on every BGPPeer delivery (and on config reload): the raw `bgp:`
// section of its config with this node's datastore peers appended. Problems (invalid resources, peers
// the file already has, unknown policy names) are logged, never thrown: one bad resource must not
// stop the speaker from getting the rest.
import { logger } from '../../lib/log.js';
import { selectPeers, withDatastorePeers, type BgpPeerResource } from './resource.js';

const log = logger('peers');

export function bgpWithDatastorePeers(
  rawBgp: Readonly<Record<string, unknown>> | undefined,
  resources: readonly BgpPeerResource[],
  nodeName: string,
  nodeLabels: Readonly<Record<string, string>>,
): Record<string, unknown> {
  const sel = selectPeers(resources, nodeName, nodeLabels);
  const merged = withDatastorePeers(rawBgp ?? {}, sel.peers);
  // Invalid resources were logged by the source when they arrived; merge conflicts are new here.
  for (const p of merged.problems) log.error(p, 'BGPPeer resource not applied');
  return merged.bgp;
}
