// Public API of Uplink's netlink layer. One `NetlinkHandle` per network namespace (one rtnetlink socket
// each, opened inside that netns without moving Node's main thread); module functions for sysctls and
// for the socket options the BGP speaker needs. See routes/DESIGN.md.
//
// Callers: the FIB reconciler (routes), the CNI plugin (veth/address/route/sysctl in a pod netns) and
// bgpd (TCP MD5, GTSM, TTL, bind-to-device).
export * from './constants.js';
export * from './types.js';
export { NetlinkError, NetlinkErrorCode, errnoName, ERRNO } from './errors.js';
export { NetlinkHandle, netlink, closeAllHandles } from './handle.js';
export type { RouteWatcher, RouteWatcherEvents } from './watcher.js';
export { writeSysctl, readSysctl } from './sysctl.js';
export {
  setTcpMd5,
  setMinTtl,
  getMinTtl,
  setTtl,
  getTtl,
  bindToDevice,
  createTcpSocketFd,
  connectTcp,
  listenTcp,
  socketFd,
} from './tcp.js';
export { nativeAvailable, nativeLoadError } from './native.js';
export { openIcmp6, socketAddresses, type Icmp6Socket, type Icmp6Packet } from './icmp6.js';
