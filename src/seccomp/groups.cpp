// The named syscall groups that policies reference as "@name", and their expansion.
//
// Each group is a reviewable set in the spirit of systemd's SystemCallFilter= groups and
// Chromium's baseline policy: one line saying what it is, and a comment on every member that is
// an exception or not obviously dangerous. Names that do not exist on x86_64 (i386-only calls
// such as stime) are kept on purpose: groups describe intent, and compile() skips whatever has no
// native number. docs/seccomp.md mirrors this table; keep them in step.
#include <set>
#include <string>
#include <vector>

#include "confine/seccomp.h"
#include "names.h"

namespace confine::seccomp {

namespace {

std::vector<Group> make_groups() {
  return {
      {"io-uring",
       "io_uring: a second syscall interface that bypasses seccomp for every operation it queues, "
       "and a large source of kernel bugs",
       {"io_uring_setup", "io_uring_enter", "io_uring_register"}},
      {"bpf",
       "eBPF programs and maps: verifier bugs are a recurring route to kernel code execution",
       {"bpf"}},
      {"perf",
       "performance counters: side channels and a long history of perf subsystem bugs",
       {"perf_event_open"}},
      {"userfaultfd",
       "user-space page fault handling: lets an exploit pause the kernel mid-copy to win races",
       {"userfaultfd"}},
      {"keyring",
       "kernel keyrings: keys are not namespaced, so a sandbox could read or fill the host's",
       {"add_key", "request_key", "keyctl"}},
      {"kexec", "loading a new kernel to boot into", {"kexec_load", "kexec_file_load"}},
      {"module",
       "loading and unloading kernel modules",
       {"init_module", "finit_module", "delete_module",
        "create_module",     // removed in Linux 2.6; still has an x86_64 number that returns ENOSYS
        "query_module",      // removed in Linux 2.6, as above
        "get_kernel_syms"}},  // removed in Linux 2.6, as above
      {"mount",
       "mounting, the new mount API and changing the root: the sandbox's view of the filesystem "
       "is fixed before exec",
       {"mount",
        "umount",  // i386 only; kept so the group reads like the man pages
        "umount2", "pivot_root", "chroot", "fsopen", "fsconfig", "fsmount", "fspick", "open_tree",
        "move_mount", "mount_setattr"}},
      {"ptrace",
       "inspecting or changing other processes' memory and file descriptors",
       {"ptrace", "process_vm_readv", "process_vm_writev",
        "kcmp",          // compares kernel objects of two processes: an address-layout oracle
        "pidfd_getfd"}},  // copies an fd out of another process, ptrace-checked like the rest
      {"handles",
       "file handles: open_by_handle_at opens any inode on a mounted filesystem, bypassing the "
       "sandbox's mount tree (the 'shocker' container escape)",
       {"open_by_handle_at",
        "name_to_handle_at"}},  // harmless alone; only useful to feed open_by_handle_at
      {"namespaces",
       "creating or joining namespaces; the compiler also gives clone with CLONE_NEW* flags the "
       "action resolved for unshare",
       {"unshare", "setns"}},
      {"swap", "enabling and disabling swap areas", {"swapon", "swapoff"}},
      {"reboot", "rebooting or halting the machine, and loading a kexec kernel", {"reboot"}},
      {"clock",
       "setting the system clock, which is not namespaced (time namespaces only offset "
       "monotonic and boot clocks)",
       {"settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
        "clock_settime64",   // 32-bit time64 variant; no x86_64 number
        "clock_adjtime64",   // 32-bit time64 variant; no x86_64 number
        "stime"}},           // i386 only
      {"raw-io",
       "direct port I/O and PCI configuration space access",
       {"iopl", "ioperm",
        "pciconfig_read",     // alpha/powerpc/sparc only
        "pciconfig_write",    // as above
        "pciconfig_iobase"}},  // as above
      {"obsolete",
       "calls that modern kernels removed or never implemented; no current program needs them, "
       "and the ones that remain are unmaintained code paths",
       {"uselib",  // loads a.out libraries; CVE-2004-1235
        "_sysctl",  // binary sysctl, removed in Linux 5.5
        "sysfs", "ustat", "vm86", "vm86old", "nfsservctl", "afs_syscall", "bdflush", "break",
        "ftime", "getpmsg", "putpmsg", "gtty", "stty", "idle", "lock", "mpx", "prof", "profil",
        "security", "tuxcall", "vserver", "sgetmask", "ssetmask", "ulimit", "oldolduname",
        "lookup_dcookie",  // oprofile helper, removed in Linux 6.3
        "create_module", "query_module", "get_kernel_syms"}},
      {"accounting",
       "process accounting and disk quotas: host-wide administrative state",
       {"acct", "quotactl", "quotactl_fd"}},
      {"syslog", "reading and clearing the kernel log buffer (kernel addresses leak there)",
       {"syslog"}},
      {"fanotify",
       "filesystem-wide event monitoring, including permission events that can block other "
       "processes",
       {"fanotify_init"}},  // fanotify_mark is useless without the fd fanotify_init returns
      {"cpu-emulation",
       "legacy x86 segment and virtual-8086 support: rarely needed (old DOSEMU/Wine setups) and "
       "a source of subtle kernel bugs",
       {"modify_ldt",  // CVE-2015-5157, CVE-2017-17053; Chromium denies it too
        "vm86", "vm86old"}},
      {"personality",
       "execution domains: can switch off address-space randomisation for the caller's children. "
       "Not in @default-deny: glibc, setarch and qemu query it, and no_new_privs already stops a "
       "setuid program inheriting the weakened layout",
       {"personality"}},
      {"privileged",
       "calls that need a capability in the initial user namespace to do anything; an "
       "unprivileged sandbox only gets EPERM from them, so denying them costs nothing",
       {"@module", "@kexec", "@mount", "@swap", "@reboot", "@clock", "@raw-io", "@accounting",
        "@syslog", "@fanotify", "@handles",
        "vhangup",  // hangs up the controlling terminal of every process that shares it
        "sethostname", "setdomainname",  // namespaced, but only root needs to change them
        "nfsservctl"}},
      {"confine-base",
       "the allow-list of the shipped policies: every call that coreutils, dash, python3 and "
       "the six workloads' honest inputs were seen to make under --audit "
       "(scripts/derive-allowlist.sh; 103 names), plus, reviewed by hand, the rest of the same "
       "everyday families a general-purpose command may need (the variants glibc picks by "
       "version or argument, timers, event waiting, signals, sockets); nothing privileged, "
       "nothing in @default-deny. A syscall not listed gets the policy's default, ENOSYS in "
       "default.toml",
       {// Reading and writing open files.
        "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2",
        "pwritev2", "lseek", "sendfile", "copy_file_range", "splice", "tee", "fadvise64",
        "readahead", "fsync", "fdatasync", "ftruncate", "truncate",
        "fallocate",  // KEEP_SIZE refused by a built-in under a file-size limit
        "flock",
        // Descriptors.
        "close", "close_range", "dup", "dup2", "dup3", "fcntl",
        "ioctl",  // TIOCSTI and TIOCLINUX refused by a built-in; terminals and FIONREAD need it
        "pipe", "pipe2",
        // Opening, finding and inspecting files; the mount tree and Landlock decide what exists.
        "open", "openat", "creat",  // set-id modes refused by a built-in
        "openat2",                  // always ENOSYS by a built-in: its mode is out of reach
        "stat", "lstat", "fstat", "newfstatat", "statx", "statfs", "fstatfs", "access",
        "faccessat", "faccessat2", "readlink", "readlinkat", "getdents", "getdents64", "getcwd",
        "chdir", "fchdir", "umask",
        "getxattr", "lgetxattr", "fgetxattr", "listxattr", "llistxattr",
        "flistxattr",  // read-only: ls and cp look for ACLs and SELinux labels
        // Changing files where the policy makes them writable.
        "mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename", "renameat", "renameat2",
        "link", "linkat", "symlink", "symlinkat", "chmod", "fchmod",
        "fchmodat",  // set-id modes refused by a built-in
        "chown", "fchown", "lchown", "fchownat",  // only ids mapped into the sandbox
        "utime", "utimes", "utimensat", "futimesat",
        "mknod", "mknodat",  // FIFOs; device nodes need CAP_MKNOD, which no job has
        // Memory.
        "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "msync", "mincore", "membarrier",
        "memfd_create",  // ENOSYS by a built-in while the memory limit falls back to RLIMIT_AS
        // Processes and threads.
        "execve", "execveat", "exit", "exit_group", "fork", "vfork",
        "clone",   // CLONE_NEW* flags get unshare's action (a built-in)
        "clone3",  // always ENOSYS by a built-in: libc falls back to clone
        "wait4", "waitid", "set_tid_address", "set_robust_list", "get_robust_list", "rseq",
        "arch_prctl", "prctl", "futex", "sched_yield", "sched_getaffinity", "sched_setaffinity",
        "sched_getparam", "sched_getscheduler", "sched_get_priority_max", "sched_get_priority_min",
        "getpriority", "setpriority", "getcpu", "pidfd_open",
        // Identity and limits of the caller (in its own namespaces).
        "getpid", "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid", "getgroups",
        "getresuid", "getresgid", "getpgrp", "getpgid", "getsid", "setpgid", "setsid", "uname",
        "sysinfo", "getrlimit", "setrlimit", "prlimit64", "getrusage", "times",
        "capget",  // reads the caller's capabilities (none): libcap and ls ask
        "getrandom",
        // Signals (kill and friends reach only the sandbox's own pid namespace).
        "restart_syscall",  // the kernel resumes an interrupted sleep, poll or futex wait with it
        "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigsuspend", "rt_sigpending",
        "rt_sigtimedwait", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "sigaltstack", "kill", "tkill",
        "tgkill", "pidfd_send_signal", "pause", "alarm", "signalfd", "signalfd4",
        // Time and timers.
        "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "time",
        "getitimer", "setitimer", "timer_create", "timer_settime", "timer_gettime",
        "timer_getoverrun", "timer_delete", "timerfd_create", "timerfd_settime", "timerfd_gettime",
        // Waiting for events.
        "poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1", "epoll_ctl",
        "epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2",
        "inotify_init", "inotify_init1", "inotify_add_watch",
        "inotify_rm_watch",  // tail -f, GLib file monitors; 32 instances per job (its user namespace)
        // Sockets: the families are limited by network.socket_families (a built-in), the peers
        // by the network namespace and Landlock.
        "socket", "socketpair", "bind", "listen", "accept", "accept4", "connect", "getsockname",
        "getpeername", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
        "shutdown", "setsockopt", "getsockopt"}},
      {"default-deny",
       "the union every shipped policy denies: interfaces a sandboxed program does not need and "
       "that carry most of the kernel's exploitable surface",
       {"@io-uring", "@bpf", "@perf", "@userfaultfd", "@keyring", "@kexec", "@module", "@mount",
        "@ptrace", "@handles", "@namespaces", "@swap", "@reboot", "@clock", "@raw-io",
        "@obsolete", "@accounting", "@syslog", "@fanotify",
        "@cpu-emulation"}},  // added: modify_ldt has no use in a modern sandboxed job
  };
}

// Depth-first expansion with cycle detection; `stack` holds the groups being expanded.
Expected<void> expand_into(std::string_view name, std::set<std::string>& out,
                           std::vector<std::string_view>& stack) {
  if (!name.starts_with('@')) {
    if (!is_known_syscall(name)) {
      std::string hint;
      if (std::string near = suggest(name); !near.empty()) hint = "did you mean '" + near + "'?";
      return fail(ErrorCode::kInvalidArgument,
                  "unknown syscall '" + std::string(name) + "'", std::move(hint));
    }
    out.emplace(name);
    return {};
  }
  std::string_view group_name = name.substr(1);
  const Group* group = find_group(group_name);
  if (group == nullptr) {
    std::string hint;
    if (std::string near = suggest(name); !near.empty()) hint = "did you mean '" + near + "'?";
    return fail(ErrorCode::kInvalidArgument, "unknown syscall group '" + std::string(name) + "'",
                std::move(hint));
  }
  for (std::string_view open : stack) {
    if (open == group->name) {
      return fail(ErrorCode::kInternal,
                  "syscall group '@" + std::string(group->name) + "' includes itself");
    }
  }
  stack.push_back(group->name);
  for (std::string_view member : group->members) {
    if (auto r = expand_into(member, out, stack); !r) {
      return unexpected(std::move(r.error()).add_context("in group '" + std::string(name) + "'"));
    }
  }
  stack.pop_back();
  return {};
}

}  // namespace

const std::vector<Group>& groups() {
  static const std::vector<Group> kGroups = make_groups();
  return kGroups;
}

const Group* find_group(std::string_view name) {
  for (const Group& group : groups()) {
    if (group.name == name) return &group;
  }
  return nullptr;
}

Expected<std::vector<std::string>> expand(const std::vector<std::string>& names) {
  std::set<std::string> out;
  std::vector<std::string_view> stack;
  for (const std::string& name : names) {
    if (auto r = expand_into(name, out, stack); !r) return unexpected(std::move(r.error()));
  }
  return std::vector<std::string>(out.begin(), out.end());
}

}  // namespace confine::seccomp
