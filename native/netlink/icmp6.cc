// Raw ICMPv6 socket for IPv6 neighbour discovery on one interface (BGP unnumbered, RFC 4861 §4.1/§4.2
// Router Solicitation/Advertisement; FRR learns unnumbered neighbours from RAs). Node cannot open a raw
// socket, so this file owns only the socket: creation inside a netns (RunInNetns), options, a uv_poll
// reader that hands each datagram to JS with its source, interface and hop limit, and sendto. RA/RS
// bytes are built and parsed in TypeScript (bgpd/session/unnumbered.ts).
#include "common.h"
#include "fd-poller.h"
#include "netns.h"

#include <cerrno>
#include <cstring>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>
#include <vector>

namespace uplink {
namespace {

// RFC 4861 §6.1.2/§6.1.1: a router sends RAs/RSs with hop limit 255 and receivers drop anything else,
// which proves the packet was not forwarded. IPV6_RECVHOPLIMIT lets JS apply that check.
int SetupIcmp6(int fd, const std::string& device, unsigned* ifindexOut) {
  struct icmp6_filter filt;
  ICMP6_FILTER_SETBLOCKALL(&filt);
  ICMP6_FILTER_SETPASS(ND_ROUTER_SOLICIT, &filt);
  ICMP6_FILTER_SETPASS(ND_ROUTER_ADVERT, &filt);
  if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filt, sizeof(filt)) != 0) return errno;
  int hops = 255, on = 1, off = 0;
  if (setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops)) != 0) return errno;
  if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) != 0) return errno;
  if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &off, sizeof(off)) != 0) return errno;
  if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof(on)) != 0) return errno;
  if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on)) != 0) return errno;
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, device.c_str(), device.size() + 1) != 0) return errno;
  unsigned ifindex = if_nametoindex(device.c_str());
  if (ifindex == 0) return errno ? errno : ENODEV;
  int idx = static_cast<int>(ifindex);
  if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof(idx)) != 0) return errno;
  // All-routers (ff02::2) so Router Solicitations reach us too (RFC 4861 §6.2.6); all-nodes is implicit.
  struct ipv6_mreq mreq;
  std::memset(&mreq, 0, sizeof(mreq));
  mreq.ipv6mr_multiaddr.s6_addr[0] = 0xff;
  mreq.ipv6mr_multiaddr.s6_addr[1] = 0x02;
  mreq.ipv6mr_multiaddr.s6_addr[15] = 0x02;
  mreq.ipv6mr_interface = ifindex;
  if (setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq, sizeof(mreq)) != 0) return errno;
  *ifindexOut = ifindex;
  return 0;
}

// icmp6Open(netns | null, device) -> { fd, ifindex }
Napi::Value Icmp6Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string ns = NetnsArg(info[0]);
  std::string device = info[1].As<Napi::String>().Utf8Value();
  int fd = -1;
  unsigned ifindex = 0;
  const char* failed = "setns";
  int err = RunInNetns(ns, [&]() -> int {
    failed = "socket";
    fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
    if (fd < 0) return errno;
    failed = "setsockopt";
    int e = SetupIcmp6(fd, device, &ifindex);
    if (e != 0) {
      close(fd);
      fd = -1;
    }
    return e;
  });
  if (err != 0) {
    if (fd >= 0) close(fd);
    throw ErrnoError(env, err, failed);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("fd", Napi::Number::New(env, fd));
  out.Set("ifindex", Napi::Number::New(env, ifindex));
  return out;
}

// icmp6Send(fd, dst(16 bytes), ifindex, payload): the kernel fills in the ICMPv6 checksum (RFC 3542 §3.1).
Napi::Value Icmp6Send(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Buffer<uint8_t> dst = info[1].As<Napi::Buffer<uint8_t>>();
  unsigned ifindex = info[2].As<Napi::Number>().Uint32Value();
  Napi::Buffer<uint8_t> payload = info[3].As<Napi::Buffer<uint8_t>>();
  if (dst.Length() != 16) throw ErrnoError(info.Env(), EINVAL, "icmp6Send dst");
  struct sockaddr_in6 sa;
  std::memset(&sa, 0, sizeof(sa));
  sa.sin6_family = AF_INET6;
  std::memcpy(&sa.sin6_addr, dst.Data(), 16);
  sa.sin6_scope_id = ifindex;
  ssize_t r;
  do {
    r = sendto(fd, payload.Data(), payload.Length(), 0, reinterpret_cast<struct sockaddr*>(&sa), sizeof(sa));
  } while (r < 0 && errno == EINTR);
  if (r < 0) throw ErrnoError(info.Env(), errno, "sendto");
  return info.Env().Undefined();
}

// socketAddrs(fd) -> { local, remote, scope } raw address bytes (4 or 16, or null when not connected)
// and the local IPv6 scope id (the ifindex a link-local session runs over; 0 otherwise).
// Node's own localAddress/remoteAddress throw for a link-local address whose interface lives in another
// netns (libuv looks the scope id up with if_indextoname in Node's namespace); BGP unnumbered sessions
// in a netns need the plain address.
Napi::Value SocketAddrs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  auto toJs = [&](const struct sockaddr_storage& ss, bool ok) -> Napi::Value {
    if (!ok) return env.Null();
    if (ss.ss_family == AF_INET6) {
      const auto* a = reinterpret_cast<const struct sockaddr_in6*>(&ss);
      return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(&a->sin6_addr), 16);
    }
    if (ss.ss_family == AF_INET) {
      const auto* a = reinterpret_cast<const struct sockaddr_in*>(&ss);
      return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(&a->sin_addr), 4);
    }
    return env.Null();
  };
  struct sockaddr_storage local, remote;
  socklen_t ll = sizeof(local), rl = sizeof(remote);
  bool lok = getsockname(fd, reinterpret_cast<struct sockaddr*>(&local), &ll) == 0;
  bool rok = getpeername(fd, reinterpret_cast<struct sockaddr*>(&remote), &rl) == 0;
  Napi::Object out = Napi::Object::New(env);
  out.Set("local", toJs(local, lok));
  out.Set("remote", toJs(remote, rok));
  uint32_t scope = lok && local.ss_family == AF_INET6 ? reinterpret_cast<const struct sockaddr_in6*>(&local)->sin6_scope_id : 0;
  out.Set("scope", Napi::Number::New(env, scope));
  return out;
}

// Reader on the event loop: each datagram -> cb(payload, source(16 bytes), ifindex, hopLimit).
class Icmp6Watcher : public FdPoller<Icmp6Watcher> {
 public:
  explicit Icmp6Watcher(const Napi::CallbackInfo& info) : FdPoller(info, "uplink:icmp6Watch") { StartPolling(info.Env()); }

 private:
  friend class FdPoller<Icmp6Watcher>;

  void Drain(Napi::Env env) {
    for (int i = 0; i < 16 && Polling(); i++) {
      uint8_t buf[1500];
      uint8_t cbuf[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct in6_pktinfo))];
      struct sockaddr_in6 from;
      struct iovec iov = {buf, sizeof(buf)};
      struct msghdr msg;
      std::memset(&msg, 0, sizeof(msg));
      msg.msg_name = &from;
      msg.msg_namelen = sizeof(from);
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = cbuf;
      msg.msg_controllen = sizeof(cbuf);
      ssize_t r = recvmsg(fd_, &msg, MSG_DONTWAIT);
      if (r < 0) {
        if (errno == EINTR) continue;
        break;  // EAGAIN, or an error the next readable wakeup will report again
      }
      int hopLimit = -1;
      unsigned ifindex = from.sin6_scope_id;
      for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != IPPROTO_IPV6) continue;
        if (c->cmsg_type == IPV6_HOPLIMIT) std::memcpy(&hopLimit, CMSG_DATA(c), sizeof(int));
        if (c->cmsg_type == IPV6_PKTINFO) {
          struct in6_pktinfo pi;
          std::memcpy(&pi, CMSG_DATA(c), sizeof(pi));
          ifindex = pi.ipi6_ifindex;
        }
      }
      Deliver(env, {Napi::Buffer<uint8_t>::Copy(env, buf, r),
                    Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<uint8_t*>(&from.sin6_addr), 16),
                    Napi::Number::New(env, ifindex), Napi::Number::New(env, hopLimit)});
    }
  }
};

Napi::Value Icmp6Watch(const Napi::CallbackInfo& info) { return Icmp6Watcher::ctor->New({info[0], info[1]}); }

}  // namespace

void InitIcmp6(Napi::Env env, Napi::Object exports) {
  Icmp6Watcher::Init(env, "Icmp6Watcher");
  exports.Set("icmp6Open", Napi::Function::New(env, Icmp6Open));
  exports.Set("icmp6Send", Napi::Function::New(env, Icmp6Send));
  exports.Set("icmp6Watch", Napi::Function::New(env, Icmp6Watch));
  exports.Set("socketAddrs", Napi::Function::New(env, SocketAddrs));
}

}  // namespace uplink
