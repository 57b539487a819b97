// make_plan: the orchestrator. Runs each planning step in the order the child will need the
// results, fails closed on anything the host cannot enforce, and records per protection what is
// in force, so the report can say exactly what this run was protected by.
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "confine/child.h"
#include "confine/plan.h"
#include "steps.h"

namespace confine::plan {

const char* to_string(Isolation isolation) {
  return isolation == Isolation::kLandlock ? "landlock" : "namespaces";
}

namespace {

using report::Protection;

std::string count_text(size_t n, const char* what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

Protection enforced(std::string name, std::string mechanism, std::string detail) {
  return {std::move(name), "enforced", std::move(mechanism), std::move(detail)};
}

Expected<void> plan_identity(const policy::Policy& policy, const HostFacts& host, Plan& plan) {
  const auto& process = policy.process;
  plan.uid = process.uid.value;
  plan.gid = process.gid.value;
  if (host.euid == 0) {
    // Root maps the target to an unprivileged host id: mapping it to 0 would make a sandbox
    // escape an escape to host root.
    for (const auto* id : {&process.host_uid, &process.host_gid}) {
      if (id->value == 0) {
        const char* key = id == &process.host_uid ? "process.host_uid" : "process.host_gid";
        return fail(ErrorCode::kInvalidArgument,
                    id->origin.str() + ": " + key + ": 0 would run the target as host root",
                    std::string("set ") + key + " to an unprivileged id such as 65534 (nobody)");
      }
    }
    plan.uid_map = {process.uid.value, process.host_uid.value, 1};
    plan.gid_map = {process.gid.value, process.host_gid.value, 1};
  } else {
    // Rootless: an unprivileged user can map exactly one id, its own.
    for (const auto* id : {&process.host_uid, &process.host_gid}) {
      if (!id->origin.is_default()) {
        const char* key = id == &process.host_uid ? "process.host_uid" : "process.host_gid";
        plan.warnings.push_back(id->origin.str() + ": " + key +
                                " is ignored when not run as root: the target maps to the caller's own id");
      }
    }
    plan.uid_map = {process.uid.value, static_cast<uint32_t>(host.euid), 1};
    plan.gid_map = {process.gid.value, static_cast<uint32_t>(host.egid), 1};
  }
  // setgroups stays denied: otherwise the target could drop a supplementary group that a host
  // file's permissions deny (CVE-2014-8989).
  plan.deny_setgroups = true;
  return {};
}

// The built-in argument rules this policy gets (seccomp::CompileOptions, hardening.cpp).
seccomp::CompileOptions builtin_options(const policy::Policy& policy, bool memory_fallback) {
  seccomp::CompileOptions options;
  for (const std::string& name : policy.network.socket_families.value) {
    if (auto family = seccomp::socket_family(name)) options.socket_families.push_back(*family);
  }
  // An empty list is "no socket at all": AF_UNSPEC alone, which no socket() accepts.
  if (options.socket_families.empty()) options.socket_families.push_back(AF_UNSPEC);
  options.deny_setid_modes = !policy.filesystem.allow_suid_sgid.value;
  options.deny_fallocate_keep_size = policy.limits.file_size_bytes.value.has_value();
  options.deny_unaccounted_memory = memory_fallback;
  return options;
}

// The learning filter's rules: the baseline and the watched calls allowed (the watched ones
// notify), io_uring refused, and everything else "kill", which under Notify::kLearn notifies
// confine, which records the call and lets it run. io_uring is refused because its requests do
// their opens and reads inside the kernel, where no filter sees them: a policy learned with it
// would miss those paths (and the learned allow-list leaves it out, so enforcement matches).
Expected<seccomp::Resolved> learning_rules() {
  seccomp::Resolved rules;
  rules.default_action = {policy::SeccompAction::kKill, 0, false};
  const seccomp::Action allow{policy::SeccompAction::kAllow, 0, false};
  for (const std::string& name : seccomp::learning_baseline()) rules.syscalls[name] = allow;
  for (const std::string& name : seccomp::path_syscalls()) rules.syscalls[name] = allow;
  for (const char* name : {"socket", "socketpair", "ioctl", "personality"}) rules.syscalls[name] = allow;
  for (const char* name : {"io_uring_setup", "io_uring_enter", "io_uring_register"}) {
    rules.syscalls[name] = {policy::SeccompAction::kErrno, ENOSYS, false};
  }
  return rules;
}

}  // namespace

Expected<std::optional<seccomp::Program>> steps::plan_seccomp(const policy::Policy& policy, const HostFacts& host,
                                                              Plan& plan, Protection& protection,
                                                              bool memory_fallback, bool audit, bool learn) {
  const auto& enforcement = policy.enforcement.seccomp;
  protection = {"seccomp", "enforced", "seccomp-bpf (SECCOMP_SET_MODE_FILTER)", ""};
  if (!host.seccomp) {
    if (enforcement.value == policy::Enforcement::kRequired) {
      return fail(ErrorCode::kUnsupported,
                  "seccomp filters are not available on this host (enforcement.seccomp = required at " +
                      enforcement.origin.str() + ")",
                  "use a kernel built with CONFIG_SECCOMP_FILTER, or set enforcement.seccomp = "
                  "\"best-effort\" to run without a syscall filter");
    }
    protection.status = "best_effort_skipped";
    protection.detail = "seccomp is not available on this host";
    plan.warnings.push_back(
        "seccomp is not available on this host: running without a syscall filter "
        "(enforcement.seccomp is best-effort)");
    return std::optional<seccomp::Program>{};
  }
  // Naming every denial: kills (and errno rules with `log`) notify the reaper first, which decides
  // them with the verdict program, the same rules without notification. That needs the kernel's
  // user notification and a descriptor the target can hand the listener over: the child puts it
  // at kListenerHandoffFd, for which the inherited hard RLIMIT_NOFILE must leave room. Otherwise
  // kills kill directly and the report says seccomp_violation without a name.
  seccomp::CompileOptions options = builtin_options(policy, memory_fallback);
  if (plan.isolation == Isolation::kLandlock) steps::direct_compile_options(policy, options);
  const auto nofile = host.hard_limit ? host.hard_limit(RLIMIT_NOFILE) : std::nullopt;
  const bool room = !nofile || *nofile > static_cast<uint64_t>(seccomp::kListenerHandoffFd);
  if (host.seccomp_user_notif && room) {
    options.notify = learn ? seccomp::Notify::kLearn : audit ? seccomp::Notify::kAudit : seccomp::Notify::kNamed;
    // Learning and auditing see the paths the job tries; a normal run's filter is left as it was.
    options.watch_paths = learn || audit;
  } else if (host.seccomp_user_notif) {
    plan.warnings.push_back("RLIMIT_NOFILE's hard limit (" + std::to_string(*nofile) +
                            ") leaves no room for the seccomp listener's descriptor: denials are not named");
  }
  // This section was compiled under these options before (earlier in a batch, or by an earlier
  // run, in the disk cache): the same programs, without resolving and keying the rules again
  // (FilterCache::section_key). Besides the section, the rules depend on learning (its own
  // rules) and Landlock mode (its own rules, by ABI), and the filter on the kernel (the cache's
  // key names it).
  const int landlock_abi = plan.landlock ? plan.landlock->abi : 0;
  const std::string section =
      host.filter_cache && !learn
          ? host.filter_cache->section_key(policy.seccomp, options,
                                           "kernel " + host.kernel_release + "\nlandlock " +
                                               (plan.isolation == Isolation::kLandlock ? std::to_string(landlock_abi) : "-"))
          : std::string();
  std::optional<seccomp::Program> program = host.filter_cache ? host.filter_cache->recall(section) : std::nullopt;
  std::optional<seccomp::Program> verdict =
      program && program->notify ? host.filter_cache->recall(section + "\nverdict") : std::nullopt;
  if (program && program->notify && !verdict) program.reset();
  std::optional<seccomp::Resolved> resolved;
  if (!program) {
    auto rules = learn ? learning_rules() : seccomp::resolve(policy.seccomp);
    if (!rules) return unexpected(std::move(rules.error()).add_context("resolve the seccomp rules"));
    resolved = std::move(*rules);
    // Landlock mode shares the host's IPC objects and sockets: its own rules (direct.cpp).
    if (plan.isolation == Isolation::kLandlock) steps::add_direct_syscall_rules(*resolved, landlock_abi);
  }
  if (learn && options.notify != seccomp::Notify::kLearn) {
    return fail(ErrorCode::kUnsupported, "learn needs seccomp user notification (Linux 5.5) and a hard RLIMIT_NOFILE above " +
                                             std::to_string(seccomp::kListenerHandoffFd));
  }
  if (audit && options.notify != seccomp::Notify::kAudit) {
    return fail(ErrorCode::kUnsupported, "--audit needs seccomp user notification (Linux 5.5) and a hard RLIMIT_NOFILE above " +
                                             std::to_string(seccomp::kListenerHandoffFd));
  }
  if (!program) {
    auto compile = [&](const seccomp::CompileOptions& with) {
      return host.filter_cache ? host.filter_cache->compile(*resolved, with, host.kernel_release)
                               : seccomp::compile(*resolved, with);
    };
    auto compiled = compile(options);
    if (!compiled) return unexpected(std::move(compiled.error()).add_context("compile the seccomp filter"));
    program = std::move(*compiled);
    if (program->notify) {
      seccomp::CompileOptions deciding = options;
      deciding.notify = seccomp::Notify::kNone;
      auto decided = compile(deciding);
      if (!decided) return unexpected(std::move(decided.error()).add_context("compile the seccomp verdict filter"));
      verdict = std::move(*decided);
      if (host.filter_cache && !section.empty()) host.filter_cache->note(section + "\nverdict", *verdict);
    }
    if (host.filter_cache) host.filter_cache->note(section, *program);
  }
  if (verdict) plan.seccomp_verdict = std::move(*verdict);
  // The per-syscall detail is in the program's summary; the report gets the policy's shape.
  protection.detail = std::string("default ") +
                      policy::to_string(learn ? policy::SeccompAction::kKill : policy.seccomp.default_action.value) +
                      ", " + count_text(policy.seccomp.rules.size(), "policy rule") + " plus built-ins" +
                      (program->notify ? "; denials named" : "; denials not named (no user notification)");
  if (audit) {
    // Not a protection in this run: every denial is only logged, and the call runs.
    protection.status = "audit";
    protection.detail += "; AUDIT: nothing is denied, every denial is only listed";
    plan.audit = true;
  }
  if (plan.isolation == Isolation::kLandlock) protection.detail += "; " + steps::direct_seccomp_text(options);
  if (learn) {
    protection.status = "learn";
    protection.detail = "LEARNING: every call outside a small baseline is recorded and runs; io_uring fails with ENOSYS";
    plan.learn = true;
  }
  plan.watch_paths = options.watch_paths;
  return std::optional<seccomp::Program>(std::move(*program));
}

namespace {

void add_filesystem_protections(const policy::Policy& policy, Plan& plan) {
  size_t ro = 0, rw = 0, masks = 0;
  bool tmp = false;
  for (const MountOp& op : plan.mounts) {
    if (op.kind == MountKind::kBind) (op.read_only ? ro : rw) += 1;
    if (op.kind == MountKind::kMaskDir || op.kind == MountKind::kMaskFile) ++masks;
    if (op.kind == MountKind::kTmpfs && op.target == "/tmp") tmp = true;
  }
  auto& out = plan.protections;
  out.push_back(enforced("new_root", "pivot_root into an empty tmpfs",
                         count_text(ro + rw, "host bind") + ", everything else absent"));
  out.push_back(ro > 0 ? enforced("read_only_binds", "mount_setattr MOUNT_ATTR_RDONLY, recursive",
                                  count_text(ro, "read-only bind") + ", " + count_text(rw, "read-write bind"))
                       : Protection{"read_only_binds", "not_requested", "mount_setattr MOUNT_ATTR_RDONLY",
                                    "no read-only binds"});
  out.push_back(masks > 0 ? enforced("masks", "empty read-only mounts over denied paths",
                                     count_text(masks, "masked path"))
                          : Protection{"masks", "not_requested", "empty read-only mounts over denied paths",
                                       "nothing to mask"});
  out.push_back(tmp ? enforced("private_tmp", "size-capped tmpfs at /tmp", "")
                    : Protection{"private_tmp", "not_requested", "size-capped tmpfs at /tmp", "no tmpfs at /tmp"});
  out.push_back(policy.filesystem.dev.value
                    ? enforced("minimal_dev", "tmpfs /dev with null zero full random urandom", "")
                    : Protection{"minimal_dev", "disabled_by_policy", "", "filesystem.dev = false"});
  out.push_back(policy.filesystem.proc.value
                    ? enforced("fresh_proc", "procfs of the sandbox's pid namespace", "")
                    : Protection{"fresh_proc", "disabled_by_policy", "", "filesystem.proc = false"});
}

// A symlink rule is recreated inside with its host text, which resolves only against what the
// sandbox holds: /lib64 -> usr/lib64 works when /usr is bound, and dangles when it is not.
void warn_dangling_symlinks(const std::vector<MountOp>& mounts, const HostFacts& host,
                            std::vector<std::string>& warnings) {
  for (const MountOp& op : mounts) {
    if (op.kind != MountKind::kSymlink) continue;
    const auto resolved = steps::resolve_inside(mounts, host, op.target);
    const MountOp* cover = resolved ? steps::covering_mount(mounts, *resolved) : nullptr;
    bool there = cover != nullptr && cover->kind != MountKind::kSymlink;
    if (there && cover->kind == MountKind::kBind) there = host.file_kind(*resolved) != FileKind::kMissing;
    if (there) continue;
    warnings.push_back(op.origin + ": " + op.target + " is a symlink to " + op.source +
                       ", which the sandbox does not show: it will dangle there (bind " +
                       (resolved ? *resolved : op.source) + " too, or drop the rule)");
  }
}

// The namespaces, the ids inside them and the per-user kernel resources of the job's own user
// namespace: the namespace mode's half of the sandbox.
Expected<void> plan_namespaces(const policy::Policy& policy, const HostFacts& host, Plan& plan) {
  const bool isolated_net = policy.network.mode.value == policy::NetworkMode::kNone;
  plan.clone_flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS |
                     CLONE_NEWCGROUP | (isolated_net ? CLONE_NEWNET : 0);
  if (auto ok = plan_identity(policy, host, plan); !ok) return ok;
  plan.hostname = policy.process.hostname.value;

  // Per-user kernel resources: the job's namespace gets limits of its own, and run by root it is
  // created by a uid of its own (launch/owner.h), so nothing it takes is charged to root.
  static constexpr std::pair<const char*, uint64_t> kUcountLimits[] = {
      {"max_user_namespaces", 0},   {"max_mnt_namespaces", 0},   {"max_pid_namespaces", 0},
      {"max_net_namespaces", 0},    {"max_ipc_namespaces", 0},   {"max_uts_namespaces", 0},
      {"max_cgroup_namespaces", 0}, {"max_time_namespaces", 0},  {"max_fanotify_groups", 0},
      {"max_fanotify_marks", 0},    {"max_inotify_instances", 32}, {"max_inotify_watches", 8192},
  };
  for (const auto& [name, value] : kUcountLimits) {
    if (std::find(host.user_sysctls.begin(), host.user_sysctls.end(), name) == host.user_sysctls.end()) continue;
    plan.ucount_limits.emplace_back(name, value);
  }
  plan.namespace_owner_per_job = host.euid == 0;
  return {};
}

// The protections only the namespace mode has, in the report's order.
void add_namespace_protections(const policy::Policy& policy, Plan& plan) {
  auto& out = plan.protections;
  const std::string ids = "uid " + std::to_string(plan.uid_map.inside) + " -> " +
                          std::to_string(plan.uid_map.outside) + ", gid " +
                          std::to_string(plan.gid_map.inside) + " -> " + std::to_string(plan.gid_map.outside);
  out.push_back(enforced("user_namespace", "CLONE_NEWUSER", ids));
  out.push_back(enforced("mount_namespace", "CLONE_NEWNS", "private propagation"));
  out.push_back(enforced("pid_namespace", "CLONE_NEWPID", "the sandbox sees only its own processes; the namespace is the kill unit"));
  out.push_back(enforced("ipc_namespace", "CLONE_NEWIPC", ""));
  out.push_back(enforced("uts_namespace", "CLONE_NEWUTS", "hostname " + plan.hostname));
  out.push_back(enforced("cgroup_namespace", "CLONE_NEWCGROUP", ""));
  {
    std::string limits;
    for (const auto& [name, value] : plan.ucount_limits) {
      limits += (limits.empty() ? "" : ", ") + name.substr(4) + " " + std::to_string(value);
    }
    const std::string owner = plan.namespace_owner_per_job
                                  ? "the job's user namespace is created by a host uid of its own (not root); "
                                  : "rootless: charged to the caller's own uid, as its other processes are; ";
    out.push_back(Protection{"ucounts", plan.ucount_limits.empty() ? "best_effort_skipped" : "enforced",
                             "per-job namespace owner and /proc/sys/user limits",
                             owner + (limits.empty() ? "this kernel has no /proc/sys/user limits" : limits)});
  }
  out.push_back((plan.clone_flags & CLONE_NEWNET) != 0
                    ? enforced("network_namespace", "CLONE_NEWNET", "loopback only")
                    : Protection{"network_namespace", "disabled_by_policy", "CLONE_NEWNET", "network.mode = host"});
  add_filesystem_protections(policy, plan);
}

Expected<Plan> make_plan_inner(const policy::Policy& policy, const RunRequest& request,
                               const HostFacts& host) {
  Plan plan;
  plan.argv = request.argv;
  plan.policy_path = request.policy_path;
  plan.policy_sha256 = request.policy_sha256.empty() ? policy::content_hash(policy) : request.policy_sha256;
  if (request.argv.empty() || request.argv.front().empty()) {
    return fail(ErrorCode::kInvalidArgument, "no command given",
                "usage: confine run [OPTIONS] -- CMD [ARG...]");
  }

  // Isolation: namespaces, or Landlock mode where the policy asks for it or "auto" finds no user
  // namespaces (isolation.cpp). Everything after this is shared, except where the mode says.
  auto choice = steps::choose_isolation(policy, host);
  if (!choice) return unexpected(choice.error());
  plan.isolation = choice->isolation;
  const bool landlock_mode = plan.isolation == Isolation::kLandlock;
  if (landlock_mode) {
    if (auto ok = steps::plan_direct_identity(policy, host, plan); !ok) return unexpected(ok.error());
  } else {
    if (auto ok = plan_namespaces(policy, host, plan); !ok) return unexpected(ok.error());
  }
  plan.cwd = policy.process.cwd.value;

  // Filesystem: the mounts, and the Landlock layer compiled from them. In Landlock mode nothing
  // is mounted: the same list, checked the same way, becomes rules on the host's own paths.
  auto mounts = steps::plan_mounts(policy, host, plan.warnings);
  if (!mounts) return unexpected(mounts.error());
  plan.mounts = std::move(*mounts);
  if (auto ok = steps::check_cwd(policy, plan.mounts, host); !ok) return unexpected(ok.error());
  // No cwd in any policy file or flag: the caller's own directory when the sandbox shows it
  // with the host's content (as bubblewrap keeps it), so `confine run --rw "$PWD" -- make` works
  // where the caller is; else process.cwd's default, "/".
  if (policy.process.cwd.origin.is_default() && steps::shows_host_directory(plan.mounts, host, request.caller_cwd)) {
    plan.cwd = request.caller_cwd;
  }
  if (const auto& area = policy.filesystem.output) {
    plan.output_area = OutputArea{area->path, area->host, area->size_bytes, area->files};
  }
  Protection landlock_protection;
  steps::DirectFilesystem direct_fs;
  if (landlock_mode) {
    auto direct = steps::plan_direct_filesystem(policy, host, plan);
    if (!direct) return unexpected(direct.error());
    direct_fs = std::move(*direct);
    landlock_protection = direct_fs.landlock;
  } else {
    // The child keeps per-step state in fixed arrays (child::kMaxMountSteps). The policy loader
    // bounds the rules (policy::kMaxPathRules); this is the exact count, checked here so that
    // `--dry-run` refuses what the launch would.
    if (plan.mounts.size() > child::kMaxMountSteps) {
      return fail(ErrorCode::kInvalidArgument,
                  "the sandbox would need " + std::to_string(plan.mounts.size()) + " mount steps; at most " +
                      std::to_string(child::kMaxMountSteps) + " fit",
                  "bind a common parent directory instead of many paths under it");
    }
    warn_dangling_symlinks(plan.mounts, host, plan.warnings);
    // Landlock, compiled from the same mounts: the second wall (plan/landlock.cpp).
    auto landlock = steps::plan_landlock(policy, host, plan.mounts);
    if (!landlock) return unexpected(landlock.error());
    plan.landlock = landlock->ruleset;
    plan.warnings.insert(plan.warnings.end(), landlock->warnings.begin(), landlock->warnings.end());
    landlock_protection = landlock->protection;
  }

  // What runs: the environment first, because the exec path is searched in the target's PATH.
  plan.envp = build_env(policy.env, request.caller_env);
  auto exec_path = steps::resolve_exec_path(plan.argv, plan.cwd, plan.envp, plan.mounts, host);
  if (!exec_path) return unexpected(exec_path.error());
  plan.exec_path = std::move(*exec_path);

  // Process limits and privileges.
  plan.rlimits = steps::plan_rlimits(policy);
  auto caps = steps::plan_keep_caps(policy);
  if (!caps) return unexpected(caps.error());
  plan.keep_caps = *caps;
  // Resources and time. Before the rlimits protection below, which lists plan.rlimits. Without a
  // user namespace RLIMIT_NPROC counts every process of the uid, so Landlock mode has no such
  // stand-in for the pids controller.
  auto resources = steps::plan_resources(
      policy, host, landlock_mode ? steps::RlimitFallbacks::kAddressSpaceOnly : steps::RlimitFallbacks::kUse);
  if (!resources) return unexpected(resources.error());
  // rlimits standing in for missing controllers (best-effort only); the protections name them.
  plan.rlimits.insert(plan.rlimits.end(), resources->fallback_rlimits.begin(), resources->fallback_rlimits.end());
  if (auto ok = steps::check_inherited_limits(plan.rlimits, policy, host); !ok) return unexpected(ok.error());
  plan.cgroup_parent = resources->cgroup_parent;
  plan.cgroup_writes = resources->writes;
  plan.warnings.insert(plan.warnings.end(), resources->warnings.begin(), resources->warnings.end());
  plan.wall_time = policy.limits.wall_time.value;
  plan.cpu_time = resources->cpu_time;
  plan.kill_grace = policy.limits.kill_grace.value;
  plan.relay_stdin = request.relay_stdin;
  plan.output_limit = policy.limits.output_bytes.value;

  // The filter, after the resources: where the memory limit falls back to RLIMIT_AS, the memory
  // that RLIMIT_AS cannot see is refused here.
  const bool memory_fallback = resources->memory_limit.status == "enforced_fallback";
  Protection seccomp_protection;
  auto program = steps::plan_seccomp(policy, host, plan, seccomp_protection, memory_fallback, request.audit, request.learn);
  if (!program) return unexpected(program.error());
  plan.seccomp = std::move(*program);
  if (memory_fallback && plan.seccomp) {
    resources->memory_limit.detail +=
        "; memfd_create, memfd_secret, shmget and msgget refused (ENOSYS): memory RLIMIT_AS cannot see";
  }

  // Protections, in the report's order: the isolation first, then what the mode gives or lacks.
  auto& out = plan.protections;
  out.push_back(steps::isolation_protection(*choice, policy, plan));
  if (choice->fell_back) plan.warnings.insert(plan.warnings.begin(), steps::fallback_warning(*choice, policy, plan));
  if (landlock_mode) {
    steps::add_direct_protections(policy, plan, direct_fs);
  } else {
    add_namespace_protections(policy, plan);
  }
  out.push_back(plan.output_area
                    ? enforced("output_area", "capped tmpfs, regular files copied out when the job ends",
                               plan.output_area->path + " -> " + plan.output_area->host + ", " +
                                   steps::size_text(plan.output_area->size_bytes) + ", " +
                                   std::to_string(plan.output_area->files) + " files")
                    : Protection{"output_area", "not_requested", "capped tmpfs, copied out", "no output area"});
  out.push_back(enforced("stdio", "pipes or a pty relayed by confine",
                         std::string("the job never holds the caller's descriptors; stdin ") +
                             (plan.relay_stdin ? "relayed" : "/dev/null")));
  out.push_back(plan.output_limit ? enforced("output_limit", "bytes relayed, then SIGKILL of the job",
                                             steps::size_text(*plan.output_limit) + " of stdout and stderr")
                                  : Protection{"output_limit", "not_requested", "bytes relayed", "no limit set"});
  out.push_back(landlock_mode ? steps::direct_capabilities_protection(plan)
                              : enforced("capabilities", "bounding set, capset, ambient set",
                                         "kept: " + steps::caps_text(plan.keep_caps)));
  out.push_back(enforced("no_new_privs", "prctl PR_SET_NO_NEW_PRIVS", "setuid binaries cannot gain privileges"));
  out.push_back(landlock_protection);
  out.push_back(seccomp_protection);
  std::string rlimit_names;
  for (const Rlimit& r : plan.rlimits) rlimit_names += (rlimit_names.empty() ? "" : " ") + r.name;
  out.push_back(enforced("rlimits", "setrlimit", rlimit_names));
  out.push_back(resources->cgroup_tracking);
  out.push_back(resources->memory_limit);
  out.push_back(resources->memory_high);
  out.push_back(resources->swap_limit);
  out.push_back(resources->pids_limit);
  out.push_back(resources->cpu_limit);
  out.push_back(plan.wall_time ? enforced("wall_time", "parent timer, then SIGTERM/SIGKILL of the job",
                                          std::to_string(plan.wall_time->count()) + "ms")
                               : Protection{"wall_time", "not_requested", "parent timer", "no limit set"});
  out.push_back(resources->cpu_time_limit);
  // `set` names always end up in envp, so the rest came from the caller.
  const size_t from_policy = policy.env.set.size();
  out.push_back(enforced("environment", "allow-list and secret filter",
                         count_text(plan.envp.size(), "variable") + ": " + std::to_string(from_policy) +
                             " set by the policy, " + std::to_string(plan.envp.size() - from_policy) +
                             " passed from the caller"));
  return plan;
}

}  // namespace

Expected<Plan> make_plan(const policy::Policy& policy, const RunRequest& request, const HostFacts& host) {
  // One plan asks the host about the same paths again and again: each component of every path
  // is looked at on its own ("/proc" once for each masked entry below it, "/usr" for each
  // symlink into it), about 40 repeated lstat and readlink calls for the default policy. Each
  // answer is kept for this plan only; a batch's next job sees the host as it is then.
  HostFacts memo = host;
  if (host.file_kind) {
    auto seen = std::make_shared<std::map<std::string, FileKind, std::less<>>>();
    memo.file_kind = [seen, ask = host.file_kind](const std::string& path) {
      if (auto it = seen->find(path); it != seen->end()) return it->second;
      const FileKind kind = ask(path);
      seen->emplace(path, kind);
      return kind;
    };
  }
  if (host.read_link) {
    auto seen = std::make_shared<std::map<std::string, std::optional<std::string>, std::less<>>>();
    memo.read_link = [seen, ask = host.read_link](const std::string& path) {
      if (auto it = seen->find(path); it != seen->end()) return it->second;
      auto text = ask(path);
      seen->emplace(path, text);
      return text;
    };
  }
  auto plan = make_plan_inner(policy, request, memo);
  if (!plan) return unexpected(std::move(plan.error()).add_context("plan"));
  return plan;
}

}  // namespace confine::plan
