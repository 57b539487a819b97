// The Landlock layer in real sandboxes (docs/security.md, "Landlock"): what it stops that the
// mount namespace does not, with a control for each through `confine-probe without-landlock`
// (the Landlock syscalls fail with ENOSYS for confine and its sandbox, as on a kernel without
// Landlock), and how `enforcement.landlock` behaves on such a host. Root and rootless.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
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

// A host process that hands the job a descriptor: it listens on a unix socket in the job
// directory (the job may connect to any socket there, docs/security.md §3) and sends the fd of
// its choice to the first connection, as a broker with a bug might.
class FdHandOver {
 public:
  FdHandOver(const std::string& path, int fd) : fd_(fd) {
    listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    ok_ = listener_ >= 0 && ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
          ::chmod(path.c_str(), 0777) == 0 && ::listen(listener_, 1) == 0;
  }
  FdHandOver(const FdHandOver&) = delete;
  FdHandOver& operator=(const FdHandOver&) = delete;
  ~FdHandOver() {
    if (listener_ >= 0) ::close(listener_);
  }
  [[nodiscard]] bool listening() const { return ok_; }
  // Waits for the job to connect, then sends the fd. False when nobody came in time.
  [[nodiscard]] bool hand_over(std::chrono::milliseconds timeout) const {
    pollfd p{listener_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return false;
    const int conn = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) return false;
    char byte = 'F';
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr message{};
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(header), &fd_, sizeof fd_);
    const bool sent = ::sendmsg(conn, &message, MSG_NOSIGNAL) == 1;
    ::close(conn);
    return sent;
  }

 private:
  int fd_;
  int listener_ = -1;
  bool ok_ = false;
};

class LandlockTest : public SandboxTest {
 protected:
  // A host directory outside the policy that the sandbox's host uid could read and write by
  // its permissions alone, holding a copy of the canary, and an fd to it for the job.
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
  // Runs `passed-read|passed-write NAME` with the directory fd handed over to it.
  RunResult with_passed_fd(const std::string& verb, const std::string& name, const RunOptions& options = {}) {
    const std::string socket = job_path("fd-" + std::to_string(++sockets_) + ".sock");
    const FdHandOver passer(socket, fd_);
    EXPECT_TRUE(passer.listening()) << std::strerror(errno);
    Running running = start_probe({verb, socket, name}, options);
    EXPECT_TRUE(passer.hand_over(std::chrono::seconds(30))) << "the job never asked for the descriptor";
    return running.wait();
  }

  std::string leaked_;
  int fd_ = -1;
  int sockets_ = 0;
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

TEST_F(LandlockTest, AHostDirectoryFdHandedToTheJobOpensNothing) {
  // The mount namespace cannot help here: the fd points at the host's directory itself (the
  // shape of CVE-2024-21626's leaked fd), and paths relative to it never pass through the
  // sandbox's root.
  REQUIRE_LANDLOCK(1);
  const RunResult read = with_passed_fd("passed-read", "canary.txt");
  EXPECT_TRUE(ProbeDenied(read));
  EXPECT_EQ(first_line(read.out), "EACCES") << read.describe();
  EXPECT_EQ(read.out.find(canary_text_), std::string::npos);
  const RunResult write = with_passed_fd("passed-write", "planted");
  EXPECT_TRUE(ProbeDenied(write));
  EXPECT_EQ(first_line(write.out), "EACCES") << write.describe();
  EXPECT_FALSE(std::filesystem::exists(leaked_ + "/planted"));

  // The control: without Landlock the same fd reads the host's file and plants one beside it,
  // so the denials above are the Landlock layer's alone.
  const RunResult exposed = with_passed_fd("passed-read", "canary.txt", without_landlock());
  ASSERT_TRUE(ProbeOk(exposed));
  EXPECT_NE(exposed.out.find(canary_text_), std::string::npos) << exposed.describe();
  EXPECT_TRUE(ProbeOk(with_passed_fd("passed-write", "planted", without_landlock())));
  EXPECT_TRUE(std::filesystem::exists(leaked_ + "/planted"));
}

TEST_F(LandlockTest, InheritedStdinReopensThroughProc) {
  // stdin is the host's /dev/null (confine opens it for a job whose stdin it does not relay);
  // /dev/stdin leads to it through /proc/self/fd/0, i.e. by the host's path. The rule on the
  // device inode itself lets that through, as before Landlock.
  REQUIRE_LANDLOCK(1);
  const RunResult r = run_probe({"read", "/dev/stdin"});
  EXPECT_TRUE(ProbeOk(r));
  EXPECT_EQ(r.out, "");
}

TEST_F(LandlockTest, TcpBindAndConnectAreDeniedWithNetworkNone) {
  // The empty network namespace still has its own loopback; Landlock denies TCP on it too.
  REQUIRE_LANDLOCK(4);
  // default.toml allows unix sockets only; this policy adds inet, so that Landlock is what refuses.
  const RunOptions inet = with_args({"-p", policy("socket-families.toml")});
  const RunResult bind = run_probe({"bind-tcp", "127.0.0.1", "0"}, inet);
  EXPECT_TRUE(ProbeDenied(bind));
  EXPECT_EQ(first_line(bind.out), "EACCES") << bind.describe();
  const RunResult connect = run_probe({"connect-tcp", "127.0.0.1", "9"}, inet);
  EXPECT_TRUE(ProbeDenied(connect));
  EXPECT_EQ(first_line(connect.out), "EACCES") << connect.describe();
  // The controls: the namespace alone lets the job bind its own loopback, and a connect is
  // refused by the empty namespace (nothing listens), not denied.
  EXPECT_TRUE(ProbeOk(run_probe({"bind-tcp", "127.0.0.1", "0"}, without_landlock(inet))));
  const RunResult refused = run_probe({"connect-tcp", "127.0.0.1", "9"}, without_landlock(inet));
  EXPECT_TRUE(ProbeDenied(refused));
  EXPECT_EQ(first_line(refused.out), "ECONNREFUSED") << refused.describe();
  // With network.mode = "host" TCP is not handled: the job may bind.
  EXPECT_TRUE(ProbeOk(run_probe({"bind-tcp", "127.0.0.1", "0"}, with_args({"--net", "host"}))));
}

TEST_F(LandlockTest, WithoutLandlockBestEffortRunsAndSaysSo) {
  write_text(job_path("hello.txt"), "hello\n");
  const RunResult r = run_probe({"read", job_path("hello.txt")}, without_landlock());
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
