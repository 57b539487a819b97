// The built-in rules that look at syscall arguments, and the supervision intercepts.
//
// Each rule here closes a way out that the mount tree, the namespaces and the rlimits leave
// open. They are written so they hold whatever the policy's default action is: where the
// syscall itself is allowed, the allowed argument values are spelled out as well as the denied
// ones (libseccomp keeps only the unconditional rule when one is mixed with conditional rules
// for the same syscall, so "allow socket, except..." must become "allow these families, deny
// the rest").
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "builder.h"

namespace confine::seccomp {
namespace {

using policy::SeccompAction;

constexpr uint64_t kLow32 = 0xffffffffULL;

// fchmodat2 (Linux 6.6) is newer than libseccomp 2.5.4's tables. New syscalls share one number
// on every architecture that uses the generic table, x86_64's included.
constexpr int kFchmodat2 = 452;
// setxattrat and removexattrat (Linux 6.13), by number for the same reason.
constexpr int kSetxattrat = 463;
constexpr int kRemovexattrat = 466;

#ifndef __O_TMPFILE
#define __O_TMPFILE 020000000
#endif

// Adds `allowed` (the syscall's own action) for every 32-bit value of argument `arg` in
// `values`, and `denied` for every other value, compared on the low 32 bits: the kernel reads
// these arguments as int, so high bits must not smuggle a value past the filter.
Expected<void> split_on_values(Builder& b, const std::string& name, unsigned arg, const std::vector<uint32_t>& values,
                               const Action& allowed, const Action& denied) {
  for (uint32_t v : values) {
    if (auto r = b.add(allowed, name, {masked_eq(arg, kLow32, v)}); !r) return r;
  }
  std::vector<std::pair<uint32_t, uint32_t>> cubes;
  complement_cubes(values, 31, 0, cubes);
  for (const auto& [mask, value] : cubes) {
    if (auto r = b.add(denied, name, {masked_eq(arg, mask, value)}); !r) return r;
  }
  return {};
}

// Memory RLIMIT_AS cannot see (add_unaccounted_memory below).
const std::vector<std::string>& unaccounted_memory_syscalls() {
  static const std::vector<std::string> names{"memfd_create", "memfd_secret", "shmget", "msgget"};
  return names;
}

// Calls that can end a thread parked on a violation (add_supervision below).
const std::vector<std::string>& supervised_syscall_names() {
  static const std::vector<std::string> names{"exit_group", "execve",  "execveat",          "kill",
                                              "tkill",      "tgkill",  "pidfd_send_signal", "rt_sigqueueinfo",
                                              "rt_tgsigqueueinfo"};
  return names;
}

}  // namespace

// --- Socket families ---------------------------------------------------------------------------
// A network namespace isolates only the families the kernel implements per namespace. AF_VSOCK
// has one port space for the whole machine and leads to the hypervisor: under "no network" a
// job could still bind, listen and connect there. So socket() and socketpair() accept only the
// families the plan allows (unix, inet, inet6 and netlink unless the policy says otherwise) and
// fail with EAFNOSUPPORT for every other domain, as a kernel built without them would.
Expected<void> add_socket_families(Builder& b, const CompileOptions& options, BuiltinChoices& choices) {
  if (options.socket_families.empty()) return {};
  const auto unique = [](const std::vector<int>& list) {
    std::vector<uint32_t> families(list.begin(), list.end());
    std::sort(families.begin(), families.end());
    families.erase(std::unique(families.begin(), families.end()), families.end());
    return families;
  };
  const Action refuse{SeccompAction::kErrno, EAFNOSUPPORT};
  for (const char* name : {"socket", "socketpair"}) {
    const Action own = b.action_for(name);
    if (own.kind != SeccompAction::kAllow) {
      if (auto r = b.add(own, name); !r) return r;  // the policy denies it outright
      continue;
    }
    const bool pair = std::string_view(name) == "socketpair" && options.socketpair_families;
    const std::vector<uint32_t> families = unique(pair ? *options.socketpair_families : options.socket_families);
    if (auto r = split_on_values(b, name, 0, families, own, refuse); !r) return r;
  }
  choices.socket_families = options.socket_families;
  if (options.socketpair_families) choices.socketpair_families = *options.socketpair_families;
  return {};
}

// --- Set-id modes ------------------------------------------------------------------------------
// A job must not leave setuid or setgid files behind: its mounts are nosuid inside the sandbox,
// but a read-write directory is the host's, and a setuid file there, owned by the sandbox's
// host uid, runs with that uid for whoever executes it later on the host. So every call that
// sets a file mode fails with EPERM when the mode has S_ISUID or S_ISGID (systemd's
// RestrictSUIDSGID=). Opens count only when they create (O_CREAT, O_TMPFILE): otherwise the
// mode argument is ignored by the kernel and may hold anything. openat2 passes its mode in a
// struct the filter cannot read, so it gets ENOSYS and libc and programs fall back to openat.
Expected<void> add_setid_modes(Builder& b, const CompileOptions& options, BuiltinChoices& choices) {
  if (!options.deny_setid_modes) return {};
  const Action eperm{SeccompAction::kErrno, EPERM};
  constexpr uint64_t kSetId = S_ISUID | S_ISGID;

  // Calls whose mode is argument `arg` and always applies.
  struct ModeCall {
    const char* name;
    unsigned arg;
  };
  constexpr ModeCall kModeCalls[] = {{"chmod", 1}, {"fchmod", 1}, {"fchmodat", 2}, {"mkdir", 1},
                                     {"mkdirat", 2}, {"mknod", 1}, {"mknodat", 2}, {"creat", 1}};
  auto add_mode_rules = [&](const Action& own, const std::string& name, int nr, unsigned arg) -> Expected<void> {
    auto add = [&](const Action& a, const std::vector<scmp_arg_cmp>& c) {
      return nr >= 0 ? b.add_nr(a, nr, name, c) : b.add(a, name, c);
    };
    if (own.kind != SeccompAction::kAllow) return add(own, {});
    if (auto r = add(own, {masked_eq(arg, kSetId, 0)}); !r) return r;
    if (auto r = add(eperm, {masked_eq(arg, S_ISUID, S_ISUID)}); !r) return r;
    return add(eperm, {masked_eq(arg, S_ISGID, S_ISGID)});
  };
  for (const ModeCall& call : kModeCalls) {
    if (auto r = add_mode_rules(b.action_for(call.name), call.name, -1, call.arg); !r) return r;
  }
  // fchmodat2 has no name in libseccomp 2.5.4, so no policy rule can name it either: it gets the
  // default action, and the mode rule whenever that default allows it (Landlock mode refuses it
  // outright instead: add_path_metadata).
  if (b.default_action().kind == SeccompAction::kAllow && !options.deny_path_metadata) {
    if (auto r = add_mode_rules(b.default_action(), "fchmodat2", kFchmodat2, 2); !r) return r;
  }

  // open(path, flags, mode) and openat(dirfd, path, flags, mode).
  struct OpenCall {
    const char* name;
    unsigned flags;
    unsigned mode;
  };
  for (const OpenCall& call : {OpenCall{"open", 1, 2}, OpenCall{"openat", 2, 3}}) {
    const Action own = b.action_for(call.name);
    if (own.kind != SeccompAction::kAllow) {
      if (auto r = b.add(own, call.name); !r) return r;
      continue;
    }
    // Allowed: nothing is created, or the mode has neither bit. Denied: the other four corners.
    if (auto r = b.add(own, call.name, {masked_eq(call.flags, O_CREAT | __O_TMPFILE, 0)}); !r) return r;
    if (auto r = b.add(own, call.name, {masked_eq(call.mode, kSetId, 0)}); !r) return r;
    for (uint64_t create : {uint64_t{O_CREAT}, uint64_t{__O_TMPFILE}}) {
      for (uint64_t bit : {uint64_t{S_ISUID}, uint64_t{S_ISGID}}) {
        if (auto r = b.add(eperm, call.name, {masked_eq(call.flags, create, create), masked_eq(call.mode, bit, bit)}); !r) {
          return r;
        }
      }
    }
  }
  if (const Action own = b.action_for("openat2"); own.kind == SeccompAction::kAllow) {
    if (auto r = b.add(Action{SeccompAction::kErrno, ENOSYS}, "openat2"); !r) return r;
    choices.openat2_enosys = true;
  }
  choices.setid_modes = true;
  return {};
}

// --- fallocate ---------------------------------------------------------------------------------
// RLIMIT_FSIZE is checked when a file grows. fallocate with FALLOC_FL_KEEP_SIZE allocates disk
// blocks without growing the file, so a job under a file-size limit could still fill the disk
// with files that `ls` shows as empty. Such calls fail with EOPNOTSUPP (as on a filesystem
// without preallocation; posix_fallocate then writes, which the limit sees). Punching holes
// needs KEEP_SIZE too and only frees space: it stays allowed.
Expected<void> add_fallocate(Builder& b, const CompileOptions& options, BuiltinChoices& choices) {
  if (!options.deny_fallocate_keep_size) return {};
  const Action own = b.action_for("fallocate");
  if (own.kind != SeccompAction::kAllow) return b.add(own, "fallocate");
  constexpr uint64_t kKeep = FALLOC_FL_KEEP_SIZE;
  constexpr uint64_t kPunch = FALLOC_FL_PUNCH_HOLE;
  if (auto r = b.add(own, "fallocate", {masked_eq(1, kKeep, 0)}); !r) return r;
  if (auto r = b.add(own, "fallocate", {masked_eq(1, kKeep | kPunch, kKeep | kPunch)}); !r) return r;
  if (auto r = b.add(Action{SeccompAction::kErrno, EOPNOTSUPP}, "fallocate", {masked_eq(1, kKeep | kPunch, kKeep)}); !r) {
    return r;
  }
  choices.fallocate_keep_size = true;
  return {};
}

// --- Memory RLIMIT_AS cannot see ---------------------------------------------------------------
// Without the cgroup memory controller, the memory limit falls back to RLIMIT_AS, which counts
// mappings only. A memfd filled with write(), SysV shared memory that is attached, written and
// detached again, and SysV message queues hold memory that is never mapped: one process held
// 3 GiB under a 512M limit through a memfd. Under the fallback these fail with ENOSYS (as on a
// kernel without them; callers fall back to files in the size-capped /tmp).
Expected<void> add_unaccounted_memory(Builder& b, const CompileOptions& options, BuiltinChoices& choices) {
  if (!options.deny_unaccounted_memory) return {};
  for (const std::string& name : unaccounted_memory_syscalls()) {
    const Action own = b.action_for(name);
    // A policy that already kills or refuses it keeps its stricter or explicit answer.
    const Action action = own.kind == SeccompAction::kAllow ? Action{SeccompAction::kErrno, ENOSYS} : own;
    if (auto r = b.add(action, name); !r) return r;
  }
  choices.unaccounted_memory = true;
  return {};
}

// --- Metadata by path (Landlock mode) ----------------------------------------------------------
// Landlock has no right for changing a file's mode, owner, times or extended attributes: without
// a mount namespace, a job that names a path outside its rules could still chmod, chown or touch
// what its uid owns there. The calls with a name in libseccomp's tables are refused through the
// resolved rules (plan/direct.cpp); these are the rest. utimensat's fd form (a NULL path: what
// futimens calls) reaches only a file the job could open, so it stays.
Expected<void> add_path_metadata(Builder& b, const CompileOptions& options, BuiltinChoices& choices) {
  if (!options.deny_path_metadata) return {};
  const Action eperm{SeccompAction::kErrno, EPERM};
  if (const Action own = b.action_for("utimensat"); own.kind != SeccompAction::kAllow) {
    if (auto r = b.add(own, "utimensat"); !r) return r;
  } else {
    if (auto r = b.add(own, "utimensat", {scmp_arg_cmp{1, SCMP_CMP_EQ, 0, 0}}); !r) return r;
    if (auto r = b.add(eperm, "utimensat", {scmp_arg_cmp{1, SCMP_CMP_NE, 0, 0}}); !r) return r;
  }
  if (b.default_action().kind == SeccompAction::kAllow) {
    for (const auto& [nr, label] : {std::pair{kFchmodat2, "fchmodat2"}, std::pair{kSetxattrat, "setxattrat"},
                                    std::pair{kRemovexattrat, "removexattrat"}}) {
      if (auto r = b.add_nr(eperm, nr, label); !r) return r;
    }
  }
  choices.path_metadata = true;
  return {};
}

// --- Other processes of the uid (Landlock mode) -------------------------------------------------
// Without a pid namespace a job sees the host's pids, and these calls need no more than the same
// uid to act on another process: renice the caller's service, lower its rlimits, pin it to one
// CPU. Landlock scopes signals (ABI 6) but not these. Pid 0, the caller itself, stays allowed,
// compared on all 64 bits (a pid with high bits set is refused; the kernel would read it as an
// int); setpriority and ioprio_set also take PRIO_PGRP/IOPRIO_WHO_PGRP 0, the job's own group
// (a new session), and never PRIO_USER/IOPRIO_WHO_USER, every process of the uid.
Expected<void> add_own_process_only(Builder& b, const CompileOptions& options, BuiltinChoices& choices) {
  if (!options.only_own_process) return {};
  const Action eperm{SeccompAction::kErrno, EPERM};
  const scmp_arg_cmp other_pid0{0, SCMP_CMP_NE, 0, 0};
  for (const char* name : {"prlimit64", "sched_setaffinity", "sched_setscheduler", "sched_setparam", "sched_setattr"}) {
    const Action own = b.action_for(name);
    if (own.kind != SeccompAction::kAllow) {
      if (auto r = b.add(own, name); !r) return r;
      continue;
    }
    if (auto r = b.add(own, name, {scmp_arg_cmp{0, SCMP_CMP_EQ, 0, 0}}); !r) return r;
    if (auto r = b.add(eperm, name, {other_pid0}); !r) return r;
  }
  constexpr uint64_t kPrioUser = 2;        // PRIO_USER (sys/resource.h)
  constexpr uint64_t kIoprioWhoUser = 3;   // IOPRIO_WHO_USER (linux/ioprio.h)
  for (const auto& [name, user] : {std::pair{"setpriority", kPrioUser}, std::pair{"ioprio_set", kIoprioWhoUser}}) {
    const Action own = b.action_for(name);
    if (own.kind != SeccompAction::kAllow) {
      if (auto r = b.add(own, name); !r) return r;
      continue;
    }
    // Allowed: who == 0 and not the uid-wide form. Refused: any other who, or the uid-wide form.
    if (auto r = b.add(own, name, {scmp_arg_cmp{1, SCMP_CMP_EQ, 0, 0}, scmp_arg_cmp{0, SCMP_CMP_NE, user, 0}}); !r) {
      return r;
    }
    if (auto r = b.add(eperm, name, {scmp_arg_cmp{1, SCMP_CMP_NE, 0, 0}}); !r) return r;
    if (auto r = b.add(eperm, name, {scmp_arg_cmp{0, SCMP_CMP_EQ, user, 0}}); !r) return r;
  }
  choices.own_process_only = true;
  return {};
}

// --- Supervision -------------------------------------------------------------------------------
// With kill rules that notify, a forbidden call parks its thread until the reaper reads the
// notification. A call that ends that thread first (another thread's exit_group or execve, a
// fatal signal from a sibling process) would take the notification with it, and the job could
// exit 0 with its violation unreported. So these calls notify too: the reaper reads every
// notification already queued before it lets one of them continue.
Expected<void> add_supervision(Builder& b, BuiltinChoices& choices) {
  if (b.notify() == Notify::kNone) return {};
  for (const std::string& name : supervised_syscall_names()) {
    if (const Action own = b.action_for(name); own.kind != SeccompAction::kAllow) {
      if (auto r = b.add(own, name); !r) return r;  // the policy's rule stands: a violation
      continue;
    }
    if (auto r = b.add_raw(SCMP_ACT_NOTIFY, name); !r) return r;
    choices.supervised.push_back(name);
  }
  return {};
}

// --- The listener's way out ----------------------------------------------------------------------
// The target installs the filter and then hands the listener to confine with sendmsg on
// kListenerHandoffFd. A policy that denies sendmsg (an allow-list without it) would otherwise
// stop that very call, and with it every named denial. So sendmsg on that one descriptor is
// allowed, and every other sendmsg keeps the policy's action (spelled as the exact complement, on
// the low 32 bits the kernel reads). The job cannot reach the descriptor: it is closed at exec
// and above every shipped policy's RLIMIT_NOFILE.
Expected<void> add_listener_handoff(Builder& b, BuiltinChoices& choices) {
  if (b.notify() == Notify::kNone) return {};
  const Action own = b.action_for("sendmsg");
  // Allowed anyway: compile() leaves sendmsg to this function, so its rule is added here (it is
  // needed under an allow-list, whose default is not allow; under a deny-list add() skips it).
  if (own.kind == SeccompAction::kAllow) return b.add(own, "sendmsg");
  if (auto r = split_on_values(b, "sendmsg", 0, {static_cast<uint32_t>(kListenerHandoffFd)},
                               Action{SeccompAction::kAllow, 0}, own);
      !r) {
    return r;
  }
  choices.listener_handoff = true;
  return {};
}

bool handled_by_hardening(const std::string& name, const CompileOptions& options) {
  static const std::vector<std::string> setid{"chmod", "fchmod", "fchmodat", "mkdir", "mkdirat", "mknod",
                                              "mknodat", "creat", "open", "openat", "openat2"};
  auto in = [&name](const std::vector<std::string>& list) {
    return std::find(list.begin(), list.end(), name) != list.end();
  };
  if (!options.socket_families.empty() && (name == "socket" || name == "socketpair")) return true;
  if (options.deny_setid_modes && in(setid)) return true;
  if (options.deny_fallocate_keep_size && name == "fallocate") return true;
  if (options.deny_unaccounted_memory && in(unaccounted_memory_syscalls())) return true;
  if (options.deny_path_metadata && name == "utimensat") return true;
  static const std::vector<std::string> own_process{"prlimit64", "sched_setaffinity", "sched_setscheduler",
                                                    "sched_setparam", "sched_setattr", "setpriority", "ioprio_set"};
  if (options.only_own_process && in(own_process)) return true;
  if (options.notify != Notify::kNone && in(supervised_syscall_names())) return true;
  if (options.notify != Notify::kNone && name == "sendmsg") return true;  // add_listener_handoff
  return false;
}

}  // namespace confine::seccomp
