// uplink_netlink: the native half of routes/netlink. It owns sockets and syscalls only; messages are
// encoded and parsed in TypeScript (the node_netlink split). Blocking work (a batch's sendmsg and its
// acks, a dump) runs on the libuv thread pool via Napi::AsyncWorker; notifications are read on the
// event loop through a uv_poll on the subscribed socket.
#include "common.h"

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  uplink::InitNetlink(env, exports);
  uplink::InitSockopt(env, exports);
  uplink::InitIcmp6(env, exports);
  return exports;
}

NODE_API_MODULE(uplink_netlink, Init)
