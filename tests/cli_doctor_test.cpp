// `confine doctor`'s judgement: fabricated probe results and a real plan against a fake host
// tree in, findings with fixes out. One test at the end runs the real probes and checks they
// leave nothing behind.
#include <dirent.h>
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "confine/doctor.h"
#include "confine/host.h"
#include "plan_fake_host.h"

namespace confine::doctor {
namespace {

using plan::testing::Caller;

const ProbeResult kWorks{ProbeOutcome::kOk, 0, "probe"};

// A hybrid host like the build machine: every resource controller bound to cgroup v1, the
// cgroup2 mount at /sys/fs/cgroup/unified with only hugetlb.
HostProbes hybrid_root_host() {
  HostProbes h;
  h.euid = 0;
  h.kernel_release = "6.1.0-test";
  h.max_user_namespaces = 15000;
  h.user_namespace = kWorks;
  h.clone3 = kWorks;
  h.pidfd = kWorks;
  h.clone_into_cgroup = kWorks;
  h.cgroup2_mount = "/sys/fs/cgroup/unified";
  h.root_controllers = {"hugetlb"};
  h.v1_controllers = {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids"};
  h.cgroup_parent = "/sys/fs/cgroup/unified/confine";
  h.cgroup_parent_source = "<cgroup2 mount>/confine";
  h.leaf_test_dir = "/sys/fs/cgroup/unified";
  h.leaf_create = kWorks;
  h.leaf_controllers = {"hugetlb"};
  h.seccomp_filter = true;
  h.seccomp_actions = {"kill_process", "kill_thread", "trap", "errno", "user_notif", "log", "allow"};
  h.seccomp_user_notif = true;
  h.landlock_abi = 7;
  return h;
}

HostProbes full_cgroup2_root_host() {
  HostProbes h = hybrid_root_host();
  h.cgroup2_mount = "/sys/fs/cgroup";
  h.root_controllers = {"cpuset", "cpu", "io", "memory", "pids"};
  h.v1_controllers.clear();
  h.cgroup_parent = "/sys/fs/cgroup/confine";
  h.leaf_test_dir = "/sys/fs/cgroup";
  h.leaf_controllers = h.root_controllers;
  return h;
}

// The HostFacts host::probe() would report for `probes`, over the fake Debian tree.
plan::HostFacts facts_for(const HostProbes& probes) {
  auto tree = plan::testing::debian_tree();
  tree->program("/usr/bin/true");
  plan::HostFacts facts = plan::testing::fake_host(tree, probes.euid == 0 ? Caller::kRoot : Caller::kUser);
  facts.euid = probes.euid;
  facts.egid = probes.euid;
  facts.cgroup2_mount = probes.cgroup2_mount;
  facts.cgroup_parent = probes.cgroup_parent;
  facts.cgroup_controllers = probes.leaf_controllers;
  facts.user_namespaces = true;  // as the sysctls say; corrected_facts applies the real probe
  facts.seccomp = probes.seccomp_filter;
  facts.seccomp_user_notif = probes.seccomp_user_notif;
  facts.landlock_abi = probes.landlock_abi;
  return facts;
}

std::vector<Finding> run_doctor(const HostProbes& probes, const policy::Policy& policy) {
  const PolicyCheck check = check_policy("test.toml", policy, corrected_facts(facts_for(probes), probes));
  return diagnose(probes, check);
}

const Finding* find(const std::vector<Finding>& findings, const std::string& check) {
  const auto it = std::find_if(findings.begin(), findings.end(), [&](const Finding& f) { return f.check == check; });
  return it == findings.end() ? nullptr : &*it;
}

bool has_fix(const Finding& finding, const std::string& text) {
  return std::any_of(finding.fixes.begin(), finding.fixes.end(),
                     [&](const std::string& fix) { return fix.find(text) != std::string::npos; });
}

std::vector<std::string> with_severity(const std::vector<Finding>& findings, Severity severity) {
  std::vector<std::string> out;
  for (const auto& f : findings) {
    if (f.severity == severity) out.push_back(f.check);
  }
  return out;
}
std::vector<std::string> problems(const std::vector<Finding>& findings) {
  return with_severity(findings, Severity::kProblem);
}
std::vector<std::string> gaps(const std::vector<Finding>& findings) { return with_severity(findings, Severity::kGap); }

TEST(DoctorTest, HybridHostCannotEnforceTheDefaultPolicysLimits) {
  const auto findings = run_doctor(hybrid_root_host(), plan::testing::default_like_policy());
  EXPECT_FALSE(fully_enforced(findings));
  // It runs (resources are best-effort), with these protections missing or weaker: exit 2.
  EXPECT_EQ(verdict(findings), Verdict::kRunsWithGaps);
  EXPECT_EQ(exit_code(verdict(findings)), 2);
  EXPECT_TRUE(problems(findings).empty());
  EXPECT_EQ(gaps(findings),
            (std::vector<std::string>{"policy.memory_limit", "policy.swap_limit", "policy.pids_limit"}));
  for (const char* check : {"policy.memory_limit", "policy.pids_limit"}) {
    const Finding* f = find(findings, check);
    ASSERT_NE(f, nullptr) << check;
    EXPECT_TRUE(has_fix(*f, "boot with cgroup_no_v1=all")) << check;
    EXPECT_FALSE(has_fix(*f, "systemd-run")) << "root needs no delegation: " << check;
  }
  // The job is still tracked by a cgroup, CLONE_INTO_CGROUP worked: no problem there.
  EXPECT_EQ(find(findings, "policy.cgroup_tracking"), nullptr);
  const Finding* controllers = find(findings, "cgroup_controllers");
  ASSERT_NE(controllers, nullptr);
  EXPECT_EQ(controllers->severity, Severity::kWarning);
  EXPECT_NE(controllers->summary.find("missing for limits: memory, pids, cpu"), std::string::npos);
}

TEST(DoctorTest, RequiredResourcesOnAHybridHostAreAPlanErrorWithBothWaysOut) {
  auto policy = plan::testing::default_like_policy();
  policy.enforcement.resources.value = policy::Enforcement::kRequired;
  const auto findings = run_doctor(hybrid_root_host(), policy);
  EXPECT_EQ(problems(findings), std::vector<std::string>{"policy"});
  EXPECT_EQ(verdict(findings), Verdict::kCannotRun);
  EXPECT_EQ(exit_code(verdict(findings)), 1);
  const Finding* f = find(findings, "policy");
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->summary.find("cannot run here"), std::string::npos) << f->summary;
  EXPECT_NE(f->summary.find("limits.memory"), std::string::npos) << f->summary;
  EXPECT_TRUE(has_fix(*f, "boot with cgroup_no_v1=all"));
  EXPECT_TRUE(has_fix(*f, "resources = \"best-effort\" in the policy or pass --best-effort"));
}

TEST(DoctorTest, FullCgroup2HostRunsTheDefaultPolicyFullyEnforced) {
  auto policy = plan::testing::default_like_policy();
  policy.limits.cpus.value = 1.5;  // needs cpu too
  const auto findings = run_doctor(full_cgroup2_root_host(), policy);
  EXPECT_TRUE(fully_enforced(findings)) << (problems(findings).empty() ? "" : problems(findings).front());
  EXPECT_EQ(exit_code(verdict(findings)), 0);
  const Finding* f = find(findings, "policy");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kOk);
  EXPECT_NE(f->summary.find("can run fully enforced"), std::string::npos);
  for (const auto& finding : findings) {
    EXPECT_NE(finding.severity, Severity::kWarning) << finding.check << ": " << finding.summary;
  }
}

TEST(DoctorTest, UserNamespacesDisabledBySysctlPrintTheSysctlFix) {
  HostProbes h = full_cgroup2_root_host();
  h.euid = 1000;
  h.unprivileged_userns_clone = 0;
  h.user_namespace = {ProbeOutcome::kFailed, EPERM, "unshare(CLONE_NEWUSER)"};
  h.own_cgroup = "/user.slice/user-1000.slice/user@1000.service/app.slice/run-1.scope";
  h.own_cgroup_owned = true;
  h.subtree_control_writable = true;
  h.cgroup_parent = h.cgroup2_mount + h.own_cgroup;
  const auto findings = run_doctor(h, plan::testing::default_like_policy());
  EXPECT_FALSE(fully_enforced(findings));
  EXPECT_EQ(problems(findings), std::vector<std::string>{"user_namespaces"});
  const Finding* f = find(findings, "user_namespaces");
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(has_fix(*f, "sysctl -w kernel.unprivileged_userns_clone=1"));
  EXPECT_FALSE(has_fix(*f, "max_user_namespaces"));
  // The rest of the policy was still judged, as if the namespaces were fixed.
  const Finding* policy_finding = find(findings, "policy");
  ASSERT_NE(policy_finding, nullptr);
  EXPECT_NE(policy_finding->summary.find("assuming user namespaces are fixed"), std::string::npos);
}

TEST(DoctorTest, EachUserNamespaceSwitchHasItsOwnFix) {
  HostProbes h = hybrid_root_host();
  h.euid = 1000;
  h.max_user_namespaces = 0;
  h.apparmor_restrict_unprivileged_userns = 1;
  h.user_namespace = {ProbeOutcome::kFailed, ENOSPC, "unshare(CLONE_NEWUSER)"};
  const auto findings = diagnose(h, PolicyCheck{});
  const Finding* f = find(findings, "user_namespaces");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kProblem);
  EXPECT_TRUE(has_fix(*f, "sysctl -w user.max_user_namespaces=15000"));
  EXPECT_TRUE(has_fix(*f, "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"));

  // Sysctls all fine, yet the probe fails: the fix points elsewhere (a container, an LSM).
  HostProbes blocked = hybrid_root_host();
  blocked.user_namespace = {ProbeOutcome::kFailed, EPERM, "unshare(CLONE_NEWUSER)"};
  const auto other = diagnose(blocked, PolicyCheck{});
  const Finding* g = find(other, "user_namespaces");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->severity, Severity::kProblem);
  EXPECT_FALSE(has_fix(*g, "sysctl -w"));
  EXPECT_TRUE(has_fix(*g, "container"));
}

// The hybrid host seen by an unprivileged user outside any delegated cgroup.
HostProbes hybrid_user_host_without_cgroup() {
  HostProbes h = hybrid_root_host();
  h.euid = 65534;
  h.own_cgroup = "/";
  h.cgroup_parent.clear();
  h.cgroup_parent_source.clear();
  h.leaf_controllers.clear();
  h.leaf_create = {ProbeOutcome::kFailed, EACCES, "mkdir /sys/fs/cgroup/unified/confine-doctor-1-0"};
  h.clone_into_cgroup = {ProbeOutcome::kNotTested, 0, "no writable cgroup"};
  return h;
}

TEST(DoctorTest, UnprivilegedUserOutsideADelegatedSubtreeIsToldToUseSystemdRun) {
  const HostProbes h = hybrid_user_host_without_cgroup();
  const auto findings = run_doctor(h, plan::testing::default_like_policy());
  EXPECT_FALSE(fully_enforced(findings));
  const Finding* tracking = find(findings, "policy.cgroup_tracking");
  ASSERT_NE(tracking, nullptr);
  EXPECT_TRUE(has_fix(*tracking, "systemd-run --user --scope -p Delegate=yes confine run"));
  // memory is bound to v1 here, so delegation alone would not be enough.
  const Finding* memory = find(findings, "policy.memory_limit");
  ASSERT_NE(memory, nullptr);
  EXPECT_TRUE(has_fix(*memory, "boot with cgroup_no_v1=all"));
  EXPECT_TRUE(has_fix(*memory, "systemd-run"));
  const Finding* into = find(findings, "clone_into_cgroup");
  ASSERT_NE(into, nullptr);
  EXPECT_EQ(into->severity, Severity::kWarning);
  EXPECT_EQ(into->summary, "not tested: no writable cgroup");
}

// PID 1 is not systemd (this build machine's case): no fix may send the user to systemd-run or
// systemctl; the manual equivalents are given instead.
TEST(DoctorTest, WithoutSystemdTheFixesDoNotNeedIt) {
  HostProbes h = hybrid_user_host_without_cgroup();
  h.no_systemd = true;
  const auto findings = run_doctor(h, plan::testing::default_like_policy());
  EXPECT_EQ(verdict(findings), Verdict::kRunsWithGaps);
  for (const auto& f : findings) {
    for (const auto& fix : f.fixes) {
      EXPECT_EQ(fix.find("systemd-run"), std::string::npos) << f.check << ": " << fix;
      EXPECT_EQ(fix.find("systemctl"), std::string::npos) << f.check << ": " << fix;
    }
  }
  const Finding* tracking = find(findings, "policy.cgroup_tracking");
  ASSERT_NE(tracking, nullptr);
  EXPECT_TRUE(has_fix(*tracking, "run confine as root instead"));
  EXPECT_TRUE(has_fix(*tracking, "mkdir /sys/fs/cgroup/unified/confine-user-65534 && chown 65534 "));
  const Finding* memory = find(findings, "policy.memory_limit");
  ASSERT_NE(memory, nullptr);
  EXPECT_TRUE(has_fix(*memory, "boot with cgroup_no_v1=all so that cgroup v2 gets the memory, pids and cpu controllers"));

  // A delegated cgroup without the cpu controller: enable it by hand, not in user@.service.
  HostProbes d = full_cgroup2_root_host();
  d.no_systemd = true;
  d.euid = 1000;
  d.own_cgroup = "/confine-user-1000";
  d.own_cgroup_owned = true;
  d.subtree_control_writable = true;
  d.cgroup_parent = d.cgroup2_mount + "/confine-user-1000";
  d.leaf_controllers = {"memory", "pids"};
  auto policy = plan::testing::default_like_policy();
  policy.limits.cpus.value = 1.0;
  const auto delegated = run_doctor(d, policy);
  const Finding* cpu = find(delegated, "policy.cpu_limit");
  ASSERT_NE(cpu, nullptr);
  EXPECT_TRUE(has_fix(*cpu, "echo +cpu > /sys/fs/cgroup/cgroup.subtree_control")) << cpu->fixes.front();
}

TEST(DoctorTest, AFailedLeafTestMeansNoCgroupEvenIfTheParentLooksUsable) {
  HostProbes h = full_cgroup2_root_host();
  h.cgroup_parent_source = "CONFINE_CGROUP_PARENT";
  h.leaf_create = {ProbeOutcome::kFailed, EROFS, "mkdir /sys/fs/cgroup/confine-doctor-1-0"};
  h.clone_into_cgroup = {ProbeOutcome::kNotTested, 0, "no writable cgroup"};
  const auto findings = run_doctor(h, plan::testing::default_like_policy());
  const Finding* tracking = find(findings, "policy.cgroup_tracking");
  ASSERT_NE(tracking, nullptr);
  EXPECT_EQ(tracking->severity, Severity::kGap);
  EXPECT_TRUE(has_fix(*tracking, "point CONFINE_CGROUP_PARENT at a directory"));
}

TEST(DoctorTest, Clone3AndSeccompShortfalls) {
  HostProbes h = full_cgroup2_root_host();
  h.clone3 = {ProbeOutcome::kFailed, ENOSYS, "clone3(CLONE_PIDFD)"};
  h.pidfd = {ProbeOutcome::kNotTested, 0, "clone3 failed"};
  h.seccomp_user_notif = false;
  const auto findings = run_doctor(h, plan::testing::default_like_policy());
  EXPECT_EQ(problems(findings), (std::vector<std::string>{"clone3", "pidfd"}));
  EXPECT_TRUE(has_fix(*find(findings, "clone3"), "Linux 5.3"));
  const Finding* seccomp = find(findings, "seccomp");
  ASSERT_NE(seccomp, nullptr);
  EXPECT_EQ(seccomp->severity, Severity::kWarning);
  EXPECT_TRUE(has_fix(*seccomp, "Linux 5.0"));

  // No seccomp at all with seccomp required: the plan refuses, with both ways out.
  HostProbes none = full_cgroup2_root_host();
  none.seccomp_filter = false;
  none.seccomp_user_notif = false;
  const auto refused = run_doctor(none, plan::testing::default_like_policy());
  const Finding* policy_finding = find(refused, "policy");
  ASSERT_NE(policy_finding, nullptr);
  EXPECT_EQ(policy_finding->severity, Severity::kProblem);
  EXPECT_TRUE(has_fix(*policy_finding, "CONFIG_SECCOMP_FILTER"));
  EXPECT_TRUE(has_fix(*policy_finding, "seccomp = \"best-effort\""));
}

TEST(DoctorTest, ThePolicyDecidesWhetherMissingControllersMatter) {
  auto policy = plan::testing::default_like_policy();
  policy.limits.memory_bytes.value.reset();
  policy.limits.swap_bytes = {};  // back to the built-in default
  policy.limits.pids.value.reset();
  const auto findings = run_doctor(hybrid_root_host(), policy);
  EXPECT_TRUE(fully_enforced(findings));
  EXPECT_EQ(find(findings, "cgroup_controllers")->severity, Severity::kWarning);
}

TEST(DoctorTest, APolicyThatDoesNotLoadIsAProblem) {
  PolicyCheck check;
  check.path = "bad.toml";
  check.load_errors = {"bad.toml:3:1: limits.memroy: unknown key"};
  const auto findings = diagnose(full_cgroup2_root_host(), check);
  EXPECT_EQ(problems(findings), std::vector<std::string>{"policy"});
  EXPECT_TRUE(has_fix(*find(findings, "policy"), "confine check bad.toml"));
}

TEST(DoctorTest, TheShippedDefaultPolicyLoadsAndPlans) {
  auto loaded = policy::load(std::string(CONFINE_SOURCE_DIR) + "/policies/default.toml");
  ASSERT_TRUE(loaded.ok());
  const PolicyCheck check = check_policy("default.toml", *loaded.policy, facts_for(full_cgroup2_root_host()));
  ASSERT_FALSE(check.plan_error.has_value()) << check.plan_error->render();
  EXPECT_FALSE(check.protections.empty());
  EXPECT_EQ(check.needed_controllers, (std::vector<std::string>{"memory", "pids"}));
  EXPECT_TRUE(fully_enforced(diagnose(full_cgroup2_root_host(), check)));
}

TEST(DoctorTest, V1ControllersFromMountinfo) {
  const std::string mountinfo =
      "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
      "31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct\n"
      "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
      "38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
      "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
      "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n";
  EXPECT_EQ(v1_controllers_from_mountinfo(mountinfo),
            (std::vector<std::string>{"cpu", "cpuacct", "memory", "pids"}));
  EXPECT_TRUE(v1_controllers_from_mountinfo("40 30 0:37 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n").empty());
}

std::vector<std::string> doctor_leaves(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (const dirent* e = ::readdir(d)) {
    if (std::string(e->d_name).rfind("confine-doctor-" + std::to_string(::getpid()) + "-", 0) == 0) {
      out.emplace_back(e->d_name);
    }
  }
  ::closedir(d);
  return out;
}

// Ubuntu 23.10+ (kernel.apparmor_restrict_unprivileged_userns = 1): an unconfined program may
// unshare a user namespace but gets no capabilities in it, so the probe's unshare "works" and is
// not the answer; the label and the installed profile are.
HostProbes ubuntu_user_host() {
  HostProbes h = full_cgroup2_root_host();
  h.euid = 1000;
  h.apparmor_restrict_unprivileged_userns = 1;
  h.apparmor_label = "unconfined";
  h.self_exe = "/usr/local/bin/confine";
  h.own_cgroup = "/user.slice/user-1000.slice/user@1000.service/app.slice/run-r1.scope";
  h.cgroup_parent = "/sys/fs/cgroup" + h.own_cgroup;
  h.cgroup_parent_source = "own cgroup, delegated to uid 1000";
  return h;
}

// The fix's command, run by sh into `path` instead of /etc/apparmor.d: what it would write.
std::string written_by(const std::string& fix, const std::string& path) {
  const size_t start = fix.find("printf '");
  const size_t redirect = fix.find("' > ", start);
  if (start == std::string::npos || redirect == std::string::npos) return "<no printf in the fix>";
  const std::string command = fix.substr(start, redirect + 1 - start) + " > " + path;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(DoctorTest, UbuntuRestrictionWithoutAProfileGivesTheProfileToWrite) {
  const HostProbes h = ubuntu_user_host();
  ASSERT_EQ(h.user_namespace.outcome, ProbeOutcome::kOk);
  const auto findings = run_doctor(h, plan::testing::default_like_policy());
  const Finding* f = find(findings, "user_namespaces");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kProblem);
  EXPECT_NE(f->summary.find("label \"unconfined\""), std::string::npos) << f->summary;
  ASSERT_FALSE(f->fixes.empty());
  const std::string& fix = f->fixes.front();
  EXPECT_NE(fix.find(" && apparmor_parser -r /etc/apparmor.d/confine"), std::string::npos) << fix;
  EXPECT_TRUE(has_fix(*f, "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"));
  // What the printf writes is the shipped profile for this binary, without its comments.
  char dir[] = "/tmp/confine-doctor-aa-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string written = written_by(fix, std::string(dir) + "/confine");
  std::filesystem::remove_all(dir);
  EXPECT_EQ(written,
            "abi <abi/4.0>,\ninclude <tunables/global>\n\nprofile confine /usr/local/bin/confine flags=(unconfined) {\n"
            "  userns,\n\n  include if exists <local/confine>\n}\n");
  EXPECT_EQ(apparmor_attachment(written), "/usr/local/bin/confine");
}

TEST(DoctorTest, UbuntuRestrictionWithTheProfileInstalledForAnotherBinary) {
  HostProbes h = ubuntu_user_host();
  h.self_exe = "/home/alice/confine/build/src/confine";
  h.apparmor_profile = apparmor_profile("/usr/local/bin/confine");
  const auto findings = run_doctor(h, plan::testing::default_like_policy());
  const Finding* f = find(findings, "user_namespaces");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kProblem);
  EXPECT_TRUE(has_fix(*f, "/etc/apparmor.d/confine is for /usr/local/bin/confine, not for "
                          "/home/alice/confine/build/src/confine: run /usr/local/bin/confine"));
  EXPECT_TRUE(has_fix(*f, "profile confine /home/alice/confine/build/src/confine flags=(unconfined)"));
}

TEST(DoctorTest, UbuntuRestrictionWithTheProfileInstalledButNotLoaded) {
  HostProbes h = ubuntu_user_host();
  h.apparmor_profile = apparmor_profile(h.self_exe);
  const auto findings = run_doctor(h, plan::testing::default_like_policy());
  const Finding* f = find(findings, "user_namespaces");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kProblem);
  EXPECT_EQ(f->fixes.front(),
            "load the profile confine installed, which allows it user namespaces (as root): "
            "apparmor_parser -r /etc/apparmor.d/confine");
}

TEST(DoctorTest, UbuntuRestrictionDoesNotHoldUnderTheProfileOrForRoot) {
  HostProbes h = ubuntu_user_host();
  h.apparmor_label = "confine (unconfined)";
  EXPECT_FALSE(apparmor_blocks_userns(h));
  const auto findings = run_doctor(h, plan::testing::default_like_policy());
  const Finding* f = find(findings, "user_namespaces");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kOk) << f->summary;
  HostProbes root = ubuntu_user_host();
  root.euid = 0;
  EXPECT_FALSE(apparmor_blocks_userns(root));
  HostProbes lifted = ubuntu_user_host();
  lifted.apparmor_restrict_unprivileged_userns = 0;
  EXPECT_FALSE(apparmor_blocks_userns(lifted));
}

TEST(DoctorTest, TheProfileIsTheShippedTemplateWithTheBinarysPath) {
  std::ifstream in(std::string(CONFINE_SOURCE_DIR) + "/packaging/apparmor/confine.in");
  std::string shipped(std::istreambuf_iterator<char>(in), {});
  ASSERT_NE(shipped.find("@CONFINE_INSTALLED_BINARY@"), std::string::npos);
  shipped.replace(shipped.find("@CONFINE_INSTALLED_BINARY@"), 26, "/opt/bin/confine");
  EXPECT_EQ(apparmor_profile("/opt/bin/confine"), shipped);
  EXPECT_EQ(apparmor_attachment(shipped), "/opt/bin/confine");
  EXPECT_EQ(std::string(apparmor_profile_path()), "/etc/apparmor.d/confine");
}

TEST(DoctorTest, WithoutLandlockTheDefaultPolicyRunsWithAGapAndTheFix) {
  HostProbes h = full_cgroup2_root_host();
  h.landlock_abi = 0;
  const auto findings = run_doctor(h, plan::testing::default_like_policy());
  const Finding* host = find(findings, "landlock");
  ASSERT_NE(host, nullptr);
  EXPECT_EQ(host->severity, Severity::kWarning);
  EXPECT_TRUE(has_fix(*host, "lsm="));
  EXPECT_EQ(gaps(findings), std::vector<std::string>{"policy.landlock"});
  EXPECT_EQ(verdict(findings), Verdict::kRunsWithGaps);
  EXPECT_TRUE(has_fix(*find(findings, "policy.landlock"), "CONFIG_SECURITY_LANDLOCK=y"));
  // Required, the policy cannot run at all; both ways out are named.
  auto required = plan::testing::default_like_policy();
  required.enforcement.landlock.value = policy::Enforcement::kRequired;
  const auto refused = run_doctor(h, required);
  const Finding* f = find(refused, "policy");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kProblem);
  EXPECT_NE(f->summary.find("Landlock is not available"), std::string::npos) << f->summary;
  EXPECT_TRUE(has_fix(*f, "lsm="));
  EXPECT_TRUE(has_fix(*f, "landlock = \"best-effort\""));
}

TEST(DoctorTest, LandlockAbiSaysWhatItCovers) {
  HostProbes h = full_cgroup2_root_host();
  const auto now = run_doctor(h, plan::testing::default_like_policy());
  const Finding* modern = find(now, "landlock");
  ASSERT_NE(modern, nullptr);
  EXPECT_EQ(modern->severity, Severity::kOk);
  EXPECT_NE(modern->summary.find("ABI 7"), std::string::npos);
  h.landlock_abi = 3;
  const auto before = run_doctor(h, plan::testing::default_like_policy());
  const Finding* older = find(before, "landlock");
  ASSERT_NE(older, nullptr);
  EXPECT_NE(older->summary.find("TCP rules need ABI 4"), std::string::npos) << older->summary;
  EXPECT_NE(older->summary.find("scoping needs ABI 6"), std::string::npos) << older->summary;
}

// The real probes on this machine: they answer every question and leave no test leaf behind.
TEST(DoctorTest, RealProbesAnswerAndCleanUp) {
  plan::HostFacts facts;
  facts.euid = ::geteuid();
  facts.kernel_release = "test";
  const HostProbes probes = probe_host(facts);  // no cgroup2 mount given: nothing is created
  EXPECT_NE(probes.user_namespace.outcome, ProbeOutcome::kNotTested);
  EXPECT_NE(probes.clone3.outcome, ProbeOutcome::kNotTested);
  EXPECT_EQ(probes.leaf_create.outcome, ProbeOutcome::kNotTested);
  EXPECT_EQ(probes.clone_into_cgroup.detail, "no writable cgroup");

  // With this host's cgroup2 mount the leaf test runs for real (as root it succeeds).
  const auto real = host::probe();
  if (real.cgroup2_mount.empty()) GTEST_SKIP() << "no cgroup2 mount on this host";
  const HostProbes full = probe_host(real);
  EXPECT_NE(full.leaf_create.outcome, ProbeOutcome::kNotTested);
  ASSERT_FALSE(full.leaf_test_dir.empty());
  EXPECT_TRUE(doctor_leaves(full.leaf_test_dir).empty());
  if (full.leaf_create.outcome == ProbeOutcome::kOk) {
    EXPECT_EQ(full.clone_into_cgroup.outcome, ProbeOutcome::kOk) << full.clone_into_cgroup.detail;
  }
}

}  // namespace
}  // namespace confine::doctor
