// uplink_bfd: the time-critical half of bfd/. One thread per engine owns the UDP sockets, transmits each
// session's current packet on its jittered schedule (RFC 5880 §6.8.7), reads every datagram with its
// TTL / hop limit (RFC 5881 §5 GTSM needs it) and runs the detection timers (§6.8.4), so a main thread
// busy for hundreds of milliseconds neither delays our packets nor makes us declare a live peer down.
// Everything else (decoding, validation, the state machine, poll/final) stays in TypeScript: JS hands
// this thread finished packet bytes and intervals, and gets datagrams and expiries back through a
// ThreadSafeFunction.
//
// Concurrency: `mu_` guards `sessions_`, `byDisc_` and `rx_`. JS-thread calls take it briefly and
// wake the engine thread through `wake_` (an eventfd) when a schedule changed. The engine thread runs
// SCHED_FIFO, so every lock it shares with normal-priority threads is priority-inheriting (PiMutex):
// a preempted JS thread holding `mu_` is boosted instead of stalling transmissions. For the same
// reason the engine never calls into Node itself: it queues events in `outbox_` and a normal-priority
// delivery thread hands them to the ThreadSafeFunction (whose internal lock the event loop holds).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <pthread.h>

namespace uplink_bfd {

struct Addr {
  int family = 0;  // AF_INET or AF_INET6
  uint8_t bytes[16] = {0};
  bool Equals(const Addr& o) const;
};

struct SessionSpec {
  std::string netns;  // empty: this process's namespace
  Addr peer;
  bool hasLocal = false;
  Addr local;
  std::string ifname;  // empty: any interface
  bool multihop = false;
  uint32_t localDisc = 0;
  // Simple Password authentication (RFC 5880 §6.7.2): the whole auth section a valid packet carries
  // (type, len, key id, password); empty when the session has no authentication.
  std::vector<uint8_t> auth;
};

// One transmission, for the bench: when it was due and when sendto() returned (CLOCK_MONOTONIC us).
struct TxStamp {
  int64_t dueUs;
  int64_t sentUs;
};

struct Event {
  enum Kind { Rx, Expire } kind = Rx;
  int id = -1;  // session the datagram was demultiplexed to, -1 when none matched
  std::vector<uint8_t> data;
  int ttl = -1;  // -1 when the kernel gave no TTL / hop limit
  Addr src;
  int srcPort = 0;
  Addr dst;
  bool hasDst = false;
  int ifindex = 0;
  int localPort = 0;
  int64_t tUs = 0;
};

struct Session {
  SessionSpec spec;
  int txFd = -1;
  int srcPort = 0;
  int ifindex = 0;
  int rxKey = -1;  // index into rx_ of the socket that receives this session's packets
  std::vector<uint8_t> packet;
  int64_t intervalUs = 0;  // 0: no periodic transmission
  bool multOne = false;    // detect multiplier 1: jitter 75-90% (§6.8.7)
  int64_t nextTxUs = 0;
  int64_t detectUs = 0;  // 0: detection timer not armed
  int64_t lastRxUs = 0;
  uint64_t txCount = 0;
  uint64_t txErrors = 0;
  std::vector<TxStamp> txLog;  // ring of the last kTxLog transmissions
  size_t txLogNext = 0;
};

struct RxSocket {
  std::string netns;
  int family;
  int port;
  int fd;
  int refs;
};

int64_t NowUs();

// A pthread mutex with PTHREAD_PRIO_INHERIT, usable with std::lock_guard.
class PiMutex {
 public:
  PiMutex();
  ~PiMutex();
  PiMutex(const PiMutex&) = delete;
  PiMutex& operator=(const PiMutex&) = delete;
  void lock();
  void unlock();

 private:
  pthread_mutex_t m_;
};

class Engine {
 public:
  using Sink = std::function<void(Event*)>;
  explicit Engine(Sink sink);
  ~Engine();

  // Returns 0 or an errno; `syscall` names the failing call.
  int Open(int id, const SessionSpec& spec, const char** syscall, int* srcPort, int* ifindex);
  void Close(int id);
  bool SetTx(int id, const std::vector<uint8_t>& packet, int64_t intervalUs, bool multOne);
  int SendNow(int id, const std::vector<uint8_t>& packet);
  bool SetDetect(int id, int64_t detectUs);
  bool TxLog(int id, std::vector<TxStamp>* out, uint64_t* count, uint64_t* errors);
  bool Counters(int id, uint64_t* tx, uint64_t* errors);
  void Stop();

  static constexpr size_t kTxLog = 8192;
  // How the engine thread is scheduled: "fifo" (SCHED_FIFO 10), "nice" (-10) or "normal".
  std::string Sched() const { return std::string(sched_.load()); }

 private:
  void Run();
  void Deliver();
  void Emit(Event* ev);
  void Wake();
  void ArmTimer(int64_t atUs);
  void DrainRx(int fd, int port);
  int Transmit(Session& s, const std::vector<uint8_t>& pkt);
  int64_t Jittered(const Session& s);
  int DemuxLocked(const Event& ev, int rxIndex) const;
  bool ResetsDetection(const Event& ev, const Session& s) const;
  int AcquireRx(const std::string& netns, int family, int port, const char** syscall);
  void ReleaseRx(int index);

  Sink sink_;
  PiMutex mu_;
  PiMutex outMu_;
  std::vector<Event*> outbox_;
  int outFd_ = -1;
  std::thread deliverer_;
  std::map<int, Session> sessions_;
  std::map<uint32_t, int> byDisc_;
  std::vector<RxSocket> rx_;
  int epfd_ = -1;
  int wake_ = -1;
  int timer_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<const char*> sched_{"starting"};
  std::thread thread_;
  uint64_t rng_;
};

}  // namespace uplink_bfd
