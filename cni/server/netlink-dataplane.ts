// Both sides of an attachment over the native netlink addon (routes/netlink), with no process spawned:
// host side on the agent's own rtnetlink socket (veth with the peer born in the pod's netns, link up,
// fe80::1, sysctls, the /32 and /128 routes); container side on a socket opened inside the pod's netns
// (addresses, link up, gateway neighbours, default routes; accept_dad through the addon's netns-aware
// sysctl). The netlink API has no permanent (non-proxy) neighbour call, so that one message is encoded
// here with its NlWriter and sent on our own socket. Reads for CHECK and GC stay on iproute2.
import { nativeAvailable, netlink, writeSysctl, UPLINK_RT_PROTO, NetlinkError, NetlinkHandle, type Route } from '../../routes/netlink/index.js';
import { AF, NLM_F, NDA, NUD, RTM } from '../../routes/netlink/constants.js';
import { addrToBytes, macToBytes } from '../../routes/netlink/addr.js';
import { native } from '../../routes/netlink/native.js';
import { NlWriter } from '../../routes/netlink/wire.js';
import { GATEWAY_V4 } from './dataplane.js';
import { DataplaneError, GATEWAY_V6, IprouteDataplane, type LinkPlan } from './dataplane.js';

function wrap(step: string, err: unknown): DataplaneError {
  if (err instanceof DataplaneError) return err;
  const detail = err instanceof NetlinkError ? `${err.message}${err.errno ? ` (errno ${err.errno})` : ''}` : String(err);
  // Keep "File exists" visible: ADD recognises a leftover veth from a crashed ADD by it.
  const exists = err instanceof NetlinkError && err.errno === 17 ? ' File exists' : '';
  return new DataplaneError(step, 'netlink request failed', detail + exists);
}

function hostRoutes(p: LinkPlan): Route[] {
  const r: Route[] = [];
  if (p.ipv4) r.push({ dst: `${p.ipv4}/32`, protocol: UPLINK_RT_PROTO, scope: 'link', nexthops: [{ dev: p.hostIf }] });
  if (p.ipv6) r.push({ dst: `${p.ipv6}/128`, protocol: UPLINK_RT_PROTO, nexthops: [{ dev: p.hostIf }] });
  return r;
}

/** RTPROT_BOOT (linux/rtnetlink.h): what `ip route add` sets; the pod's routes are not the reconciler's. */
const RTPROT_BOOT = 3;

/** RTM_NEWNEIGH, NUD_PERMANENT (`ip neigh replace ADDR lladdr MAC dev IF nud permanent`). */
function encodePermanentNeigh(w: NlWriter, seq: number, index: number, addr: string, mac: string): void {
  const start = w.beginMsg(RTM.NEWNEIGH, NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.REPLACE, seq);
  // struct ndmsg: family, pad1, pad2, ifindex, state, flags, type
  w.u8(addr.includes(':') ? AF.INET6 : AF.INET).u8(0).u16(0).i32(index).u16(NUD.PERMANENT).u8(0).u8(0);
  w.attr(NDA.DST, addrToBytes(addr));
  w.attr(NDA.LLADDR, macToBytes(mac));
  w.endMsg(start);
}

async function addPermanentNeighs(netns: string, index: number, entries: Array<[string, string]>): Promise<void> {
  const n = native();
  const fd = n.nlOpen(netns, 0, 1 << 16);
  try {
    const w = new NlWriter(256);
    entries.forEach(([addr, mac], i) => encodePermanentNeigh(w, 1 + i, index, addr, mac));
    const failures = await n.nlTransact(fd, w.finish(), w.count, 1);
    if (failures.length) {
      const [i, errno, msg] = failures[0]!;
      throw new DataplaneError('configure-container', `neighbour ${entries[i]?.[0]} rejected`, `errno ${errno}${msg ? `: ${msg}` : ''}`);
    }
  } finally {
    n.nlClose(fd);
  }
}

export class NetlinkDataplane extends IprouteDataplane {
  static available(): boolean {
    return nativeAvailable();
  }

  override async createVeth(p: LinkPlan): Promise<void> {
    try {
      await netlink().createVeth({ name: p.hostIf, mtu: p.mtu, mac: p.hostMac, peerName: p.ctrIf, peerNetns: p.netns, peerMtu: p.mtu, peerMac: p.ctrMac });
    } catch (err) {
      throw wrap('create-veth', err);
    }
  }

  override async configureContainer(p: LinkPlan): Promise<void> {
    let h: NetlinkHandle | undefined;
    try {
      // Before the link comes up, so the link-local address is not tentative either (RFC 4862 §5.4).
      if (p.ipv6) writeSysctl(`net/ipv6/conf/${p.ctrIf}/accept_dad`, 0, { netns: p.netns });
      h = new NetlinkHandle(p.netns);
      const link = await h.getLink(p.ctrIf);
      if (!link) throw new DataplaneError('configure-container', `${p.ctrIf} not found in ${p.netns}`);
      const dev = link.index;
      if (p.ipv4) await h.addAddress({ dev, address: `${p.ipv4}/32` });
      if (p.ipv6) await h.addAddress({ dev, address: `${p.ipv6}/128`, nodad: true });
      await h.setLink(dev, { up: true });
      const neighs: Array<[string, string]> = [];
      if (p.ipv4) neighs.push([GATEWAY_V4, p.hostMac]);
      if (p.ipv6) neighs.push([GATEWAY_V6, p.hostMac]);
      await addPermanentNeighs(p.netns, dev, neighs);
      const routes: Route[] = [];
      if (p.ipv4) routes.push({ dst: '0.0.0.0/0', protocol: RTPROT_BOOT, nexthops: [{ gateway: GATEWAY_V4, dev, onlink: true }] });
      if (p.ipv6) routes.push({ dst: '::/0', protocol: RTPROT_BOOT, nexthops: [{ gateway: GATEWAY_V6, dev }] });
      const res = await h.addRoutes(routes);
      if (res.failures.length) {
        const f = res.failures[0]!;
        throw new DataplaneError('configure-container', `route ${routes[f.index]?.dst} rejected`, `${f.errnoName}${f.message ? `: ${f.message}` : ''}`);
      }
    } catch (err) {
      throw wrap('configure-container', err);
    } finally {
      await h?.close();
    }
  }

  override async configureHost(p: LinkPlan): Promise<void> {
    try {
      writeSysctl(`net/ipv4/conf/${p.hostIf}/proxy_arp`, 1);
      writeSysctl(`net/ipv4/conf/${p.hostIf}/forwarding`, 1);
      writeSysctl(`net/ipv6/conf/${p.hostIf}/accept_dad`, 0);
      const nl = netlink();
      await nl.addAddress({ dev: p.hostIf, address: `${GATEWAY_V6}/64`, nodad: true });
      await nl.setLink(p.hostIf, { up: true });
    } catch (err) {
      throw wrap('configure-host', err);
    }
  }

  override async addHostRoutes(p: LinkPlan): Promise<void> {
    const routes = hostRoutes(p);
    if (!routes.length) return;
    let res;
    try {
      res = await netlink().replaceRoutes(routes);
    } catch (err) {
      throw wrap('host-routes', err);
    }
    if (res.failures.length) {
      const f = res.failures[0]!;
      throw new DataplaneError('host-routes', `route ${routes[f.index]?.dst} rejected`, `${f.errnoName}${f.message ? `: ${f.message}` : ''}`);
    }
  }

  override async deleteHostRoutes(p: LinkPlan): Promise<void> {
    try {
      await netlink().deleteRoutes(hostRoutes(p), { missingOk: true });
    } catch (err) {
      throw wrap('delete-host-routes', err);
    }
  }

  override async deleteVeth(hostIf: string): Promise<boolean> {
    try {
      const nl = netlink();
      const link = await nl.getLink(hostIf);
      if (!link) return false;
      await nl.deleteLink(link.index, { missingOk: true });
      return true;
    } catch (err) {
      throw wrap('delete-veth', err);
    }
  }

  override async listHostLinks(prefix: string): Promise<string[]> {
    try {
      return (await netlink().listLinks()).filter((l) => l.kind === 'veth' && l.name.startsWith(prefix)).map((l) => l.name);
    } catch (err) {
      throw wrap('list-links', err);
    }
  }
}
