// The one call the agent makes on every BGPPeer or ToR-record delivery (and on config reload): the raw
// `bgp:` section of its config with this node's datastore peers appended. Precedence, on the same
// address or interface: the config file, then BGPPeer resources, then the ToR records of the node's
// rack. Problems (invalid records, peers the file already has, unknown policy names) are logged, never
// thrown: one bad record must not stop the speaker from getting the rest.
import { logger } from '../../lib/log.js';
import { selectPeers, withDatastorePeers, type BgpPeerResource } from './resource.js';
import { RACK_LABEL, ZONE_LABEL, torPeersForNode, withTorPeers, type TorResource } from './tor.js';

const log = logger('peers');

export function bgpWithDatastorePeers(
  rawBgp: Readonly<Record<string, unknown>> | undefined,
  resources: readonly BgpPeerResource[],
  nodeName: string,
  nodeLabels: Readonly<Record<string, string>>,
  tors: readonly TorResource[] = [],
  /** Labels that place the node in its rack when `nodeLabels` has neither rack nor zone (its `nodes/<name>` record's). */
  fallbackLabels: Readonly<Record<string, string>> = {},
): Record<string, unknown> {
  const sel = selectPeers(resources, nodeName, nodeLabels);
  const merged = withDatastorePeers(rawBgp ?? {}, sel.peers);
  // Invalid resources were logged by the source when they arrived; merge conflicts are new here.
  for (const p of merged.problems) log.error(p, 'BGPPeer resource not applied');
  if (!tors.length) return merged.bgp;
  const placed = nodeLabels[RACK_LABEL] !== undefined || nodeLabels[ZONE_LABEL] !== undefined;
  const rackLabels = placed ? nodeLabels : { ...nodeLabels, ...pick(fallbackLabels, [RACK_LABEL, ZONE_LABEL]) };
  const fromTors = torPeersForNode(tors, nodeName, rackLabels);
  // Invalid records were logged by their source; these are about this node.
  for (const p of fromTors.notApplied) log.warn(p, 'ToR record not applied to this node');
  const withTors = withTorPeers(merged.bgp, fromTors.peers);
  for (const p of withTors.skipped) log.info(p, 'ToR session already configured');
  return withTors.bgp;
}

function pick(o: Readonly<Record<string, string>>, keys: readonly string[]): Record<string, string> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]!]));
}
