// Isolation modes against fake hosts (plan/isolation.cpp, plan/direct.cpp): which mode a policy
// gets, what "auto" does on a host without user namespaces and how loudly, and what Landlock mode
// compiles: the job's ids, the rules on host paths (denied paths left out by expanding their
// trees), the seccomp additions, the resources without RLIMIT_NPROC, and a report that names
// every protection the mode does not give.
#include <gtest/gtest.h>
#include <linux/seccomp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "confine/landlock.h"
#include "confine/plan.h"
#include "confine/seccomp.h"
#include "plan_fake_host.h"

namespace confine::plan {
namespace {

using namespace testing;

constexpr uint64_t bit(int n) { return uint64_t{1} << n; }
// LANDLOCK_ACCESS_FS_* by the kernel's bit numbers.
constexpr uint64_t kExec = bit(0), kWrite = bit(1), kRead = bit(2), kReadDir = bit(3), kTrunc = bit(14),
                   kIoctl = bit(15);
constexpr uint64_t kRo = kRead | kReadDir | kExec;

std::shared_ptr<FakeTree> tree_with_devices() {
  auto tree = debian_tree();
  tree->chardev("/dev/zero").chardev("/dev/full").chardev("/dev/random").chardev("/dev/urandom");
  tree->file("/proc/kcore").file("/proc/keys").dir("/proc/1");
  return tree;
}

HostFacts host_for(Caller caller, std::shared_ptr<FakeTree> tree = tree_with_devices()) {
  return fake_host(std::move(tree), caller);
}

policy::Policy landlock_policy(policy::IsolationMode mode = policy::IsolationMode::kLandlock) {
  auto policy = default_like_policy();
  policy.isolation.mode = from_file(mode, 70);
  return policy;
}

Plan expect_plan(const policy::Policy& policy, const HostFacts& host) {
  auto plan = make_plan(policy, request({"echo", "hi"}), host);
  EXPECT_TRUE(plan) << (plan ? "" : plan.error().render());
  return plan ? *plan : Plan{};
}

std::string expect_error(const policy::Policy& policy, const HostFacts& host) {
  auto plan = make_plan(policy, request({"echo", "hi"}), host);
  EXPECT_FALSE(plan) << "planned, but should have failed";
  return plan ? std::string() : plan.error().render();
}

const report::Protection& protection(const Plan& plan, const std::string& name) {
  for (const auto& p : plan.protections) {
    if (p.name == name) return p;
  }
  static const report::Protection kNone{"<none>", "", "", ""};
  ADD_FAILURE() << "no protection " << name;
  return kNone;
}

const DirectRule* rule_for(const Plan& plan, const std::string& path) {
  for (const auto& r : plan.direct_rules) {
    if (r.path == path) return &r;
  }
  return nullptr;
}

bool has_warning(const Plan& plan, const std::string& text) {
  return std::any_of(plan.warnings.begin(), plan.warnings.end(),
                     [&](const std::string& w) { return w.find(text) != std::string::npos; });
}

#define EXPECT_HAS(haystack, needle) EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

// --- Which mode -------------------------------------------------------------------------------

TEST(Isolation, TheDefaultIsNamespacesAndFailsClosedWithoutThem) {
  auto host = host_for(Caller::kUser);
  const Plan plan = expect_plan(default_like_policy(), host);
  EXPECT_EQ(plan.isolation, Isolation::kNamespaces);
  EXPECT_EQ(protection(plan, "isolation").mechanism, "namespaces");
  EXPECT_EQ(protection(plan, "isolation").detail,
            "isolation.mode = namespaces (the default): user, mount, pid, ipc, uts, cgroup and network namespaces");
  host.user_namespaces = false;
  const std::string error = expect_error(default_like_policy(), host);
  EXPECT_HAS(error, "this host does not let this user create user namespaces");
  EXPECT_HAS(error, "--isolation auto (or landlock)");
}

TEST(Isolation, NamespacesNeverTryTheHostTheWayAutoDoes) {
  auto host = host_for(Caller::kUser);
  host.try_user_namespace = [] {
    ADD_FAILURE() << "the namespace mode must not spend a clone on trying";
    return std::string();
  };
  EXPECT_EQ(expect_plan(default_like_policy(), host).isolation, Isolation::kNamespaces);
}

TEST(Isolation, AutoKeepsNamespacesWhereCreatingOneWorks) {
  auto host = host_for(Caller::kUser);
  int tries = 0;
  host.try_user_namespace = [&tries] {
    ++tries;
    return std::string();
  };
  const Plan plan = expect_plan(landlock_policy(policy::IsolationMode::kAuto), host);
  EXPECT_EQ(tries, 1);
  EXPECT_EQ(plan.isolation, Isolation::kNamespaces);
  EXPECT_NE(plan.clone_flags, 0U);
  EXPECT_HAS(protection(plan, "isolation").detail, "isolation.mode = auto (test.toml:70:1): user namespaces work here");
  EXPECT_FALSE(has_warning(plan, "fell back"));
}

TEST(Isolation, AutoFallsBackWhenTheProfileRefusesTheCloneAndWarnsFirst) {
  auto host = host_for(Caller::kUser);
  host.try_user_namespace = [] { return std::string("clone3(CLONE_NEWUSER): Function not implemented"); };
  const Plan plan = expect_plan(landlock_policy(policy::IsolationMode::kAuto), host);
  EXPECT_EQ(plan.isolation, Isolation::kLandlock);
  EXPECT_EQ(plan.clone_flags, 0U);
  ASSERT_FALSE(plan.warnings.empty());
  // Never silently: the first warning says it fell back, why, and everything the mode lacks.
  const std::string& warning = plan.warnings.front();
  EXPECT_HAS(warning, "isolation.mode = auto (test.toml:70:1): fell back to Landlock mode, creating a user namespace "
                      "failed (clone3(CLONE_NEWUSER): Function not implemented)");
  for (const char* gap : {"no user namespace", "no mount namespace", "no private /tmp", "no fresh /proc",
                          "no pid namespace", "no network namespace", "no unix sockets", "no IPC namespace",
                          "no UTS namespace", "no cgroup namespace", "no per-job ucounts"}) {
    EXPECT_HAS(warning, gap);
  }
  const auto& isolation = protection(plan, "isolation");
  EXPECT_EQ(isolation.mechanism, "landlock mode (no namespaces)");
  EXPECT_HAS(isolation.detail, "fell back to Landlock mode");
  EXPECT_HAS(isolation.detail, "; not given: no user namespace");
}

TEST(Isolation, AutoDoesNotTryWhatTheSysctlsAlreadyForbid) {
  auto host = host_for(Caller::kUser);
  host.user_namespaces = false;
  host.try_user_namespace = [] {
    ADD_FAILURE() << "tried although the sysctls forbid it";
    return std::string();
  };
  const Plan plan = expect_plan(landlock_policy(policy::IsolationMode::kAuto), host);
  EXPECT_EQ(plan.isolation, Isolation::kLandlock);
  EXPECT_HAS(plan.warnings.front(), "this host does not let this user create user namespaces");
}

TEST(Isolation, LandlockModeNeedsLandlockWhateverEnforcementSays) {
  auto host = host_for(Caller::kUser);
  host.landlock_abi = 0;
  auto policy = landlock_policy();
  policy.enforcement.landlock = from_file(policy::Enforcement::kBestEffort, 80);
  const std::string error = expect_error(policy, host);
  EXPECT_HAS(error, "Landlock mode needs Landlock, which this host does not have");
  EXPECT_HAS(error, "lsm=");
  // auto on a host with neither: refused too, never a run without any wall.
  host.user_namespaces = false;
  EXPECT_HAS(expect_error(landlock_policy(policy::IsolationMode::kAuto), host), "Landlock mode needs Landlock");
}

TEST(Isolation, LandlockModeNeedsSeccomp) {
  auto host = host_for(Caller::kUser);
  host.seccomp = false;
  auto policy = landlock_policy();
  policy.enforcement.seccomp = from_file(policy::Enforcement::kBestEffort, 80);
  EXPECT_HAS(expect_error(policy, host), "Landlock mode needs seccomp filters");
}

// --- Identity ---------------------------------------------------------------------------------

TEST(Isolation, RunByRootTheJobBecomesHostUidAndNeverRoot) {
  Plan plan = expect_plan(landlock_policy(), host_for(Caller::kRoot));
  EXPECT_EQ(plan.uid, 65534U);
  EXPECT_EQ(plan.gid, 65534U);
  EXPECT_TRUE(plan.direct_switch_ids);
  EXPECT_HAS(protection(plan, "capabilities").detail, "empty bounding set");
  auto policy = landlock_policy();
  policy.process.host_uid = from_file<uint32_t>(0, 15);
  EXPECT_HAS(expect_error(policy, host_for(Caller::kRoot)),
             "test.toml:15:1: process.host_uid: 0 would run the job as host root");
  policy = landlock_policy();
  policy.process.host_gid = from_file<uint32_t>(0, 16);
  EXPECT_HAS(expect_error(policy, host_for(Caller::kRoot)), "process.host_gid: 0 would run the job as host root");
}

TEST(Isolation, RootlessTheJobIsTheCaller) {
  auto policy = landlock_policy();
  policy.process.host_uid = from_file<uint32_t>(4242, 15);
  const Plan plan = expect_plan(policy, host_for(Caller::kUser));
  EXPECT_EQ(plan.uid, 1000U);
  EXPECT_EQ(plan.gid, 1000U);
  EXPECT_FALSE(plan.direct_switch_ids);
  EXPECT_TRUE(has_warning(plan, "process.host_uid is ignored when not run as root"));
  EXPECT_HAS(protection(plan, "capabilities").detail, "the bounding set stays as the caller's");
  EXPECT_HAS(protection(plan, "user_namespace").detail, "the caller's, with its groups");
}

TEST(Isolation, KeptCapabilitiesWouldBeTheHostsAndAreRefused) {
  auto policy = landlock_policy();
  policy.capabilities.keep = {from_file<std::string>("CAP_NET_BIND_SERVICE", 90)};
  EXPECT_HAS(expect_error(policy, host_for(Caller::kRoot)),
             "test.toml:90:1: capabilities.keep: CAP_NET_BIND_SERVICE cannot be kept in Landlock mode");
}

// --- Rules on host paths ----------------------------------------------------------------------

TEST(Isolation, RulesGoOnTheHostsOwnPaths) {
  const Plan plan = expect_plan(landlock_policy(), host_for(Caller::kRoot));
  ASSERT_TRUE(plan.landlock.has_value());
  EXPECT_EQ(plan.landlock->abi, 7);
  const DirectRule* usr = rule_for(plan, "/usr");
  ASSERT_NE(usr, nullptr);
  EXPECT_EQ(usr->access, kRo);
  EXPECT_FALSE(usr->optional);
  // A file gets only file rights.
  ASSERT_NE(rule_for(plan, "/etc/ld.so.cache"), nullptr);
  EXPECT_EQ(rule_for(plan, "/etc/ld.so.cache")->access, kRead | kExec);
  // The five devices, not /dev; the host's /proc to read.
  for (const char* node : {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"}) {
    ASSERT_NE(rule_for(plan, node), nullptr) << node;
    EXPECT_EQ(rule_for(plan, node)->access, kRead | kWrite | kIoctl) << node;
  }
  EXPECT_EQ(rule_for(plan, "/dev"), nullptr);
  ASSERT_NE(rule_for(plan, "/proc"), nullptr);
  EXPECT_EQ(rule_for(plan, "/proc")->access, kRead | kReadDir);
  // Symlinks resolve on the host through their targets' rules; a tmpfs path gets nothing.
  EXPECT_EQ(rule_for(plan, "/bin"), nullptr);
  EXPECT_EQ(rule_for(plan, "/tmp"), nullptr);
  EXPECT_EQ(protection(plan, "private_tmp").status, "not_in_mode");
  EXPECT_EQ(protection(plan, "landlock").status, "enforced");
  EXPECT_HAS(protection(plan, "landlock").detail, "nothing else opens");
}

TEST(Isolation, ADeniedDirectoryIsLeftOutByGivingItsSiblingsTheRule) {
  auto policy = landlock_policy();
  policy.filesystem.deny = {rule("/usr/share/secrets", 29)};
  const Plan plan = expect_plan(policy, host_for(Caller::kRoot));
  EXPECT_EQ(rule_for(plan, "/usr"), nullptr) << "the whole of /usr would include the denied path";
  EXPECT_EQ(rule_for(plan, "/usr/share"), nullptr);
  EXPECT_EQ(rule_for(plan, "/usr/share/secrets"), nullptr);
  for (const char* sibling : {"/usr/bin", "/usr/lib", "/usr/local", "/usr/sbin", "/usr/share/doc",
                              "/usr/share/zoneinfo"}) {
    const DirectRule* r = rule_for(plan, sibling);
    ASSERT_NE(r, nullptr) << sibling;
    EXPECT_EQ(r->access, kRo) << sibling;
    EXPECT_TRUE(r->optional) << sibling << ": listed while planning, may be gone at launch";
  }
  EXPECT_EQ(protection(plan, "masks").status, "enforced");
  EXPECT_HAS(protection(plan, "masks").detail, "1 masked path");
}

TEST(Isolation, ADeniedFileLeavesItsDirectorysOtherFilesWithFileRights) {
  auto policy = landlock_policy();
  policy.filesystem.deny = {rule("/usr/bin/README", 29)};
  const Plan plan = expect_plan(policy, host_for(Caller::kRoot));
  EXPECT_EQ(rule_for(plan, "/usr/bin"), nullptr);
  EXPECT_EQ(rule_for(plan, "/usr/bin/README"), nullptr);
  ASSERT_NE(rule_for(plan, "/usr/bin/python3"), nullptr);
  EXPECT_EQ(rule_for(plan, "/usr/bin/python3")->access, kRead | kExec);
}

TEST(Isolation, AReadOnlyPathInsideAReadWriteOneStaysReadOnly) {
  auto policy = landlock_policy();
  policy.filesystem.rw = {rule("/jobs/42", 30)};
  policy.filesystem.ro.push_back(rule("/jobs/42/out", 31));
  const Plan plan = expect_plan(policy, host_for(Caller::kRoot));
  // Landlock adds rights up the tree: /jobs/42's write rights must not cover /jobs/42/out.
  EXPECT_EQ(rule_for(plan, "/jobs/42"), nullptr);
  ASSERT_NE(rule_for(plan, "/jobs/42/out"), nullptr);
  EXPECT_EQ(rule_for(plan, "/jobs/42/out")->access, kRo);
  ASSERT_NE(rule_for(plan, "/jobs/42/run.sh"), nullptr);
  EXPECT_NE(rule_for(plan, "/jobs/42/run.sh")->access & kWrite, 0U);
  EXPECT_NE(rule_for(plan, "/jobs/42/run.sh")->access & kTrunc, 0U);
}

TEST(Isolation, WhatTheHostsProcCannotHaveIsSaid) {
  auto policy = landlock_policy();
  Plan plan = expect_plan(policy, host_for(Caller::kRoot));
  // Its pid directories come and go: the built-in masks cannot be applied, and the report says so.
  EXPECT_EQ(protection(plan, "masks").status, "not_in_mode");
  EXPECT_HAS(protection(plan, "masks").detail, "/proc/kcore");
  EXPECT_EQ(protection(plan, "fresh_proc").status, "not_in_mode");
  // A policy's own deny there is refused rather than dropped.
  policy.filesystem.deny = {rule("/proc/1", 29)};
  EXPECT_HAS(expect_error(policy, host_for(Caller::kRoot)),
             "test.toml:29:3: filesystem.deny: /proc/1 cannot be left out of the host's /proc in Landlock mode");
}

TEST(Isolation, ATreeThatCannotBeListedIsAnError) {
  auto tree = tree_with_devices();
  tree->unlistable("/usr/share");
  auto policy = landlock_policy();
  policy.filesystem.deny = {rule("/usr/share/secrets", 29)};
  EXPECT_HAS(expect_error(policy, host_for(Caller::kRoot, tree)),
             "Landlock mode cannot list /usr/share to leave /usr/share/secrets (test.toml:29:3) out");
}

TEST(Isolation, ExpansionHasALimit) {
  auto tree = tree_with_devices();
  for (int i = 0; i < 16400; ++i) tree->file("/usr/lib/x86_64-linux-gnu/lib" + std::to_string(i) + ".so");
  tree->file("/usr/lib/x86_64-linux-gnu/secret.so");
  auto policy = landlock_policy();
  policy.filesystem.deny = {rule("/usr/lib/x86_64-linux-gnu/secret.so", 29)};
  EXPECT_HAS(expect_error(policy, host_for(Caller::kRoot, tree)), "Landlock mode needs more than 16384 rules");
}

// --- The rest of the plan ---------------------------------------------------------------------

TEST(Isolation, TheReportListsEveryProtectionInTheNamespaceModesPlaces) {
  const Plan plan = expect_plan(landlock_policy(), host_for(Caller::kUser));
  std::vector<std::string> names;
  for (const auto& p : plan.protections) names.push_back(p.name);
  const std::vector<std::string> want = {
      "isolation", "user_namespace", "mount_namespace", "pid_namespace", "ipc_namespace", "uts_namespace",
      "cgroup_namespace", "ucounts", "network_namespace", "new_root", "read_only_binds", "masks", "private_tmp",
      "minimal_dev", "fresh_proc", "output_area", "stdio", "output_limit", "capabilities", "no_new_privs", "landlock", "seccomp",
      "rlimits", "cgroup_tracking", "memory_limit", "memory_high", "swap_limit", "pids_limit", "cpu_limit",
      "wall_time", "cpu_time", "environment"};
  EXPECT_EQ(names, want);
  for (const char* absent : {"user_namespace", "mount_namespace", "pid_namespace", "ipc_namespace", "uts_namespace",
                             "cgroup_namespace", "ucounts", "new_root", "fresh_proc", "private_tmp"}) {
    EXPECT_EQ(protection(plan, absent).status, "not_in_mode") << absent;
  }
  EXPECT_EQ(protection(plan, "network_namespace").status, "enforced_fallback");
  EXPECT_EQ(protection(plan, "network_namespace").mechanism, "seccomp socket families and Landlock TCP rules");
  EXPECT_EQ(protection(plan, "minimal_dev").status, "enforced");
}

TEST(Isolation, SignalScopingBelowAbi6IsSaidMissing) {
  auto host = host_for(Caller::kUser);
  host.landlock_abi = 2;  // Debian 12's 6.1
  const Plan plan = expect_plan(landlock_policy(), host);
  EXPECT_HAS(protection(plan, "isolation").detail,
             "no signal scoping (Landlock ABI 2 < 6): the job can signal every process of uid 1000, confine and the "
             "caller included");
  EXPECT_EQ(protection(plan, "network_namespace").mechanism, "seccomp socket families");
  host.landlock_abi = 6;
  EXPECT_EQ(expect_plan(landlock_policy(), host).protections.front().detail.find("no signal scoping"),
            std::string::npos);
}

TEST(Isolation, WithoutAPidsControllerThereIsNoRlimitNprocStandIn) {
  auto host = host_for(Caller::kUser);
  host.cgroup_parent.clear();
  host.cgroup_controllers.clear();
  const Plan plan = expect_plan(landlock_policy(), host);
  EXPECT_TRUE(std::none_of(plan.rlimits.begin(), plan.rlimits.end(), [](const Rlimit& r) { return r.name == "RLIMIT_NPROC"; }));
  EXPECT_EQ(protection(plan, "pids_limit").status, "best_effort_skipped");
  EXPECT_HAS(protection(plan, "pids_limit").detail, "no fallback in Landlock mode");
  // RLIMIT_AS still stands in for memory, per process.
  EXPECT_EQ(protection(plan, "memory_limit").status, "enforced_fallback");
  EXPECT_HAS(protection(plan, "cgroup_tracking").detail, "the sandbox's init (a child subreaper) kills the job's whole process tree");
  EXPECT_HAS(protection(plan, "pid_namespace").detail, "the kill unit is the init, a child subreaper");
}

uint32_t verdict(const Plan& plan, const char* name, uint64_t arg0, uint64_t arg1 = SOCK_STREAM, int nr = -1) {
  seccomp::FakeSyscall call;
  call.nr = nr >= 0 ? nr : *seccomp::syscall_number(name);
  call.args[0] = arg0;
  call.args[1] = arg1;
  auto result = seccomp::evaluate(*plan.seccomp, call);
  EXPECT_TRUE(result);
  return result ? *result : 0;
}

TEST(Isolation, TheFilterRefusesSocketsButSocketpairAndTheHostsIpc) {
  const Plan landlock = expect_plan(landlock_policy(), host_for(Caller::kUser));
  ASSERT_TRUE(landlock.seccomp.has_value());
  const uint32_t refused = SECCOMP_RET_ERRNO | EAFNOSUPPORT;
  EXPECT_EQ(verdict(landlock, "socket", AF_UNIX), refused);
  EXPECT_EQ(verdict(landlock, "socket", AF_INET), refused);
  EXPECT_EQ(verdict(landlock, "socket", AF_NETLINK), refused);
  EXPECT_EQ(verdict(landlock, "socketpair", AF_UNIX), SECCOMP_RET_ALLOW);
  EXPECT_EQ(verdict(landlock, "socketpair", AF_INET), refused);
  for (const char* ipc : {"shmget", "msgget", "semget", "mq_open"}) {
    EXPECT_EQ(verdict(landlock, ipc, 0), SECCOMP_RET_ERRNO | ENOSYS) << ipc;
  }
  EXPECT_HAS(protection(landlock, "seccomp").detail, "Landlock mode: socket() refuses every address family");
  // With network.mode = "host": the network families stay, AF_UNIX does not.
  auto host_net = landlock_policy();
  host_net.network.mode = from_file(policy::NetworkMode::kHost, 36);
  const Plan with_net = expect_plan(host_net, host_for(Caller::kUser));
  EXPECT_EQ(verdict(with_net, "socket", AF_INET), SECCOMP_RET_ALLOW);
  EXPECT_EQ(verdict(with_net, "socket", AF_UNIX), refused);
  EXPECT_EQ(protection(with_net, "network_namespace").status, "disabled_by_policy");
  // The namespace mode is untouched: its own socket and IPC namespaces hold these.
  const Plan ns = expect_plan(default_like_policy(), host_for(Caller::kUser));
  EXPECT_EQ(verdict(ns, "socket", AF_UNIX), SECCOMP_RET_ALLOW);
  EXPECT_EQ(verdict(ns, "shmget", 0), SECCOMP_RET_ALLOW);
}

TEST(Isolation, MetadataByPathIsRefusedWhereLandlockCannotSee) {
  auto host = host_for(Caller::kUser);
  const Plan plan = expect_plan(landlock_policy(), host);
  const uint32_t eperm = SECCOMP_RET_ERRNO | EPERM;
  for (const char* name : {"chmod", "fchmodat", "chown", "lchown", "fchownat", "utime", "utimes", "setxattr",
                           "lsetxattr", "removexattr", "lremovexattr"}) {
    EXPECT_EQ(verdict(plan, name, 0, 0644), eperm) << name;
  }
  // By number: newer than libseccomp 2.5.4's tables.
  EXPECT_EQ(verdict(plan, "fchmodat2", 0, 0x1000, 452), eperm);
  EXPECT_EQ(verdict(plan, "setxattrat", 0, 0x1000, 463), eperm);
  EXPECT_EQ(verdict(plan, "removexattrat", 0, 0x1000, 466), eperm);
  // utimensat: by path refused, the fd form (futimens) allowed; so are the fd calls.
  EXPECT_EQ(verdict(plan, "utimensat", 3, 0x1000), eperm);
  EXPECT_EQ(verdict(plan, "utimensat", 3, 0), SECCOMP_RET_ALLOW);
  EXPECT_EQ(verdict(plan, "fchmod", 3, 0644), SECCOMP_RET_ALLOW);
  EXPECT_EQ(verdict(plan, "fchown", 3, 1000), SECCOMP_RET_ALLOW);
  // truncate by path is Landlock's from ABI 3, seccomp's before.
  EXPECT_EQ(verdict(plan, "truncate", 0x1000, 0), SECCOMP_RET_ALLOW);
  host.landlock_abi = 2;
  EXPECT_EQ(verdict(expect_plan(landlock_policy(), host), "truncate", 0x1000, 0), eperm);
  // The namespace mode leaves them to the mount tree.
  const Plan ns = expect_plan(default_like_policy(), host_for(Caller::kUser));
  EXPECT_EQ(verdict(ns, "chmod", 0x1000, 0644), SECCOMP_RET_ALLOW);
  EXPECT_EQ(verdict(ns, "utimensat", 3, 0x1000), SECCOMP_RET_ALLOW);
}

TEST(Isolation, OtherProcessesOfTheUidAreOutOfReach) {
  const Plan plan = expect_plan(landlock_policy(), host_for(Caller::kUser));
  const uint32_t eperm = SECCOMP_RET_ERRNO | EPERM;
  for (const char* name : {"prlimit64", "sched_setaffinity", "sched_setscheduler", "sched_setparam", "sched_setattr"}) {
    EXPECT_EQ(verdict(plan, name, 0, 0), SECCOMP_RET_ALLOW) << name << " on itself";
    EXPECT_EQ(verdict(plan, name, 4242, 0), eperm) << name << " on another pid";
    EXPECT_EQ(verdict(plan, name, uint64_t{1} << 32, 0), eperm) << name << " with high bits";
  }
  EXPECT_EQ(verdict(plan, "setpriority", 0 /* PRIO_PROCESS */, 0), SECCOMP_RET_ALLOW);
  EXPECT_EQ(verdict(plan, "setpriority", 1 /* PRIO_PGRP */, 0), SECCOMP_RET_ALLOW);
  EXPECT_EQ(verdict(plan, "setpriority", 0, 4242), eperm);
  EXPECT_EQ(verdict(plan, "setpriority", 2 /* PRIO_USER */, 0), eperm);
  EXPECT_EQ(verdict(plan, "ioprio_set", 1 /* IOPRIO_WHO_PROCESS */, 0), SECCOMP_RET_ALLOW);
  EXPECT_EQ(verdict(plan, "ioprio_set", 3 /* IOPRIO_WHO_USER */, 0), eperm);
  EXPECT_EQ(verdict(plan, "ioprio_set", 1, 4242), eperm);
  const Plan ns = expect_plan(default_like_policy(), host_for(Caller::kUser));
  EXPECT_EQ(verdict(ns, "prlimit64", 4242, 0), SECCOMP_RET_ALLOW) << "the pid namespace's job";
}

TEST(Isolation, RenderShowsTheModeAndTheRules) {
  const std::string text = render(expect_plan(landlock_policy(), host_for(Caller::kRoot)));
  EXPECT_HAS(text, "isolation: landlock\n");
  EXPECT_HAS(text, "namespaces: none\n");
  EXPECT_HAS(text, "mounts (not mounted: Landlock mode):\n");
  EXPECT_HAS(text, "switch_ids: yes (setgroups, setresgid, setresuid)\n");
  EXPECT_HAS(text, "uid: 65534  gid: 65534  (host ids: no user namespace)\n");
  EXPECT_EQ(text.find("uid_map"), std::string::npos);
  EXPECT_HAS(text, "landlock_rules:\n  /dev/null write_file,read_file,ioctl_dev\n");
  EXPECT_HAS(text, "  /usr execute,read_file,read_dir\n");
}

}  // namespace
}  // namespace confine::plan
