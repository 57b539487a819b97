// compile(): the resolved policy plus the built-in hardening, as classic BPF for the native
// architecture, built with libseccomp and exported through a memfd (2.5.4 has no in-memory
// export).
#include <linux/sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "confine/fd.h"
#include "confine/seccomp.h"
#include "builder.h"
#include "summary.h"

namespace confine::seccomp {

namespace {

// The kernel refuses longer classic BPF programs (BPF_MAXINSNS).
constexpr size_t kMaxInstructions = 4096;

// Every namespace flag clone() can carry. CLONE_NEWTIME (0x80) overlaps CSIGNAL in clone()'s
// flags, so the kernel reads it as part of the exit signal there and rejects it as invalid; it is
// listed so the set matches unshare's and a future kernel change cannot open a gap.
constexpr uint64_t kCloneNamespaceFlags[] = {CLONE_NEWNS,  CLONE_NEWCGROUP, CLONE_NEWUTS,
                                             CLONE_NEWIPC, CLONE_NEWUSER,   CLONE_NEWPID,
                                             CLONE_NEWNET, CLONE_NEWTIME};
constexpr uint64_t kCloneNamespaceMask = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS |
                                         CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
                                         CLONE_NEWNET | CLONE_NEWTIME;

// The kernel declares the ioctl request as `unsigned int` and ignores the upper half of the
// register; comparing all 64 bits would let 0xffffffff00005412 through as TIOCSTI.
constexpr uint64_t kIoctlRequestMask = 0xffffffffULL;
// TIOCSTI fakes terminal input (type commands into the parent's shell: CVE-2017-5226 in
// bubblewrap); TIOCLINUX can do the same on a virtual console through selection paste.
constexpr uint32_t kIoctlDenied[] = {TIOCSTI, TIOCLINUX};

struct ContextDeleter {
  void operator()(void* ctx) const noexcept { seccomp_release(ctx); }
};
using FilterContext = std::unique_ptr<void, ContextDeleter>;  // scmp_filter_ctx is a void*

}  // namespace

uint32_t to_libseccomp(const Action& action, Notify notify) {
  switch (action.kind) {
    case policy::SeccompAction::kAllow: return SCMP_ACT_ALLOW;
    // The whole process, not just the thread: a thread killed alone leaves the rest running in
    // a state the program never planned for. With notify, the calling thread blocks in the
    // syscall until the parent, told which syscall it was, kills the whole job.
    case policy::SeccompAction::kKill: return notify != Notify::kNone ? SCMP_ACT_NOTIFY : SCMP_ACT_KILL_PROCESS;
    // Learning answers errno rules in the filter (io_uring's ENOSYS): nothing to record.
    case policy::SeccompAction::kErrno:
      if (notify == Notify::kAudit || (notify == Notify::kNamed && action.log)) return SCMP_ACT_NOTIFY;
      return SCMP_ACT_ERRNO(static_cast<uint32_t>(action.errno_value));
  }
  return SCMP_ACT_KILL_PROCESS;  // unreachable; fail closed
}

void complement_cubes(const std::vector<uint32_t>& values, int bit, uint32_t prefix,
                      std::vector<std::pair<uint32_t, uint32_t>>& out) {
  uint32_t mask = bit == 31 ? 0 : ~((uint32_t{1} << (bit + 1)) - 1);
  if (values.empty()) {
    out.emplace_back(mask, prefix);
    return;
  }
  if (bit < 0) return;  // a listed value itself
  std::vector<uint32_t> zero, one;
  for (uint32_t v : values) (((v >> bit) & 1U) != 0 ? one : zero).push_back(v);
  complement_cubes(zero, bit - 1, prefix, out);
  complement_cubes(one, bit - 1, prefix | (uint32_t{1} << bit), out);
}

Action Builder::action_for(const std::string& name) const {
  auto it = resolved_.syscalls.find(name);
  return it == resolved_.syscalls.end() ? resolved_.default_action : it->second;
}

bool Builder::watched(const std::string& name) const {
  if (!watch_paths_ || notify_ == Notify::kNone) return false;
  const auto& paths = path_syscalls();
  if (std::find(paths.begin(), paths.end(), name) != paths.end()) return true;
  return notify_ == Notify::kLearn && learn_watched(name);
}

uint32_t Builder::lib_action(const Action& action, const std::string& name) const {
  if (action.kind == policy::SeccompAction::kAllow && watched(name)) return SCMP_ACT_NOTIFY;
  return to_libseccomp(action, notify_);
}

bool Builder::repeats_default(const Action& action, const std::string& name) const {
  // Without watching, exactly as before (a normal run's filter must not change by a byte);
  // with it, compared as the filter will see them: an allowed watched call notifies.
  if (!watch_paths_) return action == resolved_.default_action;
  return lib_action(action, name) == to_libseccomp(resolved_.default_action, notify_);
}

Expected<void> Builder::add_nr(const Action& action, int nr, const std::string& label,
                               const std::vector<scmp_arg_cmp>& conditions) {
  if (repeats_default(action, label)) return {};
  // Under notify two different actions can be the same filter verdict (with --audit, a kill and
  // an errno both become SECCOMP_RET_USER_NOTIF and the reaper tells them apart by the rules).
  // libseccomp refuses a rule whose verdict is the default's (EACCES), and it changes nothing.
  if (lib_action(action, label) == to_libseccomp(resolved_.default_action, notify_)) return {};
  int rc = seccomp_rule_add_exact_array(ctx_, lib_action(action, label), nr,
                                        static_cast<unsigned>(conditions.size()),
                                        conditions.empty() ? nullptr : conditions.data());
  if (rc < 0) {
    return fail_errno(-rc, "seccomp_rule_add " + label + " -> " + describe(action) +
                               (conditions.empty() ? "" : " (with argument conditions)"));
  }
  return {};
}

Expected<void> Builder::add(const Action& action, const std::string& name,
                            const std::vector<scmp_arg_cmp>& conditions) {
  if (repeats_default(action, name)) return {};
  int nr = seccomp_syscall_resolve_name(name.c_str());
  if (nr < 0) return {};  // no native number; the caller reports it as skipped
  return add_nr(action, nr, name, conditions);
}

Expected<void> Builder::add_raw(uint32_t action, const std::string& name) {
  if (action == to_libseccomp(resolved_.default_action, notify_)) return {};  // the default does it
  int nr = seccomp_syscall_resolve_name(name.c_str());
  if (nr < 0) return {};
  if (int rc = seccomp_rule_add_exact(ctx_, action, nr, 0); rc < 0) {
    return fail_errno(-rc, "seccomp_rule_add " + name + " (supervision)");
  }
  return {};
}

namespace {

// clone3 passes its flags in a struct the filter cannot read, so it gets ENOSYS and libc falls
// back to clone, whose flags are a register.
Expected<void> add_clone3(Builder& b) {
  return b.add(Action{policy::SeccompAction::kErrno, ENOSYS}, "clone3");
}

// clone with a CLONE_NEW* flag is unshare by another name: give it unshare's action. When that
// differs from clone's own action, clone gets two sets of rules on disjoint conditions: its own
// action when no namespace flag is set, unshare's when any one is.
Expected<void> add_clone(Builder& b, BuiltinChoices& choices) {
  Action clone = b.action_for("clone");
  Action unshare = b.action_for("unshare");
  if (unshare.kind == policy::SeccompAction::kAllow || unshare == clone) {
    choices.clone_namespaces = clone;
    return b.add(clone, "clone");
  }
  choices.clone_namespaces = unshare;
  choices.clone_split = true;
  if (auto r = b.add(clone, "clone", {masked_eq(0, kCloneNamespaceMask, 0)}); !r) return r;
  for (uint64_t flag : kCloneNamespaceFlags) {
    if (auto r = b.add(unshare, "clone", {masked_eq(0, flag, flag)}); !r) return r;
  }
  return {};
}

// ioctl TIOCSTI/TIOCLINUX fail with EPERM when ioctl is otherwise allowed. A policy that already
// denies ioctl keeps its stricter action. In allowlist mode (default not allow) the allowed
// remainder is spelled out as the complement cubes of the two requests, because libseccomp keeps
// only the unconditional rule when one is mixed with conditional rules for the same syscall.
Expected<void> add_ioctl(Builder& b, BuiltinChoices& choices) {
  Action ioctl = b.action_for("ioctl");
  choices.ioctl = ioctl;
  if (ioctl.kind != policy::SeccompAction::kAllow) return b.add(ioctl, "ioctl");
  choices.ioctl_guarded = true;
  const Action eperm{policy::SeccompAction::kErrno, EPERM};
  for (uint32_t request : kIoctlDenied) {
    if (auto r = b.add(eperm, "ioctl", {masked_eq(1, kIoctlRequestMask, request)}); !r) return r;
  }
  std::vector<std::pair<uint32_t, uint32_t>> cubes;
  complement_cubes({std::begin(kIoctlDenied), std::end(kIoctlDenied)}, 31, 0, cubes);
  for (const auto& [mask, value] : cubes) {
    if (auto r = b.add(ioctl, "ioctl", {masked_eq(1, mask, value)}); !r) return r;
  }
  return {};
}

Expected<std::vector<sock_filter>> export_bpf(scmp_filter_ctx ctx) {
  UniqueFd fd(memfd_create("confine-seccomp", MFD_CLOEXEC));
  if (!fd) return fail_errno(errno, "memfd_create for the seccomp export");
  if (int rc = seccomp_export_bpf(ctx, fd.get()); rc < 0) {
    return fail_errno(-rc, "seccomp_export_bpf");
  }
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return fail_errno(errno, "fstat on the seccomp memfd");
  auto size = static_cast<size_t>(st.st_size);
  if (size == 0 || size % sizeof(sock_filter) != 0) {
    return fail(ErrorCode::kInternal, "seccomp_export_bpf wrote " + std::to_string(size) +
                                          " bytes, not a whole number of BPF instructions");
  }
  if (size / sizeof(sock_filter) > kMaxInstructions) {
    return fail(ErrorCode::kUnsupported,
                "the seccomp filter has " + std::to_string(size / sizeof(sock_filter)) +
                    " instructions; the kernel accepts at most 4096",
                "name fewer syscalls individually, or switch the default action");
  }
  std::vector<sock_filter> out(size / sizeof(sock_filter));
  auto* bytes = reinterpret_cast<char*>(out.data());
  size_t done = 0;
  while (done < size) {
    ssize_t n = pread(fd.get(), bytes + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno(errno, "reading back the seccomp memfd");
    if (n == 0) return fail(ErrorCode::kInternal, "the seccomp memfd ended early");
    done += static_cast<size_t>(n);
  }
  return out;
}

Expected<Program> compile_impl(const Resolved& resolved, const CompileOptions& options) {
  const Notify notify = options.notify;
  // The default action notifies too: a kill under an allow-list is named like any other.
  FilterContext ctx(seccomp_init(to_libseccomp(resolved.default_action, notify)));
  if (!ctx) return fail(ErrorCode::kInternal, "seccomp_init failed");

  // Only the native architecture is in the filter. Anything else, i386 `int 0x80` and x32
  // (native arch with the 0x40000000 bit), would otherwise reach syscall tables the rules were
  // never written for.
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
      rc < 0) {
    return fail_errno(-rc, "setting the seccomp bad-architecture action");
  }
  // A binary search over syscall numbers instead of a linear chain: the filter runs on every
  // syscall, and with a hundred rules the tree halves the instructions executed for most calls.
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2); rc < 0) {
    return fail_errno(-rc, "enabling libseccomp's binary-tree optimisation");
  }

  Builder builder(ctx.get(), resolved, notify, options.watch_paths);
  BuiltinChoices choices;
  if (auto it = resolved.syscalls.find("clone3"); it != resolved.syscalls.end()) {
    choices.clone3_policy = it->second;
  }
  if (auto r = add_clone3(builder); !r) return unexpected(std::move(r.error()));
  if (auto r = add_clone(builder, choices); !r) return unexpected(std::move(r.error()));
  if (auto r = add_ioctl(builder, choices); !r) return unexpected(std::move(r.error()));
  for (auto* add : {&add_socket_families, &add_setid_modes, &add_fallocate, &add_unaccounted_memory,
                    &add_path_metadata, &add_own_process_only}) {
    if (auto r = add(builder, options, choices); !r) return unexpected(std::move(r.error()));
  }
  if (auto r = add_supervision(builder, choices); !r) return unexpected(std::move(r.error()));
  if (auto r = add_listener_handoff(builder, choices); !r) return unexpected(std::move(r.error()));

  for (const auto& [name, action] : resolved.syscalls) {
    if (name == "clone3" || name == "clone" || name == "ioctl") continue;  // handled above
    if (handled_by_hardening(name, options)) continue;
    if (seccomp_syscall_resolve_name(name.c_str()) < 0) {
      if (action != resolved.default_action) choices.skipped.push_back(name);
      continue;
    }
    if (auto r = builder.add(action, name); !r) return unexpected(std::move(r.error()));
  }
  // Watched calls no rule names get the default action; where that allows them, they notify.
  if (options.watch_paths && notify != Notify::kNone) {
    std::vector<std::string> watched = path_syscalls();
    for (const char* name : {"socket", "socketpair", "ioctl", "personality"}) watched.emplace_back(name);
    for (const std::string& name : watched) {
      if (resolved.syscalls.count(name) != 0 || handled_by_hardening(name, options)) continue;
      if (name == "clone3" || name == "clone" || name == "ioctl") continue;
      if (!builder.watched(name) || seccomp_syscall_resolve_name(name.c_str()) < 0) continue;
      if (auto r = builder.add(resolved.default_action, name); !r) return unexpected(std::move(r.error()));
    }
  }

  auto instructions = export_bpf(ctx.get());
  if (!instructions) return unexpected(std::move(instructions.error()));
  Program program{std::move(*instructions), summarize(resolved, choices), notify != Notify::kNone};
  if (notify == Notify::kNamed) {
    program.summary.push_back(
        "kills (the default action's too) and errno rules with log notify confine first "
        "(SECCOMP_RET_USER_NOTIF): the syscall is named in the report");
  } else if (notify == Notify::kAudit) {
    program.summary.push_back(
        "audit: every denial notifies confine, which names it in the report and lets the call run");
  } else if (notify == Notify::kLearn) {
    program.summary.push_back(
        "learn: every call outside the baseline notifies confine, which records it and lets it run; "
        "io_uring fails with ENOSYS");
  }
  if (options.watch_paths && notify != Notify::kNone) {
    program.summary.push_back("paths: path syscalls notify confine, which records the path and lets the call run");
  }
  return program;
}

}  // namespace

Expected<Program> compile(const Resolved& resolved, const CompileOptions& options) {
  auto program = compile_impl(resolved, options);
  if (!program) return unexpected(std::move(program.error()).add_context("compiling seccomp filter"));
  return program;
}

}  // namespace confine::seccomp
