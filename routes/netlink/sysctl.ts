// Sysctls through /proc/sys, optionally inside another netns: /proc/sys/net/* resolves against the
// namespace of the task that opens it, so the addon opens and writes the file from a short-lived thread
// that has setns()'d (see native/netlink/netns.h). Node's main thread never changes namespace.
import { fromNative, native } from './native.js';

/**
 * "net.ipv4.conf.eth0.proxy_arp" (dots) or "net/ipv4/conf/eth0.100/proxy_arp" (slashes; use this form
 * when an interface name contains a dot) -> /proc/sys path.
 */
export function sysctlPath(key: string): string {
  return `/proc/sys/${key.includes('/') ? key.replace(/^\/+/, '') : key.replace(/\./g, '/')}`;
}

export function writeSysctl(key: string, value: string | number, opts: { netns?: string } = {}): void {
  try {
    native().sysctlWrite(opts.netns ?? null, sysctlPath(key), String(value));
  } catch (err) {
    throw fromNative(`write sysctl ${key}`, err);
  }
}

export function readSysctl(key: string, opts: { netns?: string } = {}): string {
  try {
    return native().sysctlRead(opts.netns ?? null, sysctlPath(key)).trim();
  } catch (err) {
    throw fromNative(`read sysctl ${key}`, err);
  }
}
