#include "engine.h"
#include "../netlink/netns.h"

#include <arpa/inet.h>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

namespace uplink_bfd {

namespace {

constexpr int kPortSingleHop = 3784;  // RFC 5881 §4
constexpr int kPortMultihop = 4784;   // RFC 5883 §5
constexpr int kSrcPortMin = 49152;    // RFC 5881 §4: source port in 49152..65535
constexpr int kSrcPortMax = 65535;
constexpr uint64_t kTagWake = 0;
constexpr uint64_t kTagTimer = 1;
constexpr uint64_t kTagRx = 2;  // + index into rx_

// Sockets for a session in another netns are created on a short-lived thread that has joined it, so
// they live there for good while this process stays where it is (native/netlink/netns.h says why).
using uplink::RunInNetns;

int SetInt(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof value) == 0 ? 0 : errno;
}

socklen_t ToSockaddr(const Addr& a, int port, int scope, sockaddr_storage* ss) {
  memset(ss, 0, sizeof *ss);
  if (a.family == AF_INET) {
    auto* s = reinterpret_cast<sockaddr_in*>(ss);
    s->sin_family = AF_INET;
    s->sin_port = htons(port);
    memcpy(&s->sin_addr, a.bytes, 4);
    return sizeof *s;
  }
  auto* s = reinterpret_cast<sockaddr_in6*>(ss);
  s->sin6_family = AF_INET6;
  s->sin6_port = htons(port);
  memcpy(&s->sin6_addr, a.bytes, 16);
  s->sin6_scope_id = scope;
  return sizeof *s;
}

}  // namespace

bool Addr::Equals(const Addr& o) const {
  return family == o.family && memcmp(bytes, o.bytes, family == AF_INET ? 4 : 16) == 0;
}

PiMutex::PiMutex() {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
  pthread_mutex_init(&m_, &a);
  pthread_mutexattr_destroy(&a);
}
PiMutex::~PiMutex() { pthread_mutex_destroy(&m_); }
void PiMutex::lock() { pthread_mutex_lock(&m_); }
void PiMutex::unlock() { pthread_mutex_unlock(&m_); }

int64_t NowUs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

Engine::Engine(Sink sink) : sink_(std::move(sink)), rng_(static_cast<uint64_t>(NowUs()) | 1) {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  timer_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kTagWake;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, wake_, &ev);
  ev.data.u64 = kTagTimer;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, timer_, &ev);
  outFd_ = eventfd(0, EFD_CLOEXEC);
  thread_ = std::thread([this]() { Run(); });
  deliverer_ = std::thread([this]() { Deliver(); });
}

void Engine::Emit(Event* ev) {
  {
    std::lock_guard<PiMutex> lock(outMu_);
    outbox_.push_back(ev);
  }
  uint64_t one = 1;
  ssize_t n = write(outFd_, &one, sizeof one);
  (void)n;
}

void Engine::Deliver() {
  for (;;) {
    uint64_t count;
    ssize_t n = read(outFd_, &count, sizeof count);
    if (n < 0 && errno == EINTR) continue;
    std::vector<Event*> batch;
    {
      std::lock_guard<PiMutex> lock(outMu_);
      batch.swap(outbox_);
    }
    for (Event* ev : batch) {
      if (stop_.load()) delete ev; else sink_(ev);
    }
    if (stop_.load()) return;
  }
}

Engine::~Engine() { Stop(); }

void Engine::Stop() {
  if (stop_.exchange(true)) return;
  Wake();
  if (thread_.joinable()) thread_.join();
  uint64_t one = 1;
  ssize_t n = write(outFd_, &one, sizeof one);
  (void)n;
  if (deliverer_.joinable()) deliverer_.join();
  for (Event* ev : outbox_) delete ev;
  outbox_.clear();
  close(outFd_);
  std::lock_guard<PiMutex> lock(mu_);
  for (auto& [id, s] : sessions_) close(s.txFd);
  sessions_.clear();
  byDisc_.clear();
  for (auto& r : rx_) {
    if (r.fd >= 0) close(r.fd);
    r.fd = -1;
  }
  close(epfd_);
  close(wake_);
  close(timer_);
}

void Engine::Wake() {
  uint64_t one = 1;
  ssize_t n = write(wake_, &one, sizeof one);
  (void)n;  // a full eventfd counter already means "wake up"
}

int Engine::AcquireRx(const std::string& netns, int family, int port, const char** syscall) {
  for (size_t i = 0; i < rx_.size(); i++) {
    RxSocket& r = rx_[i];
    if (r.fd >= 0 && r.netns == netns && r.family == family && r.port == port) {
      r.refs++;
      return static_cast<int>(i);
    }
  }
  int fd = -1;
  int err = RunInNetns(netns, [&]() {
    fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return *syscall = "socket", errno;
    int e = 0;
    if (family == AF_INET) {
      // RFC 5881 §5: the receiver needs the TTL to apply GTSM; PKTINFO gives the arrival interface.
      if (!e) e = SetInt(fd, IPPROTO_IP, IP_RECVTTL, 1);
      if (!e) e = SetInt(fd, IPPROTO_IP, IP_PKTINFO, 1);
    } else {
      if (!e) e = SetInt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
      if (!e) e = SetInt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1);
      if (!e) e = SetInt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
    }
    if (e) return *syscall = "setsockopt", e;
    sockaddr_storage ss;
    Addr any;
    any.family = family;
    socklen_t len = ToSockaddr(any, port, 0, &ss);
    if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) return *syscall = "bind", errno;
    return 0;
  });
  if (err) {
    if (fd >= 0) close(fd);
    return -err;
  }
  size_t index = rx_.size();
  for (size_t i = 0; i < rx_.size(); i++) {
    if (rx_[i].fd < 0) {
      index = i;
      break;
    }
  }
  RxSocket r{netns, family, port, fd, 1};
  if (index == rx_.size()) rx_.push_back(r); else rx_[index] = r;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kTagRx + index;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
  return static_cast<int>(index);
}

void Engine::ReleaseRx(int index) {
  RxSocket& r = rx_[index];
  if (--r.refs > 0) return;
  epoll_ctl(epfd_, EPOLL_CTL_DEL, r.fd, nullptr);
  close(r.fd);
  r.fd = -1;
}

int Engine::Open(int id, const SessionSpec& spec, const char** syscall, int* srcPort, int* ifindex) {
  std::lock_guard<PiMutex> lock(mu_);
  if (sessions_.count(id)) return *syscall = "open", EEXIST;
  int port = spec.multihop ? kPortMultihop : kPortSingleHop;
  int rxIndex = AcquireRx(spec.netns, spec.peer.family, port, syscall);
  if (rxIndex < 0) return -rxIndex;
  Session s;
  s.spec = spec;
  s.rxKey = rxIndex;
  int fd = -1;
  int chosen = 0;
  int idx = 0;
  int err = RunInNetns(spec.netns, [&]() {
    if (!spec.ifname.empty()) {
      idx = static_cast<int>(if_nametoindex(spec.ifname.c_str()));
      if (idx == 0) return *syscall = "if_nametoindex", errno;
    }
    fd = socket(spec.peer.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return *syscall = "socket", errno;
    int e = 0;
    // RFC 5881 §5 / RFC 5883 §5: send with TTL (hop limit) 255; CS6 like other routing protocols.
    if (spec.peer.family == AF_INET) {
      e = SetInt(fd, IPPROTO_IP, IP_TTL, 255);
      if (!e) e = SetInt(fd, IPPROTO_IP, IP_TOS, 0xC0);
    } else {
      e = SetInt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255);
      if (!e) e = SetInt(fd, IPPROTO_IPV6, IPV6_TCLASS, 0xC0);
    }
    if (e) return *syscall = "setsockopt", e;
    if (!spec.ifname.empty() &&
        setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, spec.ifname.c_str(), spec.ifname.size()) != 0) {
      return *syscall = "SO_BINDTODEVICE", errno;
    }
    // RFC 5881 §4: a source port in 49152..65535, the same for the life of the session. Start at a
    // random point so concurrent sessions rarely collide.
    Addr local = spec.hasLocal ? spec.local : Addr{};
    local.family = spec.peer.family;
    int span = kSrcPortMax - kSrcPortMin + 1;
    int start = static_cast<int>(NowUs() % span);
    for (int i = 0; i < span; i++) {
      int p = kSrcPortMin + (start + i) % span;
      sockaddr_storage ss;
      socklen_t len = ToSockaddr(local, p, idx, &ss);
      if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0) {
        chosen = p;
        return 0;
      }
      if (errno != EADDRINUSE) return *syscall = "bind", errno;
    }
    return *syscall = "bind", EADDRINUSE;
  });
  if (err) {
    if (fd >= 0) close(fd);
    ReleaseRx(rxIndex);
    return err;
  }
  s.txFd = fd;
  s.srcPort = chosen;
  s.ifindex = idx;
  s.txLog.resize(kTxLog);
  *srcPort = chosen;
  *ifindex = idx;
  sessions_[id] = std::move(s);
  if (spec.localDisc) byDisc_[spec.localDisc] = id;
  return 0;
}

void Engine::Close(int id) {
  std::lock_guard<PiMutex> lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  close(it->second.txFd);
  ReleaseRx(it->second.rxKey);
  byDisc_.erase(it->second.spec.localDisc);
  sessions_.erase(it);
}

int64_t Engine::Jittered(const Session& s) {
  // RFC 5880 §6.8.7: reduce each interval by a random 0-25%; with a detect multiplier of 1 the
  // interval must not exceed 90%, so reduce by 10-25%.
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  double u = static_cast<double>(rng_ >> 11) / static_cast<double>(1ULL << 53);
  double lo = 0.75;
  double hi = s.multOne ? 0.90 : 1.0;
  return static_cast<int64_t>(static_cast<double>(s.intervalUs) * (lo + (hi - lo) * u));
}

bool Engine::SetTx(int id, const std::vector<uint8_t>& packet, int64_t intervalUs, bool multOne) {
  {
    std::lock_guard<PiMutex> lock(mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return false;
    Session& s = it->second;
    s.packet = packet;
    s.multOne = multOne;
    int64_t now = NowUs();
    if (intervalUs != s.intervalUs) {
      bool first = s.intervalUs == 0;
      s.intervalUs = intervalUs;
      if (intervalUs > 0) {
        int64_t next = first ? now : now + Jittered(s);
        // A shorter interval takes effect at once; a longer one after the packet already scheduled.
        s.nextTxUs = first || next < s.nextTxUs ? next : s.nextTxUs;
      }
    }
  }
  Wake();
  return true;
}

int Engine::Transmit(Session& s, const std::vector<uint8_t>& pkt) {
  sockaddr_storage ss;
  socklen_t len = ToSockaddr(s.spec.peer, s.spec.multihop ? kPortMultihop : kPortSingleHop, s.ifindex, &ss);
  ssize_t n = sendto(s.txFd, pkt.data(), pkt.size(), 0, reinterpret_cast<sockaddr*>(&ss), len);
  if (n < 0) {
    s.txErrors++;
    return errno;
  }
  s.txCount++;
  return 0;
}

int Engine::SendNow(int id, const std::vector<uint8_t>& packet) {
  std::lock_guard<PiMutex> lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return ENOENT;
  return Transmit(it->second, packet);
}

bool Engine::SetDetect(int id, int64_t detectUs) {
  {
    std::lock_guard<PiMutex> lock(mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return false;
    // Arming (or re-arming with new negotiated values) restarts the timer: JS calls this right after it
    // accepted a packet, so "now" is the last reception.
    it->second.detectUs = detectUs;
    it->second.lastRxUs = NowUs();
  }
  Wake();
  return true;
}

bool Engine::TxLog(int id, std::vector<TxStamp>* out, uint64_t* count, uint64_t* errors) {
  std::lock_guard<PiMutex> lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return false;
  const Session& s = it->second;
  size_t n = s.txCount < kTxLog ? s.txLogNext : kTxLog;
  size_t start = s.txCount < kTxLog ? 0 : s.txLogNext;
  for (size_t i = 0; i < n; i++) out->push_back(s.txLog[(start + i) % kTxLog]);
  *count = s.txCount;
  *errors = s.txErrors;
  return true;
}

bool Engine::Counters(int id, uint64_t* tx, uint64_t* errors) {
  std::lock_guard<PiMutex> lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return false;
  *tx = it->second.txCount;
  *errors = it->second.txErrors;
  return true;
}

void Engine::ArmTimer(int64_t atUs) {
  itimerspec its{};
  if (atUs != INT64_MAX) {
    if (atUs <= 0) atUs = 1;
    its.it_value.tv_sec = atUs / 1000000;
    its.it_value.tv_nsec = (atUs % 1000000) * 1000;
  }
  timerfd_settime(timer_, TFD_TIMER_ABSTIME, &its, nullptr);
}

// RFC 5880 §6.8.6 says which packets count as "received": the thread restarts the detection timer for a
// datagram that would pass the checks that decide it (version, length, multiplier, multipoint, both
// discriminators, GTSM, authentication); the TypeScript decoder repeats them all and is the authority
// for state, counters and drop reasons.
bool Engine::ResetsDetection(const Event& ev, const Session& s) const {
  const std::vector<uint8_t>& p = ev.data;
  if (p.size() < 24) return false;
  if ((p[0] >> 5) != 1) return false;
  bool a = (p[1] & 0x04) != 0;
  if (a != !s.spec.auth.empty()) return false;  // §6.8.6: A bit must match what is configured
  if (a && (p.size() < 24 + s.spec.auth.size() || memcmp(p.data() + 24, s.spec.auth.data(), s.spec.auth.size()) != 0)) {
    return false;  // §6.7.2: type, key id and password must all match
  }
  if (p[1] & 0x01) return false;  // M bit
  if (p[2] == 0) return false;
  if (p[3] < 24 || p[3] > p.size()) return false;
  uint32_t my = (uint32_t(p[4]) << 24) | (uint32_t(p[5]) << 16) | (uint32_t(p[6]) << 8) | p[7];
  uint32_t your = (uint32_t(p[8]) << 24) | (uint32_t(p[9]) << 16) | (uint32_t(p[10]) << 8) | p[11];
  if (my == 0 || your != s.spec.localDisc) return false;
  if (!s.spec.multihop && ev.ttl != 255) return false;
  return true;
}

int Engine::DemuxLocked(const Event& ev, int rxIndex) const {
  const std::vector<uint8_t>& p = ev.data;
  if (p.size() >= 12) {
    uint32_t your = (uint32_t(p[8]) << 24) | (uint32_t(p[9]) << 16) | (uint32_t(p[10]) << 8) | p[11];
    // RFC 5880 §6.8.6: a nonzero Your Discriminator alone selects the session.
    if (your != 0) {
      auto it = byDisc_.find(your);
      if (it == byDisc_.end()) return -1;
      auto s = sessions_.find(it->second);
      if (s == sessions_.end() || s->second.rxKey != rxIndex) return -1;
      return s->first;
    }
  }
  // Otherwise by source address, arrival interface (single hop) and the port it came in on.
  for (const auto& [id, s] : sessions_) {
    if (s.rxKey != rxIndex || !s.spec.peer.Equals(ev.src)) continue;
    if (s.ifindex != 0 && ev.ifindex != 0 && s.ifindex != ev.ifindex) continue;
    return id;
  }
  return -1;
}

void Engine::DrainRx(int fd, int port) {
  int rxIndex = -1;
  for (size_t i = 0; i < rx_.size(); i++) {
    if (rx_[i].fd == fd) rxIndex = static_cast<int>(i);
  }
  for (;;) {
    uint8_t buf[2048];
    alignas(cmsghdr) uint8_t control[256];
    sockaddr_storage from;
    iovec iov{buf, sizeof buf};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
    if (n < 0) return;  // EAGAIN: drained; anything else: the next poll tells again
    auto* ev = new Event();
    ev->kind = Event::Rx;
    ev->tUs = NowUs();
    ev->localPort = port;
    ev->data.assign(buf, buf + n);
    if (from.ss_family == AF_INET) {
      auto* s = reinterpret_cast<sockaddr_in*>(&from);
      ev->src.family = AF_INET;
      memcpy(ev->src.bytes, &s->sin_addr, 4);
      ev->srcPort = ntohs(s->sin_port);
    } else {
      auto* s = reinterpret_cast<sockaddr_in6*>(&from);
      ev->src.family = AF_INET6;
      memcpy(ev->src.bytes, &s->sin6_addr, 16);
      ev->srcPort = ntohs(s->sin6_port);
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) {
        int v;
        memcpy(&v, CMSG_DATA(c), sizeof v);
        ev->ttl = v;
      } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        in_pktinfo pi;
        memcpy(&pi, CMSG_DATA(c), sizeof pi);
        ev->ifindex = pi.ipi_ifindex;
        ev->dst.family = AF_INET;
        memcpy(ev->dst.bytes, &pi.ipi_addr, 4);
        ev->hasDst = true;
      } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT) {
        int v;
        memcpy(&v, CMSG_DATA(c), sizeof v);
        ev->ttl = v;
      } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
        in6_pktinfo pi;
        memcpy(&pi, CMSG_DATA(c), sizeof pi);
        ev->ifindex = static_cast<int>(pi.ipi6_ifindex);
        ev->dst.family = AF_INET6;
        memcpy(ev->dst.bytes, &pi.ipi6_addr, 16);
        ev->hasDst = true;
      }
    }
    {
      std::lock_guard<PiMutex> lock(mu_);
      ev->id = DemuxLocked(*ev, rxIndex);
      if (ev->id >= 0) {
        Session& s = sessions_.at(ev->id);
        if (s.detectUs > 0 && ResetsDetection(*ev, s)) s.lastRxUs = ev->tUs;
      }
    }
    Emit(ev);
  }
}

void Engine::Run() {
  // The whole point of this thread is to be on time while the machine is busy, so ask for a modest
  // real-time priority (it only ever sleeps in epoll_wait or does a sendto/recvmsg). Without the
  // privilege, fall back to a better nice value; without that either, run as we are.
  sched_param sp{};
  sp.sched_priority = 10;
  if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0) {
    sched_ = "fifo";
  } else if (setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), -10) == 0) {
    sched_ = "nice";
  } else {
    sched_ = "normal";
  }
  epoll_event evs[32];
  while (!stop_.load()) {
    int n = epoll_wait(epfd_, evs, 32, -1);
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; i++) {
      uint64_t tag = evs[i].data.u64;
      uint64_t drain;
      if (tag == kTagWake) {
        ssize_t r = read(wake_, &drain, sizeof drain);
        (void)r;
      } else if (tag == kTagTimer) {
        ssize_t r = read(timer_, &drain, sizeof drain);
        (void)r;
      } else {
        int fd = -1;
        int port = 0;
        {
          std::lock_guard<PiMutex> lock(mu_);
          size_t idx = tag - kTagRx;
          if (idx < rx_.size()) {
            fd = rx_[idx].fd;
            port = rx_[idx].port;
          }
        }
        if (fd >= 0) DrainRx(fd, port);
      }
    }
    if (stop_.load()) break;
    std::vector<Event*> expired;
    int64_t next = INT64_MAX;
    {
      std::lock_guard<PiMutex> lock(mu_);
      int64_t now = NowUs();
      for (auto& [id, s] : sessions_) {
        if (s.intervalUs > 0 && !s.packet.empty()) {
          if (now >= s.nextTxUs) {
            int64_t due = s.nextTxUs;
            Transmit(s, s.packet);
            int64_t sent = NowUs();
            s.txLog[s.txLogNext] = TxStamp{due, sent};
            s.txLogNext = (s.txLogNext + 1) % kTxLog;
            // §6.8.7 bounds the gap between consecutive packets, so the next one is timed from this one.
            s.nextTxUs = sent + Jittered(s);
          }
          if (s.nextTxUs < next) next = s.nextTxUs;
        }
        if (s.detectUs > 0) {
          int64_t deadline = s.lastRxUs + s.detectUs;
          if (now >= deadline) {
            auto* ev = new Event();
            ev->kind = Event::Expire;
            ev->id = id;
            ev->tUs = now;
            expired.push_back(ev);
            s.detectUs = 0;  // one-shot: JS re-arms when the session comes back to Init/Up
          } else if (deadline < next) {
            next = deadline;
          }
        }
      }
    }
    for (Event* ev : expired) Emit(ev);
    ArmTimer(next);
  }
}

}  // namespace uplink_bfd
