// Route change notifications (RTNLGRP_IPV4_ROUTE / RTNLGRP_IPV6_ROUTE) on their own socket, read on the
// event loop (uv_poll in the addon). 'overrun' means the kernel dropped notifications (ENOBUFS): the
// listener must resync from a dump, nothing else is reliable after it.
import { EventEmitter } from 'node:events';
import { RTM, RTNLGRP } from './constants.js';
import { ERRNO, NetlinkError, NetlinkErrorCode } from './errors.js';
import { fromNative, native, type NativeWatcher } from './native.js';
import { decodeRoute } from './route-codec.js';
import { messages } from './wire.js';
import type { RouteEvent } from './types.js';

export interface RouteWatcherEvents {
  route: [RouteEvent];
  overrun: [];
  error: [NetlinkError];
}

const RCVBUF = 16 * 1024 * 1024;

export class RouteWatcher extends EventEmitter<RouteWatcherEvents> {
  private fd: number;
  private poll: NativeWatcher | undefined;

  /**
   * `ignorePortId`: drop notifications caused by requests from that netlink socket (the handle's own
   * acked changes), in the addon, before they reach JS.
   */
  constructor(readonly netns: string | undefined, ignorePortId?: number) {
    super();
    const groups = (1 << (RTNLGRP.IPV4_ROUTE - 1)) | (1 << (RTNLGRP.IPV6_ROUTE - 1));
    try {
      this.fd = native().nlOpen(netns ?? null, groups, RCVBUF);
    } catch (err) {
      throw fromNative('open route watcher', err);
    }
    try {
      this.poll = native().nlWatch(this.fd, (data, errno) => this.onData(data, errno), ignorePortId ?? 0);
    } catch (err) {
      native().nlClose(this.fd);
      throw fromNative('poll route watcher', err);
    }
  }

  private onData(data: Buffer | null, errno: number): void {
    if (!data) {
      if (errno === ERRNO.ENOBUFS) this.emit('overrun');
      else if (this.listenerCount('error') > 0) this.emit('error', new NetlinkError(NetlinkErrorCode.Syscall, 'route watcher recv', { errno }));
      return;
    }
    for (const m of messages(data)) {
      if (m.type !== RTM.NEWROUTE && m.type !== RTM.DELROUTE) continue;
      const route = decodeRoute(m.body);
      if (route) this.emit('route', { action: m.type === RTM.NEWROUTE ? 'new' : 'del', route });
    }
  }

  close(): void {
    if (!this.poll) return;
    this.poll.stop();
    this.poll = undefined;
    native().nlClose(this.fd);
    this.removeAllListeners();
  }
}
