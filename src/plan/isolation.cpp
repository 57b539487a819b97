// Which isolation a run gets (docs/security.md, "Landlock mode"), and how the report says it.
//
// isolation.mode = "namespaces" (the default) needs user namespaces and fails closed without
// them, as confine always has. "landlock" runs without any namespace. "auto" takes namespaces
// where this host really lets this user create them (HostFacts::try_user_namespace clones one,
// because a container's seccomp profile refuses what the sysctls allow) and otherwise falls back
// to Landlock mode, with a warning and a report entry that list everything that mode lacks.
#include <sched.h>

#include <string>
#include <vector>

#include "confine/landlock.h"
#include "steps.h"

namespace confine::plan::steps {
namespace {

std::string mode_origin(const policy::Policy& policy) {
  const auto& mode = policy.isolation.mode;
  return std::string("isolation.mode = ") + policy::to_string(mode.value) +
         (mode.origin.is_default() ? " (the default)" : " (" + mode.origin.str() + ")");
}

constexpr const char* kNoUserNamespaces =
    "this host does not let this user create user namespaces (user.max_user_namespaces, "
    "kernel.unprivileged_userns_clone, or Ubuntu's kernel.apparmor_restrict_unprivileged_userns)";

bool has_tmpfs(const Plan& plan) {
  for (const MountOp& op : plan.mounts) {
    if (op.kind == MountKind::kTmpfs) return true;
  }
  return false;
}

std::string tmpfs_paths(const Plan& plan) {
  std::vector<std::string> paths;
  for (const MountOp& op : plan.mounts) {
    if (op.kind == MountKind::kTmpfs) paths.push_back(op.target);
  }
  return join(paths, ", ");
}

}  // namespace

Expected<IsolationChoice> choose_isolation(const policy::Policy& policy, const HostFacts& host) {
  IsolationChoice choice;
  choice.why = mode_origin(policy);
  switch (policy.isolation.mode.value) {
    case policy::IsolationMode::kNamespaces:
      // The user namespace is what makes every other step possible without host privileges, so
      // without it there is no namespace sandbox at all.
      if (!host.user_namespaces) {
        return fail(ErrorCode::kUnsupported, "this host does not let this user create user namespaces",
                    "check the sysctls user.max_user_namespaces (must be > 0), "
                    "kernel.unprivileged_userns_clone (Debian, must be 1) and "
                    "kernel.apparmor_restrict_unprivileged_userns (Ubuntu, must be 0), or run as root; "
                    "or run without namespaces: --isolation auto (or landlock), whose report lists what that "
                    "mode does not give (`confine doctor --isolation landlock` shows it here)");
      }
      return choice;
    case policy::IsolationMode::kLandlock:
      choice.isolation = Isolation::kLandlock;
      return choice;
    case policy::IsolationMode::kAuto: {
      std::string why_not;
      if (!host.user_namespaces) {
        why_not = kNoUserNamespaces;
      } else if (host.try_user_namespace) {
        const std::string failed = host.try_user_namespace();
        if (!failed.empty()) {
          why_not = "creating a user namespace failed (" + failed +
                    "): a seccomp profile (Docker's default) or a security module refuses it";
        }
      }
      if (why_not.empty()) {
        choice.why += ": user namespaces work here";
        return choice;
      }
      choice.isolation = Isolation::kLandlock;
      choice.fell_back = true;
      choice.why += ": fell back to Landlock mode, " + why_not;
      return choice;
    }
  }
  return choice;
}

std::vector<std::string> landlock_mode_gaps(const policy::Policy& policy, const Plan& plan) {
  std::vector<std::string> gaps;
  const std::string uid = std::to_string(plan.uid);
  const int abi = plan.landlock ? plan.landlock->abi : 0;
  gaps.push_back("no user namespace: the job runs as host uid " + uid + ", gid " + std::to_string(plan.gid) +
                 (plan.direct_switch_ids ? "" : ", with the caller's supplementary groups"));
  gaps.push_back("no mount namespace: the host's own tree, walled by Landlock instead of a new root "
                 "(masks by leaving the denied paths out; no nosuid or nodev mounts, no_new_privs instead)");
  if (has_tmpfs(plan)) {
    gaps.push_back("no private /tmp: tmpfs rules (" + tmpfs_paths(plan) +
                   ") have no mount, so those paths are unreachable; give the job a writable directory instead "
                   "(--rw DIR, --env TMPDIR=DIR)");
  }
  if (policy.filesystem.proc.value) {
    gaps.push_back("no fresh /proc: the host's, read-only, listing every process's pid and command line (not "
                   "their memory, fds or environment: Landlock's ptrace rules); its built-in masks are not applied");
  }
  gaps.push_back(std::string("no pid namespace: the job sees the host's pids; ") +
                 (plan.cgroup_parent.empty() ? "the init (a child subreaper) is the kill unit"
                                             : "its cgroup leaf is the kill unit (cgroup.kill)"));
  gaps.push_back(policy.network.mode.value == policy::NetworkMode::kNone
                     ? std::string("no network namespace: socket() refuses every address family (seccomp)") +
                           (abi >= 4 ? " and TCP bind and connect are denied (Landlock)" : "") +
                           "; there is no loopback of the job's own"
                     : "no network namespace (network.mode = host); socket() refuses AF_UNIX (seccomp)");
  gaps.push_back("no unix sockets: socket(AF_UNIX) fails (Landlock cannot refuse connecting to a path socket), "
                 "socketpair works");
  gaps.push_back("no IPC namespace: SysV IPC and POSIX message queues are refused (seccomp, ENOSYS)");
  gaps.push_back(std::string("no mode, owner, times or extended attribute changes by path (seccomp, EPERM: Landlock "
                             "does not cover them; fchmod, fchown, futimens on an open file work") +
                 (abi < 3 ? "; truncate by path too, before Landlock ABI 3)" : ")"));
  gaps.push_back("other processes of uid " + uid +
                 " are visible but out of reach of priorities, rlimits and CPU affinity (seccomp, EPERM)");
  gaps.push_back("no UTS namespace: the host's hostname");
  gaps.push_back("no cgroup namespace: /proc/self/cgroup shows the host's cgroup path");
  gaps.push_back("no per-job ucounts: inotify instances and other per-user kernel resources count against uid " +
                 uid);
  if (abi < 6) {
    gaps.push_back("no signal scoping (Landlock ABI " + std::to_string(abi) +
                   " < 6): the job can signal every process of uid " + uid +
                   (plan.direct_switch_ids ? " (other jobs of that uid)" : ", confine and the caller included"));
  }
  return gaps;
}

std::string fallback_warning(const IsolationChoice& choice, const policy::Policy& policy, const Plan& plan) {
  return choice.why + ". Running without namespaces; this run has " + join(landlock_mode_gaps(policy, plan), "; ") +
         ". The report's isolation entry says the same; `confine doctor` says how to get user namespaces";
}

report::Protection isolation_protection(const IsolationChoice& choice, const policy::Policy& policy,
                                        const Plan& plan) {
  if (plan.isolation == Isolation::kNamespaces) {
    return {"isolation", "enforced", "namespaces",
            choice.why + ": user, mount, pid, ipc, uts, cgroup" +
                ((plan.clone_flags & CLONE_NEWNET) != 0 ? " and network" : "") + " namespaces"};
  }
  return {"isolation", "enforced", "landlock mode (no namespaces)",
          choice.why + "; not given: " + join(landlock_mode_gaps(policy, plan), "; ")};
}

}  // namespace confine::plan::steps
