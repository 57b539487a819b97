// The argument-filtered built-ins (src/seccomp/hardening.cpp), checked by behaviour in the
// userspace BPF interpreter, under a deny-list (default allow) and an allow-list (default kill)
// policy: the rules must hold whatever the default action is.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/falloc.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "confine/seccomp.h"

namespace confine::seccomp {
namespace {

using policy::SeccompAction;

constexpr uint32_t kAllow = SECCOMP_RET_ALLOW;
constexpr uint32_t kKillProcess = SECCOMP_RET_KILL_PROCESS;
constexpr uint32_t kNotify = SECCOMP_RET_USER_NOTIF;
constexpr uint32_t errno_ret(int e) { return SECCOMP_RET_ERRNO | static_cast<uint32_t>(e); }
constexpr uint64_t kHigh = 0xffffffff00000000ULL;
#ifndef __O_TMPFILE
constexpr uint64_t kTmpfile = 020000000;
#else
constexpr uint64_t kTmpfile = __O_TMPFILE;
#endif

policy::Policy::Seccomp section(SeccompAction default_action, std::vector<std::string> allowed = {},
                                std::vector<std::string> killed = {}) {
  policy::Policy::Seccomp s;
  s.default_action.value = default_action;
  if (!allowed.empty()) {
    policy::SeccompRule r;
    r.action = SeccompAction::kAllow;
    r.syscalls = std::move(allowed);
    s.rules.push_back(r);
  }
  if (!killed.empty()) {
    policy::SeccompRule r;
    r.action = SeccompAction::kKill;
    r.syscalls = std::move(killed);
    s.rules.push_back(r);
  }
  return s;
}

CompileOptions all_builtins() {
  CompileOptions o;
  o.socket_families = {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK};
  o.deny_setid_modes = true;
  o.deny_fallocate_keep_size = true;
  o.deny_unaccounted_memory = true;
  return o;
}

Program build(const policy::Policy::Seccomp& s, const CompileOptions& options) {
  auto resolved = resolve(s);
  EXPECT_TRUE(resolved.has_value()) << resolved.error().render();
  if (!resolved) return {};
  auto program = compile(*resolved, options);
  EXPECT_TRUE(program.has_value()) << program.error().render();
  return program ? std::move(*program) : Program{};
}

uint32_t run(const Program& program, int nr, std::vector<uint64_t> args) {
  FakeSyscall call;
  call.nr = nr;
  for (size_t i = 0; i < args.size() && i < 6; ++i) call.args[i] = args[i];
  auto result = evaluate(program, call);
  EXPECT_TRUE(result.has_value()) << result.error().render();
  return result.value_or(0xdeadbeef);
}
uint32_t run(const Program& program, const std::string& name, std::vector<uint64_t> args) {
  auto nr = syscall_number(name);
  EXPECT_TRUE(nr.has_value()) << name;
  return run(program, nr.value_or(-1), std::move(args));
}

// The syscalls the built-ins touch, allowed explicitly for the allow-list case.
const std::vector<std::string> kTouched = {"socket", "socketpair", "chmod",    "fchmod",    "fchmodat", "mkdir",
                                           "mkdirat", "mknod",     "mknodat",  "creat",     "open",     "openat",
                                           "openat2", "fallocate", "memfd_create", "shmget", "msgget",  "read"};

class Builtins : public testing::TestWithParam<SeccompAction> {
 protected:
  void SetUp() override {
    const bool allow_list = GetParam() != SeccompAction::kAllow;
    program_ = build(section(GetParam(), allow_list ? kTouched : std::vector<std::string>{}), all_builtins());
  }
  Program program_;
};

TEST_P(Builtins, SocketTakesOnlyTheAllowedFamilies) {
  for (int family : {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK}) {
    EXPECT_EQ(run(program_, "socket", {static_cast<uint64_t>(family), SOCK_STREAM, 0}), kAllow) << family;
    EXPECT_EQ(run(program_, "socketpair", {static_cast<uint64_t>(family), SOCK_STREAM, 0}), kAllow) << family;
  }
  for (uint64_t family : {uint64_t{AF_VSOCK}, uint64_t{AF_PACKET}, uint64_t{AF_ALG}, uint64_t{AF_BLUETOOTH},
                          uint64_t{AF_UNSPEC}, uint64_t{63}, uint64_t{1000}, uint64_t{0xffffffff}}) {
    EXPECT_EQ(run(program_, "socket", {family, SOCK_STREAM, 0}), errno_ret(EAFNOSUPPORT)) << family;
    EXPECT_EQ(run(program_, "socketpair", {family, SOCK_STREAM, 0}), errno_ret(EAFNOSUPPORT)) << family;
  }
  // The kernel reads the domain as int: high bits change nothing, either way.
  EXPECT_EQ(run(program_, "socket", {kHigh | AF_VSOCK, SOCK_STREAM, 0}), errno_ret(EAFNOSUPPORT));
  EXPECT_EQ(run(program_, "socket", {kHigh | AF_UNIX, SOCK_STREAM, 0}), kAllow);
}

TEST_P(Builtins, SetIdModesFailWithEperm) {
  struct Call {
    const char* name;
    size_t mode_arg;
  };
  for (const Call& c : {Call{"chmod", 1}, Call{"fchmod", 1}, Call{"fchmodat", 2}, Call{"mkdir", 1},
                        Call{"mkdirat", 2}, Call{"mknod", 1}, Call{"mknodat", 2}, Call{"creat", 1}}) {
    auto with_mode = [&](uint64_t mode) {
      std::vector<uint64_t> args(4, 0);
      args[c.mode_arg] = mode;
      return run(program_, c.name, args);
    };
    EXPECT_EQ(with_mode(0755), kAllow) << c.name;
    EXPECT_EQ(with_mode(01777), kAllow) << c.name;  // sticky is fine
    EXPECT_EQ(with_mode(04755), errno_ret(EPERM)) << c.name;
    EXPECT_EQ(with_mode(02755), errno_ret(EPERM)) << c.name;
    EXPECT_EQ(with_mode(06000), errno_ret(EPERM)) << c.name;
    EXPECT_EQ(with_mode(S_IFREG | 04644), errno_ret(EPERM)) << c.name;
  }
  // fchmodat2 (452): not in libseccomp 2.5.4's tables, ruled by number under a default allow;
  // under an allow-list nothing names it, so it gets the default action.
  const uint32_t plain = run(program_, 452, {0, 0, 0755, 0});
  const uint32_t setuid = run(program_, 452, {0, 0, 04755, 0});
  if (GetParam() == SeccompAction::kAllow) {
    EXPECT_EQ(plain, kAllow);
    EXPECT_EQ(setuid, errno_ret(EPERM));
  } else {
    EXPECT_EQ(plain, setuid);
    EXPECT_NE(setuid, kAllow);
  }
}

TEST_P(Builtins, CreatingOpensWithSetIdModesFailWithEperm) {
  // open(path, flags, mode), openat(dirfd, path, flags, mode)
  EXPECT_EQ(run(program_, "open", {0, O_WRONLY | O_CREAT, 0644}), kAllow);
  EXPECT_EQ(run(program_, "open", {0, O_WRONLY | O_CREAT, 04755}), errno_ret(EPERM));
  EXPECT_EQ(run(program_, "open", {0, O_RDONLY, 04755}), kAllow);  // not creating: mode ignored
  EXPECT_EQ(run(program_, "openat", {0, 0, O_WRONLY | O_CREAT | O_TRUNC, 02755}), errno_ret(EPERM));
  EXPECT_EQ(run(program_, "openat", {0, 0, kTmpfile | O_DIRECTORY | O_WRONLY, 04700}), errno_ret(EPERM));
  EXPECT_EQ(run(program_, "openat", {0, 0, O_RDONLY, 06777}), kAllow);
  EXPECT_EQ(run(program_, "openat", {0, 0, O_WRONLY | O_CREAT, 0600}), kAllow);
  EXPECT_EQ(run(program_, "openat2", {0, 0, 0, 24}), errno_ret(ENOSYS));
}

TEST_P(Builtins, FallocateKeepSizeFailsUnlessItPunchesAHole) {
  EXPECT_EQ(run(program_, "fallocate", {3, 0, 0, 4096}), kAllow);
  EXPECT_EQ(run(program_, "fallocate", {3, FALLOC_FL_KEEP_SIZE, 0, 4096}), errno_ret(EOPNOTSUPP));
  EXPECT_EQ(run(program_, "fallocate", {3, FALLOC_FL_KEEP_SIZE | FALLOC_FL_ZERO_RANGE, 0, 4096}),
            errno_ret(EOPNOTSUPP));
  EXPECT_EQ(run(program_, "fallocate", {3, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, 4096}), kAllow);
}

TEST_P(Builtins, MemoryRlimitAsCannotSeeIsRefused) {
  for (const char* name : {"memfd_create", "shmget", "msgget"}) {
    EXPECT_EQ(run(program_, name, {}), errno_ret(ENOSYS)) << name;
  }
  EXPECT_EQ(run(program_, "read", {0, 0, 0}), kAllow);
}

INSTANTIATE_TEST_SUITE_P(DefaultAction, Builtins, testing::Values(SeccompAction::kAllow, SeccompAction::kKill),
                         [](const testing::TestParamInfo<SeccompAction>& param) {
                           return param.param == SeccompAction::kAllow ? std::string("DenyList")
                                                                       : std::string("AllowList");
                         });

TEST(BuiltinOptions, EachRuleIsOnlyThereWhenAsked) {
  const Program none = build(section(SeccompAction::kAllow), CompileOptions{});
  EXPECT_EQ(run(none, "socket", {AF_VSOCK, SOCK_STREAM, 0}), kAllow);
  EXPECT_EQ(run(none, "chmod", {0, 04755}), kAllow);
  EXPECT_EQ(run(none, "fallocate", {3, FALLOC_FL_KEEP_SIZE, 0, 1}), kAllow);
  EXPECT_EQ(run(none, "memfd_create", {0, 0}), kAllow);
}

TEST(BuiltinOptions, APolicyThatDeniesTheSyscallKeepsItsAction) {
  CompileOptions o = all_builtins();
  const Program p = build(section(SeccompAction::kAllow, {}, {"socket", "chmod", "fallocate", "memfd_create"}), o);
  EXPECT_EQ(run(p, "socket", {AF_UNIX, SOCK_STREAM, 0}), kKillProcess);
  EXPECT_EQ(run(p, "chmod", {0, 0644}), kKillProcess);
  EXPECT_EQ(run(p, "fallocate", {3, 0, 0, 1}), kKillProcess);
  EXPECT_EQ(run(p, "memfd_create", {0, 0}), kKillProcess);
}

// Notify mode: kill rules notify, and so does every call that could end a thread parked on one
// before the reaper reads it; the verdict program (the same rules without notify) allows those,
// which is how the reaper tells supervision from a violation.
TEST(Supervision, ExitsExecsAndSignalsNotifyAndTheVerdictAllowsThem) {
  CompileOptions o;
  o.notify = Notify::kNamed;
  const Program p = build(section(SeccompAction::kAllow, {}, {"bpf"}), o);
  const Program verdict = build(section(SeccompAction::kAllow, {}, {"bpf"}), CompileOptions{});
  EXPECT_EQ(run(p, "bpf", {}), kNotify);
  EXPECT_EQ(run(verdict, "bpf", {}), kKillProcess);
  for (const char* name : {"exit_group", "execve", "execveat", "kill", "tkill", "tgkill", "pidfd_send_signal",
                           "rt_sigqueueinfo", "rt_tgsigqueueinfo"}) {
    EXPECT_EQ(run(p, name, {}), kNotify) << name;
    EXPECT_EQ(run(verdict, name, {}), kAllow) << name;
  }
  EXPECT_EQ(run(p, "exit", {}), kAllow);  // one thread's exit ends nobody else
  EXPECT_EQ(run(p, "read", {}), kAllow);
}

TEST(Supervision, NothingIsSupervisedWithoutNotify) {
  const Program p = build(section(SeccompAction::kAllow, {}, {"bpf"}), CompileOptions{});
  EXPECT_EQ(run(p, "bpf", {}), kKillProcess);
  EXPECT_EQ(run(p, "exit_group", {}), kAllow);
  EXPECT_FALSE(p.notify);
}

TEST(Supervision, ACallThePolicyDeniesIsAViolationNotSupervision) {
  CompileOptions o;
  o.notify = Notify::kNamed;
  const Program p = build(section(SeccompAction::kAllow, {}, {"kill"}), o);
  const Program verdict = build(section(SeccompAction::kAllow, {}, {"kill"}), CompileOptions{});
  EXPECT_EQ(run(p, "kill", {}), kNotify);
  EXPECT_EQ(run(verdict, "kill", {}), kKillProcess);
}

// Under an allow-list the default kill notifies too: its victim is named like any other.
TEST(NamedDenials, TheDefaultKillOfAnAllowListNotifies) {
  CompileOptions o;
  o.notify = Notify::kNamed;
  const Program p = build(section(SeccompAction::kKill, {"read", "write", "exit_group"}), o);
  EXPECT_EQ(run(p, "getppid", {}), kNotify);
  EXPECT_EQ(run(p, "read", {}), kAllow);
}

// The listener's way out: sendmsg on kListenerHandoffFd is allowed whatever the policy says of
// sendmsg; on any other descriptor it keeps the policy's action.
TEST(NamedDenials, SendmsgOnTheHandoffDescriptorOnlyIsAllowed) {
  CompileOptions o;
  o.notify = Notify::kNamed;
  for (SeccompAction default_action : {SeccompAction::kAllow, SeccompAction::kKill}) {
    const Program p = default_action == SeccompAction::kAllow
                          ? build(section(SeccompAction::kAllow, {}, {"sendmsg"}), o)
                          : build(section(SeccompAction::kKill, {"read"}), o);
    EXPECT_EQ(run(p, "sendmsg", {static_cast<uint64_t>(kListenerHandoffFd), 0, 0}), kAllow);
    EXPECT_EQ(run(p, "sendmsg", {kHigh | static_cast<uint64_t>(kListenerHandoffFd), 0, 0}), kAllow);  // an int
    EXPECT_EQ(run(p, "sendmsg", {3, 0, 0}), kNotify);
    EXPECT_EQ(run(p, "sendmsg", {static_cast<uint64_t>(kListenerHandoffFd) + 1, 0, 0}), kNotify);
  }
  // Without notify there is no listener to hand over, and no exception.
  const Program plain = build(section(SeccompAction::kAllow, {}, {"sendmsg"}), CompileOptions{});
  EXPECT_EQ(run(plain, "sendmsg", {static_cast<uint64_t>(kListenerHandoffFd), 0, 0}), kKillProcess);
}

// An allow-list that allows sendmsg (the shipped policies' @confine-base) lets it run on every
// descriptor: compile() leaves sendmsg to the handoff rule, which must then add the allow itself.
TEST(NamedDenials, AnAllowListThatAllowsSendmsgAllowsItOnEveryDescriptor) {
  CompileOptions o;
  o.notify = Notify::kNamed;
  policy::Policy::Seccomp s = section(SeccompAction::kErrno, {"sendmsg", "read"}, {"ptrace"});
  s.errno_value.value = ENOSYS;
  const Program p = build(s, o);
  EXPECT_EQ(run(p, "sendmsg", {3, 0, 0}), kAllow);
  EXPECT_EQ(run(p, "sendmsg", {static_cast<uint64_t>(kListenerHandoffFd), 0, 0}), kAllow);
  EXPECT_EQ(run(p, "recvmsg", {3, 0, 0}), errno_ret(ENOSYS));
}

// The shipped policies under --audit: default ENOSYS, kill rules. Both become notifications, so a
// kill rule's verdict is the default's; it must compile (libseccomp refuses a rule that repeats
// the default with EACCES) and every non-allowed call must still notify.
TEST(NamedDenials, AnAuditOfAnAllowListWithKillRulesCompiles) {
  policy::Policy::Seccomp s = section(SeccompAction::kErrno, {"read", "write", "clone"}, {"ptrace", "unshare"});
  s.errno_value.value = ENOSYS;
  CompileOptions audit = all_builtins();
  audit.notify = Notify::kAudit;
  const Program a = build(s, audit);
  EXPECT_EQ(run(a, "ptrace", {}), kNotify);
  EXPECT_EQ(run(a, "getppid", {}), kNotify);
  EXPECT_EQ(run(a, "clone", {CLONE_NEWUSER}), kNotify);
  EXPECT_EQ(run(a, "read", {}), kAllow);
}

// errno rules notify only when asked to log (or in an audit); the verdict keeps the errno.
TEST(NamedDenials, ErrnoRulesNotifyWhenTheyLogAndInAnAudit) {
  policy::Policy::Seccomp s = section(SeccompAction::kAllow);
  policy::SeccompRule quiet;
  quiet.action = SeccompAction::kErrno;
  quiet.syscalls = {"chmod"};
  quiet.errno_value = EACCES;
  policy::SeccompRule logged = quiet;
  logged.syscalls = {"chown"};
  logged.log = true;
  s.rules = {quiet, logged};
  CompileOptions named;
  named.notify = Notify::kNamed;
  const Program p = build(s, named);
  EXPECT_EQ(run(p, "chmod", {0, 0644}), errno_ret(EACCES));
  EXPECT_EQ(run(p, "chown", {}), kNotify);
  const Program verdict = build(s, CompileOptions{});
  EXPECT_EQ(run(verdict, "chown", {}), errno_ret(EACCES));
  CompileOptions audit;
  audit.notify = Notify::kAudit;
  const Program a = build(s, audit);
  EXPECT_EQ(run(a, "chmod", {0, 0644}), kNotify);
  EXPECT_EQ(run(a, "chown", {}), kNotify);
  EXPECT_EQ(run(a, "clone3", {}), kNotify);  // built-in errnos too
  EXPECT_EQ(run(a, "read", {}), kAllow);
}

}  // namespace
}  // namespace confine::seccomp
