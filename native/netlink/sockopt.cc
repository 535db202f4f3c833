// Sysctls (optionally inside a netns), TCP socket creation and the options a BGP session needs
// (TCP_MD5SIG RFC 2385, IP_MINTTL/IPV6_MINHOPCOUNT RFC 5082, TTL, SO_BINDTODEVICE), and flock(2) for the
// single-writer lock file.
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "netns.h"

namespace uplink {
namespace {

// /proc/sys/net/* resolves against the namespace of the task that opens it, so the open (and the
// write) happen on a thread that has setns()'d; see netns.h.
Napi::Value SysctlWrite(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string ns = NetnsArg(info[0]);
  std::string path = info[1].As<Napi::String>().Utf8Value();
  std::string value = info[2].As<Napi::String>().Utf8Value();
  const char* failed = "open";
  int err = RunInNetns(ns, [&]() -> int {
    int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    ssize_t w = write(fd, value.data(), value.size());
    int e = w < 0 ? errno : 0;
    if (e) failed = "write";
    close(fd);
    return e;
  });
  if (err) throw ErrnoError(env, err, failed);
  return env.Undefined();
}

Napi::Value SysctlRead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string ns = NetnsArg(info[0]);
  std::string path = info[1].As<Napi::String>().Utf8Value();
  std::string out;
  const char* failed = "open";
  int err = RunInNetns(ns, [&]() -> int {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    char buf[4096];
    ssize_t r = read(fd, buf, sizeof(buf));
    int e = r < 0 ? errno : 0;
    if (e) failed = "read";
    else out.assign(buf, r);
    close(fd);
    return e;
  });
  if (err) throw ErrnoError(env, err, failed);
  return Napi::String::New(env, out);
}

Napi::Value TcpSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int family = info[0].As<Napi::Number>().Int32Value();
  std::string ns = NetnsArg(info[1]);
  int fd = -1;
  int err = RunInNetns(ns, [&]() -> int {
    fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    return fd < 0 ? errno : 0;
  });
  if (err) {
    if (fd >= 0) close(fd);
    throw ErrnoError(env, err, "socket");
  }
  return Napi::Number::New(env, fd);
}

Napi::Value SetsockoptInt(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  int level = info[1].As<Napi::Number>().Int32Value();
  int name = info[2].As<Napi::Number>().Int32Value();
  int value = info[3].As<Napi::Number>().Int32Value();
  if (setsockopt(fd, level, name, &value, sizeof(value)) != 0) throw ErrnoError(info.Env(), errno, "setsockopt");
  return info.Env().Undefined();
}

Napi::Value GetsockoptInt(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  int level = info[1].As<Napi::Number>().Int32Value();
  int name = info[2].As<Napi::Number>().Int32Value();
  int value = 0;
  socklen_t len = sizeof(value);
  if (getsockopt(fd, level, name, &value, &len) != 0) throw ErrnoError(info.Env(), errno, "getsockopt");
  return Napi::Number::New(info.Env(), value);
}

Napi::Value SetsockoptBuf(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  int level = info[1].As<Napi::Number>().Int32Value();
  int name = info[2].As<Napi::Number>().Int32Value();
  Napi::Buffer<uint8_t> b = info[3].As<Napi::Buffer<uint8_t>>();
  if (setsockopt(fd, level, name, b.Data(), b.Length()) != 0) throw ErrnoError(info.Env(), errno, "setsockopt");
  return info.Env().Undefined();
}

// Fills a sockaddr_storage from 4 or 16 raw address bytes.
socklen_t FillAddr(struct sockaddr_storage* ss, const Napi::Buffer<uint8_t>& addr, int port) {
  memset(ss, 0, sizeof(*ss));
  if (addr.Length() == 4) {
    auto* sin = reinterpret_cast<struct sockaddr_in*>(ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    memcpy(&sin->sin_addr, addr.Data(), 4);
    return sizeof(*sin);
  }
  auto* sin6 = reinterpret_cast<struct sockaddr_in6*>(ss);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  memcpy(&sin6->sin6_addr, addr.Data(), 16);
  return sizeof(*sin6);
}

// RFC 2385: the key is bound to the peer address on this socket; for a listener, to every peer it
// accepts from that address. TCP_MD5SIG_EXT adds a prefix so one key can cover a peer subnet.
Napi::Value TcpMd5(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Buffer<uint8_t> addr = info[1].As<Napi::Buffer<uint8_t>>();
  int prefixLen = info[2].As<Napi::Number>().Int32Value();
  Napi::Buffer<uint8_t> key = info[3].As<Napi::Buffer<uint8_t>>();
  if ((addr.Length() != 4 && addr.Length() != 16) || key.Length() > TCP_MD5SIG_MAXKEYLEN)
    throw ErrnoError(env, EINVAL, "TCP_MD5SIG arguments");
  struct tcp_md5sig md5;
  memset(&md5, 0, sizeof(md5));
  FillAddr(&md5.tcpm_addr, addr, 0);
  md5.tcpm_keylen = static_cast<uint16_t>(key.Length());
  memcpy(md5.tcpm_key, key.Data(), key.Length());
  int opt = TCP_MD5SIG;
  if (prefixLen >= 0) {
    opt = TCP_MD5SIG_EXT;
    md5.tcpm_flags = TCP_MD5SIG_FLAG_PREFIX;
    md5.tcpm_prefixlen = static_cast<uint8_t>(prefixLen);
  }
  if (setsockopt(fd, IPPROTO_TCP, opt, &md5, sizeof(md5)) != 0) throw ErrnoError(env, errno, "setsockopt TCP_MD5SIG");
  return env.Undefined();
}

Napi::Value BindAddr(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Buffer<uint8_t> addr = info[1].As<Napi::Buffer<uint8_t>>();
  int port = info[2].As<Napi::Number>().Int32Value();
  struct sockaddr_storage ss;
  socklen_t len = FillAddr(&ss, addr, port);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&ss), len) != 0) throw ErrnoError(info.Env(), errno, "bind");
  return info.Env().Undefined();
}

Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  if (fd >= 0) close(fd);
  return info.Env().Undefined();
}

Napi::Value Flock(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  int op = info[1].As<Napi::Number>().Int32Value();
  int r;
  do {
    r = flock(fd, op);
  } while (r != 0 && errno == EINTR);
  return Napi::Number::New(info.Env(), r == 0 ? 0 : errno);
}

}  // namespace

void InitSockopt(Napi::Env env, Napi::Object exports) {
  exports.Set("sysctlWrite", Napi::Function::New(env, SysctlWrite));
  exports.Set("sysctlRead", Napi::Function::New(env, SysctlRead));
  exports.Set("tcpSocket", Napi::Function::New(env, TcpSocket));
  exports.Set("setsockoptInt", Napi::Function::New(env, SetsockoptInt));
  exports.Set("getsockoptInt", Napi::Function::New(env, GetsockoptInt));
  exports.Set("setsockoptBuf", Napi::Function::New(env, SetsockoptBuf));
  exports.Set("tcpMd5", Napi::Function::New(env, TcpMd5));
  exports.Set("bindAddr", Napi::Function::New(env, BindAddr));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd));
  exports.Set("flock", Napi::Function::New(env, Flock));
}

}  // namespace uplink
