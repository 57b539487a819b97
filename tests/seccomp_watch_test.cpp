// CompileOptions::watch_paths: under --audit the path syscalls the policy allows notify confine
// (which reads the path and lets them run), the rest stays as the policy says; a normal run's
// filter does not change at all. And the learning filter's shape (Notify::kLearn). Checked by
// behaviour in the BPF interpreter.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "confine/seccomp.h"

namespace confine::seccomp {
namespace {

using policy::SeccompAction;

Resolved deny_list() {
  policy::Policy::Seccomp s;
  policy::SeccompRule kill;
  kill.action = SeccompAction::kKill;
  kill.syscalls = {"@default-deny"};
  s.rules = {kill};
  auto resolved = resolve(s);
  EXPECT_TRUE(resolved) << resolved.error().render();
  return resolved.value_or(Resolved{});
}

CompileOptions hardened(Notify notify, bool watch) {
  CompileOptions o;
  o.notify = notify;
  o.watch_paths = watch;
  o.socket_families = {AF_UNIX};
  o.deny_setid_modes = true;
  return o;
}

Program build(const Resolved& r, const CompileOptions& o) {
  auto p = compile(r, o);
  EXPECT_TRUE(p) << p.error().render();
  return p.value_or(Program{});
}

uint32_t run(const Program& p, const char* name, std::initializer_list<uint64_t> args = {}) {
  FakeSyscall call;
  call.nr = syscall_number(name).value_or(-1);
  size_t i = 0;
  for (uint64_t a : args) call.args[i++] = a;
  auto r = evaluate(p, call);
  EXPECT_TRUE(r) << r.error().render();
  return r.value_or(0);
}

TEST(SeccompWatch, AuditWatchesAllowedPathCallsAndKeepsEveryOtherAnswer) {
  const Program p = build(deny_list(), hardened(Notify::kAudit, true));
  EXPECT_EQ(run(p, "openat", {0, 0, O_RDONLY}), SECCOMP_RET_USER_NOTIF);
  EXPECT_EQ(run(p, "openat", {0, 0, O_CREAT, 0644}), SECCOMP_RET_USER_NOTIF);
  // Denials notify in an audit as ever (the reaper lists them and lets them run); the verdict
  // program, the same rules without notification, still says what they are.
  const Program verdict = build(deny_list(), hardened(Notify::kNone, false));
  EXPECT_EQ(run(p, "openat", {0, 0, O_CREAT, 04755}), SECCOMP_RET_USER_NOTIF);
  EXPECT_EQ(run(verdict, "openat", {0, 0, O_CREAT, 04755}), SECCOMP_RET_ERRNO | EPERM);
  EXPECT_EQ(run(verdict, "openat", {0, 0, O_RDONLY}), SECCOMP_RET_ALLOW);
  EXPECT_EQ(run(p, "newfstatat"), SECCOMP_RET_USER_NOTIF);
  EXPECT_EQ(run(p, "getdents64"), SECCOMP_RET_USER_NOTIF);
  EXPECT_EQ(run(p, "unlinkat"), SECCOMP_RET_USER_NOTIF);
  EXPECT_EQ(run(p, "read"), SECCOMP_RET_ALLOW);
  EXPECT_EQ(run(p, "socket", {AF_UNIX}), SECCOMP_RET_ALLOW);  // not a path call: not watched
  EXPECT_EQ(run(p, "socket", {AF_INET}), SECCOMP_RET_USER_NOTIF);
  EXPECT_EQ(run(verdict, "socket", {AF_INET}), SECCOMP_RET_ERRNO | EAFNOSUPPORT);
  EXPECT_EQ(run(p, "mount"), SECCOMP_RET_USER_NOTIF);  // a would-be kill, as before
}

TEST(SeccompWatch, WithoutWatchingThePathCallsAreNotHandedOver) {
  const Program named = build(deny_list(), hardened(Notify::kNamed, false));
  EXPECT_EQ(run(named, "openat", {0, 0, O_RDONLY}), SECCOMP_RET_ALLOW);
  EXPECT_EQ(run(named, "newfstatat"), SECCOMP_RET_ALLOW);
  // Without notification, asking to watch changes nothing: a normal run's filter is the same
  // program whatever watch_paths says.
  const Program plain = build(deny_list(), hardened(Notify::kNone, false));
  const Program watched = build(deny_list(), hardened(Notify::kNone, true));
  ASSERT_EQ(plain.instructions.size(), watched.instructions.size());
  EXPECT_EQ(std::memcmp(plain.instructions.data(), watched.instructions.data(),
                        plain.instructions.size() * sizeof(sock_filter)),
            0);
  const Program audit_unwatched = build(deny_list(), hardened(Notify::kAudit, false));
  EXPECT_EQ(run(audit_unwatched, "openat", {0, 0, O_RDONLY}), SECCOMP_RET_ALLOW);
}

TEST(SeccompWatch, TheLearningFilter) {
  // What plan::learning_rules builds: the baseline and the watched calls allowed, io_uring
  // refused, everything else "kill", which under kLearn notifies.
  Resolved r;
  r.default_action = {SeccompAction::kKill, 0, false};
  for (const auto& name : learning_baseline()) r.syscalls[name] = {SeccompAction::kAllow, 0, false};
  for (const auto& name : path_syscalls()) r.syscalls[name] = {SeccompAction::kAllow, 0, false};
  for (const char* name : {"socket", "socketpair", "ioctl", "personality"}) r.syscalls[name] = {SeccompAction::kAllow, 0, false};
  r.syscalls["io_uring_setup"] = {SeccompAction::kErrno, ENOSYS, false};
  const Program p = build(r, hardened(Notify::kLearn, true));
  EXPECT_EQ(run(p, "read"), SECCOMP_RET_ALLOW);
  EXPECT_EQ(run(p, "mmap"), SECCOMP_RET_ALLOW);
  EXPECT_EQ(run(p, "openat", {0, 0, O_RDONLY}), SECCOMP_RET_USER_NOTIF);
  EXPECT_EQ(run(p, "execve"), SECCOMP_RET_USER_NOTIF);
  EXPECT_EQ(run(p, "uname"), SECCOMP_RET_USER_NOTIF);
  EXPECT_EQ(run(p, "socket", {AF_UNIX}), SECCOMP_RET_USER_NOTIF);
  EXPECT_EQ(run(p, "socket", {AF_INET}), SECCOMP_RET_ERRNO | EAFNOSUPPORT);  // the base's families hold
  EXPECT_EQ(run(p, "io_uring_setup"), SECCOMP_RET_ERRNO | ENOSYS);
  // Process creation and pipes never notify (a notified call can fail with EINTR; watch.cpp),
  // but a clone into a new namespace still does, as the hardening's kill.
  EXPECT_EQ(run(p, "clone", {SIGCHLD}), SECCOMP_RET_ALLOW);
  EXPECT_EQ(run(p, "clone3"), SECCOMP_RET_ERRNO | ENOSYS);  // the hardening's: glibc falls back to clone
  EXPECT_EQ(run(p, "fork"), SECCOMP_RET_ALLOW);
  EXPECT_EQ(run(p, "vfork"), SECCOMP_RET_ALLOW);
  EXPECT_EQ(run(p, "pipe2"), SECCOMP_RET_ALLOW);
  EXPECT_EQ(run(p, "clone", {CLONE_NEWUSER | SIGCHLD}), SECCOMP_RET_USER_NOTIF);
}

}  // namespace
}  // namespace confine::seccomp
