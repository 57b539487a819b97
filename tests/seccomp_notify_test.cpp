// Kill rules compiled to notify (CompileOptions::notify): they return USER_NOTIF so the
// reaper can name the syscall, while the foreign-architecture kill and errno rules stay as they
// are. Checked by behaviour in the BPF interpreter.
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/sched.h>
#include <linux/seccomp.h>

#include <cerrno>

#include "confine/seccomp.h"

namespace confine::seccomp {
namespace {

using policy::SeccompAction;

Program compile_default_deny(bool notify) {
  policy::Policy::Seccomp s;
  policy::SeccompRule kill;
  kill.action = SeccompAction::kKill;
  kill.syscalls = {"@default-deny"};
  policy::SeccompRule eacces;
  eacces.action = SeccompAction::kErrno;
  eacces.syscalls = {"chmod"};
  eacces.errno_value = EACCES;
  s.rules = {kill, eacces};
  auto resolved = resolve(s);
  EXPECT_TRUE(resolved) << resolved.error().render();
  CompileOptions options;
  options.notify = notify ? Notify::kNamed : Notify::kNone;
  auto program = compile(*resolved, options);
  EXPECT_TRUE(program) << program.error().render();
  return program ? std::move(*program) : Program{};
}

uint32_t run(const Program& p, const char* name, uint64_t arg0 = 0, uint32_t arch = 0) {
  FakeSyscall call;
  call.arch = arch;
  call.nr = syscall_number(name).value_or(-1);
  call.args[0] = arg0;
  auto r = evaluate(p, call);
  EXPECT_TRUE(r) << r.error().render();
  return r.value_or(0);
}

TEST(SeccompNotify, KillRulesNotifyEverythingElseUnchanged) {
  const Program p = compile_default_deny(true);
  EXPECT_TRUE(p.notify);
  EXPECT_EQ(run(p, "bpf"), SECCOMP_RET_USER_NOTIF);
  EXPECT_EQ(run(p, "mount"), SECCOMP_RET_USER_NOTIF);
  EXPECT_EQ(run(p, "clone", CLONE_NEWUSER), SECCOMP_RET_USER_NOTIF);
  EXPECT_EQ(run(p, "clone", SIGCHLD), SECCOMP_RET_ALLOW);
  EXPECT_EQ(run(p, "read"), SECCOMP_RET_ALLOW);
  EXPECT_EQ(run(p, "sendmsg"), SECCOMP_RET_ALLOW);  // the policy allows it
  EXPECT_EQ(run(p, "chmod"), SECCOMP_RET_ERRNO | EACCES);
  EXPECT_EQ(run(p, "clone3"), SECCOMP_RET_ERRNO | ENOSYS);
  // A foreign architecture still dies at once: it never reaches a rule.
  FakeSyscall i386;
  i386.arch = AUDIT_ARCH_I386;
  i386.nr = 11;
  EXPECT_EQ(evaluate(p, i386).value_or(0), SECCOMP_RET_KILL_PROCESS);
}

TEST(SeccompNotify, WithoutTheOptionKillRulesKill) {
  const Program p = compile_default_deny(false);
  EXPECT_FALSE(p.notify);
  EXPECT_EQ(run(p, "bpf"), SECCOMP_RET_KILL_PROCESS);
  EXPECT_EQ(run(p, "clone", CLONE_NEWUSER), SECCOMP_RET_KILL_PROCESS);
}

}  // namespace
}  // namespace confine::seccomp
