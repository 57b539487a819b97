// Per-user kernel resources (ucounts) and who a job's user namespace charges them to.
//
// The kernel counts inotify instances and watches, user, mount and other namespaces, fanotify
// groups, message queue bytes and more per user, per user namespace, and charges each level up
// the chain to the uid that *created* the namespace. Run by root, every job's namespace was
// created by root: one job holding 128 inotify instances left every root process on the host,
// and every other job, without any (EMFILE).
//
// Two defences:
//  - run by root, each job's user namespace is created with a host uid of its own as the
//    effective uid (NamespaceOwner: kOwnerBase + a slot held for the job's life), so what the
//    job takes at the host's level is charged to a uid nothing else uses. Files the job writes
//    are still owned by process.host_uid: the owner is only the namespace's creator.
//  - in every run, the job's own namespace gets small limits (Plan::ucount_limits, written by the
//    child into /proc/sys/user/ while it still has its namespace's capabilities): no nested
//    namespaces, no fanotify, 32 inotify instances and 8192 watches.
#pragma once

#include <sys/types.h>

#include <optional>
#include <utility>

#include "confine/error.h"
#include "confine/fd.h"

namespace confine::launch {

// Host uids kOwnerBase .. kOwnerBase + kOwnerSlots - 1 own the jobs' user namespaces. Below
// 2^31 (tools that read uids as signed), outside the ranges systemd documents for users,
// dynamic users and containers (docs/security.md).
inline constexpr uid_t kOwnerBase = 0x7E000000;  // 2113929216
inline constexpr uid_t kOwnerSlots = 65536;

class NamespaceOwner {
 public:
  // A free slot, held (an exclusive flock on /run/confine/ns-owners/<slot>) until this object
  // goes. Only for root; an error when no slot can be had or the uid is not mapped here (confine
  // inside a user namespace that maps fewer ids).
  [[nodiscard]] static Expected<NamespaceOwner> acquire();
  [[nodiscard]] uid_t uid() const { return uid_; }

  // Runs `clone` with uid() as confine's effective uid, and returns what it returned. Only the
  // effective uid changes: capabilities stay (SECBIT_NO_SETUID_FIXUP) and file access stays
  // root's (fsuid 0), so the clone into the job's cgroup and the child's opening of bind sources
  // are exactly as before. Everything is restored before this returns (confine aborts if it
  // cannot be: running on with the wrong credentials is not an option).
  template <class F>
  auto as_owner(F&& clone) const {
    Switch s(uid_);
    return std::forward<F>(clone)();
  }

 private:
  class Switch {
   public:
    explicit Switch(uid_t uid);
    ~Switch();
    Switch(const Switch&) = delete;
    Switch& operator=(const Switch&) = delete;

   private:
    int securebits_ = 0;
    int dumpable_ = 1;
    bool switched_ = false;
  };
  NamespaceOwner(UniqueFd lock, uid_t uid) : lock_(std::move(lock)), uid_(uid) {}
  UniqueFd lock_;
  uid_t uid_ = 0;
};

}  // namespace confine::launch
