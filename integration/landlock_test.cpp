// The Landlock layer in real sandboxes (docs/security.md, "Landlock"): what it stops that the
// mount namespace does not, with a control for each through `confine-probe without-landlock`
// (the Landlock syscalls fail with ENOSYS for confine and its sandbox, as on a kernel without
// Landlock), and how `enforcement.landlock` behaves on such a host. Root and rootless.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
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

// The report's entry for the landlock protection (null when absent).
nlohmann::json landlock_entry(const RunResult& r) {
  if (!r.report) return nullptr;
  for (const auto& p : (*r.report)["enforced"]) {
    if (p["name"] == "landlock") return p;
  }
  return nullptr;
}

bool warned_about_landlock(const RunResult& r) {
  if (!r.report) return false;
  const auto& warnings = (*r.report)["warnings"];
  return std::any_of(warnings.begin(), warnings.end(), [](const nlohmann::json& w) {
    return w.get<std::string>().find("Landlock is not available on this host") != std::string::npos;
  });
}

class LandlockTest : public SandboxTest {
 protected:
  // A host directory outside the policy that the sandbox's host uid could read and write by
  // its permissions alone, holding a copy of the canary; and an fd to it, as a caller that
  // leaks one would pass it (here as stdin, which confine hands to the target as the caller's).
  void SetUp() override {
    SandboxTest::SetUp();
    leaked_ = base_ + "/leaked";
    ASSERT_EQ(::mkdir(leaked_.c_str(), 0777), 0);
    ASSERT_EQ(::chmod(leaked_.c_str(), 0777), 0);
    write_text(leaked_ + "/canary.txt", canary_text_ + "\n", 0644);
    fd_ = ::open(leaked_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(fd_, 0);
  }
  void TearDown() override {
    if (fd_ >= 0) ::close(fd_);
    SandboxTest::TearDown();
  }
  RunOptions leaking(RunOptions options = {}) const {
    options.stdin_fd = fd_;
    return options;
  }

  std::string leaked_;
  int fd_ = -1;
};

TEST_F(LandlockTest, TheReportNamesTheLayerAndTheAbiUsed) {
  REQUIRE_LANDLOCK(1);
  write_text(job_path("hello.txt"), "hello\n");
  const RunResult r = run_probe({"read", job_path("hello.txt")});
  ASSERT_TRUE(ProbeOk(r));
  const auto entry = landlock_entry(r);
  ASSERT_TRUE(entry.is_object()) << r.describe();
  EXPECT_EQ(entry["status"], "enforced") << r.describe();
  const int used = std::min(landlock_abi(), 7);
  EXPECT_EQ(entry["mechanism"], "Landlock ABI " + std::to_string(used) + " (landlock_restrict_self)");
  EXPECT_FALSE(warned_about_landlock(r));
}

TEST_F(LandlockTest, AHostDirectoryFdLeakedIntoTheSandboxOpensNothing) {
  // The mount namespace cannot help here: the fd points at the host's directory itself (the
  // shape of CVE-2024-21626), and paths relative to it never pass through the sandbox's root.
  REQUIRE_LANDLOCK(1);
  const RunResult read = run_probe({"read-at", "0", "canary.txt"}, leaking());
  EXPECT_TRUE(ProbeDenied(read));
  EXPECT_EQ(first_line(read.out), "EACCES") << read.describe();
  EXPECT_EQ(read.out.find(canary_text_), std::string::npos);
  const RunResult write = run_probe({"write-at", "0", "planted"}, leaking());
  EXPECT_TRUE(ProbeDenied(write));
  EXPECT_EQ(first_line(write.out), "EACCES") << write.describe();
  EXPECT_FALSE(std::filesystem::exists(leaked_ + "/planted"));

  // The control: without Landlock the same fd reads the host's file and plants one beside it,
  // so the denials above are the Landlock layer's alone.
  const RunResult exposed = run_probe({"read-at", "0", "canary.txt"}, without_landlock(leaking()));
  ASSERT_TRUE(ProbeOk(exposed));
  EXPECT_NE(exposed.out.find(canary_text_), std::string::npos) << exposed.describe();
  EXPECT_TRUE(ProbeOk(run_probe({"write-at", "0", "planted"}, without_landlock(leaking()))));
  EXPECT_TRUE(std::filesystem::exists(leaked_ + "/planted"));
}

TEST_F(LandlockTest, InheritedStdinReopensThroughProc) {
  // stdin is the caller's /dev/null; /dev/stdin leads to it through /proc/self/fd/0, i.e. by
  // the host's path. The rule on the device inode itself lets that through, as before Landlock.
  REQUIRE_LANDLOCK(1);
  const RunResult r = run_probe({"read", "/dev/stdin"});
  EXPECT_TRUE(ProbeOk(r));
  EXPECT_EQ(r.out, "");
}

TEST_F(LandlockTest, TcpBindAndConnectAreDeniedWithNetworkNone) {
  // The empty network namespace still has its own loopback; Landlock denies TCP on it too.
  REQUIRE_LANDLOCK(4);
  const RunResult bind = run_probe({"bind-tcp", "127.0.0.1", "0"});
  EXPECT_TRUE(ProbeDenied(bind));
  EXPECT_EQ(first_line(bind.out), "EACCES") << bind.describe();
  const RunResult connect = run_probe({"connect-tcp", "127.0.0.1", "9"});
  EXPECT_TRUE(ProbeDenied(connect));
  EXPECT_EQ(first_line(connect.out), "EACCES") << connect.describe();
  // The controls: the namespace alone lets the job bind its own loopback, and a connect is
  // refused by the empty namespace (nothing listens), not denied.
  EXPECT_TRUE(ProbeOk(run_probe({"bind-tcp", "127.0.0.1", "0"}, without_landlock())));
  const RunResult refused = run_probe({"connect-tcp", "127.0.0.1", "9"}, without_landlock());
  EXPECT_TRUE(ProbeDenied(refused));
  EXPECT_EQ(first_line(refused.out), "ECONNREFUSED") << refused.describe();
  // With network.mode = "host" TCP is not handled: the job may bind.
  EXPECT_TRUE(ProbeOk(run_probe({"bind-tcp", "127.0.0.1", "0"}, with_args({"--net", "host"}))));
}

TEST_F(LandlockTest, WithoutLandlockBestEffortRunsAndSaysSo) {
  const RunResult r = run_probe({"read-at", "0", "canary.txt"}, without_landlock(leaking()));
  ASSERT_TRUE(ProbeOk(r));
  const auto entry = landlock_entry(r);
  ASSERT_TRUE(entry.is_object()) << r.describe();
  EXPECT_EQ(entry["status"], "best_effort_skipped");
  EXPECT_TRUE(warned_about_landlock(r)) << r.describe();
  EXPECT_NE(r.err.find("Landlock is not available on this host"), std::string::npos) << r.describe();
}

TEST_F(LandlockTest, RequiredWithoutLandlockStartsNothing) {
  const RunOptions required = with_args({"-p", policy("landlock-required.toml")});
  const RunResult refused = run_probe({"write", job_path("ran")}, without_landlock(required));
  EXPECT_TRUE(Ended(refused, "setup_error", 125));
  EXPECT_NE(refused.err.find("Landlock is not available on this host (enforcement.landlock = required at "),
            std::string::npos)
      << refused.describe();
  EXPECT_FALSE(std::filesystem::exists(job_path("ran"))) << "the target ran";
  // Where the kernel has Landlock, the same policy runs.
  REQUIRE_LANDLOCK(1);
  EXPECT_TRUE(ProbeOk(run_probe({"write", job_path("ran")}, required)));
  EXPECT_TRUE(std::filesystem::exists(job_path("ran")));
}

}  // namespace
}  // namespace integ
