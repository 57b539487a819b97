// `confine doctor` on hosts without user namespaces: what it says about Landlock mode (what that
// mode gives and lacks, and how to get namespaces instead), and how a policy that asks for
// "auto" or "landlock" is judged: planned as it would run, every protection the mode lacks a
// problem with the fix that brings namespaces back.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "confine/doctor.h"
#include "confine/landlock.h"
#include "plan_fake_host.h"

namespace confine::doctor {
namespace {

using plan::testing::Caller;

const ProbeResult kWorks{ProbeOutcome::kOk, 0, "probe"};

// Docker's default seccomp profile around confine, as root: unshare refused, clone3 refused with
// ENOSYS (the legacy clone still gives a pidfd), a read-only cgroupfs, Landlock there.
HostProbes docker_like_root_host() {
  HostProbes h;
  h.euid = 0;
  h.kernel_release = "6.1.0-test";
  h.max_user_namespaces = 15000;
  h.user_namespace = {ProbeOutcome::kFailed, EPERM, "unshare(CLONE_NEWUSER)"};
  h.clone3 = {ProbeOutcome::kFailed, ENOSYS, "clone3(CLONE_PIDFD)"};
  h.pidfd = {ProbeOutcome::kOk, 0, "CLONE_PIDFD through the legacy clone (clone3 is refused), waitid(P_PIDFD)"};
  h.clone_into_cgroup = {ProbeOutcome::kNotTested, 0, "no writable cgroup"};
  h.cgroup2_mount = "/sys/fs/cgroup";
  h.root_controllers = {"cpu", "memory", "pids"};
  h.leaf_create = {ProbeOutcome::kFailed, EROFS, "mkdir /sys/fs/cgroup/confine-doctor-1"};
  h.seccomp_filter = true;
  h.seccomp_actions = {"kill_process", "kill_thread", "trap", "errno", "user_notif", "log", "allow"};
  h.seccomp_user_notif = true;
  h.landlock_abi = 7;
  return h;
}

plan::HostFacts facts_for(const HostProbes& probes) {
  auto tree = plan::testing::debian_tree();
  tree->program("/usr/bin/true");
  tree->chardev("/dev/zero").chardev("/dev/full").chardev("/dev/random").chardev("/dev/urandom");
  plan::HostFacts facts = plan::testing::fake_host(tree, probes.euid == 0 ? Caller::kRoot : Caller::kUser);
  facts.cgroup2_mount = probes.cgroup2_mount;
  facts.cgroup_parent.clear();
  facts.cgroup_controllers.clear();
  facts.seccomp = probes.seccomp_filter;
  facts.landlock_abi = probes.landlock_abi;
  return corrected_facts(facts, probes);
}

PolicyCheck check(const HostProbes& host, policy::IsolationMode mode) {
  auto policy = plan::testing::default_like_policy();
  policy.isolation.mode = {mode, {"test.toml", 70, 1}};
  return check_policy("test.toml", policy, facts_for(host));
}

const Finding* find(const std::vector<Finding>& findings, const std::string& name) {
  auto it = std::find_if(findings.begin(), findings.end(), [&](const Finding& f) { return f.check == name; });
  return it == findings.end() ? nullptr : &*it;
}

bool any_fix(const Finding& f, const std::string& text) {
  return std::any_of(f.fixes.begin(), f.fixes.end(), [&](const std::string& fix) { return fix.find(text) != std::string::npos; });
}

#define EXPECT_HAS(haystack, needle) EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

TEST(DoctorIsolation, ANamespacePolicyOnADockerLikeHostIsToldAboutLandlockMode) {
  const HostProbes host = docker_like_root_host();
  const PolicyCheck policy = check(host, policy::IsolationMode::kNamespaces);
  EXPECT_TRUE(policy.assumed_user_namespaces);
  const auto findings = diagnose(host, policy);
  EXPECT_FALSE(fully_enforced(findings));
  const Finding* userns = find(findings, "user_namespaces");
  ASSERT_NE(userns, nullptr);
  EXPECT_EQ(userns->severity, Severity::kProblem);
  EXPECT_TRUE(any_fix(*userns, "confine run --isolation auto")) << userns->summary;
  const Finding* isolation = find(findings, "isolation");
  ASSERT_NE(isolation, nullptr);
  EXPECT_EQ(isolation->severity, Severity::kInfo);
  EXPECT_HAS(isolation->summary, "no namespaces here; --isolation landlock (or auto) runs with Landlock ABI 7");
  EXPECT_HAS(isolation->summary, "no private /tmp");
  EXPECT_HAS(isolation->summary, "this policy plans in namespaces mode");
  // clone3 matters to the namespace mode: still a problem there.
  ASSERT_NE(find(findings, "clone3"), nullptr);
  EXPECT_EQ(find(findings, "clone3")->severity, Severity::kProblem);
}

TEST(DoctorIsolation, AnAutoPolicyThereIsPlannedInLandlockModeAndEveryGapHasItsFix) {
  const HostProbes host = docker_like_root_host();
  const PolicyCheck policy = check(host, policy::IsolationMode::kAuto);
  EXPECT_FALSE(policy.assumed_user_namespaces);
  ASSERT_FALSE(policy.plan_error) << policy.plan_error->render();
  EXPECT_EQ(policy.isolation, plan::Isolation::kLandlock);
  const auto findings = diagnose(host, policy);
  EXPECT_FALSE(fully_enforced(findings)) << "Landlock mode is never fully enforced";
  // Landlock mode launches without clone3: a warning, no longer a problem.
  ASSERT_NE(find(findings, "clone3"), nullptr);
  ASSERT_NE(find(findings, "isolation"), nullptr);
  EXPECT_EQ(find(findings, "clone3")->severity, Severity::kWarning);
  EXPECT_HAS(find(findings, "clone3")->summary, "Landlock mode launches with the legacy clone");
  EXPECT_EQ(find(findings, "isolation")->severity, Severity::kWarning);
  const Finding* said = find(findings, "policy.isolation");
  ASSERT_NE(said, nullptr);
  EXPECT_HAS(said->summary, "fell back to Landlock mode");
  for (const char* gap : {"policy.user_namespace", "policy.mount_namespace", "policy.pid_namespace", "policy.new_root",
                          "policy.private_tmp", "policy.fresh_proc", "policy.network_namespace"}) {
    const Finding* f = find(findings, gap);
    ASSERT_NE(f, nullptr) << gap;
    EXPECT_EQ(f->severity, Severity::kGap) << gap;
    EXPECT_TRUE(any_fix(*f, "isolation.mode = \"namespaces\" or \"auto\"")) << gap;
    EXPECT_TRUE(any_fix(*f, "seccomp=unconfined")) << gap << ": how to get user namespaces in the container";
  }
}

TEST(DoctorIsolation, NeitherNamespacesNorLandlockIsAProblemWithBothFixes) {
  HostProbes host = docker_like_root_host();
  host.landlock_abi = 0;
  const PolicyCheck policy = check(host, policy::IsolationMode::kAuto);
  ASSERT_TRUE(policy.plan_error.has_value());
  const auto findings = diagnose(host, policy);
  const Finding* isolation = find(findings, "isolation");
  ASSERT_NE(isolation, nullptr);
  EXPECT_EQ(isolation->severity, Severity::kProblem);
  EXPECT_HAS(isolation->summary, "neither namespaces nor Landlock");
  EXPECT_TRUE(any_fix(*isolation, "lsm="));
  const Finding* refused = find(findings, "policy");
  ASSERT_NE(refused, nullptr);
  EXPECT_HAS(refused->summary, "Landlock mode needs Landlock");
  EXPECT_TRUE(any_fix(*refused, landlock::kEnableFix));
  EXPECT_TRUE(any_fix(*refused, "or give confine its namespaces"));
}

TEST(DoctorIsolation, WhereNamespacesWorkTheIsolationFindingIsOk) {
  HostProbes host = docker_like_root_host();
  host.user_namespace = kWorks;
  host.clone3 = kWorks;
  host.pidfd = kWorks;
  const PolicyCheck policy = check(host, policy::IsolationMode::kAuto);
  EXPECT_EQ(policy.isolation, plan::Isolation::kNamespaces);
  const auto findings = diagnose(host, policy);
  const Finding* isolation = find(findings, "isolation");
  ASSERT_NE(isolation, nullptr);
  EXPECT_EQ(isolation->severity, Severity::kOk);
  EXPECT_HAS(isolation->summary, "namespaces: user namespaces work here");
  EXPECT_EQ(find(findings, "policy.isolation"), nullptr);
}

}  // namespace
}  // namespace confine::doctor
