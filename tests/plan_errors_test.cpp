// make_plan's refusals: each rule the host cannot honour, or that would weaken the sandbox, is an
// error with a located, actionable message; optional and best-effort rules are skipped and noted.
#include <gtest/gtest.h>

#include <sched.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstring>

#include "confine/plan.h"
#include "plan_fake_host.h"

namespace confine::plan {
namespace {

using namespace testing;
// "haystack contains needle", printing the haystack on failure.
#define EXPECT_HAS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "in: " << (haystack)

class PlanTest : public ::testing::Test {
 protected:
  std::shared_ptr<FakeTree> tree = debian_tree();
  policy::Policy policy = default_like_policy();
  HostFacts host = fake_host(tree, Caller::kRoot);
  RunRequest req = request({"echo", "hi"});

  Expected<Plan> plan() { return make_plan(policy, req, host); }

  Error expect_error(ErrorCode code) {
    auto result = plan();
    EXPECT_FALSE(result.has_value()) << "expected an error, got a plan:\n" << (result ? render(*result) : "");
    if (result) return {};
    EXPECT_EQ(result.error().code, code) << result.error().render();
    return result.error();
  }

  Plan expect_plan() {
    auto result = plan();
    EXPECT_TRUE(result.has_value()) << (result ? "" : result.error().render());
    return result ? *result : Plan{};
  }
};

bool has_warning(const Plan& plan, const std::string& text) {
  return std::any_of(plan.warnings.begin(), plan.warnings.end(),
                     [&](const std::string& w) { return w.find(text) != std::string::npos; });
}

const report::Protection* protection(const Plan& plan, const std::string& name) {
  for (const auto& p : plan.protections) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

TEST_F(PlanTest, HostUidZeroAsRootIsRefused) {
  policy.process.host_uid = from_file<uint32_t>(0, 14);
  const Error e = expect_error(ErrorCode::kInvalidArgument);
  EXPECT_HAS(e.message, "test.toml:14:1: process.host_uid");
  EXPECT_HAS(e.message, "would run the target as host root");
}

TEST_F(PlanTest, HostGidZeroAsRootIsRefused) {
  policy.process.host_gid = from_file<uint32_t>(0, 15);
  EXPECT_HAS(expect_error(ErrorCode::kInvalidArgument).message, "process.host_gid");
}

TEST_F(PlanTest, RootMapsToHostIdsRootlessToCaller) {
  policy.process.host_uid = from_file<uint32_t>(2000, 14);
  Plan root = expect_plan();
  EXPECT_EQ(root.uid_map.inside, 1000u);
  EXPECT_EQ(root.uid_map.outside, 2000u);
  EXPECT_EQ(root.gid_map.outside, 65534u);
  EXPECT_TRUE(root.deny_setgroups);
  host = fake_host(tree, Caller::kUser);
  Plan user = expect_plan();
  EXPECT_EQ(user.uid_map.outside, 1000u);
  EXPECT_EQ(user.uid_map.count, 1u);
  EXPECT_TRUE(has_warning(user, "process.host_uid is ignored"));
  EXPECT_FALSE(has_warning(user, "process.host_gid"));  // default: nothing to warn about
}

TEST_F(PlanTest, NoUserNamespacesIsUnsupported) {
  host.user_namespaces = false;
  const Error e = expect_error(ErrorCode::kUnsupported);
  EXPECT_HAS(e.hint, "kernel.unprivileged_userns_clone");
  EXPECT_HAS(e.hint, "user.max_user_namespaces");
}

TEST_F(PlanTest, CloneFlagsFollowNetworkMode) {
  const uint64_t base = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;
  EXPECT_EQ(expect_plan().clone_flags, base | CLONE_NEWNET);
  policy.network.mode = from_file(policy::NetworkMode::kHost, 36);
  const Plan plan = expect_plan();
  EXPECT_EQ(plan.clone_flags, base);
  ASSERT_NE(protection(plan, "network_namespace"), nullptr);
  EXPECT_EQ(protection(plan, "network_namespace")->status, "disabled_by_policy");
}

TEST_F(PlanTest, IntermediateSymlinkIsRefused) {
  policy.filesystem.ro.push_back(rule("/var/run/x", 29));
  tree->dir("/run/x");
  const Error e = expect_error(ErrorCode::kInvalidArgument);
  EXPECT_HAS(e.message, "/var/run/x goes through the symlink /var/run -> /run; name the real path instead");
  EXPECT_HAS(e.message, "test.toml:29:3: filesystem.ro");
}

TEST_F(PlanTest, MissingPathIsAnErrorUnlessOptional) {
  policy.filesystem.rw.push_back(rule("/data", 30));
  const Error e = expect_error(ErrorCode::kNotFound);
  EXPECT_HAS(e.message, "test.toml:30:3: filesystem.rw: /data does not exist");
  EXPECT_HAS(e.hint, "optional");

  policy.filesystem.rw.back().optional = true;
  const Plan plan = expect_plan();
  EXPECT_TRUE(has_warning(plan, "/data does not exist on this host; skipped (optional)"));
  EXPECT_TRUE(std::none_of(plan.mounts.begin(), plan.mounts.end(),
                           [](const MountOp& op) { return op.target == "/data"; }));
  EXPECT_TRUE(has_warning(plan, "/lib32 does not exist"));  // the default's own optional rule
}

TEST_F(PlanTest, SocketIsRefused) {
  policy.filesystem.rw.push_back(rule("/run/docker.sock", 30));
  EXPECT_HAS(expect_error(ErrorCode::kInvalidArgument).message, "exposes a host service");
}

TEST_F(PlanTest, RulesUnderFreshDevOrProcAreRefused) {
  policy.filesystem.ro.push_back(rule("/dev/null", 29));
  Error e = expect_error(ErrorCode::kInvalidArgument);
  EXPECT_HAS(e.message, "/dev/null is under /dev");
  EXPECT_HAS(e.hint, "filesystem.dev = false");

  policy.filesystem.dev = from_file(false, 32);
  const Plan plan = expect_plan();  // now binding the host's /dev/null is the author's choice
  EXPECT_TRUE(std::any_of(plan.mounts.begin(), plan.mounts.end(), [](const MountOp& op) {
    return op.target == "/dev/null" && op.kind == MountKind::kBind && !op.source_is_dir;
  }));

  policy.filesystem.tmpfs.push_back({"/proc/sys", 1 << 20, at(31)});
  e = expect_error(ErrorCode::kInvalidArgument);
  EXPECT_HAS(e.message, "/proc/sys is under /proc");
  EXPECT_HAS(e.hint, "filesystem.proc = false");
}

TEST_F(PlanTest, CwdMustBeVisible) {
  policy.process.cwd = from_file<std::string>("/home/alice", 13);
  Error e = expect_error(ErrorCode::kInvalidArgument);
  EXPECT_HAS(e.message, "test.toml:13:1: process.cwd: /home/alice is not visible");
  EXPECT_HAS(e.hint, "--rw /home/alice");

  policy.process.cwd = from_file<std::string>("/tmp/work", 13);  // the tmpfs starts empty
  EXPECT_HAS(expect_error(ErrorCode::kInvalidArgument).message, "starts empty");

  policy.process.cwd = from_file<std::string>("/usr/share/secrets", 13);
  policy.filesystem.deny = {rule("/usr/share/secrets", 29)};
  EXPECT_HAS(expect_error(ErrorCode::kInvalidArgument).message, "hidden by the deny rule");

  policy.process.cwd = from_file<std::string>("/usr/share/doc", 13);
  EXPECT_EQ(expect_plan().cwd, "/usr/share/doc");
}

TEST_F(PlanTest, CommandNotFound) {
  req.argv = {"gcc", "-v"};
  const Error e = expect_error(ErrorCode::kCommandNotFound);
  EXPECT_EQ(e.message, "command 'gcc' not found in the sandbox's PATH (/usr/local/bin:/usr/bin:/bin)");
  EXPECT_FALSE(e.hint.empty());
  EXPECT_EQ(e.context, std::vector<std::string>{"plan"});
}

TEST_F(PlanTest, CommandOnTheHostButNotInTheSandboxIsNotFound) {
  // The caller's PATH has /home/alice/bin, but only the planned envp's PATH is searched...
  req.argv = {"tool"};
  Error e = expect_error(ErrorCode::kCommandNotFound);
  EXPECT_HAS(e.message, "(/usr/local/bin:/usr/bin:/bin)");
  // ...and with it in PATH the file is still not visible in the sandbox.
  policy.env.set["PATH"] = from_file<std::string>("/home/alice/bin:/usr/bin", 41);
  e = expect_error(ErrorCode::kCommandNotFound);
  EXPECT_HAS(e.hint, "/home/alice/bin/tool exists on the host but the sandbox does not show it");
}

TEST_F(PlanTest, CommandUnderAMaskIsNotFound) {
  policy.filesystem.deny = {rule("/usr/bin/python3", 29)};
  req.argv = {"python3"};
  EXPECT_HAS(expect_error(ErrorCode::kCommandNotFound).hint, "/usr/bin/python3 exists on the host");
}

TEST_F(PlanTest, ExecPathResolution) {
  req.argv = {"echo"};
  EXPECT_EQ(expect_plan().exec_path, "/usr/bin/echo");  // /usr/local/bin has none
  policy.env.set["PATH"] = from_file<std::string>("relative:/bin", 41);
  EXPECT_EQ(expect_plan().exec_path, "/bin/echo");  // through the recreated /bin symlink
  req.argv = {"README"};  // on PATH but not executable
  EXPECT_EQ(expect_error(ErrorCode::kCommandNotFound).code, ErrorCode::kCommandNotFound);
  req.argv = {"../usr/./bin/sh"};
  policy.process.cwd = from_file<std::string>("/tmp", 13);
  EXPECT_EQ(expect_plan().exec_path, "/usr/bin/sh");
  req.argv = {"/opt/absent"};  // absolute paths are taken as given; execve reports ENOENT
  EXPECT_EQ(expect_plan().exec_path, "/opt/absent");
  req.argv = {};
  EXPECT_EQ(expect_error(ErrorCode::kInvalidArgument).message, "no command given");
}

TEST_F(PlanTest, RequiredResourcesMissingNameEveryController) {
  policy.enforcement.resources = from_file(policy::Enforcement::kRequired, 62);
  policy.limits.cpus = from_file<std::optional<double>>(2.0, 53);
  host.cgroup_controllers = {"io"};
  const Error e = expect_error(ErrorCode::kUnsupported);
  for (const char* needle : {"'memory' controller", "'pids' controller", "'cpu' controller", "limits.memory",
                             "limits.swap", "limits.pids", "limits.cpus", "test.toml:62:1"}) {
    EXPECT_HAS(e.message, needle);
  }
  EXPECT_EQ(e.message.find("limits.cpu_time"), std::string::npos);  // a cgroup exists
  EXPECT_HAS(e.hint, "confine doctor");
  EXPECT_HAS(e.hint, "--best-effort");

  host.cgroup_parent.clear();  // without a cgroup, cpu_time cannot be measured either
  EXPECT_HAS(expect_error(ErrorCode::kUnsupported).message, "limits.cpu_time");
}

TEST_F(PlanTest, BestEffortResourcesSkipOnlyWhatIsMissing) {
  host.cgroup_controllers = {"pids"};
  const Plan plan = expect_plan();
  ASSERT_EQ(plan.cgroup_writes.size(), 1u);
  EXPECT_EQ(plan.cgroup_writes[0].file, "pids.max");
  EXPECT_EQ(plan.cgroup_writes[0].value, "64");
  // Memory falls back to RLIMIT_AS (per process), swap has no stand-in, pids is the real thing.
  EXPECT_EQ(protection(plan, "memory_limit")->status, "enforced_fallback");
  EXPECT_EQ(protection(plan, "memory_limit")->mechanism, "rlimit RLIMIT_AS (per process address space)");
  EXPECT_EQ(protection(plan, "swap_limit")->status, "best_effort_skipped");
  EXPECT_EQ(protection(plan, "pids_limit")->status, "enforced");
  EXPECT_EQ(protection(plan, "cpu_limit")->status, "not_requested");
  EXPECT_EQ(protection(plan, "cpu_time")->status, "enforced");
  EXPECT_TRUE(has_warning(plan, "fell back to RLIMIT_AS"));
  EXPECT_TRUE(has_warning(plan, "limits.swap = 0 not enforced"));
  EXPECT_TRUE(std::any_of(plan.rlimits.begin(), plan.rlimits.end(),
                          [](const Rlimit& r) { return r.name == "RLIMIT_AS" && r.soft == 512ULL << 20; }));
  EXPECT_EQ(plan.cpu_time, std::chrono::milliseconds(30000));
}

TEST_F(PlanTest, CgroupWritesWithAllControllers) {
  policy.limits.cpus = from_file<std::optional<double>>(0.001, 53);  // below the kernel's minimum quota
  const Plan plan = expect_plan();
  ASSERT_EQ(plan.cgroup_writes.size(), 5u);
  EXPECT_EQ(plan.cgroup_writes[0].file, "memory.max");
  EXPECT_EQ(plan.cgroup_writes[0].value, "536870912");
  EXPECT_EQ(plan.cgroup_writes[1].file, "memory.oom.group");
  EXPECT_EQ(plan.cgroup_writes[2].file, "memory.swap.max");
  EXPECT_EQ(plan.cgroup_writes[2].value, "0");
  EXPECT_EQ(plan.cgroup_writes[4].file, "cpu.max");
  EXPECT_EQ(plan.cgroup_writes[4].value, "1000 100000");
  EXPECT_EQ(plan.cgroup_parent, "/sys/fs/cgroup/confine");
}

TEST_F(PlanTest, SeccompUnavailable) {
  host.seccomp = false;
  const Error e = expect_error(ErrorCode::kUnsupported);
  EXPECT_HAS(e.message, "seccomp");
  EXPECT_HAS(e.message, "test.toml:63:1");

  policy.enforcement.seccomp = from_file(policy::Enforcement::kBestEffort, 63);
  const Plan plan = expect_plan();
  EXPECT_FALSE(plan.seccomp.has_value());
  EXPECT_EQ(protection(plan, "seccomp")->status, "best_effort_skipped");
  EXPECT_TRUE(has_warning(plan, "without a syscall filter"));
}

TEST_F(PlanTest, SeccompCompiledWhenAvailable) {
  const Plan plan = expect_plan();
  ASSERT_TRUE(plan.seccomp.has_value());
  EXPECT_FALSE(plan.seccomp->instructions.empty());
  EXPECT_FALSE(plan.seccomp->summary.empty());
  EXPECT_EQ(protection(plan, "seccomp")->status, "enforced");
}

TEST_F(PlanTest, RlimitsAndCapabilities) {
  policy.capabilities.keep = {from_file<std::string>("CAP_NET_BIND_SERVICE", 70),
                              from_file<std::string>("CAP_CHOWN", 70)};
  Plan plan = expect_plan();
  EXPECT_EQ(plan.keep_caps, (uint64_t{1} << 10) | (uint64_t{1} << 0));
  ASSERT_EQ(plan.rlimits.size(), 3u);
  EXPECT_EQ(plan.rlimits[0].resource, RLIMIT_CORE);
  EXPECT_EQ(plan.rlimits[0].hard, 0u);
  EXPECT_EQ(plan.rlimits[1].resource, RLIMIT_NOFILE);
  EXPECT_EQ(plan.rlimits[1].soft, 256u);
  EXPECT_EQ(plan.rlimits[2].resource, RLIMIT_FSIZE);
  EXPECT_EQ(plan.rlimits[2].soft, plan.rlimits[2].hard);

  policy.limits.core_dumps = from_file(true, 52);
  policy.limits.open_files = from_file<std::optional<uint64_t>>(std::nullopt, 50);
  policy.limits.file_size_bytes = from_file<std::optional<uint64_t>>(std::nullopt, 51);
  plan = expect_plan();
  ASSERT_EQ(plan.rlimits.size(), 1u);
  EXPECT_EQ(plan.rlimits[0].soft, RLIM_INFINITY);

  policy.capabilities.keep = {from_file<std::string>("CAP_NO_SUCH_THING", 71)};
  EXPECT_HAS(expect_error(ErrorCode::kInvalidArgument).message, "test.toml:71:1");
}

// A limit above the hard limit confine inherited cannot be set inside the user namespace; the
// plan refuses it with the policy line instead of the child failing with EPERM.
TEST_F(PlanTest, LimitsAboveTheInheritedHardLimitAreRefused) {
  uint64_t nofile_hard = 100;
  host.hard_limit = [&](int resource) -> std::optional<uint64_t> {
    if (resource == RLIMIT_NOFILE) return nofile_hard;
    if (resource == RLIMIT_CORE) return 0;
    return std::nullopt;
  };
  policy.limits.open_files = from_file<std::optional<uint64_t>>(4096, 50);
  Error e = expect_error(ErrorCode::kUnsupported);
  EXPECT_HAS(e.message, "test.toml:50:1: limits.open_files: needs RLIMIT_NOFILE = 4096, above the hard limit of 100");
  EXPECT_HAS(e.hint, "ulimit -H");

  nofile_hard = 4096;  // equal is fine
  (void)expect_plan();

  policy.limits.core_dumps = from_file(true, 52);  // unlimited core files against a hard 0
  e = expect_error(ErrorCode::kUnsupported);
  EXPECT_HAS(e.message, "test.toml:52:1: limits.core_dumps: needs RLIMIT_CORE = unlimited, above the hard limit of 0");

  host.hard_limit = nullptr;  // unknown: nothing to check against
  (void)expect_plan();
}

TEST_F(PlanTest, DenyRules) {
  policy.filesystem.deny = {rule("/usr/share/secrets", 29), rule("/usr/share/secrets/key.pem", 29),
                            rule("/etc/passwd", 29), rule("/usr/share/absent", 29), rule("/proc/sys", 29)};
  const Plan plan = expect_plan();
  const auto find = [&](const std::string& target) -> const MountOp* {
    for (const auto& op : plan.mounts) {
      if (op.target == target) return &op;
    }
    return nullptr;
  };
  ASSERT_NE(find("/usr/share/secrets"), nullptr);
  EXPECT_EQ(find("/usr/share/secrets")->kind, MountKind::kMaskDir);
  EXPECT_EQ(find("/usr/share/secrets")->mode, 0u);
  EXPECT_EQ(find("/usr/share/secrets/key.pem")->kind, MountKind::kMaskFile);
  EXPECT_EQ(find("/proc/sys")->kind, MountKind::kMaskDir);  // masks apply inside the fresh /proc
  EXPECT_EQ(find("/etc/passwd"), nullptr);  // not bound: invisible anyway
  EXPECT_TRUE(has_warning(plan, "/etc/passwd is not visible in the sandbox anyway"));
  EXPECT_TRUE(has_warning(plan, "/usr/share/absent does not exist"));

  policy.filesystem.deny = {rule("/lib/x86_64-linux-gnu", 29)};
  EXPECT_HAS(expect_error(ErrorCode::kInvalidArgument).message, "goes through the symlink /lib -> usr/lib");
  policy.filesystem.ro.push_back(rule("/var", 26));
  policy.filesystem.deny = {rule("/var/run", 29)};
  EXPECT_HAS(expect_error(ErrorCode::kInvalidArgument).message, "/var/run is a symlink");
}

TEST_F(PlanTest, MountKindsAndFlags) {
  policy.filesystem.rw = {rule("/jobs/42", 30)};
  const Plan plan = expect_plan();
  for (const auto& op : plan.mounts) {
    if (op.target == "/usr") {
      EXPECT_EQ(op.kind, MountKind::kBind);
      EXPECT_TRUE(op.read_only);
      EXPECT_EQ(op.source, "/usr");
      EXPECT_EQ(op.origin, "test.toml:20:3");
    } else if (op.target == "/jobs/42") {
      EXPECT_FALSE(op.read_only);
    } else if (op.target == "/etc/ld.so.cache") {
      EXPECT_FALSE(op.source_is_dir);
    } else if (op.target == "/etc/localtime") {
      EXPECT_EQ(op.kind, MountKind::kSymlink);
      EXPECT_EQ(op.source, "/usr/share/zoneinfo/Etc/UTC");
    } else if (op.target == "/tmp") {
      EXPECT_EQ(op.kind, MountKind::kTmpfs);
      EXPECT_EQ(op.mode, 01777u);
      EXPECT_EQ(op.size_bytes, uint64_t{64} << 20);
    }
  }
}

TEST_F(PlanTest, ConflictingAccessForOnePathIsRefused) {
  policy.filesystem.rw = {rule("/usr", 30)};
  EXPECT_HAS(expect_error(ErrorCode::kInvalidArgument).message, "already mounted as bind (ro)");
  policy.filesystem.rw.clear();
  policy.filesystem.ro.push_back(rule("/usr", 29));  // the same rule twice is harmless
  const Plan plan = expect_plan();
  EXPECT_EQ(std::count_if(plan.mounts.begin(), plan.mounts.end(),
                          [](const MountOp& op) { return op.target == "/usr"; }),
            1);
}

TEST_F(PlanTest, NothingIsMountedOnOrThroughARecreatedSymlink) {
  policy.filesystem.tmpfs.push_back({"/bin/cache", 1 << 20, at(31)});
  EXPECT_HAS(expect_error(ErrorCode::kInvalidArgument).message, "/bin/cache goes through the symlink /bin -> usr/bin");
  policy.filesystem.tmpfs.back().path = "/bin";
  EXPECT_HAS(expect_error(ErrorCode::kInvalidArgument).message, "/bin is a symlink on the host but another rule");
}

TEST_F(PlanTest, TmpfsInsideABindNeedsAnExistingDirectory) {
  policy.filesystem.tmpfs.push_back({"/usr/cache", 1 << 20, at(31)});
  EXPECT_HAS(expect_error(ErrorCode::kNotFound).message, "/usr/cache lies inside the bind of /usr");
  tree->dir("/usr/cache");
  expect_plan();
}

TEST_F(PlanTest, OrderingParentsFirstThenSymlinksThenMasks) {
  tree->dir("/usrx").dir("/usr/lib/x86_64-linux-gnu/perl");
  policy.filesystem.ro = {rule("/usrx", 20), rule("/lib", 21), rule("/usr/lib/x86_64-linux-gnu", 22),
                          rule("/usr", 23), rule("/bin", 24), rule("/etc/localtime", 25)};
  policy.filesystem.tmpfs = {{"/tmp", 1 << 20, at(31)}, {"/usr/lib/x86_64-linux-gnu/perl", 1 << 20, at(31)}};
  policy.filesystem.deny = {rule("/usr/share/secrets", 29), rule("/usr/bin/README", 29)};
  const Plan plan = expect_plan();
  std::vector<std::string> got;
  for (const auto& op : plan.mounts) got.push_back(op.target);
  const std::vector<std::string> want = {
      "/dev", "/proc", "/tmp", "/usr", "/usr/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu/perl",
      "/usrx", "/bin", "/etc/localtime", "/lib", "/usr/bin/README", "/usr/share/secrets"};
  EXPECT_EQ(got, want);
}

TEST_F(PlanTest, ProtectionsAreCompleteAndOrdered) {
  const Plan plan = expect_plan();
  std::vector<std::string> names;
  for (const auto& p : plan.protections) names.push_back(p.name);
  const std::vector<std::string> want = {
      "isolation", "user_namespace", "mount_namespace", "pid_namespace", "ipc_namespace", "uts_namespace",
      "cgroup_namespace", "ucounts", "network_namespace", "new_root", "read_only_binds", "masks", "private_tmp",
      "minimal_dev", "fresh_proc", "output_area", "stdio", "output_limit", "capabilities", "no_new_privs", "landlock", "seccomp",
      "rlimits", "cgroup_tracking", "memory_limit", "memory_high", "swap_limit", "pids_limit", "cpu_limit", "wall_time",
      "cpu_time", "environment"};
  EXPECT_EQ(names, want);
  for (const auto& p : plan.protections) {
    EXPECT_TRUE(p.status == "enforced" || p.status == "best_effort_skipped" ||
                p.status == "disabled_by_policy" || p.status == "not_requested")
        << p.name << ": " << p.status;
  }
  EXPECT_EQ(plan.policy_path, "test.toml");
  EXPECT_EQ(plan.policy_sha256, policy::content_hash(policy));
}

TEST_F(PlanTest, RenderIsDeterministicAndQuotesValues) {
  req.argv = {"echo", "a\nb", "q\"uote"};
  const std::string first = render(expect_plan());
  EXPECT_EQ(first, render(expect_plan()));
  EXPECT_HAS(first, "  \"a\\x0ab\"\n");
  EXPECT_HAS(first, "  \"q\\\"uote\"\n");
}

TEST_F(PlanTest, RenderShowsTheSeccompSummaryAndRedactsSecrets) {
  policy.env.keep.push_back(from_file<std::string>("GITHUB_TOKEN", 40));
  policy.env.allow_secrets = {from_file<std::string>("GITHUB_TOKEN", 42)};
  const Plan plan = expect_plan();
  ASSERT_TRUE(plan.seccomp.has_value());
  const std::string text = render(plan);
  for (const std::string& line : plan.seccomp->summary) EXPECT_HAS(text, "\n  " + line + "\n");
  EXPECT_HAS(text, "GITHUB_TOKEN=<redacted, 5 bytes>");
  EXPECT_EQ(text.find("ghp_x"), std::string::npos);
  EXPECT_HAS(text, "LANG=\"C.UTF-8\"");  // ordinary values are shown
}

// Violations are named only when the kernel has user notification and the target may still
// call sendmsg (to hand its listener to confine) once its filter is in place.
// Denials are named (a notifying filter, with its verdict program) where the kernel has user
// notification and the hard RLIMIT_NOFILE leaves room for the listener's handoff descriptor;
// a policy denying sendmsg no longer matters (the handoff has its own exception).
TEST_F(PlanTest, SeccompNotifiesWithUserNotifAndRoomForTheHandoff) {
  host.seccomp_user_notif = false;
  EXPECT_FALSE(expect_plan().seccomp->notify);
  EXPECT_FALSE(expect_plan().seccomp_verdict.has_value());
  host.seccomp_user_notif = true;
  const Plan named = expect_plan();
  EXPECT_TRUE(named.seccomp->notify);
  ASSERT_TRUE(named.seccomp_verdict.has_value());
  EXPECT_FALSE(named.seccomp_verdict->notify);
  policy::SeccompRule no_sendmsg;
  no_sendmsg.action = policy::SeccompAction::kErrno;
  no_sendmsg.syscalls = {"sendmsg"};
  no_sendmsg.origin = at(40);
  policy.seccomp.rules.push_back(no_sendmsg);
  EXPECT_TRUE(expect_plan().seccomp->notify);
  host.hard_limit = [](int resource) -> std::optional<uint64_t> {
    return resource == RLIMIT_NOFILE ? std::optional<uint64_t>(512) : std::nullopt;
  };
  const Plan cramped = expect_plan();
  EXPECT_FALSE(cramped.seccomp->notify);
  EXPECT_TRUE(std::any_of(cramped.warnings.begin(), cramped.warnings.end(),
                          [](const std::string& w) { return w.find("denials are not named") != std::string::npos; }));
}

// A batch remembers each policy's programs by its seccomp section (FilterCache::section_key):
// a job under a policy it has seen gets exactly what a fresh compile gives, and a policy that
// differs in any way the filter depends on gets its own.
TEST_F(PlanTest, ABatchReusesAPolicysProgramsOnlyForTheSameSection) {
  host.seccomp_user_notif = true;
  const Plan fresh = expect_plan();  // no cache: resolved and compiled
  host.filter_cache = seccomp::FilterCache::in_memory();
  auto same_program = [](const seccomp::Program& a, const seccomp::Program& b) {
    return a.notify == b.notify && a.summary == b.summary && a.instructions.size() == b.instructions.size() &&
           std::memcmp(a.instructions.data(), b.instructions.data(), a.instructions.size() * sizeof(sock_filter)) == 0;
  };
  for (int round = 0; round < 2; ++round) {  // the first compiles and notes, the second recalls
    const Plan p = expect_plan();
    ASSERT_TRUE(p.seccomp && fresh.seccomp && p.seccomp_verdict && fresh.seccomp_verdict);
    EXPECT_TRUE(same_program(*p.seccomp, *fresh.seccomp)) << "round " << round;
    EXPECT_TRUE(same_program(*p.seccomp_verdict, *fresh.seccomp_verdict)) << "round " << round;
    ASSERT_NE(protection(p, "seccomp"), nullptr);
    ASSERT_NE(protection(fresh, "seccomp"), nullptr);
    EXPECT_EQ(protection(p, "seccomp")->detail, protection(fresh, "seccomp")->detail);
  }
  // Another rule, then the same rule with another action, then another socket family (an
  // option, not the section): each its own program, the same as without the cache.
  policy::SeccompRule rule;
  rule.action = policy::SeccompAction::kErrno;
  rule.syscalls = {"uname"};
  rule.origin = at(50);
  policy.seccomp.rules.push_back(rule);
  std::vector<seccomp::Program> seen = {*fresh.seccomp};
  auto check_new = [&](const char* what) {
    const Plan cached = expect_plan();
    auto saved = host.filter_cache;
    host.filter_cache.reset();
    const Plan uncached = expect_plan();
    host.filter_cache = saved;
    ASSERT_TRUE(cached.seccomp && uncached.seccomp) << what;
    EXPECT_TRUE(same_program(*cached.seccomp, *uncached.seccomp)) << what;
    for (const auto& old : seen) EXPECT_FALSE(same_program(*cached.seccomp, old)) << what << ": an earlier program";
    seen.push_back(*cached.seccomp);
  };
  check_new("an errno rule for uname");
  policy.seccomp.rules.back().action = policy::SeccompAction::kKill;
  check_new("a kill rule for uname");
  policy.network.socket_families.value.push_back("inet");
  check_new("AF_INET allowed");
}

}  // namespace
}  // namespace confine::plan
