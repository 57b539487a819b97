// `confine doctor`: what this host lets confine enforce, and the exact fix for each shortfall.
//
// Two halves, so the judgement can be tested without the machine: probe_host() runs the real
// probes (it forks, clones and creates one uniquely named test cgroup, then removes it), and
// diagnose() is a pure function from probe results and a policy check to findings, each with
// the command that fixes it. Only the CLI prints them.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "confine/error.h"
#include "confine/plan.h"
#include "confine/policy.h"
#include "confine/report.h"

namespace confine::doctor {

enum class ProbeOutcome { kOk, kFailed, kNotTested };

// One real probe: did it work, and if not, the errno and what was tried.
struct ProbeResult {
  ProbeOutcome outcome = ProbeOutcome::kNotTested;
  int sys_errno = 0;
  std::string detail;  // what was attempted, or why it was not tested
};

// Everything probe_host() found. Plain data: tests fabricate it.
struct HostProbes {
  uid_t euid = 0;
  std::string kernel_release;

  // User namespaces: the sysctls that gate them (absent = this kernel has no such switch) and
  // the real answer, a forked child's unshare(CLONE_NEWUSER).
  std::optional<long> max_user_namespaces;
  std::optional<long> unprivileged_userns_clone;               // Debian's patch
  std::optional<long> apparmor_restrict_unprivileged_userns;   // Ubuntu 23.10+
  ProbeResult user_namespace;
  // Ubuntu 23.10+: with apparmor_restrict_unprivileged_userns set, AppArmor decides which
  // programs get a working user namespace. The label this process runs under (host::
  // apparmor_label: "unconfined", or "confine (unconfined)" under the shipped profile; empty when
  // AppArmor is not active), this binary (which the profile must name), and the text of the
  // profile confine installs (apparmor_profile_path()), when that file exists.
  std::string apparmor_label;
  std::string self_exe;
  std::optional<std::string> apparmor_profile;

  // Process creation as the launcher does it.
  ProbeResult clone3;             // clone3() of a child that exits at once
  ProbeResult pidfd;              // CLONE_PIDFD returned a pidfd and waitid(P_PIDFD) reaped it
  ProbeResult clone_into_cgroup;  // the same, straight into the test cgroup

  // cgroup v2.
  std::string cgroup2_mount;                   // empty: no cgroup2 mounted
  std::vector<std::string> root_controllers;   // cgroup.controllers at the cgroup2 root
  std::vector<std::string> v1_controllers;     // bound to cgroup v1 hierarchies (hybrid hosts)
  std::string cgroup_parent;                   // where confine would create leaves; empty = none
  std::string cgroup_parent_source;            // "CONFINE_CGROUP_PARENT", "<mount>/confine", ...
  std::string leaf_test_dir;                   // the existing directory the test leaf went into
  ProbeResult leaf_create;                     // mkdir + rmdir of a uniquely named test leaf
  std::vector<std::string> leaf_controllers;   // controllers leaves under the parent can get

  // The host was not booted with systemd (no /run/systemd/system, sd_booted(3)): fixes that use
  // systemd-run or systemctl do not apply, and the manual equivalents are given instead.
  bool no_systemd = false;

  // Rootless only: is our own cgroup a delegated subtree (as systemd makes one with Delegate=)?
  std::string own_cgroup;             // "0::" path from /proc/self/cgroup
  bool own_cgroup_owned = false;      // the directory belongs to this uid
  bool subtree_control_writable = false;

  // Seccomp and Landlock.
  bool seccomp_filter = false;              // SECCOMP_MODE_FILTER
  std::vector<std::string> seccomp_actions; // /proc/sys/kernel/seccomp/actions_avail
  bool seccomp_user_notif = false;          // SECCOMP_GET_ACTION_AVAIL for USER_NOTIF
  int landlock_abi = 0;                     // 0 = unavailable
};

// What the planner says about one policy on this host.
struct PolicyCheck {
  std::string path;
  std::vector<std::string> load_errors;    // "file:line:col: key: message"
  std::optional<Error> plan_error;
  std::vector<report::Protection> protections;  // the plan's, when one was made
  std::vector<std::string> needed_controllers;  // "memory", "pids", "cpu" the limits need
  policy::Enforcement resources = policy::Enforcement::kRequired;
  policy::Enforcement seccomp = policy::Enforcement::kRequired;
  policy::Enforcement landlock = policy::Enforcement::kBestEffort;
  // The host cannot create user namespaces; the plan was made as if it could, so the rest of
  // the policy's shortfalls still show.
  bool assumed_user_namespaces = false;
};

enum class Severity {
  kOk,       // works
  kInfo,     // a fact, nothing to do
  kWarning,  // a host limitation this policy does not depend on
  kGap,      // the policy runs, but this protection of it is not (fully) enforced here (best-effort)
  kProblem,  // this policy cannot run here until it is fixed
};
[[nodiscard]] const char* to_string(Severity severity);
[[nodiscard]] const char* to_string(ProbeOutcome outcome);

struct Finding {
  std::string check;     // "user_namespaces", "cgroup_controllers", "policy.memory_limit", ...
  Severity severity = Severity::kInfo;
  std::string summary;   // what was found
  std::vector<std::string> fixes;  // exact commands or steps; empty when nothing is needed
};

// The real probes. `facts` is host::probe()'s answer, which this extends.
[[nodiscard]] HostProbes probe_host(const plan::HostFacts& facts);

// HostFacts corrected by what the real probes found (a user namespace that sysctls allow but
// unshare refuses; a cgroup parent where no leaf can be created), so the plan says what a run
// would actually get.
[[nodiscard]] plan::HostFacts corrected_facts(plan::HostFacts facts, const HostProbes& probes);

// Controllers named in cgroup v1 mounts of /proc/self/mountinfo text ("memory", "pids", ...).
[[nodiscard]] std::vector<std::string> v1_controllers_from_mountinfo(std::string_view mountinfo);

// The AppArmor profile that lets `binary` use user namespaces (packaging/apparmor/confine.in with
// its path filled in), where `cmake --install` puts it, and the binary a profile's text attaches
// to ("profile confine /usr/local/bin/confine ..."; empty when there is none).
[[nodiscard]] std::string apparmor_profile(const std::string& binary);
[[nodiscard]] const char* apparmor_profile_path();
[[nodiscard]] std::string apparmor_attachment(std::string_view profile);
// True when AppArmor will give a user namespace of this (unprivileged) process no capabilities:
// the sysctl restricts them and no profile of confine's is in force. Pure.
[[nodiscard]] bool apparmor_blocks_userns(const HostProbes& host);

// Findings, host first then policy. Pure.
[[nodiscard]] std::vector<Finding> diagnose(const HostProbes& host, const PolicyCheck& policy);
// True when no finding is a problem or a gap: the policy runs fully enforced.
[[nodiscard]] bool fully_enforced(const std::vector<Finding>& findings);

// The answer to "will this policy run here, and what will not be enforced", and doctor's exit
// code: 0 fully enforced, kExitGaps when it runs with gaps (best-effort protections missing), 1
// when it cannot run.
enum class Verdict { kFullyEnforced, kRunsWithGaps, kCannotRun };
inline constexpr int kExitGaps = 2;
[[nodiscard]] Verdict verdict(const std::vector<Finding>& findings);
[[nodiscard]] const char* to_string(Verdict verdict);  // "fully_enforced", "runs_with_gaps", "cannot_run"
[[nodiscard]] int exit_code(Verdict verdict);

// Which cgroup v2 controllers the policy's limits need.
[[nodiscard]] inline std::vector<std::string> needed_controllers(const policy::Policy& policy) {
  const auto& limits = policy.limits;
  std::vector<std::string> out;
  if (limits.memory_bytes.value || !limits.swap_bytes.origin.is_default()) out.emplace_back("memory");
  if (limits.pids.value) out.emplace_back("pids");
  if (limits.cpus.value) out.emplace_back("cpu");
  return out;
}

// Plans `/bin/true` under `policy` on `facts`. Inline so that it links with whichever binary
// already links the planner (the host library does not depend on it).
[[nodiscard]] inline PolicyCheck check_policy(const std::string& path, const policy::Policy& policy,
                                              plan::HostFacts facts) {
  PolicyCheck check;
  check.path = path;
  check.needed_controllers = needed_controllers(policy);
  check.resources = policy.enforcement.resources.value;
  check.seccomp = policy.enforcement.seccomp.value;
  check.landlock = policy.enforcement.landlock.value;
  if (!facts.user_namespaces) {
    // Without user namespaces make_plan stops at the first step; plan as if they were fixed so
    // every other shortfall is listed too (the user-namespace finding covers this one).
    facts.user_namespaces = true;
    check.assumed_user_namespaces = true;
  }
  auto planned = plan::make_plan(policy, plan::RunRequest{{"/bin/true"}, {}, path}, facts);
  if (planned) {
    check.protections = planned->protections;
  } else {
    check.plan_error = planned.error();
  }
  return check;
}

}  // namespace confine::doctor
