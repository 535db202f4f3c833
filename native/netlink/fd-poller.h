// A socket the addon reads on Node's event loop, as a JS object with stop(). The netlink notification
// watcher and the ICMPv6 watcher share this part; each says only how to drain its socket.
//
// Ownership and threading: everything here runs on the JS thread (uv_poll callbacks run on the loop).
// The object keeps itself alive (Ref) while polling, so JS may drop it; stop() closes the poll handle
// and releases that reference. The fd belongs to the caller: stop() does not close it.
#pragma once

#include <cerrno>
#include <initializer_list>
#include <uv.h>

#include "common.h"

namespace uplink {

// CRTP base: `Derived` has `void Drain(Napi::Env env)`, called on each readable wakeup inside a handle
// scope; it reads with MSG_DONTWAIT while Polling() and hands datagrams to Deliver().
template <typename Derived>
class FdPoller : public Napi::ObjectWrap<Derived> {
 public:
  static Napi::FunctionReference* ctor;

  static void Init(Napi::Env env, const char* className) {
    Napi::Function f = Napi::ObjectWrap<Derived>::DefineClass(
        env, className, {Napi::ObjectWrap<Derived>::InstanceMethod("stop", &FdPoller::Stop)});
    ctor = new Napi::FunctionReference(Napi::Persistent(f));
  }

  ~FdPoller() override { delete ctx_; }

 protected:
  // info[0] = fd, info[1] = the JS callback; `resource` names the async context in async_hooks.
  FdPoller(const Napi::CallbackInfo& info, const char* resource) : Napi::ObjectWrap<Derived>(info) {
    fd_ = info[0].As<Napi::Number>().Int32Value();
    cb_ = Napi::Persistent(info[1].As<Napi::Function>());
    ctx_ = new Napi::AsyncContext(info.Env(), resource);
  }

  // The last step of Derived's constructor, once the socket is ready to be read.
  void StartPolling(Napi::Env env) {
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    poll_ = new uv_poll_t;
    poll_->data = this;
    if (uv_poll_init(loop, poll_, fd_) != 0) {
      delete poll_;
      poll_ = nullptr;
      throw ErrnoError(env, EINVAL, "uv_poll_init");
    }
    uv_poll_start(poll_, UV_READABLE, &FdPoller::OnReadable);
    this->Ref();  // alive while polling, even if JS drops the object
  }

  // False once JS called stop() (possibly from inside a callback of this very drain).
  bool Polling() const { return poll_ != nullptr; }

  void Deliver(Napi::Env env, const std::initializer_list<napi_value>& args) {
    cb_.MakeCallback(env.Global(), args, *ctx_);
  }

  int fd_ = -1;

 private:
  static void OnReadable(uv_poll_t* h, int status, int events) {
    // `data` was set from a FdPoller<Derived>* (a base of Derived): cast back through the base.
    Derived* self = static_cast<Derived*>(static_cast<FdPoller*>(h->data));
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    self->Drain(env);
    (void)status;
    (void)events;
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    if (poll_ != nullptr) {
      uv_poll_stop(poll_);
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
      this->Unref();
    }
    return info.Env().Undefined();
  }

  Napi::FunctionReference cb_;
  Napi::AsyncContext* ctx_ = nullptr;
  uv_poll_t* poll_ = nullptr;
};

template <typename Derived>
Napi::FunctionReference* FdPoller<Derived>::ctor = nullptr;

}  // namespace uplink
