// Compiled filters checked by behaviour: each program runs in the userspace BPF interpreter
// against fabricated syscalls. No golden bytes: libseccomp's instruction order may change.
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstdint>
#include <random>
#include <string>

#include "confine/seccomp.h"

namespace confine::seccomp {
namespace {

using policy::SeccompAction;

constexpr uint32_t kAllow = SECCOMP_RET_ALLOW;
constexpr uint32_t kKillProcess = SECCOMP_RET_KILL_PROCESS;
constexpr uint32_t errno_ret(int e) { return SECCOMP_RET_ERRNO | static_cast<uint32_t>(e); }
constexpr uint32_t kX32Bit = 0x40000000;
constexpr uint64_t kThreadFlags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
                                  CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS |
                                  CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
constexpr uint64_t kNamespaceFlags[] = {CLONE_NEWNS,  CLONE_NEWCGROUP, CLONE_NEWUTS,
                                        CLONE_NEWIPC, CLONE_NEWUSER,   CLONE_NEWPID,
                                        CLONE_NEWNET, CLONE_NEWTIME};
constexpr uint64_t kHighBits = 0xffffffff00000000ULL;

policy::SeccompRule rule(SeccompAction action, std::vector<std::string> syscalls,
                         std::optional<int> errno_value = std::nullopt) {
  policy::SeccompRule r;
  r.action = action;
  r.syscalls = std::move(syscalls);
  r.errno_value = errno_value;
  r.origin = {"test.toml", 7, 3};
  return r;
}

policy::Policy::Seccomp section(SeccompAction default_action,
                                std::vector<policy::SeccompRule> rules, int errno_value = EPERM) {
  policy::Policy::Seccomp s;
  s.default_action.value = default_action;
  s.errno_value.value = errno_value;
  s.rules = std::move(rules);
  return s;
}

Program build(const policy::Policy::Seccomp& s) {
  auto resolved = resolve(s);
  EXPECT_TRUE(resolved.has_value()) << resolved.error().render();
  if (!resolved) return {};
  auto program = compile(*resolved);
  EXPECT_TRUE(program.has_value()) << program.error().render();
  if (!program) return {};
  EXPECT_FALSE(program->instructions.empty());
  return std::move(*program);
}

// The SECCOMP_RET_* value for `name` with the given arguments on the native architecture.
uint32_t run(const Program& program, const std::string& name, uint64_t arg0 = 0,
             uint64_t arg1 = 0) {
  auto nr = syscall_number(name);
  EXPECT_TRUE(nr.has_value()) << name;
  FakeSyscall call;
  call.nr = nr.value_or(-1);
  call.args[0] = arg0;
  call.args[1] = arg1;
  auto result = evaluate(program, call);
  EXPECT_TRUE(result.has_value()) << name << ": " << result.error().render();
  return result.value_or(0xdeadbeef);
}

uint32_t run_raw(const Program& program, uint32_t arch, int32_t nr) {
  FakeSyscall call;
  call.arch = arch;
  call.nr = nr;
  auto result = evaluate(program, call);
  EXPECT_TRUE(result.has_value()) << result.error().render();
  return result.value_or(0xdeadbeef);
}

class SeccompDefaultDenyKill : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    program_ = new Program(
        build(section(SeccompAction::kAllow, {rule(SeccompAction::kKill, {"@default-deny"})})));
  }
  static void TearDownTestSuite() {
    delete program_;
    program_ = nullptr;
  }
  static Program* program_;
};
Program* SeccompDefaultDenyKill::program_ = nullptr;

TEST_F(SeccompDefaultDenyKill, EverydaySyscallsAreAllowed) {
  for (const char* name : {"read", "write", "openat", "close", "mmap", "mprotect", "execve",
                           "exit_group", "futex", "getpid", "personality", "seccomp"}) {
    EXPECT_EQ(run(*program_, name), kAllow) << name;
  }
}

TEST_F(SeccompDefaultDenyKill, DeniedGroupsKillTheProcess) {
  for (const char* name :
       {"bpf", "io_uring_setup", "io_uring_enter", "ptrace", "process_vm_writev", "mount",
        "umount2", "fsopen", "move_mount", "keyctl", "add_key", "init_module", "finit_module",
        "kexec_load", "unshare", "setns", "open_by_handle_at", "perf_event_open", "userfaultfd",
        "swapon", "reboot", "clock_settime", "iopl", "uselib", "acct", "syslog",
        "fanotify_init", "modify_ldt", "pidfd_getfd", "kcmp"}) {
    EXPECT_EQ(run(*program_, name), kKillProcess) << name;
  }
}

TEST_F(SeccompDefaultDenyKill, Clone3GetsEnosys) {
  EXPECT_EQ(run(*program_, "clone3"), errno_ret(ENOSYS));
}

TEST_F(SeccompDefaultDenyKill, CloneWithNamespaceFlagsGetsUnsharesAction) {
  EXPECT_EQ(run(*program_, "clone", kThreadFlags), kAllow);
  EXPECT_EQ(run(*program_, "clone", SIGCHLD), kAllow);  // fork()
  EXPECT_EQ(run(*program_, "clone", CLONE_VFORK | CLONE_VM | SIGCHLD), kAllow);
  EXPECT_EQ(run(*program_, "clone", CLONE_NEWUSER | SIGCHLD), kKillProcess);
  for (uint64_t flag : kNamespaceFlags) {
    EXPECT_EQ(run(*program_, "clone", flag), kKillProcess) << std::hex << flag;
    EXPECT_EQ(run(*program_, "clone", flag | kThreadFlags | kHighBits), kKillProcess)
        << std::hex << flag;
  }
}

TEST_F(SeccompDefaultDenyKill, TerminalInjectionIoctlsFailWithEperm) {
  EXPECT_EQ(run(*program_, "ioctl", 0, TIOCSTI), errno_ret(EPERM));
  EXPECT_EQ(run(*program_, "ioctl", 0, kHighBits | TIOCSTI), errno_ret(EPERM));
  EXPECT_EQ(run(*program_, "ioctl", 0, 0x0000000100000000ULL | TIOCSTI), errno_ret(EPERM));
  EXPECT_EQ(run(*program_, "ioctl", 0, TIOCLINUX), errno_ret(EPERM));
  EXPECT_EQ(run(*program_, "ioctl", 0, kHighBits | TIOCLINUX), errno_ret(EPERM));
  EXPECT_EQ(run(*program_, "ioctl", 0, TCGETS), kAllow);
  EXPECT_EQ(run(*program_, "ioctl", 0, TIOCSTI + 1), kAllow);
  EXPECT_EQ(run(*program_, "ioctl", 0, TIOCSTI | 0x10000), kAllow);
}

TEST_F(SeccompDefaultDenyKill, ForeignArchitecturesKillTheProcess) {
  auto write_nr = *syscall_number("write");
  EXPECT_EQ(run_raw(*program_, AUDIT_ARCH_I386, 4), kKillProcess);  // write on i386
  EXPECT_EQ(run_raw(*program_, AUDIT_ARCH_I386, 0), kKillProcess);
  EXPECT_EQ(run_raw(*program_, AUDIT_ARCH_AARCH64, write_nr), kKillProcess);
  EXPECT_EQ(run_raw(*program_, 0, write_nr), kAllow);
}

TEST_F(SeccompDefaultDenyKill, X32SyscallsKillTheProcess) {
  // x32 arrives with the x86_64 arch value and bit 30 set in the number.
  for (const char* name : {"read", "write", "getpid", "bpf"}) {
    auto nr = static_cast<int32_t>(static_cast<uint32_t>(*syscall_number(name)) | kX32Bit);
    EXPECT_EQ(run_raw(*program_, AUDIT_ARCH_X86_64, nr), kKillProcess) << name;
  }
  EXPECT_EQ(run_raw(*program_, AUDIT_ARCH_X86_64, 512 | static_cast<int32_t>(kX32Bit)),
            kKillProcess);  // an x32-only number
}

TEST_F(SeccompDefaultDenyKill, UnknownNumbersGetTheDefault) {
  EXPECT_EQ(run_raw(*program_, 0, 1000), kAllow);
}

TEST(SeccompFilter, ErrnoActionsCarryTheirErrno) {
  Program p = build(section(SeccompAction::kAllow,
                            {rule(SeccompAction::kErrno, {"ptrace"}, EACCES),
                             rule(SeccompAction::kErrno, {"bpf", "@swap"}),
                             rule(SeccompAction::kKill, {"reboot"})},
                            ENOSYS));
  EXPECT_EQ(run(p, "ptrace"), errno_ret(EACCES));
  EXPECT_EQ(run(p, "bpf"), errno_ret(ENOSYS));  // the section's errno
  EXPECT_EQ(run(p, "swapoff"), errno_ret(ENOSYS));
  EXPECT_EQ(run(p, "reboot"), kKillProcess);
  EXPECT_EQ(run(p, "read"), kAllow);
}

TEST(SeccompFilter, LaterRulesOverrideEarlierOnes) {
  Program p = build(section(SeccompAction::kAllow,
                            {rule(SeccompAction::kKill, {"@ptrace"}),
                             rule(SeccompAction::kAllow, {"ptrace"}),
                             rule(SeccompAction::kErrno, {"kcmp"}, EINVAL)}));
  EXPECT_EQ(run(p, "ptrace"), kAllow);
  EXPECT_EQ(run(p, "process_vm_readv"), kKillProcess);
  EXPECT_EQ(run(p, "kcmp"), errno_ret(EINVAL));

  Program q = build(section(SeccompAction::kAllow, {rule(SeccompAction::kAllow, {"ptrace"}),
                                                    rule(SeccompAction::kKill, {"@ptrace"})}));
  EXPECT_EQ(run(q, "ptrace"), kKillProcess);
}

TEST(SeccompFilter, AllowlistModeKeepsTheBuiltins) {
  Program p = build(section(SeccompAction::kKill,
                            {rule(SeccompAction::kAllow, {"read", "write", "exit_group", "clone",
                                                          "clone3", "ioctl", "execve"})}));
  EXPECT_EQ(run(p, "read"), kAllow);
  EXPECT_EQ(run(p, "exit_group"), kAllow);
  EXPECT_EQ(run(p, "openat"), kKillProcess);
  EXPECT_EQ(run(p, "mmap"), kKillProcess);
  EXPECT_EQ(run(p, "clone3"), errno_ret(ENOSYS));  // even though the policy allows it
  EXPECT_NE(p.summary[2].find("(replaces the policy's allow)"), std::string::npos) << p.summary[2];
  EXPECT_EQ(run(p, "clone", kThreadFlags), kAllow);
  EXPECT_EQ(run(p, "clone", SIGCHLD | kHighBits), kAllow);
  for (uint64_t flag : kNamespaceFlags) {
    EXPECT_EQ(run(p, "clone", flag | SIGCHLD), kKillProcess) << std::hex << flag;
  }
  EXPECT_EQ(run(p, "ioctl", 1, TCGETS), kAllow);
  EXPECT_EQ(run(p, "ioctl", 1, TIOCSTI), errno_ret(EPERM));
  EXPECT_EQ(run(p, "ioctl", 1, kHighBits | TIOCSTI), errno_ret(EPERM));
  EXPECT_EQ(run(p, "ioctl", 1, TIOCLINUX), errno_ret(EPERM));
}

// In allowlist mode the allowed ioctls are spelled out as the complement of the two denied
// requests; check that complement is exact around them and at random.
TEST(SeccompFilter, AllowlistIoctlComplementIsExact) {
  Program p = build(section(SeccompAction::kKill, {rule(SeccompAction::kAllow, {"ioctl"})}));
  for (uint64_t request = 0x5300; request < 0x5600; ++request) {
    uint32_t expected = request == TIOCSTI || request == TIOCLINUX ? errno_ret(EPERM) : kAllow;
    ASSERT_EQ(run(p, "ioctl", 0, request), expected) << std::hex << request;
  }
  std::mt19937_64 rng(42);
  for (int i = 0; i < 2000; ++i) {
    uint64_t request = rng();
    uint32_t low = static_cast<uint32_t>(request);
    uint32_t expected = low == TIOCSTI || low == TIOCLINUX ? errno_ret(EPERM) : kAllow;
    ASSERT_EQ(run(p, "ioctl", 0, request), expected) << std::hex << request;
  }
  for (int bit = 0; bit < 64; ++bit) {  // every single-bit flip of TIOCSTI is a different request
    uint64_t request = TIOCSTI ^ (uint64_t{1} << bit);
    uint32_t expected = bit >= 32 ? errno_ret(EPERM) : kAllow;
    ASSERT_EQ(run(p, "ioctl", 0, request), expected) << bit;
  }
}

TEST(SeccompFilter, DefaultErrnoWithIoctlAllowed) {
  Program p = build(section(SeccompAction::kErrno, {rule(SeccompAction::kAllow, {"ioctl"})},
                            EACCES));
  EXPECT_EQ(run(p, "read"), errno_ret(EACCES));
  EXPECT_EQ(run(p, "ioctl", 0, TCGETS), kAllow);
  EXPECT_EQ(run(p, "ioctl", 0, TIOCSTI), errno_ret(EPERM));
  EXPECT_EQ(run(p, "clone", SIGCHLD), errno_ret(EACCES));
}

TEST(SeccompFilter, UnshareErrnoAppliesToCloneNamespaceFlags) {
  Program p = build(section(SeccompAction::kAllow,
                            {rule(SeccompAction::kErrno, {"@namespaces"}, EPERM)}));
  EXPECT_EQ(run(p, "unshare", CLONE_NEWNS), errno_ret(EPERM));
  EXPECT_EQ(run(p, "clone", CLONE_NEWNS | SIGCHLD), errno_ret(EPERM));
  EXPECT_EQ(run(p, "clone", SIGCHLD), kAllow);
}

TEST(SeccompFilter, CloneDeniedOutrightStaysDenied) {
  Program p = build(section(SeccompAction::kAllow, {rule(SeccompAction::kKill, {"clone"})}));
  EXPECT_EQ(run(p, "clone", SIGCHLD), kKillProcess);
  EXPECT_EQ(run(p, "clone", CLONE_NEWUSER), kKillProcess);
  EXPECT_EQ(run(p, "unshare", CLONE_NEWUSER), kAllow);
}

TEST(SeccompFilter, CloneErrnoWithUnshareKillSplits) {
  Program p = build(section(SeccompAction::kAllow, {rule(SeccompAction::kErrno, {"clone"}, EAGAIN),
                                                    rule(SeccompAction::kKill, {"unshare"})}));
  EXPECT_EQ(run(p, "clone", SIGCHLD), errno_ret(EAGAIN));
  EXPECT_EQ(run(p, "clone", CLONE_NEWPID | SIGCHLD), kKillProcess);
}

TEST(SeccompFilter, IoctlDeniedByPolicyKeepsTheStricterAction) {
  Program p = build(section(SeccompAction::kAllow, {rule(SeccompAction::kKill, {"ioctl"})}));
  EXPECT_EQ(run(p, "ioctl", 0, TCGETS), kKillProcess);
  EXPECT_EQ(run(p, "ioctl", 0, TIOCSTI), kKillProcess);
}

TEST(SeccompFilter, NonNativeNamesAreSkippedAndReported) {
  auto resolved = resolve(section(SeccompAction::kAllow, {rule(SeccompAction::kKill, {"@clock"})}));
  ASSERT_TRUE(resolved.has_value()) << resolved.error().render();
  EXPECT_TRUE(resolved->syscalls.contains("stime"));
  auto program = compile(*resolved);
  ASSERT_TRUE(program.has_value()) << program.error().render();
  EXPECT_EQ(run(*program, "settimeofday"), kKillProcess);
  bool reported = false;
  for (const std::string& line : program->summary) {
    if (line.starts_with("not on this architecture") && line.find("stime") != std::string::npos) {
      reported = true;
    }
  }
  EXPECT_TRUE(reported);
}

TEST(SeccompFilter, SummaryIsReadableAndStable) {
  auto s = section(SeccompAction::kAllow, {rule(SeccompAction::kKill, {"@default-deny"}),
                                           rule(SeccompAction::kErrno, {"personality"}, EINVAL)});
  Program a = build(s);
  Program b = build(s);
  EXPECT_EQ(a.summary, b.summary);
  ASSERT_GE(a.summary.size(), 6u);
  EXPECT_EQ(a.summary[0], "default: allow");
  EXPECT_NE(a.summary[1].find("foreign architectures"), std::string::npos);
  EXPECT_EQ(a.summary[2], "built-in: clone3 -> errno ENOSYS, so libc falls back to clone");
  EXPECT_EQ(a.summary[3],
            "built-in: clone with a CLONE_NEW* flag -> kill process, the action for unshare");
  EXPECT_NE(a.summary[4].find("TIOCSTI, TIOCLINUX -> errno EPERM (1)"), std::string::npos);
  EXPECT_TRUE(a.summary[5].starts_with("kill process (")) << a.summary[5];
  bool errno_line = false;
  for (const std::string& line : a.summary) {
    EXPECT_LE(line.size(), 100u) << line;
    if (line == "errno EINVAL (22) (1): personality") errno_line = true;
  }
  EXPECT_TRUE(errno_line);
}

TEST(SeccompResolve, FlattensRulesLaterWinning) {
  auto resolved = resolve(section(SeccompAction::kKill,
                                  {rule(SeccompAction::kAllow, {"read", "write"}),
                                   rule(SeccompAction::kErrno, {"write"}),
                                   rule(SeccompAction::kErrno, {"read"}, EIO)},
                                  ENOSYS));
  ASSERT_TRUE(resolved.has_value()) << resolved.error().render();
  EXPECT_EQ(resolved->default_action, (Action{SeccompAction::kKill, 0}));
  EXPECT_EQ(resolved->syscalls.size(), 2u);
  EXPECT_EQ(resolved->syscalls.at("write"), (Action{SeccompAction::kErrno, ENOSYS}));
  EXPECT_EQ(resolved->syscalls.at("read"), (Action{SeccompAction::kErrno, EIO}));
}

TEST(SeccompResolve, DefaultErrnoUsesTheSectionValue) {
  auto resolved = resolve(section(SeccompAction::kErrno, {}, EACCES));
  ASSERT_TRUE(resolved.has_value());
  EXPECT_EQ(resolved->default_action, (Action{SeccompAction::kErrno, EACCES}));
}

TEST(SeccompResolve, RejectsUnknownNamesWithTheRuleLocation) {
  auto resolved = resolve(section(SeccompAction::kAllow,
                                  {rule(SeccompAction::kKill, {"@mount", "mkdri"})}));
  ASSERT_FALSE(resolved.has_value());
  std::string text = resolved.error().render();
  EXPECT_NE(text.find("test.toml:7:3"), std::string::npos) << text;
  EXPECT_NE(text.find("unknown syscall 'mkdri'"), std::string::npos) << text;
  EXPECT_NE(text.find("did you mean 'mkdir'?"), std::string::npos) << text;
}

TEST(SeccompResolve, RejectsErrnoOutOfRange) {
  for (int bad : {0, -1, 4096, 70000}) {
    auto resolved = resolve(section(SeccompAction::kAllow,
                                    {rule(SeccompAction::kErrno, {"read"}, bad)}));
    ASSERT_FALSE(resolved.has_value()) << bad;
    EXPECT_NE(resolved.error().render().find("out of range"), std::string::npos);
  }
  EXPECT_FALSE(resolve(section(SeccompAction::kErrno, {}, 0)).has_value());
  EXPECT_TRUE(resolve(section(SeccompAction::kErrno, {}, 4095)).has_value());
}

}  // namespace
}  // namespace confine::seccomp
