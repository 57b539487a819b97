// The syscalls learning and --audit watch (CompileOptions::watch_paths), and the baseline a
// learning filter lets through unasked.
#include <string>
#include <vector>

#include "builder.h"
#include "confine/seccomp.h"

namespace confine::seccomp {

const std::vector<std::string>& path_syscalls() {
  // Every call that names a file by path (or lists a directory by descriptor) on x86_64. Where
  // the path argument sits and what the call does to it is launch/path_calls.cpp's table.
  static const std::vector<std::string> names{
      "open",      "openat",     "openat2",    "creat",      "execve",     "execveat",   "stat",
      "lstat",     "newfstatat", "statx",      "access",     "faccessat",  "faccessat2", "readlink",
      "readlinkat", "mkdir",     "mkdirat",    "unlink",     "unlinkat",   "rmdir",      "rename",
      "renameat",  "renameat2",  "chdir",      "truncate",   "link",       "linkat",     "symlink",
      "symlinkat", "chmod",      "fchmodat",   "chown",      "lchown",     "fchownat",   "utimensat",
      "statfs",    "getdents64", "getdents",   "mknod",      "mknodat",    "getxattr",   "lgetxattr",
      "listxattr", "llistxattr", "utime",      "utimes",     "futimesat"};
  return names;
}

const std::vector<std::string>& learning_baseline() {
  // Cheap, pathless, and made by nearly every program many times: asking confine about each
  // would only slow learning down. They are in every learned allow-list. Also here: what the
  // sandbox's own child needs between installing the filter and exec (sendmsg of the listener
  // is allowed by the filter itself).
  //
  // Also here: process creation and pipes. A notified call can fail with EINTR where the job
  // never expects one: a signal the job handles without SA_RESTART (a shell's SIGCHLD) that
  // arrives before confine has received the notification ends the wait, and
  // SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV only covers the time after. Unwatched, fork() never
  // fails so (the kernel restarts it unseen). dash learning LibreOffice's start script failed
  // with "Cannot fork" and "Pipe call failed" this way; a static program forking 2000 times with
  // such a handler saw 5-12% of its forks fail. They name no path: learning loses nothing.
  static const std::vector<std::string> names{
      "read",          "write",          "close",           "fstat",          "lseek",
      "mmap",          "mprotect",       "munmap",          "brk",            "rt_sigaction",
      "rt_sigprocmask", "rt_sigreturn",  "pread64",         "pwrite64",       "readv",
      "writev",        "futex",          "getpid",          "gettid",         "exit",
      "clock_gettime", "clock_nanosleep", "nanosleep",      "sched_yield",    "madvise",
      "getrandom",     "fcntl",          "dup",             "dup2",           "dup3",
      "restart_syscall", "poll",         "ppoll",           "getuid",         "getgid",
      "geteuid",       "getegid",        "mremap",          "gettimeofday",   "sigaltstack",
      "clone",         "clone3",         "fork",            "vfork",          "pipe",
      "pipe2"};
  return names;
}

bool learn_watched(const std::string& name) {
  // Their arguments go into the learned policy: socket families, ioctl requests, personas.
  return name == "socket" || name == "socketpair" || name == "ioctl" || name == "personality";
}

}  // namespace confine::seccomp
