// Landlock mode on this host (docs/security.md, "Landlock mode"): the job without namespaces,
// walled by Landlock, seccomp and its uid; and the host without user namespaces it is for,
// simulated with `confine-probe docker-like` (the part of Docker's default seccomp profile that
// refuses unshare, clone with namespace flags, clone3 and mounts). Root and rootless.
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "fixture.h"

namespace integ {
namespace {

int landlock_abi() {
  const long abi = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, 1U /* LANDLOCK_CREATE_RULESET_VERSION */);
  return abi > 0 ? static_cast<int>(abi) : 0;
}

#define REQUIRE_LANDLOCK(abi) \
  CONFINE_REQUIRE(landlock_abi() >= (abi), "needs Landlock ABI " #abi " (this kernel: " + std::to_string(landlock_abi()) + ")")

nlohmann::json entry(const RunResult& r, const std::string& name) {
  if (!r.report) return nullptr;
  for (const auto& p : (*r.report)["enforced"]) {
    if (p["name"] == name) return p;
  }
  return nullptr;
}

bool warned(const RunResult& r, const std::string& text) {
  if (!r.report) return false;
  const auto& warnings = (*r.report)["warnings"];
  return std::any_of(warnings.begin(), warnings.end(),
                     [&](const nlohmann::json& w) { return w.get<std::string>().find(text) != std::string::npos; });
}

std::string setup_message(const RunResult& r) {
  if (!r.report || !(*r.report)["setup_error"].is_object()) return "<no setup_error>";
  return (*r.report)["setup_error"]["message"].get<std::string>();
}

class LandlockMode : public SandboxTest {
 protected:
  void SetUp() override {
    SandboxTest::SetUp();
    if (HasFatalFailure()) return;
    REQUIRE_LANDLOCK(1);
  }
  static RunOptions landlock(std::vector<std::string> args = {}) {
    args.insert(args.begin(), {"--isolation", "landlock"});
    return with_args(std::move(args));
  }
  // confine under the docker-like profile, with `args`.
  RunOptions docker_like(std::vector<std::string> args) const {
    RunOptions options = with_args(std::move(args));
    options.wrapper = {probe_binary(), "docker-like"};
    return options;
  }
  // A policy file beside the job dir (owned by the test's uid, as a policy run by root must be).
  std::string write_policy(const std::string& name, const std::string& body) {
    const std::string path = base_ + "/" + name;
    write_text(path, "version = 1\nextends = [\"default.toml\"]\n" + body, 0644);
    return path;
  }
};

TEST_F(LandlockMode, RunsWithoutNamespacesAndTheReportSaysWhatIsMissing) {
  const RunResult r = run_probe({"id"}, landlock());
  ASSERT_TRUE(ProbeOk(r));
  EXPECT_TRUE(ran_in_landlock_mode(r));
  const auto isolation = entry(r, "isolation");
  EXPECT_EQ(isolation["status"], "enforced");
  const std::string detail = isolation["detail"];
  for (const char* gap : {"no user namespace", "no mount namespace", "no private /tmp", "no fresh /proc",
                          "no pid namespace", "no network namespace", "no unix sockets", "no IPC namespace"}) {
    EXPECT_NE(detail.find(gap), std::string::npos) << gap << "\n" << detail;
  }
  for (const char* name : {"user_namespace", "mount_namespace", "pid_namespace", "ipc_namespace", "uts_namespace",
                           "cgroup_namespace", "new_root", "private_tmp", "fresh_proc"}) {
    EXPECT_EQ(entry(r, name)["status"], "not_in_mode") << name << "\n" << r.describe();
  }
  EXPECT_EQ(entry(r, "landlock")["status"], "enforced");
  EXPECT_EQ(entry(r, "network_namespace")["status"], "enforced_fallback");
  EXPECT_EQ(entry(r, "seccomp")["status"], "enforced");
  // The job's ids on the host: root's job runs as process.host_uid, with no groups.
  const std::string uid = std::to_string(is_root() ? 65534U : ::geteuid());
  EXPECT_NE(r.out.find("uid=" + uid + " "), std::string::npos) << r.out;
  // An explicit choice is no fallback: no warning about one.
  EXPECT_FALSE(warned(r, "fell back to Landlock mode"));
}

TEST_F(LandlockMode, RootOnlyTheJobRunsAsTheHostUidWithNoGroups) {
  CONFINE_REQUIRE_ROOT();
  const RunResult r = run_probe({"id"}, landlock());
  ASSERT_TRUE(ProbeOk(r));
  EXPECT_NE(r.out.find("uid=65534 euid=65534 gid=65534 egid=65534 groups=\n"), std::string::npos) << r.out;
}

TEST_F(LandlockMode, OnlyThePolicysPathsOpen) {
  EXPECT_TRUE(ProbeDenied(run_probe({"read", canary_}, landlock())));
  EXPECT_TRUE(ProbeDenied(run_probe({"read", "/etc/passwd"}, landlock())));
  EXPECT_TRUE(ProbeDenied(run_probe({"ls", base_}, landlock())));
  write_text(job_path("in.txt"), "input\n", 0644);
  const RunResult read = run_probe({"read", job_path("in.txt")}, landlock());
  ASSERT_TRUE(ProbeOk(read));
  EXPECT_EQ(read.out, "input\n");
  // Read-only paths stay read-only: Landlock grants them no write right.
  const RunResult write_ro = run_probe({"write", probe_dir() + "/planted", "x"}, landlock());
  EXPECT_TRUE(ProbeDenied(write_ro));
  EXPECT_EQ(first_line(write_ro.out), "EACCES");
  EXPECT_FALSE(std::filesystem::exists(probe_dir() + "/planted"));
}

TEST_F(LandlockMode, ADeniedPathInsideAnAllowedTreeIsLeftOut) {
  const std::string tree = base_ + "/tree";
  std::filesystem::create_directories(tree + "/secret");
  std::filesystem::create_directories(tree + "/open/deeper");
  write_text(tree + "/secret/key", canary_text_ + "\n", 0644);
  write_text(tree + "/open/deeper/data", "data\n", 0644);
  write_text(tree + "/top.txt", "top\n", 0644);
  ::chmod(base_.c_str(), 0755);
  const std::string policy = write_policy("deny.toml", "[filesystem]\nro = [\"" + tree + "\"]\ndeny = [\"" + tree + "/secret\"]\n");
  const auto run = [&](std::vector<std::string> probe) { return run_probe(probe, landlock({"-p", policy})); };
  const RunResult secret = run({"read", tree + "/secret/key"});
  EXPECT_TRUE(ProbeDenied(secret));
  EXPECT_EQ(first_line(secret.out), "EACCES");
  EXPECT_EQ(secret.out.find(canary_text_), std::string::npos);
  EXPECT_TRUE(ProbeOk(run({"read", tree + "/open/deeper/data"})));
  EXPECT_TRUE(ProbeOk(run({"read", tree + "/top.txt"})));
  const RunResult r = run({"exit", "0"});
  ASSERT_TRUE(ProbeOk(r));
  EXPECT_EQ(entry(r, "masks")["status"], "enforced") << r.describe();
  EXPECT_NE(entry(r, "masks")["detail"].get<std::string>().find("1 masked path"), std::string::npos) << r.describe();
}

TEST_F(LandlockMode, ATmpfsRuleLeavesItsPathUnreachable) {
  const RunResult r = run_probe({"write", "/tmp/private.txt", "x"}, landlock());
  EXPECT_TRUE(ProbeDenied(r));
  EXPECT_EQ(first_line(r.out), "EACCES");
  EXPECT_EQ(entry(r, "private_tmp")["status"], "not_in_mode");
}

TEST_F(LandlockMode, NoSocketsButSocketpairAndNoSysvIpc) {
  for (const char* family : {"unix", "inet", "inet6", "netlink", "vsock", "packet"}) {
    const RunResult r = run_probe({"socket", family}, landlock());
    EXPECT_TRUE(ProbeDenied(r)) << family;
    EXPECT_EQ(first_line(r.out), "EAFNOSUPPORT") << family;
  }
  EXPECT_TRUE(ProbeOk(run_probe({"socket", "unix-pair"}, landlock())));
  // The host's IPC namespace: its segments are the caller's uid's, so the job gets none.
  const RunResult shm = run_probe({"shm-fill", "1"}, landlock());
  EXPECT_TRUE(ProbeDenied(shm));
  EXPECT_EQ(first_line(shm.out), "ENOSYS");
}

TEST_F(LandlockMode, TheInitKillsWhatTheTargetLeftBehind) {
  ASSERT_TRUE(ProbeOk(run_probe({"daemonize", job_path("daemon.pid"), "--exit"}, landlock())));
  const auto pid = read_text(job_path("daemon.pid"));
  ASSERT_TRUE(pid.has_value());
  EXPECT_FALSE(alive_with_marker(static_cast<pid_t>(std::stol(*pid)), tag_));
  const RunResult timed_out = run_probe({"daemonize", job_path("daemon2.pid")}, landlock({"--timeout", "1s"}));
  EXPECT_TRUE(EndedByLimit(timed_out, "wall_timeout", 124, "wall_time"));
  EXPECT_TRUE(wait_until_gone(tag_, std::chrono::milliseconds(2000)).empty());
}

TEST_F(LandlockMode, WithSignalScopingTheJobCannotKillItsInitOrConfine) {
  REQUIRE_LANDLOCK(6);
  const RunResult r = run_probe({"kill-ancestors", "2"}, landlock());
  ASSERT_TRUE(ProbeOk(r));
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2) << r.out;
  EXPECT_EQ(r.out.find(": ok"), std::string::npos) << "a supervisor took the signal\n" << r.describe();
}

TEST_F(LandlockMode, RootOnlyHostUidZeroIsRefused) {
  CONFINE_REQUIRE_ROOT();
  const std::string policy = write_policy("root.toml", "[process]\nhost_uid = 0\n");
  const RunResult r = run_probe({"id"}, landlock({"-p", policy}));
  EXPECT_TRUE(Ended(r, "setup_error", 125));
  EXPECT_NE(setup_message(r).find("process.host_uid: 0 would run the job as host root"), std::string::npos)
      << r.describe();
}

TEST_F(LandlockMode, KeptCapabilitiesAreRefused) {
  const std::string policy = write_policy("caps.toml", "[capabilities]\nkeep = [\"CAP_NET_BIND_SERVICE\"]\n");
  const RunResult r = run_probe({"id"}, landlock({"-p", policy}));
  EXPECT_TRUE(Ended(r, "setup_error", 125));
  EXPECT_NE(setup_message(r).find("cannot be kept in Landlock mode"), std::string::npos) << r.describe();
}

TEST_F(LandlockMode, TheNamespaceModeRefusesUnderADockerLikeProfileAndNamesTheWayOut) {
  const RunResult r = run_probe({"id"}, docker_like({"--isolation", "namespaces"}));
  EXPECT_TRUE(Ended(r, "setup_error", 125));
  EXPECT_NE(setup_message(r).find("--isolation auto"), std::string::npos) << r.describe();
}

TEST_F(LandlockMode, AutoFallsBackUnderADockerLikeProfileAndSaysSo) {
  const RunResult r = run_probe({"read", canary_}, docker_like({"--isolation", "auto"}));
  EXPECT_TRUE(ProbeDenied(r));
  EXPECT_TRUE(ran_in_landlock_mode(r)) << r.describe();
  EXPECT_TRUE(warned(r, "isolation.mode = auto (<command line>): fell back to Landlock mode")) << r.describe();
  EXPECT_NE(r.err.find("fell back to Landlock mode"), std::string::npos) << "no warning on stderr\n" << r.describe();
  EXPECT_NE(entry(r, "isolation")["detail"].get<std::string>().find("clone3(CLONE_NEWUSER): Function not implemented"),
            std::string::npos)
      << r.describe();
}

TEST_F(LandlockMode, AutoKeepsNamespacesWhereTheyWork) {
  const RunResult r = run_probe({"id"}, with_args({"--isolation", "auto"}));
  ASSERT_TRUE(ProbeOk(r));
  EXPECT_FALSE(ran_in_landlock_mode(r));
  EXPECT_EQ(entry(r, "isolation")["detail"], "isolation.mode = auto (<command line>): user namespaces work here: "
                                             "user, mount, pid, ipc, uts, cgroup and network namespaces");
  EXPECT_FALSE(warned(r, "fell back to Landlock mode"));
}

TEST_F(LandlockMode, RootOnlyWithoutClone3TheJobIsStillInItsCgroup) {
  CONFINE_REQUIRE_ROOT();
  const std::string parent = confine_cgroup_parent();
  CONFINE_REQUIRE(!parent.empty(), "needs a cgroup2 mount");
  // clone3 fails with ENOSYS under the profile: the legacy clone, then a move into the leaf.
  const RunResult r = run_probe({"read", "/proc/self/cgroup"}, docker_like({"--isolation", "landlock"}));
  ASSERT_TRUE(ProbeOk(r));
  EXPECT_NE(r.out.find("/confine/job-"), std::string::npos) << r.describe();
  EXPECT_EQ(entry(r, "cgroup_tracking")["status"], "enforced");
}

TEST_F(LandlockMode, WithoutLandlockTheModeRefusesWithTheFix) {
  RunOptions options = landlock();
  options.wrapper = {probe_binary(), "without-landlock"};
  const RunResult r = run_probe({"id"}, options);
  EXPECT_TRUE(Ended(r, "setup_error", 125));
  EXPECT_NE(setup_message(r).find("Landlock mode needs Landlock"), std::string::npos) << r.describe();
  EXPECT_NE(setup_message(r).find("lsm="), std::string::npos) << r.describe();
}

TEST_F(LandlockMode, WithNeitherNamespacesNorLandlockAutoRefuses) {
  RunOptions options = with_args({"--isolation", "auto"});
  options.wrapper = {probe_binary(), "docker-like", probe_binary(), "without-landlock"};
  const RunResult r = run_probe({"id"}, options);
  EXPECT_TRUE(Ended(r, "setup_error", 125));
  EXPECT_NE(setup_message(r).find("Landlock mode needs Landlock"), std::string::npos) << r.describe();
}

}  // namespace
}  // namespace integ
