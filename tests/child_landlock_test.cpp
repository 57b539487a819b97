// The child's Landlock steps (src/child/landlock.cpp) against the real kernel, without any
// namespace or mount: each test forks, restricts the child with rules like the ones the plan
// compiles, and has it try things the rules do or do not allow; a sibling that skips
// landlock_enforce is the control. So what is denied here is denied by the Landlock layer alone.
//
// Landlock needs no privilege (only no_new_privs), so these run as root and as any user. A kernel
// without the ABI a test needs skips it, and fails it under CONFINE_REQUIRE_ALL=1.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "child/landlock.h"
#include "confine/child.h"
#include "confine/landlock.h"

namespace confine::child {
namespace {

namespace fs = std::filesystem;
namespace ll = confine::landlock;

int kernel_abi() {
  const long abi = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, ll::kCreateRulesetVersion);
  return abi > 0 ? static_cast<int>(abi) : 0;
}

bool require_all() {
  const char* value = std::getenv("CONFINE_REQUIRE_ALL");
  return value != nullptr && std::string(value) == "1";
}

#define REQUIRE_ABI(n)                                                                             \
  do {                                                                                             \
    if (kernel_abi() < (n)) {                                                                      \
      if (require_all()) FAIL() << "CONFINE_REQUIRE_ALL=1: needs Landlock ABI " << (n) << ", have " << kernel_abi(); \
      GTEST_SKIP() << "needs Landlock ABI " << (n) << ", this kernel has " << kernel_abi();         \
    }                                                                                              \
  } while (0)

struct Rule {
  std::string path;
  uint64_t access;
};

// Exit codes of the forked child: the errno of what it tried (0 = it worked), or these.
constexpr int kSetupFailed = 200;

// Forks; the child sets no_new_privs, builds the ruleset for `abi` from `rules` (handling the
// network and scopes when asked), enforces it unless `enforce` is false, then returns `attempt`'s
// value as its exit code.
int in_child(int abi, const std::vector<Rule>& rules, bool enforce, const std::function<int()>& attempt,
             uint64_t net = 0, uint64_t scoped = 0) {
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(kSetupFailed);
    Image image;
    image.error_fd = -1;  // a failing step writes nowhere and exits 125
    image.landlock.abi = abi;
    image.landlock.handled_fs = ll::fs_rights(abi);
    image.landlock.handled_net = net & ll::net_rights(abi);
    image.landlock.scoped = scoped & ll::scopes(abi);
    const int ruleset = landlock_create(image);
    for (size_t i = 0; i < rules.size(); ++i) {
      const int fd = ::open(rules[i].path.c_str(), O_PATH | O_CLOEXEC);
      if (fd < 0) ::_exit(kSetupFailed);
      landlock_allow(image, ruleset, fd, rules[i].access & image.landlock.handled_fs, static_cast<int>(i));
      ::close(fd);
    }
    if (enforce) {
      landlock_enforce(image, ruleset);
    } else {
      ::close(ruleset);
    }
    ::_exit(attempt());
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int errno_of(int result) { return result < 0 ? errno : 0; }

int try_open(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}

class LandlockRuleset : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/confine-landlock-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    base_ = pattern;
    fs::create_directories(base_ / "ro");
    fs::create_directories(base_ / "rw" / "sub");
    fs::create_directories(base_ / "outside");
    std::ofstream(base_ / "ro" / "file") << "ro\n";
    std::ofstream(base_ / "rw" / "file") << "rw\n";
    std::ofstream(base_ / "outside" / "secret") << "secret\n";
    fs::copy_file("/bin/true", base_ / "ro" / "true");
    fs::copy_file("/bin/true", base_ / "outside" / "true");
  }
  void TearDown() override { fs::remove_all(base_); }

  std::string at(const std::string& rel) const { return (base_ / rel).string(); }
  // The programs' own libraries and loader (under /usr on Debian's merged /usr), a read-only
  // and a read-write tree: what a policy's ro and rw paths compile to.
  std::vector<Rule> rules() const {
    return {{"/usr", ll::kReadOnly}, {at("ro"), ll::kReadOnly}, {at("rw"), ll::kReadWrite}};
  }
  int abi() const { return std::min(kernel_abi(), ll::kKnownAbi); }

  fs::path base_;
};

TEST_F(LandlockRuleset, NothingOutsideTheRulesOpens) {
  REQUIRE_ABI(1);
  const std::string secret = at("outside/secret");
  // The control: the same child without landlock_enforce reads it.
  EXPECT_EQ(in_child(abi(), rules(), false, [&] { return try_open(secret, O_RDONLY); }), 0);
  EXPECT_EQ(in_child(abi(), rules(), true, [&] { return try_open(secret, O_RDONLY); }), EACCES);
  EXPECT_EQ(in_child(abi(), rules(), true, [&] { return try_open(at("outside/new"), O_WRONLY | O_CREAT); }), EACCES);
  // Listing a directory outside is refused too.
  EXPECT_EQ(in_child(abi(), rules(), true, [&] { return try_open(at("outside"), O_RDONLY | O_DIRECTORY); }), EACCES);
  // Executing a program outside: EACCES from execve.
  EXPECT_EQ(in_child(abi(), rules(), true,
                     [&] {
                       char* argv[] = {const_cast<char*>("true"), nullptr};
                       ::execve(at("outside/true").c_str(), argv, environ);
                       return errno;
                     }),
            EACCES);
}

TEST_F(LandlockRuleset, ReadOnlyRulesReadAndExecuteReadWriteRulesWrite) {
  REQUIRE_ABI(1);
  EXPECT_EQ(in_child(abi(), rules(), true, [&] { return try_open(at("ro/file"), O_RDONLY); }), 0);
  EXPECT_EQ(in_child(abi(), rules(), true,
                     [&] {
                       char* argv[] = {const_cast<char*>("true"), nullptr};
                       ::execve(at("ro/true").c_str(), argv, environ);
                       return errno;
                     }),
            0);  // /bin/true exits 0
  EXPECT_EQ(in_child(abi(), rules(), true, [&] { return try_open(at("ro/file"), O_WRONLY); }), EACCES);
  EXPECT_EQ(in_child(abi(), rules(), true, [&] { return try_open(at("ro/new"), O_WRONLY | O_CREAT); }), EACCES);
  EXPECT_EQ(in_child(abi(), rules(), true, [&] { return try_open(at("rw/new"), O_WRONLY | O_CREAT); }), 0);
  EXPECT_EQ(in_child(abi(), rules(), true, [&] { return errno_of(::mkdir(at("rw/dir").c_str(), 0755)); }), 0);
  EXPECT_EQ(in_child(abi(), rules(), true, [&] { return errno_of(::unlink(at("rw/file").c_str())); }), 0);
  // FIFOs, yes; device nodes nowhere, not even in a read-write tree (Landlock refuses before
  // the capability check, so this holds for root too).
  EXPECT_EQ(in_child(abi(), rules(), true,
                     [&] { return errno_of(::mknod(at("rw/fifo").c_str(), S_IFIFO | 0600, 0)); }),
            0);
  EXPECT_EQ(in_child(abi(), rules(), true,
                     [&] { return errno_of(::mknod(at("rw/null").c_str(), S_IFCHR | 0600, makedev(1, 3))); }),
            EACCES);
}

TEST_F(LandlockRuleset, RenamesAcrossDirectoriesWorkInsideAReadWriteTree) {
  // ABI 2's REFER right: without it (ABI 1) such a rename is always EXDEV.
  REQUIRE_ABI(2);
  std::ofstream(at("rw/moving")) << "x\n";
  EXPECT_EQ(in_child(abi(), rules(), true,
                     [&] { return errno_of(::rename(at("rw/moving").c_str(), at("rw/sub/moved").c_str())); }),
            0);
  // Into a read-only tree: refused.
  EXPECT_NE(in_child(abi(), rules(), true,
                     [&] { return errno_of(::rename(at("rw/sub/moved").c_str(), at("ro/moved").c_str())); }),
            0);
}

TEST_F(LandlockRuleset, ADirectoryFdFromBeforeOpensNothingBeneathIt) {
  // A directory the process held before it was restricted (what a leaked fd gives a target):
  // the fd stays valid, but nothing can be opened through it.
  REQUIRE_ABI(1);
  const auto through_fd = [&] {
    const int dir = ::open(at("outside").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return dir;
  };
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const int dir = through_fd();
    if (dir < 0 || ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(kSetupFailed);
    Image image;
    image.error_fd = -1;
    image.landlock.abi = abi();
    image.landlock.handled_fs = ll::fs_rights(abi());
    landlock_enforce(image, landlock_create(image));
    const int fd = ::openat(dir, "secret", O_RDONLY | O_CLOEXEC);
    ::_exit(fd < 0 ? errno : 0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), EACCES);
}

TEST_F(LandlockRuleset, TcpBindAndConnectAreDeniedWhenHandled) {
  REQUIRE_ABI(4);
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 8), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const auto connect_to_listener = [&] {
    const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    return errno_of(::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr));
  };
  const auto bind_any = [] {
    const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return errno_of(::bind(s, reinterpret_cast<sockaddr*>(&any), sizeof any));
  };
  const uint64_t tcp = ll::kBindTcp | ll::kConnectTcp;
  EXPECT_EQ(in_child(abi(), rules(), true, connect_to_listener, tcp), EACCES);
  EXPECT_EQ(in_child(abi(), rules(), true, bind_any, tcp), EACCES);
  // Not handled (network.mode = "host"): the same ruleset lets both through.
  EXPECT_EQ(in_child(abi(), rules(), true, connect_to_listener, 0), 0);
  EXPECT_EQ(in_child(abi(), rules(), true, bind_any, 0), 0);
  ::close(listener);
}

TEST_F(LandlockRuleset, SignalsAndAbstractSocketsDoNotLeaveTheDomain) {
  REQUIRE_ABI(6);
  // A process outside the domain: the child may not signal it.
  const pid_t victim = ::fork();
  ASSERT_GE(victim, 0);
  if (victim == 0) {
    ::pause();
    ::_exit(0);
  }
  const uint64_t both = ll::kScopeAbstractUnixSocket | ll::kScopeSignal;
  EXPECT_EQ(in_child(abi(), rules(), true, [&] { return errno_of(::kill(victim, SIGTERM)); }, 0, both), EPERM);
  EXPECT_EQ(::waitpid(victim, nullptr, WNOHANG), 0) << "the victim died: the scope did not hold";
  // The control: unscoped, the same signal kills it.
  EXPECT_EQ(in_child(abi(), rules(), true, [&] { return errno_of(::kill(victim, SIGTERM)); }, 0, 0), 0);
  int status = 0;
  EXPECT_EQ(::waitpid(victim, &status, 0), victim);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);

  // An abstract unix socket bound outside the domain: connect fails with EPERM.
  const int server = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(server, 0);
  sockaddr_un name{};
  name.sun_family = AF_UNIX;
  const std::string abstract = "confine-landlock-test-" + std::to_string(::getpid());
  std::memcpy(name.sun_path + 1, abstract.data(), abstract.size());
  const auto name_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + abstract.size());
  ASSERT_EQ(::bind(server, reinterpret_cast<sockaddr*>(&name), name_len), 0);
  ASSERT_EQ(::listen(server, 8), 0);
  const auto connect_abstract = [&] {
    const int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    return errno_of(::connect(s, reinterpret_cast<sockaddr*>(&name), name_len));
  };
  EXPECT_EQ(in_child(abi(), rules(), true, connect_abstract, 0, both), EPERM);
  EXPECT_EQ(in_child(abi(), rules(), true, connect_abstract, 0, ll::kScopeSignal), 0);
  ::close(server);
}

TEST_F(LandlockRuleset, ARuleThatTheAbiCannotHoldIsASetupFailure) {
  // A directory right on a file: the kernel refuses the rule (EINVAL), and the child reports it
  // and exits 125 rather than running with a rule missing.
  REQUIRE_ABI(1);
  const std::vector<Rule> bad{{at("ro/file"), ll::kReadDir}};
  EXPECT_EQ(in_child(abi(), bad, true, [] { return 0; }), 125);
}

}  // namespace
}  // namespace confine::child
