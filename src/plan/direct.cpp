// Landlock mode: the plan for a job that runs without any namespace (docs/security.md, "Landlock
// mode"), for hosts that forbid user namespaces (a container's seccomp profile, a zero
// user.max_user_namespaces).
//
// The same policy is planned the same way as for the namespace mode (mounts.cpp checks every
// path), and then the mount list becomes Landlock rules on the host's own paths, since nothing
// can be mounted: read-only binds get read and execute, read-write binds every file operation
// but device nodes, /dev its five devices, /proc (the host's) reading. Landlock only allows,
// so a path the policy denies below an allowed tree is left out by putting the tree's rule on
// each of its siblings instead, level by level down to it; a narrower rule below a wider one is
// left out of the wider one the same way. Entries that appear later in such an expanded
// directory are not covered: the expansion only ever takes rights away.
//
// Without a user namespace the job runs as a host uid: the caller's own, or run by root,
// process.host_uid (never 0), which the target switches to itself. Kept capabilities would be
// the host's, so the mode refuses them. Seccomp is required: its rules are the network stand-in
// (socket families) and keep the job off unix sockets, whose connect Landlock cannot refuse.
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "confine/child.h"
#include "confine/landlock.h"
#include "paths.h"
#include "steps.h"

namespace confine::plan::steps {
namespace {

using namespace confine::landlock;
using report::Protection;

// At most this many rules: the child opens each path once (openat2, landlock_add_rule, close),
// about 3 us each; a deny inside /usr/bin expands to about 1,500.
constexpr size_t kMaxDirectRules = 16384;

bool strictly_within(const std::string& path, const std::string& dir) {
  return path != dir && paths::is_within(path, dir);
}

std::string child_path(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

// What the job may do beneath one host path.
struct Grant {
  std::string path;
  uint64_t access = 0;
  bool directory = true;
};

// A path below an allowed tree that the tree's rule must not reach: denied, a tmpfs with no
// mount to give it, or a rule with fewer rights.
struct Hole {
  std::string path;
  std::string origin;
  bool masked = true;  // denied or a tmpfs; false: a narrower rule, which has its own
};

class RuleCompiler {
 public:
  RuleCompiler(const HostFacts& host, std::vector<DirectRule>& rules) : host_(host), rules_(rules) {}

  // Adds `grant`, expanded around the holes strictly below it.
  Expected<void> add(const Grant& grant, const std::vector<Hole>& holes) {
    std::vector<const Hole*> below;
    for (const Hole& hole : holes) {
      if (strictly_within(hole.path, grant.path)) below.push_back(&hole);
    }
    if (below.empty()) return push(grant.path, grant.access, /*optional=*/false);
    return expand(grant.path, grant.access, below);
  }
  [[nodiscard]] size_t expanded() const { return expanded_; }

 private:
  Expected<void> push(const std::string& path, uint64_t access, bool optional) {
    if (access == 0) return {};
    if (rules_.size() >= kMaxDirectRules) {
      return fail(ErrorCode::kUnsupported,
                  "Landlock mode needs more than " + std::to_string(kMaxDirectRules) +
                      " rules to leave the denied paths out of their allowed trees (at " + path + ")",
                  "deny a directory higher up, allow narrower paths, or run with isolation.mode = namespaces");
    }
    rules_.push_back(DirectRule{path, access, optional});
    if (optional) ++expanded_;
    return {};
  }

  // `dir`'s rule, given to each of its entries instead, except the holes; entries with holes
  // below them are expanded in turn.
  Expected<void> expand(const std::string& dir, uint64_t access, const std::vector<const Hole*>& holes) {
    auto entries = host_.list_directory ? host_.list_directory(dir) : std::nullopt;
    if (!entries) {
      return fail(ErrorCode::kSystem,
                  "Landlock mode cannot list " + dir + " to leave " + holes.front()->path + " (" +
                      holes.front()->origin + ") out of its allowed tree",
                  "make " + dir + " listable by the caller, or run with isolation.mode = namespaces");
    }
    std::sort(entries->begin(), entries->end(), [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
    for (const DirEntry& entry : *entries) {
      const std::string path = child_path(dir, entry.name);
      if (std::any_of(holes.begin(), holes.end(), [&](const Hole* h) { return h->path == path; })) continue;
      std::vector<const Hole*> below;
      for (const Hole* hole : holes) {
        if (strictly_within(hole->path, path)) below.push_back(hole);
      }
      switch (entry.kind) {
        case FileKind::kDirectory:
          if (auto ok = below.empty() ? push(path, access, true) : expand(path, access, below); !ok) return ok;
          break;
        case FileKind::kRegular:
        case FileKind::kOther:
          if (auto ok = push(path, access & kFileRights, true); !ok) return ok;
          break;
        // A symlink's rule would be on the link, not on what it names: the target is reached
        // through its own rule or not at all. Device nodes stay out as the binds' nodev keeps
        // them out in the namespace mode.
        case FileKind::kSymlink:
        case FileKind::kCharDevice:
        case FileKind::kMissing:
          break;
      }
    }
    return {};
  }

  const HostFacts& host_;
  std::vector<DirectRule>& rules_;
  size_t expanded_ = 0;
};

bool is_builtin(const MountOp& op) { return op.origin.rfind("built-in", 0) == 0; }

}  // namespace

Expected<void> plan_direct_identity(const policy::Policy& policy, const HostFacts& host, Plan& plan) {
  const auto& process = policy.process;
  if (host.euid == 0) {
    // Without a user namespace nothing maps the job's uid: it must become an unprivileged host
    // uid itself, and it never runs as root.
    for (const auto* id : {&process.host_uid, &process.host_gid}) {
      if (id->value == 0) {
        const char* key = id == &process.host_uid ? "process.host_uid" : "process.host_gid";
        return fail(ErrorCode::kInvalidArgument,
                    id->origin.str() + ": " + key + ": 0 would run the job as host root (in Landlock mode, run by "
                    "root, the job runs as process.host_uid and process.host_gid themselves)",
                    std::string("set ") + key + " to an unprivileged id such as 65534 (nobody), or better one no "
                    "other process uses");
      }
    }
    plan.uid = process.host_uid.value;
    plan.gid = process.host_gid.value;
    plan.direct_switch_ids = true;
  } else {
    for (const auto* id : {&process.host_uid, &process.host_gid}) {
      if (!id->origin.is_default()) {
        const char* key = id == &process.host_uid ? "process.host_uid" : "process.host_gid";
        plan.warnings.push_back(id->origin.str() + ": " + key +
                                " is ignored when not run as root: the job runs as the caller's own id");
      }
    }
    plan.uid = static_cast<uint32_t>(host.euid);
    plan.gid = static_cast<uint32_t>(host.egid);
  }
  plan.uid_map = {plan.uid, plan.uid, 1};
  plan.gid_map = {plan.gid, plan.gid, 1};
  if (!policy.capabilities.keep.empty()) {
    const auto& first = policy.capabilities.keep.front();
    return fail(ErrorCode::kUnsupported,
                first.origin.str() + ": capabilities.keep: " + first.value +
                    " cannot be kept in Landlock mode: without a user namespace it would be a capability over the "
                    "host itself",
                "remove capabilities.keep, or run with isolation.mode = namespaces");
  }
  if (!host.seccomp) {
    return fail(ErrorCode::kUnsupported,
                "Landlock mode needs seccomp filters, which this host does not have: without a network namespace "
                "its socket rules are what keep the job off the network and off unix sockets",
                "use a kernel built with CONFIG_SECCOMP_FILTER, or run with isolation.mode = namespaces");
  }
  return {};
}

Expected<DirectFilesystem> plan_direct_filesystem(const policy::Policy& policy, const HostFacts& host, Plan& plan) {
  DirectFilesystem out;
  const int abi = std::min(host.landlock_abi, kKnownAbi);
  if (abi <= 0) {
    // Landlock is this mode's only filesystem wall: required, whatever enforcement.landlock says.
    return fail(ErrorCode::kUnsupported,
                "Landlock mode needs Landlock, which this host does not have (" +
                    std::string("isolation.mode = ") + policy::to_string(policy.isolation.mode.value) +
                    "): without namespaces it is the only filesystem wall",
                std::string(kEnableFix) + "; or let confine use namespaces: allow this user user namespaces "
                                          "(`confine doctor` says how) and use isolation.mode = namespaces");
  }
  if (const auto& area = policy.filesystem.output) {
    // The output area is a tmpfs the child mounts and hands to confine: without a mount
    // namespace there is none to give, and a host directory would be the read-write directory
    // the area exists to avoid.
    return fail(ErrorCode::kUnsupported,
                area->origin.str() + ": filesystem.output: Landlock mode has no output area (it is a tmpfs, and "
                "this mode mounts nothing)",
                "drop filesystem.output (or --output) and give the job a --rw directory, or run with "
                "isolation.mode = namespaces");
  }
  LandlockRuleset ruleset;
  ruleset.abi = abi;
  ruleset.handled_fs = fs_rights(abi);
  const bool no_network = policy.network.mode.value == policy::NetworkMode::kNone;
  if (no_network) ruleset.handled_net = net_rights(abi);
  ruleset.scoped = scopes(abi) & (no_network ? ~uint64_t{0} : ~kScopeAbstractUnixSocket);
  plan.landlock = ruleset;

  std::vector<Grant> grants;
  std::vector<Hole> holes;
  for (const MountOp& op : plan.mounts) {
    switch (op.kind) {
      case MountKind::kBind: {
        if (!op.source_is_dir && host.file_kind(op.source) == FileKind::kCharDevice) {
          plan.warnings.push_back(op.origin + ": " + op.source +
                                  " is a device node: not opened in Landlock mode either (binds are nodev)");
          continue;
        }
        const uint64_t rights = (op.read_only ? kReadOnly : kReadWrite) & ruleset.handled_fs;
        grants.push_back({op.source, op.source_is_dir ? rights : rights & kFileRights, op.source_is_dir});
        (op.read_only ? out.read_only : out.read_write) += 1;
        break;
      }
      case MountKind::kDev:
        out.dev = true;
        for (const char* node : child::kDevNodes) {
          const std::string path = std::string("/dev/") + node;
          if (host.file_kind(path) != FileKind::kCharDevice) {
            plan.warnings.push_back(path + " is not a character device on this host: not given to the job");
            continue;
          }
          grants.push_back({path, kDevice & ruleset.handled_fs, false});
        }
        break;
      case MountKind::kProc:
        // The host's procfs, to read: what a fresh one would show of the job itself, and more.
        out.proc = true;
        grants.push_back({op.target, (kReadFile | kReadDir) & ruleset.handled_fs, true});
        break;
      case MountKind::kTmpfs:
        out.tmpfs.push_back(op.target);
        holes.push_back({op.target, op.origin});
        break;
      case MountKind::kMaskDir:
      case MountKind::kMaskFile:
        if (paths::is_within(op.target, "/proc") && policy.filesystem.proc.value) {
          // The host's /proc cannot be expanded: its pid directories come and go.
          if (is_builtin(op)) {
            out.unapplied_masks.push_back(op.target);
            continue;
          }
          return fail(ErrorCode::kUnsupported,
                      op.origin + ": filesystem.deny: " + op.target +
                          " cannot be left out of the host's /proc in Landlock mode (its pid directories come and go)",
                      "remove the rule, set filesystem.proc = false, or run with isolation.mode = namespaces");
        }
        holes.push_back({op.target, op.origin});
        out.holes.push_back(op.target);
        break;
      case MountKind::kSymlink:
        break;  // the host's own link resolves to the same place, through its target's rule
    }
  }
  // A rule with fewer rights below a wider one (ro inside rw): Landlock adds rights up the tree,
  // so the wider rule must leave that path out.
  for (const Grant& inner : grants) {
    for (const Grant& outer : grants) {
      const uint64_t outer_here = inner.directory ? outer.access : outer.access & kFileRights;
      if (strictly_within(inner.path, outer.path) && (outer_here & ~inner.access) != 0) {
        holes.push_back({inner.path, "the narrower rule on " + inner.path, /*masked=*/false});
        break;
      }
    }
  }
  RuleCompiler compiler(host, plan.direct_rules);
  for (const Grant& grant : grants) {
    // A path denied as a whole (deny and ro naming the same path) is not given at all.
    if (std::any_of(holes.begin(), holes.end(), [&](const Hole& h) { return h.masked && h.path == grant.path; })) {
      continue;
    }
    if (auto ok = compiler.add(grant, holes); !ok) return unexpected(ok.error());
  }
  out.expanded = compiler.expanded();

  std::string detail = plural(out.read_only, "read-only path") + ", " + plural(out.read_write, "read-write path") +
                       " of the host";
  if (out.dev) detail += ", its five /dev nodes";
  if (out.proc) detail += ", its /proc read-only";
  detail += "; nothing else opens";
  if (!out.holes.empty()) {
    detail += "; " + plural(out.holes.size(), "denied path") + " left out (" + plural(out.expanded, "rule") +
              " on their siblings)";
  }
  detail += no_network ? (ruleset.handled_net != 0 ? "; TCP bind and connect denied" : "; TCP not handled before ABI 4")
                       : "; TCP not handled (network.mode = host)";
  detail += (ruleset.scoped & kScopeSignal) != 0 ? "; signals scoped to the job"
                                                  : "; signals not scoped before ABI 6";
  out.landlock = {"landlock", "enforced", "Landlock ABI " + std::to_string(abi) + " (landlock_restrict_self)", detail};
  if (abi == 1) {
    plan.warnings.push_back(
        "Landlock ABI 1 (Linux 5.13 to 5.18) refuses to rename or link files across directories: the job gets "
        "EXDEV for that. Linux 5.19 (ABI 2) lifts it");
  }
  return out;
}

void add_direct_protections(const policy::Policy& policy, Plan& plan, const DirectFilesystem& fs) {
  auto& out = plan.protections;
  const std::string uid = std::to_string(plan.uid);
  const auto absent = [](std::string name, std::string detail) {
    return Protection{std::move(name), "not_in_mode", "", std::move(detail)};
  };
  out.push_back(absent("user_namespace", "no user namespace: the job runs as host uid " + uid + ", gid " +
                                             std::to_string(plan.gid) +
                                             (plan.direct_switch_ids ? " (process.host_uid/host_gid; groups cleared)"
                                                                     : " (the caller's, with its groups)")));
  out.push_back(absent("mount_namespace", "the host's own mount tree"));
  out.push_back(absent("pid_namespace", std::string("the job sees the host's pids; the kill unit is ") +
                                            (plan.cgroup_parent.empty() ? "the init, a child subreaper"
                                                                        : "its cgroup leaf (cgroup.kill)")));
  out.push_back(absent("ipc_namespace", "the host's: SysV IPC and POSIX message queues refused by seccomp (ENOSYS)"));
  out.push_back(absent("uts_namespace", "the host's hostname"));
  out.push_back(absent("cgroup_namespace", "/proc/self/cgroup shows the host's cgroup path"));
  out.push_back(absent("ucounts", "per-user kernel resources (inotify, ...) count against uid " + uid));
  const int abi = plan.landlock ? plan.landlock->abi : 0;
  if (policy.network.mode.value == policy::NetworkMode::kNone) {
    out.push_back({"network_namespace", "enforced_fallback",
                   std::string("seccomp socket families") + (abi >= 4 ? " and Landlock TCP rules" : ""),
                   std::string("socket() refuses every address family (EAFNOSUPPORT), socketpair() keeps AF_UNIX") +
                       (abi >= 4 ? "; TCP bind and connect denied" : "") + "; no loopback of the job's own"});
  } else {
    out.push_back({"network_namespace", "disabled_by_policy", "",
                   "network.mode = host; socket() still refuses AF_UNIX (seccomp)"});
  }
  out.push_back(absent("new_root", "the job sees the host's tree; Landlock decides what opens"));
  out.push_back(fs.read_only > 0 ? Protection{"read_only_binds", "enforced", "Landlock: read and execute rights only",
                                              plural(fs.read_only, "read-only path") + ", " +
                                                  plural(fs.read_write, "read-write path")}
                                 : Protection{"read_only_binds", "not_requested", "Landlock", "no read-only paths"});
  std::string unapplied;
  if (!fs.unapplied_masks.empty()) {
    unapplied = "the built-in masks of the host's /proc are not applied (" + join(fs.unapplied_masks, " ") + ")";
  }
  if (!fs.holes.empty()) {
    out.push_back({"masks", "enforced", "Landlock: denied paths left out of the allow-list",
                   plural(fs.holes.size(), "masked path") + " (" + plural(fs.expanded, "rule") + " on their siblings)" +
                       (unapplied.empty() ? "" : "; " + unapplied)});
  } else if (!unapplied.empty()) {
    out.push_back(absent("masks", unapplied));
  } else {
    out.push_back({"masks", "not_requested", "Landlock", "nothing to mask"});
  }
  const bool tmp = std::find(fs.tmpfs.begin(), fs.tmpfs.end(), "/tmp") != fs.tmpfs.end();
  out.push_back(tmp ? absent("private_tmp", "no tmpfs without a mount namespace: /tmp is unreachable; give the job a "
                                            "writable directory (--rw DIR, --env TMPDIR=DIR)")
                    : Protection{"private_tmp", "not_requested", "size-capped tmpfs at /tmp", "no tmpfs at /tmp"});
  out.push_back(policy.filesystem.dev.value
                    ? Protection{"minimal_dev", "enforced", "Landlock rules on the host's null zero full random urandom",
                                 "nothing else under /dev opens"}
                    : Protection{"minimal_dev", "disabled_by_policy", "", "filesystem.dev = false"});
  out.push_back(policy.filesystem.proc.value
                    ? absent("fresh_proc", "the host's /proc, read-only through Landlock: every process's pid and "
                                           "command line show; their memory, fds and environment do not (Landlock's "
                                           "ptrace rules)")
                    : Protection{"fresh_proc", "disabled_by_policy", "", "filesystem.proc = false"});
}

Protection direct_capabilities_protection(const Plan& plan) {
  if (plan.direct_switch_ids) {
    return {"capabilities", "enforced", "bounding set, setresuid to an unprivileged uid, capset, ambient set",
            "kept: none; the job runs as uid " + std::to_string(plan.uid) + " with no capability and an empty bounding set"};
  }
  return {"capabilities", "enforced", "capset, ambient set",
          "kept: none (permitted, effective, inheritable and ambient emptied); the bounding set stays as the caller's "
          "(emptying it takes CAP_SETPCAP), and no_new_privs keeps every exec from raising privileges"};
}

void direct_compile_options(const policy::Policy& policy, seccomp::CompileOptions& options) {
  options.deny_path_metadata = true;
  options.only_own_process = true;
  const auto& allowed = options.socket_families;
  const bool unix_allowed = std::find(allowed.begin(), allowed.end(), AF_UNIX) != allowed.end();
  std::vector<int> for_socket;
  if (policy.network.mode.value == policy::NetworkMode::kHost) {
    for (int family : allowed) {
      if (family != AF_UNIX && family != AF_UNSPEC) for_socket.push_back(family);
    }
  }
  // AF_UNSPEC alone: no socket() at all (see builtin_options).
  if (for_socket.empty()) for_socket.push_back(AF_UNSPEC);
  options.socket_families = std::move(for_socket);
  options.socketpair_families = std::vector<int>{unix_allowed ? AF_UNIX : AF_UNSPEC};
}

void add_direct_syscall_rules(seccomp::Resolved& resolved, int landlock_abi) {
  const auto refuse = [&resolved](const char* name, int err) {
    auto it = resolved.syscalls.find(name);
    const seccomp::Action& action = it == resolved.syscalls.end() ? resolved.default_action : it->second;
    if (action.kind == policy::SeccompAction::kAllow) resolved.syscalls[name] = {policy::SeccompAction::kErrno, err};
  };
  // The host's IPC namespace: objects keyed by number, checked only by uid and mode, so the job
  // would reach every segment, queue and semaphore set of its uid.
  for (const char* name : {"shmget", "shmat", "shmdt", "shmctl", "msgget", "msgsnd", "msgrcv", "msgctl", "semget",
                           "semop", "semtimedop", "semctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive",
                           "mq_notify", "mq_getsetattr"}) {
    refuse(name, ENOSYS);
  }
  // Metadata by path: Landlock has no right for a mode, an owner, times or extended attributes,
  // and without a mount namespace every path the job's uid owns is in reach (the caller's own
  // files, rootless). EPERM, as for a file the caller does not own; fchmod, fchown, futimens and
  // fsetxattr on a file the job could open stay. Before ABI 3 Landlock does not cover truncate
  // either. The rest, without names in libseccomp's tables, is CompileOptions::deny_path_metadata.
  for (const char* name : {"chmod", "fchmodat", "chown", "lchown", "fchownat", "utime", "utimes", "futimesat",
                           "setxattr", "lsetxattr", "removexattr", "lremovexattr"}) {
    refuse(name, EPERM);
  }
  if (landlock_abi < 3) refuse("truncate", EPERM);
}

std::string direct_seccomp_text(const seccomp::CompileOptions& options) {
  const bool no_socket = options.socket_families.size() == 1 && options.socket_families.front() == AF_UNSPEC;
  return std::string("Landlock mode: socket() ") +
         (no_socket ? "refuses every address family" : "refuses AF_UNIX and the families the policy does not allow") +
         ", socketpair() takes AF_UNIX only, SysV IPC and POSIX message queues fail with ENOSYS, changing a "
         "mode, owner, times or extended attributes by path fails with EPERM, and so do priorities, rlimits and "
         "CPU affinity of any other process";
}

}  // namespace confine::plan::steps
