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
};

}  // namespace

std::span<const Command> wrapper_commands() { return kCommands; }

}  // namespace probe
