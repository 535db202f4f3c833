#include "netns.h"

#include <cerrno>
#include <fcntl.h>
#include <sched.h>
#include <thread>
#include <unistd.h>

namespace uplink {

int RunInNetns(const std::string& path, const std::function<int()>& fn) {
  if (path.empty()) return fn();
  int nsfd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (nsfd < 0) return errno;
  int result = 0;
  std::thread worker([&]() {
    if (setns(nsfd, CLONE_NEWNET) != 0) {
      result = errno;
      return;
    }
    result = fn();
  });
  worker.join();
  close(nsfd);
  return result;
}

}  // namespace uplink
