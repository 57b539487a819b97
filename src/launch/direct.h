// Landlock mode's parent half (plan::Isolation::kLandlock, docs/security.md "Landlock mode"): the
// clone without namespaces, and confine as the job's subreaper of last resort.
#pragma once

#include <linux/sched.h>
#include <sys/types.h>

#include "confine/cgroup.h"
#include "confine/error.h"

namespace confine::launch {

// clone3(args) without namespaces; where clone3 is refused with ENOSYS (Docker's default seccomp
// profile refuses it, so that a filter can read clone's flags), the legacy clone with the same
// CLONE_PIDFD and exit signal instead, and `into_cgroup_later` set: CLONE_INTO_CGROUP has no
// legacy form, so the caller moves the child into its leaf (move_into) before letting it go.
// Returns what the syscall returned: 0 in the child, the pid or -1 (errno) in the parent.
[[nodiscard]] long clone_direct(clone_args& args, bool& into_cgroup_later);

// Writes `pid` to the leaf's cgroup.procs: the child waits for the parent's go before it runs
// anything of the job, so it is in the leaf before the job's first instruction all the same.
[[nodiscard]] Expected<void> move_into(const cgroup::Leaf& leaf, pid_t pid);

// While it lives, confine is a child subreaper (PR_SET_CHILD_SUBREAPER): should the job's init
// die before the job (killed by the job itself, without Landlock's signal scoping), its orphans
// come to confine instead of the host's init, and end_adopted() kills and reaps them. The
// previous setting comes back when it goes.
class Subreaper {
 public:
  Subreaper();
  ~Subreaper();
  Subreaper(const Subreaper&) = delete;
  Subreaper& operator=(const Subreaper&) = delete;
  // SIGKILLs every child confine still has (only the job's: the init is reaped by now), reaps
  // them, and repeats until none is left. Returns how many were killed.
  size_t end_adopted() const;

 private:
  int previous_ = 0;
  bool set_ = false;
};

}  // namespace confine::launch
