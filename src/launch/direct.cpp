#include "direct.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "confine/host.h"

namespace confine::launch {

long clone_direct(clone_args& args, bool& into_cgroup_later) {
  into_cgroup_later = false;
  const long r = ::syscall(SYS_clone3, &args, sizeof(args));
  if (r >= 0 || errno != ENOSYS) return r;
  // x86-64's clone(flags, stack, parent_tid, child_tid, tls): with CLONE_PIDFD the pidfd is
  // written where parent_tid points. A null stack: the child runs on a copy of this one, as a
  // fork does.
  into_cgroup_later = (args.flags & CLONE_INTO_CGROUP) != 0;
  const uint64_t flags = (args.flags & ~static_cast<uint64_t>(CLONE_INTO_CGROUP)) | args.exit_signal;
  return ::syscall(SYS_clone, static_cast<unsigned long>(flags), nullptr, reinterpret_cast<int*>(args.pidfd),
                   nullptr, nullptr);
}

Expected<void> move_into(const cgroup::Leaf& leaf, pid_t pid) {
  if (auto written = leaf.write("cgroup.procs", std::to_string(pid)); !written) {
    return unexpected(std::move(written.error()).add_context("move the job into its cgroup (clone3 is refused here)"));
  }
  return {};
}

Subreaper::Subreaper() {
  if (::prctl(PR_GET_CHILD_SUBREAPER, &previous_, 0, 0, 0) != 0) previous_ = 0;
  set_ = ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;
}

Subreaper::~Subreaper() {
  if (set_) (void)::prctl(PR_SET_CHILD_SUBREAPER, previous_, 0, 0, 0);
}

size_t Subreaper::end_adopted() const {
  size_t killed = 0;
  const std::string children = "/proc/self/task/" + std::to_string(::getpid()) + "/children";
  // The same loop as the init's (child/direct.cpp): an unreaped child's pid is never reused, so
  // each one named here is still the job's.
  while (true) {
    const auto text = host::read_text(children);
    if (!text) break;
    const auto pids = host::words(*text);
    if (pids.empty()) break;
    for (const auto& word : pids) {
      const pid_t pid = static_cast<pid_t>(std::stol(word));
      if (::kill(pid, SIGKILL) == 0) ++killed;
    }
    int status = 0;
    while (::waitpid(-1, &status, __WALL) < 0 && errno == EINTR) {
    }
  }
  // Zombies the kill loop did not wait for.
  int status = 0;
  while (::waitpid(-1, &status, WNOHANG | __WALL) > 0) {
  }
  return killed;
}

}  // namespace confine::launch
