// rtnetlink sockets: open (optionally inside a netns), batched request/ack transactions, dumps, and
// notification polling.
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <uv.h>

#include "common.h"
#include "fd-poller.h"
#include "netns.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NLM_F_DUMP_INTR
#define NLM_F_DUMP_INTR 0x10
#endif

namespace uplink {
namespace {

// A sendmsg larger than the socket's sndbuf fails with EMSGSIZE; the acks of one chunk must fit the
// rcvbuf or the kernel drops them (ENOBUFS). 256 KiB of requests is ~4000 routes, ~150 KiB of acks.
constexpr size_t kChunkBytes = 256 * 1024;
constexpr size_t kRecvBytes = 1 << 20;
constexpr int kSndBuf = 4 * 1024 * 1024;
constexpr int kAckTimeoutSec = 10;

Napi::Value NlOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string ns = NetnsArg(info[0]);
  uint32_t groups = info[1].As<Napi::Number>().Uint32Value();
  int rcvbuf = info[2].As<Napi::Number>().Int32Value();
  int fd = -1;
  int err = RunInNetns(ns, [&]() -> int {
    fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) return errno;
    return 0;
  });
  if (err != 0) {
    if (fd >= 0) close(fd);
    throw ErrnoError(env, err, ns.empty() ? "socket" : "setns/socket");
  }
  int one = 1;
  // Extended acks give the kernel's reason text; capped acks do not echo each request back (RFC-less,
  // linux/netlink.h): 36 bytes per ack instead of the full message.
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
  // Root can exceed rmem_max/wmem_max with the *FORCE variants; fall back for unprivileged use.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &kSndBuf, sizeof(kSndBuf)) != 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kSndBuf, sizeof(kSndBuf));
  struct timeval tv = {kAckTimeoutSec, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  struct sockaddr_nl sa;
  memset(&sa, 0, sizeof(sa));
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = 0;
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&sa), sizeof(sa)) != 0) {
    err = errno;
    close(fd);
    throw ErrnoError(env, err, "bind");
  }
  // Group numbers above 31 need NETLINK_ADD_MEMBERSHIP; use it for all of them.
  for (uint32_t g = 1; g < 32; g++) {
    if (groups & (1u << (g - 1))) {
      if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof(g)) != 0) {
        err = errno;
        close(fd);
        throw ErrnoError(env, err, "NETLINK_ADD_MEMBERSHIP");
      }
    }
  }
  return Napi::Number::New(env, fd);
}

// Transactions on one socket run one at a time, in the order they were queued, without a round trip
// through the event loop between them: each takes a ticket when queued (on the JS thread) and its
// Execute waits for the previous ticket to finish. The kernel then goes from one chunk of a batch to
// the next while JS is busy (encoding the next chunk, or a BGP table load); before, the next chunk
// was queued only once JS had seen the previous one's ack. The TypeScript side keeps at most two
// queued (so at most one thread-pool thread waits here), and libuv runs queued work first in first
// out, so a ticket never waits on one that has no thread.
struct Lane {
  std::mutex m;
  std::condition_variable cv;
  uint64_t issued = 0;
  uint64_t done = 0;
};

std::mutex lanesMutex;
std::map<int, std::shared_ptr<Lane>> lanes;

std::shared_ptr<Lane> LaneOf(int fd) {
  std::lock_guard<std::mutex> g(lanesMutex);
  std::shared_ptr<Lane>& l = lanes[fd];
  if (!l) l = std::make_shared<Lane>();
  return l;
}

void DropLane(int fd) {
  std::lock_guard<std::mutex> g(lanesMutex);
  lanes.erase(fd);
}

Napi::Value NlClose(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  if (fd >= 0) {
    close(fd);
    DropLane(fd);
  }
  return info.Env().Undefined();
}

struct Failure {
  uint32_t index;
  int err;
  std::string msg;
};

// Extended ack text (NLMSGERR_ATTR_MSG = 1) after a capped nlmsgerr.
std::string ExtackMsg(const struct nlmsghdr* h) {
  if (!(h->nlmsg_flags & NLM_F_ACK_TLVS)) return std::string();
  size_t base = NLMSG_HDRLEN + sizeof(struct nlmsgerr);
  if (!(h->nlmsg_flags & NLM_F_CAPPED)) {
    const struct nlmsgerr* e = static_cast<const struct nlmsgerr*>(NLMSG_DATA(h));
    base += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
  }
  size_t off = NLMSG_ALIGN(base);
  const char* p = reinterpret_cast<const char*>(h);
  while (off + sizeof(struct nlattr) <= h->nlmsg_len) {
    const struct nlattr* a = reinterpret_cast<const struct nlattr*>(p + off);
    if (a->nla_len < sizeof(struct nlattr) || off + a->nla_len > h->nlmsg_len) break;
    if ((a->nla_type & NLA_TYPE_MASK) == 1) {
      size_t n = a->nla_len - sizeof(struct nlattr);
      const char* s = p + off + sizeof(struct nlattr);
      return std::string(s, strnlen(s, n));
    }
    off += NLA_ALIGN(a->nla_len);
  }
  return std::string();
}

class TransactWorker : public Napi::AsyncWorker {
 public:
  TransactWorker(Napi::Env env, int fd, const uint8_t* data, size_t len, uint32_t count, uint32_t firstSeq)
      : Napi::AsyncWorker(env, "uplink:nlTransact"),
        deferred_(Napi::Promise::Deferred::New(env)),
        fd_(fd),
        buf_(data, data + len),
        count_(count),
        firstSeq_(firstSeq),
        lane_(LaneOf(fd)) {
    std::lock_guard<std::mutex> g(lane_->m);
    ticket_ = lane_->issued++;
  }

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    {
      std::unique_lock<std::mutex> lk(lane_->m);
      lane_->cv.wait(lk, [this] { return lane_->done == ticket_; });
    }
    Run();
    {
      std::lock_guard<std::mutex> g(lane_->m);
      lane_->done++;
    }
    lane_->cv.notify_all();
  }

  void Run() {
    std::vector<uint8_t> rx(kRecvBytes);
    size_t off = 0;
    uint32_t sentIdx = 0;
    while (off < buf_.size()) {
      // Cut a chunk at message boundaries.
      size_t end = off;
      uint32_t n = 0;
      while (end < buf_.size()) {
        const struct nlmsghdr* h = reinterpret_cast<const struct nlmsghdr*>(buf_.data() + end);
        size_t ml = NLMSG_ALIGN(h->nlmsg_len);
        if (h->nlmsg_len < NLMSG_HDRLEN || end + ml > buf_.size() + 3) {
          errno_ = EINVAL;
          syscall_ = "malformed request";
          return;
        }
        if (n > 0 && end - off + ml > kChunkBytes) break;
        end += ml;
        n++;
      }
      if (end > buf_.size()) end = buf_.size();
      // Only the chunk's last message asks for an ack: the kernel handles one sendmsg's messages in
      // order and reports every failure with an NLMSG_ERROR even without NLM_F_ACK, so the last ack
      // means the whole chunk is done. Skipping the other acks saves an skb per route.
      {
        size_t m = off;
        for (uint32_t k = 0; k < n; k++) {
          struct nlmsghdr* h = reinterpret_cast<struct nlmsghdr*>(buf_.data() + m);
          if (k + 1 < n) h->nlmsg_flags &= ~NLM_F_ACK;
          else h->nlmsg_flags |= NLM_F_ACK;
          m += NLMSG_ALIGN(h->nlmsg_len);
        }
      }
      struct sockaddr_nl sa;
      memset(&sa, 0, sizeof(sa));
      sa.nl_family = AF_NETLINK;
      ssize_t s;
      do {
        s = sendto(fd_, buf_.data() + off, end - off, 0, reinterpret_cast<struct sockaddr*>(&sa), sizeof(sa));
      } while (s < 0 && errno == EINTR);
      if (s < 0) {
        errno_ = errno;
        syscall_ = "sendto";
        return;
      }
      uint32_t lo = firstSeq_ + sentIdx;
      uint32_t hi = lo + n;  // exclusive; seq wraps are avoided by the TS side
      bool done = false;
      while (!done) {
        ssize_t r = recv(fd_, rx.data(), rx.size(), 0);
        if (r < 0) {
          if (errno == EINTR) continue;
          errno_ = errno;
          syscall_ = errno == EAGAIN ? "recv (ack timeout)" : "recv";
          return;
        }
        for (const struct nlmsghdr* h = reinterpret_cast<const struct nlmsghdr*>(rx.data());
             NLMSG_OK(h, r); h = NLMSG_NEXT(h, r)) {
          if (h->nlmsg_seq < lo || h->nlmsg_seq >= hi) continue;  // a stale reply from an earlier call
          if (h->nlmsg_type != NLMSG_ERROR) continue;
          const struct nlmsgerr* e = static_cast<const struct nlmsgerr*>(NLMSG_DATA(h));
          if (h->nlmsg_seq == hi - 1) done = true;
          if (e->error != 0) failures_.push_back({h->nlmsg_seq - firstSeq_, -e->error, ExtackMsg(h)});
        }
      }
      sentIdx += n;
      off = end;
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (errno_ != 0) {
      deferred_.Reject(ErrnoError(env, errno_, syscall_).Value());
      return;
    }
    Napi::Array out = Napi::Array::New(env, failures_.size());
    for (size_t i = 0; i < failures_.size(); i++) {
      Napi::Array f = Napi::Array::New(env, 3);
      f.Set(0u, Napi::Number::New(env, failures_[i].index));
      f.Set(1u, Napi::Number::New(env, failures_[i].err));
      f.Set(2u, Napi::String::New(env, failures_[i].msg));
      out.Set(i, f);
    }
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  int fd_;
  std::vector<uint8_t> buf_;
  uint32_t count_;
  uint32_t firstSeq_;
  std::vector<Failure> failures_;
  int errno_ = 0;
  const char* syscall_ = "";
  std::shared_ptr<Lane> lane_;
  uint64_t ticket_ = 0;
};

Napi::Value NlTransact(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Buffer<uint8_t> buf = info[1].As<Napi::Buffer<uint8_t>>();
  uint32_t count = info[2].As<Napi::Number>().Uint32Value();
  uint32_t firstSeq = info[3].As<Napi::Number>().Uint32Value();
  auto* w = new TransactWorker(info.Env(), fd, buf.Data(), buf.Length(), count, firstSeq);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

class DumpWorker : public Napi::AsyncWorker {
 public:
  DumpWorker(Napi::Env env, int fd, const uint8_t* data, size_t len, uint32_t seq)
      : Napi::AsyncWorker(env, "uplink:nlDump"),
        deferred_(Napi::Promise::Deferred::New(env)),
        fd_(fd),
        req_(data, data + len),
        seq_(seq) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    struct sockaddr_nl sa;
    memset(&sa, 0, sizeof(sa));
    sa.nl_family = AF_NETLINK;
    ssize_t s;
    do {
      s = sendto(fd_, req_.data(), req_.size(), 0, reinterpret_cast<struct sockaddr*>(&sa), sizeof(sa));
    } while (s < 0 && errno == EINTR);
    if (s < 0) {
      errno_ = errno;
      syscall_ = "sendto";
      return;
    }
    std::vector<uint8_t> rx(kRecvBytes);
    for (;;) {
      ssize_t r = recv(fd_, rx.data(), rx.size(), 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        errno_ = errno;
        syscall_ = "recv";
        return;
      }
      for (const struct nlmsghdr* h = reinterpret_cast<const struct nlmsghdr*>(rx.data());
           NLMSG_OK(h, r); h = NLMSG_NEXT(h, r)) {
        if (h->nlmsg_seq != seq_) continue;
        if (h->nlmsg_flags & NLM_F_DUMP_INTR) interrupted_ = true;
        if (h->nlmsg_type == NLMSG_DONE) return;
        if (h->nlmsg_type == NLMSG_ERROR) {
          const struct nlmsgerr* e = static_cast<const struct nlmsgerr*>(NLMSG_DATA(h));
          if (e->error == 0) return;  // an ack ends a non-dump GET
          errno_ = -e->error;
          syscall_ = "dump";
          return;
        }
        const uint8_t* p = reinterpret_cast<const uint8_t*>(h);
        out_.insert(out_.end(), p, p + NLMSG_ALIGN(h->nlmsg_len));
        // A plain GET (no NLM_F_DUMP) answers with one message and no DONE.
        if (!(h->nlmsg_flags & NLM_F_MULTI)) return;
      }
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (errno_ != 0) {
      deferred_.Reject(ErrnoError(env, errno_, syscall_).Value());
      return;
    }
    Napi::Object o = Napi::Object::New(env);
    // Handed over without a copy: a full table's dump is ~30 MB, and a copy doubled the peak.
    if (out_.empty()) {
      o.Set("data", Napi::Buffer<uint8_t>::New(env, 0));
    } else {
      auto* held = new std::vector<uint8_t>(std::move(out_));
      o.Set("data", Napi::Buffer<uint8_t>::New(env, held->data(), held->size(),
                                               [](Napi::Env, uint8_t*, std::vector<uint8_t>* v) { delete v; }, held));
    }
    o.Set("interrupted", Napi::Boolean::New(env, interrupted_));
    deferred_.Resolve(o);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  int fd_;
  std::vector<uint8_t> req_;
  uint32_t seq_;
  std::vector<uint8_t> out_;
  bool interrupted_ = false;
  int errno_ = 0;
  const char* syscall_ = "";
};

Napi::Value NlDump(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Buffer<uint8_t> buf = info[1].As<Napi::Buffer<uint8_t>>();
  uint32_t seq = info[2].As<Napi::Number>().Uint32Value();
  auto* w = new DumpWorker(info.Env(), fd, buf.Data(), buf.Length(), seq);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// Notification reader: a uv_poll on the event loop. Each readable wakeup drains the socket with
// MSG_DONTWAIT and hands every datagram to JS; ENOBUFS (the kernel dropped notifications because our
// buffer was full) is reported so the owner resyncs from a dump.
class Watcher : public FdPoller<Watcher> {
 public:
  explicit Watcher(const Napi::CallbackInfo& info) : FdPoller(info, "uplink:nlWatch") {
    if (info.Length() > 2 && info[2].IsNumber()) ignorePid_ = info[2].As<Napi::Number>().Uint32Value();
    if (ignorePid_ != 0) DropOwnInKernel(fd_, ignorePid_);
    StartPolling(info.Env());
  }

 private:
  friend class FdPoller<Watcher>;

  void Drain(Napi::Env env) {
    for (int i = 0; i < 64 && Polling(); i++) {
      ssize_t r = recv(fd_, rx_.data(), rx_.size(), MSG_DONTWAIT);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) break;
        int err = errno;
        Deliver(env, {env.Null(), Napi::Number::New(env, err)});
        if (err != ENOBUFS) break;
        continue;
      }
      if (ignorePid_ != 0 && AllFrom(rx_.data(), r, ignorePid_)) continue;
      Deliver(env, {Napi::Buffer<uint8_t>::Copy(env, rx_.data(), r), Napi::Number::New(env, 0)});
    }
  }

  // Our own changes' notifications are dropped by a socket filter before the kernel queues them
  // (do_one_broadcast runs sk_filter ahead of the rcvbuf check): a bulk install of 500k routes then
  // neither fills this socket's buffer while the event loop is busy (ENOBUFS, which would force a
  // full resync) nor costs a recv and a copy per route. A route notification skb holds one message
  // (rtmsg_fib, inet6_rt_notify), so its first header's nlmsg_pid decides. Classic BPF loads words
  // big-endian: compare with ntohl of the host-order portid. Without the filter (attach failed) the
  // user-space check below still drops them, only later.
  static void DropOwnInKernel(int fd, uint32_t pid) {
    struct sock_filter code[] = {
        {BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct nlmsghdr, nlmsg_pid)},
        {BPF_JMP | BPF_JEQ | BPF_K, 0, 1, ntohl(pid)},
        {BPF_RET | BPF_K, 0, 0, 0},
        {BPF_RET | BPF_K, 0, 0, 0xffffffff},
    };
    struct sock_fprog prog = {static_cast<unsigned short>(sizeof(code) / sizeof(code[0])), code};
    setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
  }

  // Notifications carry the portid of the socket whose request caused them (rtmsg_fib,
  // inet6_rt_notify). Our own acked changes need no echo: dropping them here saves decoding 100k
  // messages in JS during a bulk install.
  static bool AllFrom(const uint8_t* data, ssize_t len, uint32_t pid) {
    for (const struct nlmsghdr* h = reinterpret_cast<const struct nlmsghdr*>(data); NLMSG_OK(h, len);
         h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_pid != pid) return false;
    }
    return true;
  }

  uint32_t ignorePid_ = 0;
  std::vector<uint8_t> rx_ = std::vector<uint8_t>(256 * 1024);
};

Napi::Value NlWatch(const Napi::CallbackInfo& info) {
  return Watcher::ctor->New({info[0], info[1], info.Length() > 2 ? info[2] : info.Env().Undefined()});
}

// The kernel-assigned portid of a bound netlink socket.
Napi::Value NlPortId(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  struct sockaddr_nl sa;
  socklen_t len = sizeof(sa);
  if (getsockname(fd, reinterpret_cast<struct sockaddr*>(&sa), &len) != 0) throw ErrnoError(info.Env(), errno, "getsockname");
  return Napi::Number::New(info.Env(), sa.nl_pid);
}

}  // namespace

void InitNetlink(Napi::Env env, Napi::Object exports) {
  Watcher::Init(env, "NetlinkWatcher");
  exports.Set("nlOpen", Napi::Function::New(env, NlOpen));
  exports.Set("nlClose", Napi::Function::New(env, NlClose));
  exports.Set("nlTransact", Napi::Function::New(env, NlTransact));
  exports.Set("nlDump", Napi::Function::New(env, NlDump));
  exports.Set("nlWatch", Napi::Function::New(env, NlWatch));
  exports.Set("nlPortId", Napi::Function::New(env, NlPortId));
}

}  // namespace uplink
