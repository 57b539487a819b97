// The planner's steps, each a pure function of the policy and the (possibly fake) HostFacts.
// plan.cpp runs them in order and assembles the Plan; they live apart so each concern stays small.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "confine/error.h"
#include "confine/plan.h"
#include "confine/policy.h"
#include "confine/report.h"

namespace confine::plan::steps {

// Text for the plan's details and warnings: "3 read-only paths", "1 rule".
[[nodiscard]] inline std::string plural(size_t n, const char* what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}
[[nodiscard]] inline std::string join(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

// mounts.cpp: the ordered mount list. Notes about skipped optional or irrelevant rules are
// appended to `warnings`.
[[nodiscard]] Expected<std::vector<MountOp>> plan_mounts(const policy::Policy& policy,
                                                         const HostFacts& host,
                                                         std::vector<std::string>& warnings);

// mounts.cpp: the mount whose target is the deepest ancestor-or-self of `path` among binds,
// tmpfs, /dev, /proc and recreated symlinks; nullptr when nothing covers it. Masks are ignored.
[[nodiscard]] const MountOp* covering_mount(const std::vector<MountOp>& mounts, const std::string& path);
// mounts.cpp: the mask hiding `path`, or nullptr.
[[nodiscard]] const MountOp* masking_mount(const std::vector<MountOp>& mounts, const std::string& path);

// mounts.cpp: the working directory must exist inside the new root.
[[nodiscard]] Expected<void> check_cwd(const policy::Policy& policy, const std::vector<MountOp>& mounts,
                                       const HostFacts& host);

// exec.cpp: `path` as the sandbox will resolve it (recreated symlinks by their text, symlinks in
// binds read on the host); nullopt when a component is masked (the mask in *mask_hit, when
// given) or the links loop.
[[nodiscard]] std::optional<std::string> resolve_inside(const std::vector<MountOp>& mounts, const HostFacts& host,
                                                        const std::string& path,
                                                        const MountOp** mask_hit = nullptr);

// mounts.cpp: true when `dir` is a directory the sandbox shows with the host's own content (inside
// a bind, not masked, a real directory on the host): the caller's cwd is used there by default.
[[nodiscard]] bool shows_host_directory(const std::vector<MountOp>& mounts, const HostFacts& host,
                                        const std::string& dir);

// exec.cpp: the target's PATH from its environment (a fallback when it has none).
[[nodiscard]] std::string path_of(const std::vector<std::string>& envp);

// exec.cpp: the absolute path the child passes to execve.
[[nodiscard]] Expected<std::string> resolve_exec_path(const std::vector<std::string>& argv,
                                                      const std::string& cwd,
                                                      const std::vector<std::string>& envp,
                                                      const std::vector<MountOp>& mounts,
                                                      const HostFacts& host);

// resources.cpp: cgroup placement, control-file writes and the resource protections.
struct Resources {
  std::string cgroup_parent;
  std::vector<CgroupWrite> writes;
  // rlimits standing in for a missing controller (best-effort only); the caller appends them to
  // the plan's rlimits. A protection reported "enforced_fallback" is only true once they are.
  std::vector<Rlimit> fallback_rlimits;
  std::optional<std::chrono::milliseconds> cpu_time;  // cleared when it cannot be measured
  report::Protection cgroup_tracking, memory_limit, memory_high, swap_limit, pids_limit, cpu_limit,
      cpu_time_limit;
  std::vector<std::string> warnings;
};
// Whether a best-effort limit whose controller is missing may fall back to an rlimit. Only a
// caller that appends Resources::fallback_rlimits to the plan's rlimits may pass kUse: with kOff
// the protections never claim "enforced_fallback".
// kAddressSpaceOnly: RLIMIT_AS only, never RLIMIT_NPROC (Landlock mode: without a user namespace
// of its own the job's uid counts every process of that uid on the host).
enum class RlimitFallbacks { kOff, kUse, kAddressSpaceOnly };
[[nodiscard]] Expected<Resources> plan_resources(const policy::Policy& policy, const HostFacts& host,
                                                 RlimitFallbacks fallbacks = RlimitFallbacks::kOff);

// landlock.cpp: the Landlock ruleset compiled from the planned mounts. Sets each mount's
// landlock_access in place and returns what the ruleset handles, its protection and warnings.
// Fails closed when enforcement.landlock is required and the kernel has no Landlock.
struct Landlock {
  std::optional<LandlockRuleset> ruleset;  // absent: best-effort, and the kernel has none
  report::Protection protection;
  std::vector<std::string> warnings;
};
[[nodiscard]] Expected<Landlock> plan_landlock(const policy::Policy& policy, const HostFacts& host,
                                               std::vector<MountOp>& mounts);
// "read_file,read_dir,execute": rights by their kernel names, for the dry-run text.
[[nodiscard]] std::string landlock_rights_text(uint64_t rights);

// limits.cpp: rlimits and the capability mask.
[[nodiscard]] std::vector<Rlimit> plan_rlimits(const policy::Policy& policy);
// Fails when an rlimit is above the hard limit confine inherited (HostFacts::hard_limit):
// the child could not set it (EPERM), so the plan says so, naming the policy key.
[[nodiscard]] Expected<void> check_inherited_limits(const std::vector<Rlimit>& rlimits, const policy::Policy& policy,
                                                    const HostFacts& host);
[[nodiscard]] Expected<uint64_t> plan_keep_caps(const policy::Policy& policy);
// limits.cpp: the rlimits that stand in for a missing cgroup controller.
// RLIMIT_NPROC at `pids`: counted per user namespace only on Linux >= 5.14 (ucounts), so callers
// check nproc_counts_per_userns() first; before that it counts every process of the host uid.
[[nodiscard]] Rlimit nproc_fallback(uint64_t pids);
// RLIMIT_AS at `bytes`: one process's address space, not the job's memory.
[[nodiscard]] Rlimit address_space_fallback(uint64_t bytes);
// True when the kernel release ("6.1.0-13-amd64") is Linux 5.14 or later; false when unknown.
[[nodiscard]] bool nproc_counts_per_userns(const std::string& kernel_release);

// plan.cpp: the seccomp filter and its protection. In Landlock mode (plan.isolation) it adds
// that mode's rules (direct_socket_families, add_direct_syscall_rules).
[[nodiscard]] Expected<std::optional<seccomp::Program>> plan_seccomp(const policy::Policy& policy,
                                                                     const HostFacts& host, Plan& plan,
                                                                     report::Protection& protection,
                                                                     bool memory_fallback, bool audit, bool learn);

// isolation.cpp: namespaces or Landlock mode, from isolation.mode and what this host allows.
struct IsolationChoice {
  Isolation isolation = Isolation::kNamespaces;
  std::string why;         // what decided it, for the report ("isolation.mode = landlock (f:3:1)")
  bool fell_back = false;  // "auto" found no user namespaces: a warning says so, never silently
};
[[nodiscard]] Expected<IsolationChoice> choose_isolation(const policy::Policy& policy, const HostFacts& host);
// The report's first entry: the mode, why, and in Landlock mode everything it does not give.
[[nodiscard]] report::Protection isolation_protection(const IsolationChoice& choice, const policy::Policy& policy,
                                                      const Plan& plan);
// What Landlock mode does not give that the namespace mode does, one item each, for the report,
// the warning of a fallback and `confine doctor`.
[[nodiscard]] std::vector<std::string> landlock_mode_gaps(const policy::Policy& policy, const Plan& plan);
// The warning of an "auto" that fell back: what decided it and every gap.
[[nodiscard]] std::string fallback_warning(const IsolationChoice& choice, const policy::Policy& policy,
                                           const Plan& plan);

// direct.cpp: Landlock mode (docs/security.md, "Landlock mode").
// The ids the job runs as, and what this mode refuses: capabilities kept from the host, uid 0.
[[nodiscard]] Expected<void> plan_direct_identity(const policy::Policy& policy, const HostFacts& host, Plan& plan);
// The Landlock ruleset on the host's own paths (plan.landlock, plan.direct_rules), compiled
// from plan.mounts. Landlock is this mode's only filesystem wall, so it is required here.
struct DirectFilesystem {
  report::Protection landlock;
  size_t read_only = 0, read_write = 0;  // binds turned into rules
  size_t expanded = 0;                   // rules on the siblings of denied or narrower paths
  std::vector<std::string> holes;        // paths left out below an allowed tree
  std::vector<std::string> unapplied_masks;  // built-in /proc masks the host /proc cannot get
  std::vector<std::string> tmpfs;        // tmpfs rules with no mount to give them
  bool dev = false, proc = false;
};
[[nodiscard]] Expected<DirectFilesystem> plan_direct_filesystem(const policy::Policy& policy, const HostFacts& host,
                                                                Plan& plan);
// The protections that stand in for the namespace mode's, in the same places of the report.
void add_direct_protections(const policy::Policy& policy, Plan& plan, const DirectFilesystem& fs);
[[nodiscard]] report::Protection direct_capabilities_protection(const Plan& plan);
// Seccomp in Landlock mode: socket() takes no AF_UNIX (Landlock cannot refuse connect() on a
// path socket) and, with network.mode = "none", no network family at all; socketpair() keeps
// AF_UNIX. SysV IPC and POSIX message queues (the host's) fail with ENOSYS; metadata changes by
// path (chmod, chown, utimes, xattrs; truncate before Landlock ABI 3) with EPERM.
void direct_compile_options(const policy::Policy& policy, seccomp::CompileOptions& options);
void add_direct_syscall_rules(seccomp::Resolved& resolved, int landlock_abi);
[[nodiscard]] std::string direct_seccomp_text(const seccomp::CompileOptions& options);

// "CAP_NET_BIND_SERVICE CAP_CHOWN", or "none".
[[nodiscard]] std::string caps_text(uint64_t mask);
// "512M", "1536K", or the plain byte count when it is no whole binary multiple.
[[nodiscard]] std::string size_text(uint64_t bytes);

}  // namespace confine::plan::steps
