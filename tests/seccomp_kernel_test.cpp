// Compiled programs installed in the real kernel: a forked child sets no_new_privs, installs the
// filter with seccomp(2) and probes it; the exit code or signal says what happened. No root is
// needed (no_new_privs is what lets an unprivileged process install a filter).
#include <gtest/gtest.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <functional>

#include "confine/fd.h"
#include "confine/seccomp.h"

namespace confine::seccomp {
namespace {

using policy::SeccompAction;

// Exit codes the child uses to say which probe failed.
enum ChildExit : int {
  kOk = 0,
  kInstallFailed = 2,
  kAllowedFailed = 10,
  kErrnoWrong = 11,
  kClone3NotEnosys = 12,
  kTiocstiNotEperm = 13,
  kTcgetsBlocked = 14,
  kSurvivedKill = 20,
};

Program compile_policy() {
  policy::Policy::Seccomp s;
  policy::SeccompRule kill;
  kill.action = SeccompAction::kKill;
  kill.syscalls = {"@default-deny"};
  policy::SeccompRule deny;
  deny.action = SeccompAction::kErrno;
  deny.errno_value = EACCES;
  deny.syscalls = {"getppid"};
  s.rules = {kill, deny};
  auto resolved = resolve(s);
  EXPECT_TRUE(resolved.has_value()) << resolved.error().render();
  if (!resolved) return {};
  auto program = compile(*resolved);
  EXPECT_TRUE(program.has_value()) << program.error().render();
  return program ? std::move(*program) : Program{};
}

// Runs `probe` in a forked child under `program` and returns the raw wait status. Everything the
// child needs is prepared before fork; the child itself only makes syscalls.
int run_confined(const Program& program, const std::function<int()>& probe) {
  sock_fprog prog{static_cast<unsigned short>(program.instructions.size()),
                  const_cast<sock_filter*>(program.instructions.data())};
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);  // the kill probes would otherwise dump core
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(kInstallFailed);
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) _exit(kInstallFailed);
    _exit(probe());
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

class SeccompKernel : public testing::Test {
 protected:
  void SetUp() override {
    if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 && errno == EINVAL) {
      GTEST_SKIP() << "kernel built without seccomp";
    }
    program_ = compile_policy();
    ASSERT_FALSE(program_.instructions.empty());
  }
  Program program_;
};

TEST_F(SeccompKernel, AllowedErrnoAndBuiltinsBehave) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  int status = run_confined(program_, [&]() -> int {
    if (syscall(SYS_getpid) <= 0) return kAllowedFailed;
    if (syscall(SYS_getppid) != -1 || errno != EACCES) return kErrnoWrong;
    if (syscall(SYS_clone3, nullptr, 0) != -1 || errno != ENOSYS) return kClone3NotEnosys;
    // A pipe is not a terminal: without the filter both ioctls would fail with ENOTTY.
    char c = 'x';
    uint64_t smuggled = 0xffffffff00000000ULL | TIOCSTI;
    if (syscall(SYS_ioctl, read_end.get(), smuggled, &c) != -1 || errno != EPERM) {
      return kTiocstiNotEperm;
    }
    if (syscall(SYS_ioctl, read_end.get(), TIOCSTI, &c) != -1 || errno != EPERM) {
      return kTiocstiNotEperm;
    }
    termios t{};
    if (syscall(SYS_ioctl, read_end.get(), TCGETS, &t) != -1 || errno != ENOTTY) {
      return kTcgetsBlocked;
    }
    return kOk;
  });
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), kOk);
}

TEST_F(SeccompKernel, DeniedSyscallKillsWithSigsys) {
  int status = run_confined(program_, [] {
    syscall(SYS_bpf, -1, nullptr, 0);
    return kSurvivedKill;
  });
  ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status;
  EXPECT_EQ(WTERMSIG(status), SIGSYS);
}

TEST_F(SeccompKernel, CloneIntoNewUserNamespaceKills) {
  int status = run_confined(program_, [] {
    long child = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (child == 0) _exit(kSurvivedKill);  // the filter let it through: leave at once
    if (child > 0) waitpid(static_cast<pid_t>(child), nullptr, 0);
    return kSurvivedKill;
  });
  ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status;
  EXPECT_EQ(WTERMSIG(status), SIGSYS);
}

TEST_F(SeccompKernel, PlainForkStillWorks) {
  int status = run_confined(program_, [] {
    pid_t child = fork();  // glibc tries clone3 (ENOSYS), then clone without namespace flags
    if (child < 0) return kAllowedFailed;
    if (child == 0) _exit(0);
    int child_status = 0;
    if (waitpid(child, &child_status, 0) != child) return kAllowedFailed;
    return WIFEXITED(child_status) && WEXITSTATUS(child_status) == 0 ? kOk : kAllowedFailed;
  });
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), kOk);
}

}  // namespace
}  // namespace confine::seccomp
