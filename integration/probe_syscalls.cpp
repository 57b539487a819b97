// Raw system calls by name, for probing the seccomp filter (in the spirit of bubblewrap's
// tests/try-syscall.c), and the TIOCSTI terminal-injection probe.
//
// Every call is made with arguments that are harmless even if the filter let it through and the
// kernel accepted it: bad magic numbers, missing paths, invalid descriptors, no-op requests.
// The filter decides on the syscall number (and for clone, the flags), so that is enough to
// observe it. Prints "ok" (exit 0) when the call returned >= 0, else the errno name (exit 1).
// A call the filter kills never returns: the probe dies of SIGSYS.
#include <fcntl.h>
#include <linux/keyctl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "probe.h"

namespace probe {
namespace {

constexpr const char* kMissing = "/nonexistent-confine-probe";

// A successful fork-like call returns 0 in the child: it leaves at once.
long reap_if_child(long pid) {
  if (pid == 0) ::_exit(0);
  if (pid > 0) ::waitpid(static_cast<pid_t>(pid), nullptr, 0);
  return pid;
}

long close_if_fd(long fd) {
  if (fd >= 0) ::close(static_cast<int>(fd));
  return fd;
}

long call_clone3() {
  clone_args args{};
  args.exit_signal = SIGCHLD;
  return reap_if_child(::syscall(SYS_clone3, &args, sizeof args));
}

long call_name_to_handle_at() {
  struct {
    unsigned int handle_bytes;
    int handle_type;
    unsigned char handle[128];
  } handle{};
  handle.handle_bytes = sizeof handle.handle;
  int mount_id = 0;
  return ::syscall(SYS_name_to_handle_at, AT_FDCWD, "/", &handle, &mount_id, 0);
}

long call_read() {
  char byte = 0;
  return ::syscall(SYS_read, STDIN_FILENO, &byte, 0);
}

long call_uname() {
  utsname u{};
  return ::syscall(SYS_uname, &u);
}

long call_clock_settime() {
  timespec ts{};
  // CLOCK_MONOTONIC cannot be set: EINVAL even for a privileged caller.
  return ::syscall(SYS_clock_settime, CLOCK_MONOTONIC, &ts);
}

// lsm_list_modules (Linux 6.8, number 461 on every architecture with the generic table): harmless
// (it lists the active LSMs) and newer than libseccomp 2.5.4, so no policy can name it: the
// stand-in for "a syscall added after the allow-list was written".
constexpr long kLsmListModules = 461;
long call_lsm_list_modules() {
  uint64_t ids[64] = {};
  uint32_t size = sizeof ids;
  return ::syscall(kLsmListModules, ids, &size, 0);
}

// A number past every syscall table: the kernel's own answer is ENOSYS.
long call_past_the_table() { return ::syscall(1000, 0, 0, 0); }

struct Syscall {
  const char* name;
  long (*call)();
};

constexpr Syscall kSyscalls[] = {
    // Denied by the default policy (@default-deny).
    {"bpf", [] { return ::syscall(SYS_bpf, 5 /* BPF_PROG_LOAD */, nullptr, 0); }},
    {"io_uring_setup", [] { return close_if_fd(::syscall(SYS_io_uring_setup, 1, nullptr)); }},
    {"perf_event_open", [] { return close_if_fd(::syscall(SYS_perf_event_open, nullptr, 0, -1, -1, 0)); }},
    {"userfaultfd", [] { return close_if_fd(::syscall(SYS_userfaultfd, O_CLOEXEC)); }},
    {"keyctl", [] { return ::syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0); }},
    {"add_key", [] { return ::syscall(SYS_add_key, "user", "confine-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING); }},
    // An undefined flag bit: EINVAL even where kexec is permitted, so nothing is (un)loaded.
    {"kexec_load", [] { return ::syscall(SYS_kexec_load, 0, 0, nullptr, 0x100); }},
    {"init_module", [] { return ::syscall(SYS_init_module, nullptr, 0, ""); }},
    {"finit_module", [] { return ::syscall(SYS_finit_module, -1, "", 0); }},
    {"mount", [] { return ::syscall(SYS_mount, "none", kMissing, "tmpfs", 0, nullptr); }},
    {"umount2", [] { return ::syscall(SYS_umount2, kMissing, 0); }},
    {"pivot_root", [] { return ::syscall(SYS_pivot_root, kMissing, kMissing); }},
    {"ptrace", [] { return ::syscall(SYS_ptrace, 2 /* PTRACE_PEEKDATA */, 1, nullptr, nullptr); }},
    {"process_vm_readv", [] { return ::syscall(SYS_process_vm_readv, 1, nullptr, 0, nullptr, 0, 0); }},
    {"open_by_handle_at", [] { return close_if_fd(::syscall(SYS_open_by_handle_at, -1, nullptr, O_RDONLY)); }},
    {"name_to_handle_at", call_name_to_handle_at},
    {"unshare", [] { return ::syscall(SYS_unshare, CLONE_NEWUSER); }},
    {"setns", [] { return ::syscall(SYS_setns, -1, 0); }},
    {"clone-newuser", [] { return reap_if_child(::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0)); }},
    {"swapon", [] { return ::syscall(SYS_swapon, kMissing, 0); }},
    // No magic numbers: EINVAL (or EPERM) whoever calls it.
    {"reboot", [] { return ::syscall(SYS_reboot, 0, 0, 0, nullptr); }},
    // Both null: a no-op even where permitted.
    {"settimeofday", [] { return ::syscall(SYS_settimeofday, nullptr, nullptr); }},
    {"clock_settime", call_clock_settime},
#ifdef SYS_iopl
    {"iopl", [] { return ::syscall(SYS_iopl, 0); }},  // level 0 is what every process has
#endif
    {"acct", [] { return ::syscall(SYS_acct, kMissing); }},
    {"syslog", [] { return ::syscall(SYS_syslog, 10 /* SYSLOG_ACTION_SIZE_BUFFER */, nullptr, 0); }},
    // Gets ENOSYS from the filter, so that glibc falls back to clone (whose flags it can check).
    {"clone3", call_clone3},
    // Allowed: the filter must not get in the way of ordinary programs.
    {"getpid", [] { return ::syscall(SYS_getpid); }},
    {"read", call_read},
    {"write", [] { return ::syscall(SYS_write, STDOUT_FILENO, "", 0); }},
    {"openat", [] { return close_if_fd(::syscall(SYS_openat, AT_FDCWD, "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)); }},
    {"uname", call_uname},
    // Not in @confine-base, the shipped allow-list: known, unknown to libseccomp, unknown to the kernel.
    {"personality", [] { return ::syscall(SYS_personality, 0xffffffffUL); }},  // a query: changes nothing
    {"lsm_list_modules", call_lsm_list_modules},
    {"nr-1000", call_past_the_table},
};

int cmd_try_syscall(Args a) {
  const std::string_view name = a[0];
  for (const Syscall& s : kSyscalls) {
    if (name != s.name) continue;
    std::fflush(stdout);
    errno = 0;
    const long rc = s.call();
    if (rc < 0) return denied(errno, "syscall " + std::string(name));
    print("ok\n");
    return kOk;
  }
  std::fprintf(stderr, "probe: try-syscall: no entry for '%s'; known:", a[0]);
  for (const Syscall& s : kSyscalls) std::fprintf(stderr, " %s", s.name);
  std::fprintf(stderr, "\n");
  return kUsage;
}

// The same call made by a grandchild (fork, then fork again), while the probe itself waits:
// a violation anywhere in the job must end the whole job.
int cmd_try_syscall_in_child(Args a) {
  std::fflush(stdout);
  const pid_t child = ::fork();
  if (child < 0) return unexpected(errno, "fork");
  if (child == 0) {
    const pid_t grandchild = ::fork();
    if (grandchild == 0) ::_exit(cmd_try_syscall(a));
    int status = 0;
    ::waitpid(grandchild, &status, 0);
    ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : kUnexpected);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  ::sleep(30);  // not reached when confine kills the job
  return WIFEXITED(status) ? WEXITSTATUS(status) : kUnexpected;
}

// A sleep stopped and continued halfway: the kernel resumes the interrupted clock_nanosleep
// through restart_syscall, which a seccomp allow-list must allow, or the sleep fails with the
// filter's errno. A child sleeps 400 ms; the probe stops it after 100 ms and continues it.
int cmd_interrupted_sleep(Args) {
  std::fflush(stdout);
  const pid_t child = ::fork();
  if (child < 0) return unexpected(errno, "fork");
  if (child == 0) {
    timespec ts{0, 400'000'000};
    const int rc = ::clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, nullptr);  // returns the error
    ::_exit(rc == 0 ? 0 : 100 + rc);
  }
  timespec pause_ts{0, 100'000'000};
  ::nanosleep(&pause_ts, nullptr);
  ::kill(child, SIGSTOP);
  pause_ts.tv_nsec = 50'000'000;
  ::nanosleep(&pause_ts, nullptr);
  ::kill(child, SIGCONT);
  int status = 0;
  if (::waitpid(child, &status, 0) < 0) return unexpected(errno, "waitpid");
  if (!WIFEXITED(status)) return unexpected(0, "the sleeping child did not exit");
  if (WEXITSTATUS(status) != 0) return denied(WEXITSTATUS(status) - 100, "clock_nanosleep after SIGSTOP/SIGCONT");
  print("ok\n");
  return kOk;
}

// ioctl(TIOCSTI) pushes a byte into a terminal's input queue: typed into whatever shell reads
// that terminal (CVE-2017-5226). --high-bits sets the upper 32 bits of the request: the kernel
// truncates the command to 32 bits, so a filter comparing all 64 would let this through.
// Made with syscall() so the 64-bit request reaches the kernel unchanged.
int cmd_tiocsti(Args a) {
  if (a.size() == 1 && std::string_view(a[0]) != "--high-bits") return kUsage;
  const bool high_bits = a.size() == 1;
  // The first of stdin, stdout, stderr that is a terminal (under confine: the job's own pty,
  // when confine's output is a terminal), else the controlling terminal.
  int fd = -1;
  for (int candidate : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) {
    if (fd < 0 && ::isatty(candidate) != 0) fd = candidate;
  }
  if (fd < 0) {
    fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0) return unexpected(errno, "no terminal to test: no stdio fd is a tty and /dev/tty cannot be opened");
  }
  const unsigned long request = static_cast<unsigned long>(TIOCSTI) | (high_bits ? 0xffffffff00000000UL : 0UL);
  const char byte = '#';
  if (::syscall(SYS_ioctl, fd, request, &byte) < 0) return denied(errno, "ioctl TIOCSTI");
  print("ok\n");
  return kOk;
}

constexpr Command kCommands[] = {
    {"try-syscall", "NAME", 1, 1, cmd_try_syscall},
    {"try-syscall-in-child", "NAME", 1, 1, cmd_try_syscall_in_child},
    {"tiocsti", "[--high-bits]", 0, 1, cmd_tiocsti},
    {"interrupted-sleep", "", 0, 0, cmd_interrupted_sleep},
};

}  // namespace

std::span<const Command> syscall_commands() { return kCommands; }

}  // namespace probe
