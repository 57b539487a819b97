// Host-side wrappers: confine-probe run around confine (never inside a sandbox) to put confine
// where a test needs it, then exec it. Each changes one thing about confine's host and inherits
// it to confine through the exec.
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "probe.h"

namespace probe {
namespace {

[[noreturn]] void exec_rest(Args a) {
  std::vector<char*> argv(a.begin(), a.end());
  argv.push_back(nullptr);
  ::execv(argv[0], argv.data());
  std::_Exit(unexpected(errno, std::string("execv ") + a[0]));
}

#if defined(__x86_64__)
constexpr uint32_t kNativeArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr uint32_t kNativeArch = AUDIT_ARCH_AARCH64;
#endif

// without-landlock CMD [ARG...]: run on the host, around confine. Installs a seccomp filter that
// fails the three Landlock syscalls with ENOSYS, as on a kernel without Landlock (or in a
// container whose seccomp profile predates it), then execs CMD. The filter is inherited, so
// confine and its sandbox see no Landlock at all; every other syscall is untouched.
int cmd_without_landlock(Args a) {
  const sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kNativeArch, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_landlock_create_ruleset, 3, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_landlock_add_rule, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_landlock_restrict_self, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
  };
  const sock_fprog program{static_cast<unsigned short>(sizeof filter / sizeof filter[0]),
                           const_cast<sock_filter*>(filter)};
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return unexpected(errno, "PR_SET_NO_NEW_PRIVS");
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) < 0) return unexpected(errno, "seccomp");
  exec_rest(a);
}

// docker-like CMD [ARG...]: run on the host, around confine. Installs the part of Docker's
// default seccomp profile (moby profiles/seccomp/default.json, for a process without
// CAP_SYS_ADMIN) that keeps a container from making namespaces and mounts, then execs CMD:
// unshare, setns and every mount call fail with EPERM; clone with any CLONE_NEW* flag fails with
// EPERM; clone3 fails with ENOSYS (its flags are out of a filter's reach, so libc falls back to
// clone). Everything else, Landlock and seccomp included, is allowed, as Docker allows them.
// The filter is inherited: confine and everything it starts live under it.
int cmd_docker_like(Args a) {
  constexpr uint32_t kNamespaceFlags = 0x7E020000;  // CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
  const int eperm_calls[] = {__NR_unshare,    __NR_setns,     __NR_mount,   __NR_umount2,       __NR_pivot_root,
                             __NR_move_mount, __NR_open_tree, __NR_fsopen,  __NR_fsconfig,      __NR_fsmount,
                             __NR_fspick,     __NR_mount_setattr};
  std::vector<sock_filter> f;
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)));
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kNativeArch, 1, 0));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
  for (int nr : eperm_calls) {
    f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(nr), 0, 1));
    f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM));
  }
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS));
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 3));
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[0])));  // the low 32 bits
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, kNamespaceFlags, 0, 1));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  const sock_fprog program{static_cast<unsigned short>(f.size()), f.data()};
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return unexpected(errno, "PR_SET_NO_NEW_PRIVS");
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) < 0) return unexpected(errno, "seccomp");
  exec_rest(a);
}

// in-cgroup DIR CMD [ARG...]: joins the cgroup DIR (writes its pid to DIR/cgroup.procs, which
// needs the rights to move itself there), then execs CMD in it: how a service manager starts a
// unit's process in the unit's cgroup.
int cmd_in_cgroup(Args a) {
  const std::string procs = std::string(a[0]) + "/cgroup.procs";
  const int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return unexpected(errno, "open " + procs);
  const std::string pid = std::to_string(::getpid());
  const bool moved = ::write(fd, pid.data(), pid.size()) == static_cast<ssize_t>(pid.size());
  const int err = errno;
  ::close(fd);
  if (!moved) return unexpected(err, "write " + pid + " to " + procs);
  exec_rest(a.subspan(1));
}

constexpr Command kCommands[] = {
    {"without-landlock", "CMD [ARG...]", 1, 256, cmd_without_landlock},
    {"in-cgroup", "DIR CMD [ARG...]", 2, 256, cmd_in_cgroup},
    {"docker-like", "CMD [ARG...]", 1, 256, cmd_docker_like},
};

}  // namespace

std::span<const Command> wrapper_commands() { return kCommands; }

}  // namespace probe
