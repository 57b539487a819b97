// The seccomp filter observed from inside: every @default-deny family kills the target
// (outcome seccomp_violation, exit 159), ordinary calls work, clone3 gets ENOSYS, and TIOCSTI
// fails whatever the upper 32 bits of the request.
#include <fcntl.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "fixture.h"

namespace integ {
namespace {

std::string param_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

class DeniedSyscallTest : public SandboxTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(DeniedSyscallTest, KillsTheTarget) {
  const RunResult r = run_probe({"try-syscall", GetParam()});
  // The report names the syscall the filter saw: clone-newuser is clone with CLONE_NEWUSER.
  const std::string syscall = GetParam() == "clone-newuser" ? "clone" : GetParam();
  EXPECT_TRUE(KilledBySeccomp(r, syscall));
  EXPECT_EQ(r.out, "") << "the call returned instead of killing the probe";
}

// A policy whose filter denies sendmsg still hands confine its listener (sendmsg on the handoff
// descriptor has its own exception): the violation is named.
TEST_F(SandboxTest, WithoutSendmsgViolationsAreStillNamed) {
  const RunResult r = run_probe({"try-syscall", "bpf"}, with_args({"-p", policy("no-sendmsg.toml")}));
  EXPECT_TRUE(KilledBySeccomp(r, "bpf"));
}

// A forbidden syscall in a grandchild still ends the whole job at once, named.
TEST_F(SandboxTest, ViolationInAGrandchildKillsTheWholeJob) {
  const RunResult r = run_probe({"try-syscall-in-child", "bpf"});
  EXPECT_TRUE(KilledBySeccomp(r, "bpf"));
}

// Every family of @default-deny, one call each (probe_syscalls.cpp makes them harmlessly).
const std::vector<std::string> kDenied = {
    "bpf", "io_uring_setup", "perf_event_open", "userfaultfd", "keyctl", "add_key", "kexec_load",
    "init_module", "finit_module", "mount", "umount2", "pivot_root", "ptrace", "process_vm_readv",
    "open_by_handle_at", "name_to_handle_at", "unshare", "setns", "clone-newuser", "swapon", "reboot",
    "settimeofday", "clock_settime",
#ifdef __x86_64__
    "iopl",  // x86 only
#endif
    "acct", "syslog"};

INSTANTIATE_TEST_SUITE_P(DefaultDeny, DeniedSyscallTest, ::testing::ValuesIn(kDenied),
                         param_name);

class AllowedSyscallTest : public SandboxTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(AllowedSyscallTest, Works) {
  const RunResult r = run_probe({"try-syscall", GetParam()});
  EXPECT_TRUE(ProbeOk(r));
  EXPECT_EQ(r.out, "ok\n");
}

INSTANTIATE_TEST_SUITE_P(Ordinary, AllowedSyscallTest, ::testing::Values("getpid", "read", "write", "openat", "uname"),
                         param_name);

using SeccompTest = SandboxTest;

TEST_F(SeccompTest, Clone3GetsEnosys) {
  // ENOSYS, not a kill: glibc then falls back to clone, whose flags the filter can inspect
  // (clone3 passes them in memory, out of seccomp's reach).
  const RunResult r = run_probe({"try-syscall", "clone3"});
  EXPECT_TRUE(ProbeDenied(r));
  EXPECT_EQ(first_line(r.out), "ENOSYS");
}

class TiocstiTest : public SandboxTest, public ::testing::WithParamInterface<bool> {};

TEST_P(TiocstiTest, CannotInjectIntoTheCallersTerminal) {
  // The caller's terminal is a pty whose slave is confine's stdin, as when a user runs
  // confine from a shell.
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(master, 0);
  ASSERT_EQ(::grantpt(master), 0);
  ASSERT_EQ(::unlockpt(master), 0);
  const char* slave_name = ::ptsname(master);
  ASSERT_NE(slave_name, nullptr);
  const int slave = ::open(slave_name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(slave, 0);
  termios raw{};
  ASSERT_EQ(::tcgetattr(slave, &raw), 0);
  ::cfmakeraw(&raw);
  ASSERT_EQ(::tcsetattr(slave, TCSANOW, &raw), 0);

  std::vector<std::string> args{"tiocsti"};
  if (GetParam()) args.push_back("--high-bits");

  // The control, as root only (TIOCSTI on a terminal that is not the caller's controlling
  // terminal needs CAP_SYS_ADMIN): unconfined, the same probe does inject, so the failure
  // below is the sandbox's doing.
  if (is_root()) {
    Invocation direct;
    direct.argv = {probe_binary(), "--tag", tag_};
    direct.argv.insert(direct.argv.end(), args.begin(), args.end());
    direct.stdin_fd = slave;
    const RunResult unconfined = integ::start(direct, "").wait();
    EXPECT_EQ(unconfined.exit_code, 0) << unconfined.describe();
    ASSERT_EQ(::fcntl(slave, F_SETFL, O_NONBLOCK), 0);
    char injected = 0;
    EXPECT_EQ(::read(slave, &injected, 1), 1) << "the control did not inject (dev.tty.legacy_tiocsti = 0?)";
    EXPECT_EQ(injected, '#');
    ASSERT_EQ(::fcntl(slave, F_SETFL, 0), 0);
  }

  // The job never holds the caller's terminal: confine relays its output through a pty of the
  // job's own. TIOCSTI there is refused by the filter all the same.
  RunOptions options = with_stdin(slave);
  options.stderr_fd = slave;
  const RunResult r = run_probe(args, options);
  EXPECT_TRUE(ProbeDenied(r));
  const std::string err = first_line(r.out);
  EXPECT_TRUE(err == "EPERM" || err == "EIO" || err == "EACCES") << r.describe();

  // Nothing was pushed into the terminal's input queue.
  ASSERT_EQ(::fcntl(slave, F_SETFL, O_NONBLOCK), 0);
  char byte = 0;
  const ssize_t n = ::read(slave, &byte, 1);
  const int read_errno = errno;
  EXPECT_EQ(n, -1) << "the terminal received '" << byte << "' from the sandbox";
  EXPECT_EQ(read_errno, EAGAIN);
  ::close(slave);
  ::close(master);
}

INSTANTIATE_TEST_SUITE_P(Request, TiocstiTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return std::string(param.param ? "HighBitsSet" : "Plain");
                         });

}  // namespace
}  // namespace integ
