// Running a piece of code inside another network namespace without moving Node's main thread.
//
// Why a short-lived thread: setns(CLONE_NEWNET) changes the namespace of the calling *thread* only. If
// the main thread called it, every socket libuv opens meanwhile (DNS, the control socket, a BGP
// session) would land in the wrong namespace, and a failed setns back would leave the whole agent
// there. A fresh std::thread setns()es, creates the socket (or opens the /proc/sys file), and exits;
// the socket stays bound to the namespace it was created in for its whole life.
#pragma once

#include <string>
#include <functional>

namespace uplink {

// Runs `fn` in a thread that has joined the netns at `path` (or inline when `path` is empty).
// Returns 0, or the errno of open()/setns(); `fn` returns its own errno (0 for success).
int RunInNetns(const std::string& path, const std::function<int()>& fn);

}  // namespace uplink
