// diagnose(): probe results and a policy check in, findings with exact fixes out. Pure, so every
// rule here is tested with fabricated hosts (tests/cli_doctor_test.cpp).
//
// Severity follows one rule: a problem is something that keeps *this* policy from running fully
// enforced (the exit code is 1 while any is left); a host limitation the policy does not rely on
// is a warning. The plan decides which protections are in force; the probes say why not and
// therefore which fix applies.
#include <algorithm>
#include <cstring>
#include <sstream>
#include <string>

#include "confine/doctor.h"
#include "confine/host.h"
#include "confine/landlock.h"

namespace confine::doctor {
namespace {

constexpr const char* kDelegateFix =
    "systemd-run --user --scope -p Delegate=yes confine run ...   "
    "(runs confine in a cgroup systemd delegates to you; needs a systemd user session: "
    "loginctl enable-linger $USER)";
constexpr const char* kUnifiedBootFix =
    "boot with cgroup_no_v1=all (or systemd.unified_cgroup_hierarchy=1) to give cgroup v2 the "
    "memory, pids and cpu controllers";
constexpr const char* kBestEffortFix =
    "or accept running without them: mark [enforcement] resources = \"best-effort\" in the policy "
    "or pass --best-effort (the report then lists each limit that was not enforced)";

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

std::string join(const std::vector<std::string>& items, const char* separator = " ") {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

std::string errno_text(int err) {
  return err == 0 ? std::string() : std::string(": ") + std::strerror(err);
}

std::string describe(const ProbeResult& probe) {
  switch (probe.outcome) {
    case ProbeOutcome::kOk: return probe.detail + " works";
    case ProbeOutcome::kFailed: return probe.detail + " failed" + errno_text(probe.sys_errno);
    case ProbeOutcome::kNotTested: return "not tested: " + probe.detail;
  }
  return probe.detail;
}

std::string sysctl_text(const char* name, const std::optional<long>& value) {
  return std::string(name) + " = " + (value ? std::to_string(*value) : "(absent)");
}

bool rootless(const HostProbes& host) { return host.euid != 0; }

// How an unprivileged user gets a cgroup of its own: systemd delegates one per scope; without
// systemd root does it by hand, or runs confine itself (the job is never root either way).
std::vector<std::string> delegate_fixes(const HostProbes& host) {
  if (!host.no_systemd) return {kDelegateFix};
  const std::string uid = std::to_string(host.euid);
  const std::string dir = (host.cgroup2_mount.empty() ? std::string("/sys/fs/cgroup") : host.cgroup2_mount) +
                          "/confine-user-" + uid;
  return {"this host does not run systemd: run confine as root instead (the job still runs as an unprivileged "
          "host uid, process.host_uid, and root's confine creates the job's cgroup itself)",
          "or delegate a cgroup to uid " + uid + " by hand (as root): mkdir " + dir + " && chown " + uid + " " + dir +
              " " + dir + "/cgroup.procs " + dir + "/cgroup.subtree_control " + dir +
              "/cgroup.threads; then start the program that runs confine as that cgroup's only process (as root: "
              "echo PID > " + dir + "/cgroup.procs); docs/cgroups.md"};
}

// How to give cgroup v2 the controllers a hybrid host binds to v1.
std::string unified_boot_fix(const HostProbes& host) {
  if (!host.no_systemd) return kUnifiedBootFix;
  return "boot with cgroup_no_v1=all so that cgroup v2 gets the memory, pids and cpu controllers, and have the "
         "init mount only cgroup2 at /sys/fs/cgroup (OpenRC: rc_cgroup_mode=\"unified\" in /etc/rc.conf)";
}

// How to get a directory confine can create job leaves in.
std::vector<std::string> cgroup_parent_fixes(const HostProbes& host) {
  if (host.cgroup2_mount.empty()) {
    return {"boot with systemd.unified_cgroup_hierarchy=1 (or cgroup_no_v1=all), or mount cgroup v2 "
            "yourself: mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified"};
  }
  if (rootless(host)) return delegate_fixes(host);
  if (host.cgroup_parent_source.find(host::kCgroupOverrideSource) != std::string::npos) {
    return {"point CONFINE_CGROUP_PARENT at a directory inside " + host.cgroup2_mount +
                " that root can create directories in, or unset it to use " + host.cgroup2_mount + "/confine"};
  }
  return {"make " + host.cgroup2_mount + " writable for root (is it mounted read-only, e.g. inside a "
          "container? mount -o remount,rw " + host.cgroup2_mount + ")"};
}

// How to make `controller` available to confine's leaves: first the cgroup2 root must have it,
// then confine needs a cgroup under which to use it.
std::vector<std::string> controller_fixes(const HostProbes& host, const std::string& controller) {
  if (host.cgroup2_mount.empty()) return cgroup_parent_fixes(host);
  const bool no_parent = host.cgroup_parent.empty() || host.leaf_create.outcome == ProbeOutcome::kFailed;
  std::vector<std::string> fixes;
  if (!contains(host.root_controllers, controller)) {
    if (contains(host.v1_controllers, controller)) {
      fixes.push_back(unified_boot_fix(host));
    } else {
      const char* config = controller == "memory" ? "CONFIG_MEMCG"
                           : controller == "pids" ? "CONFIG_CGROUP_PIDS"
                           : controller == "cpu"  ? "CONFIG_CGROUP_SCHED (CONFIG_FAIR_GROUP_SCHED, CONFIG_CFS_BANDWIDTH)"
                                                  : "its kernel option";
      fixes.push_back("the kernel offers no " + controller + " controller: use a kernel built with " + config +
                      " and without cgroup_disable=" + controller + " on its command line");
    }
  }
  if (no_parent) {
    for (auto& fix : cgroup_parent_fixes(host)) fixes.push_back(std::move(fix));
  } else if (fixes.empty() && rootless(host)) {
    // The root has it and we have a delegated cgroup, yet it was not delegated to us.
    if (host.no_systemd) {
      // Controllers reach the delegated cgroup from the one above it.
      const std::string above = host.cgroup_parent.substr(0, host.cgroup_parent.rfind('/'));
      fixes.push_back("enable the " + controller + " controller for your delegated cgroup (as root): echo +" +
                      controller + " > " + above + "/cgroup.subtree_control");
    } else {
      fixes.push_back("delegate the " + controller + " controller to user sessions: systemctl edit user@.service, "
                      "add [Service] Delegate=cpu cpuset io memory pids, then systemctl daemon-reload and log in again");
    }
  }
  return fixes;  // empty as root with the controller at the root: confine enables it itself
}

// The profile as one shell command that writes it: the template's comments left out, and
// printf's and the shell's special characters escaped.
std::string write_profile_command(const std::string& binary) {
  std::string body;
  std::istringstream in(apparmor_profile(binary));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind('#', 0) == 0 || (body.empty() && line.empty())) continue;
    body += line + "\n";
  }
  std::string escaped;
  for (const char c : body) {
    if (c == '\n') escaped += "\\n";
    else if (c == '%') escaped += "%%";
    else if (c == '\\') escaped += "\\\\";
    else if (c == '\'') escaped += "'\\''";
    else escaped += c;
  }
  return "printf '" + escaped + "' > " + apparmor_profile_path();
}

// Ubuntu's restriction: a profile for this very binary, loaded, is the fix that keeps the
// restriction for every other program; lifting the sysctl is the blunt one.
std::vector<std::string> apparmor_fixes(const HostProbes& host) {
  const std::string path = apparmor_profile_path();
  const std::string load = "apparmor_parser -r " + path;
  const std::string exe = host.self_exe.empty() ? "/usr/local/bin/confine" : host.self_exe;
  std::vector<std::string> fixes;
  if (!host.apparmor_profile) {
    fixes.push_back("give confine its AppArmor profile (as root; `cmake --install` installs the same file for the "
                    "installed binary): " + write_profile_command(exe) + " && " + load);
  } else if (const std::string attached = apparmor_attachment(*host.apparmor_profile); attached != exe) {
    fixes.push_back(path + " is for " + (attached.empty() ? std::string("no binary") : attached) + ", not for " + exe +
                    ": run " + (attached.empty() ? std::string("that binary") : attached) +
                    ", or rewrite the profile for this one (as root): " + write_profile_command(exe) + " && " + load);
  } else {
    fixes.push_back("load the profile confine installed, which allows it user namespaces (as root): " + load);
  }
  fixes.emplace_back(
      "or lift the restriction for every program (weaker): sysctl -w kernel.apparmor_restrict_unprivileged_userns=0");
  return fixes;
}

std::vector<std::string> userns_fixes(const HostProbes& host) {
  std::vector<std::string> fixes;
  if (host.max_user_namespaces && *host.max_user_namespaces <= 0) {
    fixes.emplace_back("sysctl -w user.max_user_namespaces=15000");
  }
  if (rootless(host) && host.unprivileged_userns_clone && *host.unprivileged_userns_clone == 0) {
    fixes.emplace_back("sysctl -w kernel.unprivileged_userns_clone=1");
  }
  if (apparmor_blocks_userns(host)) {
    for (auto& fix : apparmor_fixes(host)) fixes.push_back(std::move(fix));
  }
  if (!fixes.empty()) {
    fixes.emplace_back("make it permanent with the same setting in /etc/sysctl.d/99-confine.conf");
    return fixes;
  }
  if (host.user_namespace.sys_errno == ENOSPC) {
    fixes.emplace_back("the user.max_user_namespaces limit is used up: sysctl -w user.max_user_namespaces=15000");
  } else {
    fixes.emplace_back(
        "the sysctls allow user namespaces, so something else refuses them (a container's seccomp "
        "profile, an LSM, or a chroot): run confine on the host, or in a container started with "
        "user namespaces allowed (e.g. docker run --security-opt seccomp=unconfined)");
  }
  return fixes;
}

Finding user_namespace_finding(const HostProbes& host) {
  std::string summary = describe(host.user_namespace) + "; " +
                        sysctl_text("user.max_user_namespaces", host.max_user_namespaces) + ", " +
                        sysctl_text("kernel.unprivileged_userns_clone", host.unprivileged_userns_clone) + ", " +
                        sysctl_text("kernel.apparmor_restrict_unprivileged_userns",
                                    host.apparmor_restrict_unprivileged_userns);
  if (apparmor_blocks_userns(host)) {
    // unshare may well succeed: the namespace is then created without capabilities, and
    // nothing can be mounted in it.
    summary += "; AppArmor restricts unprivileged user namespaces and confine runs without a profile (label \"" +
               (host.apparmor_label.empty() ? std::string("unknown") : host.apparmor_label) +
               "\"): its namespaces would get no capabilities";
    return {"user_namespaces", Severity::kProblem, summary, userns_fixes(host)};
  }
  if (host.user_namespace.outcome == ProbeOutcome::kOk) return {"user_namespaces", Severity::kOk, summary, {}};
  // Every sandbox confine builds starts with CLONE_NEWUSER: without it nothing runs.
  return {"user_namespaces", Severity::kProblem, summary, userns_fixes(host)};
}

Finding clone3_finding(const HostProbes& host) {
  if (host.clone3.outcome == ProbeOutcome::kOk) return {"clone3", Severity::kOk, describe(host.clone3), {}};
  std::string fix = "confine launches with clone3 (Linux 5.3 or later): ";
  fix += host.clone3.sys_errno == ENOSYS || host.clone3.sys_errno == EPERM
             ? "upgrade the kernel, or if it is new enough, run confine outside the container whose "
               "seccomp profile hides clone3 (or allow clone3 in that profile)"
             : "upgrade the kernel";
  return {"clone3", Severity::kProblem, describe(host.clone3), {fix}};
}

Finding pidfd_finding(const HostProbes& host) {
  if (host.pidfd.outcome == ProbeOutcome::kOk) return {"pidfd", Severity::kOk, describe(host.pidfd), {}};
  if (host.pidfd.outcome == ProbeOutcome::kNotTested) {
    return {"pidfd", Severity::kProblem, describe(host.pidfd), {"fix clone3 first"}};
  }
  return {"pidfd", Severity::kProblem, describe(host.pidfd),
          {"confine waits on and signals the job through a pidfd: use Linux 5.4 or later"}};
}

Finding clone_into_cgroup_finding(const HostProbes& host) {
  const auto& probe = host.clone_into_cgroup;
  if (probe.outcome == ProbeOutcome::kOk) return {"clone_into_cgroup", Severity::kOk, describe(probe), {}};
  if (probe.outcome == ProbeOutcome::kNotTested) {
    return {"clone_into_cgroup", Severity::kWarning, describe(probe), cgroup_parent_fixes(host)};
  }
  // A leaf exists but the child cannot be cloned into it: every run with a cgroup would fail.
  return {"clone_into_cgroup", Severity::kProblem, describe(probe),
          {"confine starts the job inside its cgroup with CLONE_INTO_CGROUP: use Linux 5.7 or later"}};
}

Finding cgroup2_finding(const HostProbes& host) {
  if (host.cgroup2_mount.empty()) {
    return {"cgroup2", Severity::kWarning, "no cgroup2 filesystem is mounted", cgroup_parent_fixes(host)};
  }
  std::string summary = "mounted at " + host.cgroup2_mount + "; controllers at its root: " +
                        (host.root_controllers.empty() ? "none" : join(host.root_controllers));
  if (!host.v1_controllers.empty()) summary += "; bound to cgroup v1 instead: " + join(host.v1_controllers);
  return {"cgroup2", Severity::kOk, summary, {}};
}

Finding cgroup_parent_finding(const HostProbes& host) {
  if (host.cgroup2_mount.empty()) {
    return {"cgroup_parent", Severity::kWarning, "none: no cgroup2 mount", cgroup_parent_fixes(host)};
  }
  if (rootless(host)) {
    const std::string own = host.own_cgroup.empty() ? "(unknown)" : host.own_cgroup;
    std::string summary = "own cgroup " + own + (host.own_cgroup_owned ? " is" : " is not") + " owned by uid " +
                          std::to_string(host.euid) + ", its cgroup.subtree_control is" +
                          (host.subtree_control_writable ? "" : " not") + " writable";
    if (host.cgroup_parent.empty()) {
      return {"cgroup_parent", Severity::kWarning,
              summary + ": not a delegated subtree, so confine has no cgroup to put jobs in; " +
                  describe(host.leaf_create),
              delegate_fixes(host)};
    }
    summary = host.cgroup_parent + " (" + host.cgroup_parent_source + "; " + summary + "); " + describe(host.leaf_create);
    if (host.leaf_create.outcome == ProbeOutcome::kFailed) {
      return {"cgroup_parent", Severity::kWarning, summary, cgroup_parent_fixes(host)};
    }
    return {"cgroup_parent", Severity::kOk, summary, {}};
  }
  std::string summary = host.cgroup_parent + " (from " + host.cgroup_parent_source + ")";
  if (host.leaf_test_dir != host.cgroup_parent && !host.leaf_test_dir.empty()) {
    summary += ", created on first run";
  }
  summary += "; " + describe(host.leaf_create);
  if (host.leaf_create.outcome != ProbeOutcome::kOk) {
    return {"cgroup_parent", Severity::kWarning, summary, cgroup_parent_fixes(host)};
  }
  return {"cgroup_parent", Severity::kOk, summary, {}};
}

Finding controllers_finding(const HostProbes& host) {
  std::vector<std::string> missing;
  for (const char* c : {"memory", "pids", "cpu"}) {
    if (!contains(host.leaf_controllers, c)) missing.emplace_back(c);
  }
  std::string summary = "available to job leaves: " +
                        (host.leaf_controllers.empty() ? std::string("none") : join(host.leaf_controllers));
  if (missing.empty()) return {"cgroup_controllers", Severity::kOk, summary, {}};
  summary += "; missing for limits: " + join(missing, ", ");
  std::vector<std::string> fixes;
  for (const auto& c : missing) {
    for (auto& fix : controller_fixes(host, c)) {
      if (!contains(fixes, fix)) fixes.push_back(std::move(fix));
    }
  }
  // A warning: whether it matters is the policy's question, answered by the policy findings.
  return {"cgroup_controllers", Severity::kWarning, summary, fixes};
}

Finding seccomp_finding(const HostProbes& host) {
  std::string summary = std::string("filter mode ") + (host.seccomp_filter ? "available" : "unavailable") +
                        "; actions: " + (host.seccomp_actions.empty() ? "unknown" : join(host.seccomp_actions)) +
                        "; user_notif " + (host.seccomp_user_notif ? "available" : "unavailable");
  if (!host.seccomp_filter) {
    return {"seccomp", Severity::kWarning, summary,
            {"use a kernel built with CONFIG_SECCOMP_FILTER, and run confine outside any container that "
             "forbids seccomp(2)"}};
  }
  if (!contains(host.seccomp_actions, "kill_process")) {
    return {"seccomp", Severity::kWarning, summary, {"use Linux 4.14 or later for SECCOMP_RET_KILL_PROCESS"}};
  }
  if (!host.seccomp_user_notif) {
    return {"seccomp", Severity::kWarning,
            summary + "; violations are reported without the syscall's name",
            {"use Linux 5.0 or later for SECCOMP_RET_USER_NOTIF"}};
  }
  return {"seccomp", Severity::kOk, summary, {}};
}

Finding landlock_finding(const HostProbes& host) {
  if (host.landlock_abi <= 0) {
    // A warning: whether it matters is the policy's question (enforcement.landlock), answered by
    // the policy findings.
    return {"landlock", Severity::kWarning,
            "not available: the filesystem allow-list rests on the mount namespace alone", {landlock::kEnableFix}};
  }
  const int abi = host.landlock_abi;
  std::string summary = "ABI " + std::to_string(abi) + ": a second wall under the mounts (the filesystem allow-list";
  if (abi >= 4) summary += ", TCP bind and connect with network.mode = \"none\"";
  if (abi >= 6) summary += ", signals and abstract unix sockets scoped to the sandbox";
  summary += ")";
  if (abi == 1) summary += "; ABI 1 refuses renames and links across directories (Linux 5.19 lifts it)";
  if (abi < 4) summary += "; TCP rules need ABI 4 (Linux 6.7)";
  if (abi < 6) summary += "; scoping needs ABI 6 (Linux 6.12); the namespaces cover both meanwhile";
  return {"landlock", Severity::kOk, summary, {}};
}

// The fix for one protection the plan could not put in force.
std::vector<std::string> protection_fixes(const HostProbes& host, const std::string& name) {
  if (name == "cgroup_tracking" || name == "cpu_time") {
    if (!host.cgroup_parent.empty() && host.leaf_create.outcome != ProbeOutcome::kFailed) return {};
    return cgroup_parent_fixes(host);
  }
  if (name == "memory_limit" || name == "swap_limit") return controller_fixes(host, "memory");
  if (name == "pids_limit") return controller_fixes(host, "pids");
  if (name == "cpu_limit") return controller_fixes(host, "cpu");
  if (name == "seccomp") return {"use a kernel built with CONFIG_SECCOMP_FILTER"};
  if (name == "landlock") return {landlock::kEnableFix};
  return {};
}

void add_policy_findings(const HostProbes& host, const PolicyCheck& policy, std::vector<Finding>& out) {
  if (!policy.load_errors.empty()) {
    for (const auto& e : policy.load_errors) {
      out.push_back({"policy", Severity::kProblem, e, {"correct the policy; `confine check " + policy.path + "` lists every problem"}});
    }
    return;
  }
  const std::string assumed = policy.assumed_user_namespaces ? " (assuming user namespaces are fixed)" : "";
  if (policy.plan_error) {
    const Error& e = *policy.plan_error;
    std::vector<std::string> fixes;
    // Which refusal this is follows from the host, not from the message text.
    std::vector<std::string> missing;
    for (const auto& c : policy.needed_controllers) {
      if (host.cgroup_parent.empty() || !contains(host.leaf_controllers, c) ||
          host.leaf_create.outcome == ProbeOutcome::kFailed) {
        missing.push_back(c);
      }
    }
    if (policy.seccomp == policy::Enforcement::kRequired && !host.seccomp_filter) {
      fixes.push_back("use a kernel built with CONFIG_SECCOMP_FILTER");
      fixes.push_back("or run without a syscall filter: mark [enforcement] seccomp = \"best-effort\"");
    } else if (policy.landlock == policy::Enforcement::kRequired && host.landlock_abi <= 0) {
      fixes.emplace_back(landlock::kEnableFix);
      fixes.emplace_back(
          "or run with the mount namespace alone: mark [enforcement] landlock = \"best-effort\" (the report then "
          "says the Landlock layer was skipped)");
    } else if (policy.resources == policy::Enforcement::kRequired && !missing.empty()) {
      for (const auto& c : missing) {
        for (auto& fix : controller_fixes(host, c)) {
          if (!contains(fixes, fix)) fixes.push_back(std::move(fix));
        }
      }
      fixes.emplace_back(kBestEffortFix);
    } else if (!e.hint.empty()) {
      fixes.push_back(e.hint);
    }
    std::string message = e.message;
    for (const auto& c : e.context) message = c + ": " + message;
    out.push_back({"policy", Severity::kProblem, "cannot run here" + assumed + ": " + message, fixes});
    return;
  }
  size_t enforced = 0;
  size_t shortfalls = 0;
  for (const auto& p : policy.protections) {
    if (p.status == "enforced") ++enforced;
    if (p.status == "enforced" || p.status == "disabled_by_policy" || p.status == "not_requested") continue;
    ++shortfalls;
    // Best-effort by the policy's choice: it runs, without this protection (or with a weaker one).
    out.push_back({"policy." + p.name, Severity::kGap,
                   p.status + (p.detail.empty() ? "" : ": " + p.detail), protection_fixes(host, p.name)});
  }
  if (shortfalls == 0) {
    out.push_back({"policy", Severity::kOk,
                   "can run fully enforced" + assumed + ": " + std::to_string(enforced) + " protections enforced",
                   {}});
  }
}

}  // namespace

const char* to_string(Severity severity) {
  switch (severity) {
    case Severity::kOk: return "ok";
    case Severity::kInfo: return "info";
    case Severity::kWarning: return "warning";
    case Severity::kGap: return "gap";
    case Severity::kProblem: return "problem";
  }
  return "problem";
}

const char* to_string(ProbeOutcome outcome) {
  switch (outcome) {
    case ProbeOutcome::kOk: return "ok";
    case ProbeOutcome::kFailed: return "failed";
    case ProbeOutcome::kNotTested: return "not_tested";
  }
  return "failed";
}

std::vector<Finding> diagnose(const HostProbes& host, const PolicyCheck& policy) {
  std::vector<Finding> out;
  out.push_back({"kernel", Severity::kInfo,
                 "Linux " + (host.kernel_release.empty() ? std::string("(unknown)") : host.kernel_release) +
                     (rootless(host) ? ", running as uid " + std::to_string(host.euid) : ", running as root"),
                 {}});
  out.push_back(user_namespace_finding(host));
  out.push_back(clone3_finding(host));
  out.push_back(pidfd_finding(host));
  out.push_back(clone_into_cgroup_finding(host));
  out.push_back(cgroup2_finding(host));
  out.push_back(cgroup_parent_finding(host));
  out.push_back(controllers_finding(host));
  out.push_back(seccomp_finding(host));
  out.push_back(landlock_finding(host));
  add_policy_findings(host, policy, out);
  return out;
}

bool fully_enforced(const std::vector<Finding>& findings) { return verdict(findings) == Verdict::kFullyEnforced; }

Verdict verdict(const std::vector<Finding>& findings) {
  const auto any = [&](Severity s) {
    return std::any_of(findings.begin(), findings.end(), [s](const Finding& f) { return f.severity == s; });
  };
  if (any(Severity::kProblem)) return Verdict::kCannotRun;
  if (any(Severity::kGap)) return Verdict::kRunsWithGaps;
  return Verdict::kFullyEnforced;
}

const char* to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::kFullyEnforced: return "fully_enforced";
    case Verdict::kRunsWithGaps: return "runs_with_gaps";
    case Verdict::kCannotRun: return "cannot_run";
  }
  return "cannot_run";
}

int exit_code(Verdict verdict) {
  switch (verdict) {
    case Verdict::kFullyEnforced: return 0;
    case Verdict::kRunsWithGaps: return kExitGaps;
    case Verdict::kCannotRun: return 1;
  }
  return 1;
}

}  // namespace confine::doctor
