// `confine doctor [-p POLICY] [--json]`: probe this host, plan the policy for /bin/true against
// it, and print every check with the exact fix for each shortfall (docs/doctor.md).
//
// Exit codes (docs/doctor.md): 0 when the policy runs fully enforced here, 2 when it runs with
// gaps (best-effort protections this host cannot give), 1 when it cannot run here, 125 when the
// policy cannot be loaded (bad input, as for `confine run`).
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.h"
#include "confine/doctor.h"
#include "confine/host.h"

namespace confine::cli {
namespace {

using doctor::Finding;
using doctor::HostProbes;
using doctor::PolicyCheck;
using doctor::ProbeResult;

// 2: a protection the policy lets go (best-effort) is a "gap", no longer a "problem", and the
// document says which of the three answers it is ("verdict").
constexpr int kDoctorJsonVersion = 2;

nlohmann::json probe_json(const ProbeResult& probe) {
  nlohmann::json j = {{"result", doctor::to_string(probe.outcome)}, {"detail", probe.detail}};
  if (probe.sys_errno != 0) j["errno"] = probe.sys_errno;
  return j;
}

nlohmann::json optional_json(const std::optional<long>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

nlohmann::json host_json(const HostProbes& h) {
  return {
      {"euid", h.euid},
      {"kernel_release", h.kernel_release},
      {"systemd", !h.no_systemd},
      {"user_namespaces",
       {{"max_user_namespaces", optional_json(h.max_user_namespaces)},
        {"unprivileged_userns_clone", optional_json(h.unprivileged_userns_clone)},
        {"apparmor_restrict_unprivileged_userns", optional_json(h.apparmor_restrict_unprivileged_userns)},
        {"probe", probe_json(h.user_namespace)}}},
      {"clone3", probe_json(h.clone3)},
      {"pidfd", probe_json(h.pidfd)},
      {"clone_into_cgroup", probe_json(h.clone_into_cgroup)},
      {"cgroup",
       {{"cgroup2_mount", h.cgroup2_mount},
        {"root_controllers", h.root_controllers},
        {"v1_controllers", h.v1_controllers},
        {"parent", h.cgroup_parent},
        {"parent_source", h.cgroup_parent_source},
        {"leaf_test_dir", h.leaf_test_dir},
        {"leaf_create", probe_json(h.leaf_create)},
        {"leaf_controllers", h.leaf_controllers},
        {"own_cgroup", h.own_cgroup},
        {"own_cgroup_owned", h.own_cgroup_owned},
        {"subtree_control_writable", h.subtree_control_writable}}},
      {"seccomp",
       {{"filter", h.seccomp_filter}, {"actions_avail", h.seccomp_actions}, {"user_notif", h.seccomp_user_notif}}},
      {"landlock_abi", h.landlock_abi},
  };
}

nlohmann::json policy_json(const PolicyCheck& p) {
  nlohmann::json protections = nlohmann::json::array();
  for (const auto& pr : p.protections) {
    protections.push_back({{"name", pr.name}, {"status", pr.status}, {"mechanism", pr.mechanism}, {"detail", pr.detail}});
  }
  nlohmann::json j = {{"path", p.path},
                      {"load_errors", p.load_errors},
                      {"plan_error", nullptr},
                      {"assumed_user_namespaces", p.assumed_user_namespaces},
                      {"protections", protections}};
  if (p.plan_error) j["plan_error"] = p.plan_error->render();
  return j;
}

void print_json(const HostProbes& host, const PolicyCheck& policy, const std::vector<Finding>& findings,
                doctor::Verdict verdict) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& f : findings) {
    list.push_back({{"check", f.check}, {"severity", doctor::to_string(f.severity)}, {"summary", f.summary}, {"fixes", f.fixes}});
  }
  const nlohmann::json doc = {{"doctor_version", kDoctorJsonVersion},
                              {"confine_version", CONFINE_VERSION},
                              {"verdict", doctor::to_string(verdict)},
                              {"fully_enforced", verdict == doctor::Verdict::kFullyEnforced},
                              {"findings", list},
                              {"host", host_json(host)},
                              {"policy", policy_json(policy)}};
  std::fputs((doc.dump(2) + "\n").c_str(), stdout);
}

void print_text(const PolicyCheck& policy, const std::vector<Finding>& findings, doctor::Verdict verdict) {
  size_t problems = 0;
  size_t gaps = 0;
  bool in_policy = false;
  std::printf("host\n");
  for (const auto& f : findings) {
    if (!in_policy && f.check.rfind("policy", 0) == 0) {
      in_policy = true;
      std::printf("\npolicy %s\n", policy.path.c_str());
    }
    if (f.severity == doctor::Severity::kProblem) ++problems;
    if (f.severity == doctor::Severity::kGap) ++gaps;
    std::printf("  %-8s %-22s %s\n", doctor::to_string(f.severity), f.check.c_str(), f.summary.c_str());
    for (const auto& fix : f.fixes) std::printf("  %-8s %-22s fix: %s\n", "", "", fix.c_str());
  }
  const char* path = policy.path.c_str();
  switch (verdict) {
    case doctor::Verdict::kFullyEnforced:
      std::printf("\nresult: %s runs fully enforced on this host\n", path);
      break;
    case doctor::Verdict::kRunsWithGaps:
      std::printf("\nresult: %s runs on this host, but %zu of its protections %s not fully enforced (the gaps "
                  "above; best-effort by the policy's choice)\n",
                  path, gaps, gaps == 1 ? "is" : "are");
      break;
    case doctor::Verdict::kCannotRun:
      std::printf("\nresult: %s cannot run on this host: %zu problem%s above\n", path, problems,
                  problems == 1 ? "" : "s");
      break;
  }
}

}  // namespace

int doctor_command(const std::string& policy_path, bool json) {
  auto found = resolve_policy_argument(policy_path);
  const std::string path = found ? *found : (policy_path.empty() ? std::string("default") : policy_path);
  const plan::HostFacts facts = host::probe();
  const HostProbes probes = doctor::probe_host(facts);

  PolicyCheck check;
  check.path = path;
  auto loaded = found ? policy::load(path, policy_load_options()) : policy::LoadResult{};
  if (!found) loaded.diagnostics.push_back(policy::Diagnostic{{path, 0, 0}, "", found.error().render()});
  if (loaded.ok()) {
    check = doctor::check_policy(path, *loaded.policy, doctor::corrected_facts(facts, probes));
  } else {
    for (const auto& d : loaded.diagnostics) check.load_errors.push_back(d.str());
    if (check.load_errors.empty()) check.load_errors.push_back(path + ": the policy failed to load");
  }

  const auto findings = doctor::diagnose(probes, check);
  const doctor::Verdict verdict = doctor::verdict(findings);
  if (json) {
    print_json(probes, check, findings, verdict);
  } else {
    print_text(check, findings, verdict);
  }
  // A policy that does not load is bad input, whatever the host can do.
  if (!check.load_errors.empty()) return report::kExitConfineFailed;
  return doctor::exit_code(verdict);
}

}  // namespace confine::cli
