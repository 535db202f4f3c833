// Helpers shared by the addon's source files.
#pragma once

#include <napi.h>
#include <string>

namespace uplink {

// A JS Error with `errno` and `syscall` set; the TypeScript side turns it into a NetlinkError.
inline Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall) {
  Napi::Error e = Napi::Error::New(env, std::string(syscall) + " failed: errno " + std::to_string(err));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

// Optional netns path argument: null/undefined means "this process's namespace".
inline std::string NetnsArg(const Napi::Value& v) {
  if (v.IsString()) return v.As<Napi::String>().Utf8Value();
  return std::string();
}

void InitNetlink(Napi::Env env, Napi::Object exports);
void InitSockopt(Napi::Env env, Napi::Object exports);
void InitIcmp6(Napi::Env env, Napi::Object exports);

}  // namespace uplink
