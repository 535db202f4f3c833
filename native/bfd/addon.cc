// uplink_bfd's JS surface: `new BfdIo(onEvent)` wraps one Engine (one thread). Datagrams and
// detection-timer expiries cross to the event loop through a ThreadSafeFunction; bfd/native.ts types it.
#include <napi.h>

#include <memory>
#include <string>

#include <sys/socket.h>

#include "engine.h"

namespace uplink_bfd {

namespace {

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall) {
  Napi::Error e = Napi::Error::New(env, std::string(syscall) + " failed: errno " + std::to_string(err));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

Addr AddrArg(const Napi::Value& v) {
  Addr a;
  Napi::Buffer<uint8_t> b = v.As<Napi::Buffer<uint8_t>>();
  if (b.Length() == 4) {
    a.family = AF_INET;
    memcpy(a.bytes, b.Data(), 4);
  } else if (b.Length() == 16) {
    a.family = AF_INET6;
    memcpy(a.bytes, b.Data(), 16);
  }
  return a;
}

Napi::Buffer<uint8_t> AddrValue(Napi::Env env, const Addr& a) {
  return Napi::Buffer<uint8_t>::Copy(env, a.bytes, a.family == AF_INET ? 4 : 16);
}

std::vector<uint8_t> BytesArg(const Napi::Value& v) {
  Napi::Buffer<uint8_t> b = v.As<Napi::Buffer<uint8_t>>();
  return std::vector<uint8_t>(b.Data(), b.Data() + b.Length());
}

}  // namespace

class BfdIo : public Napi::ObjectWrap<BfdIo> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "BfdIo",
                       {
                           InstanceMethod("open", &BfdIo::Open),
                           InstanceMethod("close", &BfdIo::Close),
                           InstanceMethod("setTx", &BfdIo::SetTx),
                           InstanceMethod("sendNow", &BfdIo::SendNow),
                           InstanceMethod("setDetect", &BfdIo::SetDetect),
                           InstanceMethod("txLog", &BfdIo::TxLog),
                           InstanceMethod("counters", &BfdIo::Counters),
                           InstanceMethod("nowUs", &BfdIo::Now),
                           InstanceMethod("sched", &BfdIo::Sched),
                           InstanceMethod("stop", &BfdIo::Stop),
                       });
  }

  explicit BfdIo(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BfdIo>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsFunction()) {
      Napi::TypeError::New(env, "BfdIo(onEvent): onEvent must be a function").ThrowAsJavaScriptException();
      return;
    }
    tsfn_ = Napi::ThreadSafeFunction::New(env, info[0].As<Napi::Function>(), "uplink_bfd", 0, 1);
    engine_ = std::make_unique<Engine>([this](Event* ev) {
      napi_status st = tsfn_.NonBlockingCall(ev, &BfdIo::Deliver);
      if (st != napi_ok) delete ev;
    });
  }

  ~BfdIo() override { Shutdown(); }

 private:
  static void Deliver(Napi::Env env, Napi::Function cb, Event* ev) {
    std::unique_ptr<Event> owned(ev);
    if (env == nullptr || cb.IsEmpty()) return;
    Napi::Object o = Napi::Object::New(env);
    o.Set("kind", Napi::String::New(env, ev->kind == Event::Rx ? "rx" : "expire"));
    o.Set("id", Napi::Number::New(env, ev->id));
    o.Set("tUs", Napi::Number::New(env, static_cast<double>(ev->tUs)));
    if (ev->kind == Event::Rx) {
      o.Set("data", Napi::Buffer<uint8_t>::Copy(env, ev->data.data(), ev->data.size()));
      o.Set("ttl", Napi::Number::New(env, ev->ttl));
      o.Set("src", AddrValue(env, ev->src));
      o.Set("srcPort", Napi::Number::New(env, ev->srcPort));
      o.Set("dst", ev->hasDst ? static_cast<Napi::Value>(AddrValue(env, ev->dst)) : env.Null());
      o.Set("ifindex", Napi::Number::New(env, ev->ifindex));
      o.Set("localPort", Napi::Number::New(env, ev->localPort));
    }
    cb.Call({o});
  }

  void Shutdown() {
    if (!engine_) return;
    engine_->Stop();
    engine_.reset();
    tsfn_.Release();
  }

  bool Live(Napi::Env env) {
    if (engine_) return true;
    Napi::Error::New(env, "BfdIo stopped").ThrowAsJavaScriptException();
    return false;
  }

  Napi::Value Open(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Live(env)) return env.Undefined();
    int id = info[0].As<Napi::Number>().Int32Value();
    Napi::Object o = info[1].As<Napi::Object>();
    SessionSpec spec;
    if (o.Get("netns").IsString()) spec.netns = o.Get("netns").As<Napi::String>().Utf8Value();
    spec.peer = AddrArg(o.Get("peer"));
    if (o.Get("local").IsBuffer()) {
      spec.hasLocal = true;
      spec.local = AddrArg(o.Get("local"));
    }
    if (o.Get("ifname").IsString()) spec.ifname = o.Get("ifname").As<Napi::String>().Utf8Value();
    spec.multihop = o.Get("multihop").ToBoolean().Value();
    spec.localDisc = o.Get("localDisc").As<Napi::Number>().Uint32Value();
    if (o.Get("auth").IsBuffer()) spec.auth = BytesArg(o.Get("auth"));
    if (spec.peer.family == 0) {
      Napi::TypeError::New(env, "peer must be 4 or 16 bytes").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const char* syscall = "open";
    int srcPort = 0;
    int ifindex = 0;
    int err = engine_->Open(id, spec, &syscall, &srcPort, &ifindex);
    if (err) {
      ErrnoError(env, err, syscall).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Object r = Napi::Object::New(env);
    r.Set("srcPort", Napi::Number::New(env, srcPort));
    r.Set("ifindex", Napi::Number::New(env, ifindex));
    return r;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (engine_) engine_->Close(info[0].As<Napi::Number>().Int32Value());
    return info.Env().Undefined();
  }

  Napi::Value SetTx(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Live(env)) return env.Undefined();
    bool ok = engine_->SetTx(info[0].As<Napi::Number>().Int32Value(), BytesArg(info[1]),
                             info[2].As<Napi::Number>().Int64Value(), info[3].ToBoolean().Value());
    return Napi::Boolean::New(env, ok);
  }

  Napi::Value SendNow(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Live(env)) return env.Undefined();
    int err = engine_->SendNow(info[0].As<Napi::Number>().Int32Value(), BytesArg(info[1]));
    return Napi::Number::New(env, err);
  }

  Napi::Value SetDetect(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Live(env)) return env.Undefined();
    bool ok = engine_->SetDetect(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int64Value());
    return Napi::Boolean::New(env, ok);
  }

  Napi::Value TxLog(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Live(env)) return env.Undefined();
    std::vector<TxStamp> log;
    uint64_t count = 0;
    uint64_t errors = 0;
    if (!engine_->TxLog(info[0].As<Napi::Number>().Int32Value(), &log, &count, &errors)) return env.Null();
    Napi::Float64Array due = Napi::Float64Array::New(env, log.size());
    Napi::Float64Array sent = Napi::Float64Array::New(env, log.size());
    for (size_t i = 0; i < log.size(); i++) {
      due[i] = static_cast<double>(log[i].dueUs);
      sent[i] = static_cast<double>(log[i].sentUs);
    }
    Napi::Object r = Napi::Object::New(env);
    r.Set("due", due);
    r.Set("sent", sent);
    r.Set("count", Napi::Number::New(env, static_cast<double>(count)));
    r.Set("errors", Napi::Number::New(env, static_cast<double>(errors)));
    return r;
  }

  Napi::Value Counters(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Live(env)) return env.Undefined();
    uint64_t tx = 0;
    uint64_t errors = 0;
    if (!engine_->Counters(info[0].As<Napi::Number>().Int32Value(), &tx, &errors)) return env.Null();
    Napi::Object r = Napi::Object::New(env);
    r.Set("tx", Napi::Number::New(env, static_cast<double>(tx)));
    r.Set("txErrors", Napi::Number::New(env, static_cast<double>(errors)));
    return r;
  }

  Napi::Value Now(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(NowUs()));
  }

  Napi::Value Sched(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Live(env)) return env.Undefined();
    return Napi::String::New(env, engine_->Sched());
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    Shutdown();
    return info.Env().Undefined();
  }

  std::unique_ptr<Engine> engine_;
  Napi::ThreadSafeFunction tsfn_;
};

}  // namespace uplink_bfd

static Napi::Object InitBfd(Napi::Env env, Napi::Object exports) {
  exports.Set("BfdIo", uplink_bfd::BfdIo::Define(env));
  return exports;
}

NODE_API_MODULE(uplink_bfd, InitBfd)
