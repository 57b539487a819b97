// Hostile targets for the reaper and caller-fault probes: output floods, processes stopped by a
// signal or by a tracer, fork storms that start when the job is told to end, zombie churn that
// only succeeds if the sandbox's init reaps orphans, thousands of threads, and two helpers for
// the fault tests (an fd listing written to a file, files written one by one into a directory).
// Each prints what it did on stdout (or into its file) so the driver can check it.
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "probe.h"

namespace probe {
namespace {

void sleep_ms(long ms) {
  timespec t{ms / 1000, (ms % 1000) * 1'000'000L};
  while (::nanosleep(&t, &t) < 0 && errno == EINTR) {
  }
}

[[noreturn]] void pause_forever() {
  while (true) ::pause();
}

bool write_all(int fd, const char* data, size_t size, int& err) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = errno;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// flood stdout|stderr|both [MIB]: writes 64 KiB blocks to the stream(s), MIB mebibytes or
// forever. A reader that does not keep up blocks it; a closed reader kills it with SIGPIPE
// (the target's default disposition). Exit 0 after MIB, 1 with the errno of a failed write.
int cmd_flood(Args a) {
  const std::string_view stream = a[0];
  const bool out = stream == "stdout" || stream == "both";
  const bool err_stream = stream == "stderr" || stream == "both";
  if (!out && !err_stream) return kUsage;
  unsigned long long mib = 0;
  const bool forever = a.size() < 2;
  if (!forever && !parse_u64(a[1], mib)) return kUsage;
  static char block[64 * 1024];
  std::memset(block, 'x', sizeof block);
  block[sizeof block - 1] = '\n';
  for (unsigned long long i = 0; forever || i < mib * 16; ++i) {
    int err = 0;
    if (out && !write_all(STDOUT_FILENO, block, sizeof block, err)) return denied(err, "write stdout");
    if (err_stream && !write_all(STDERR_FILENO, block, sizeof block, err)) return denied(err, "write stderr");
  }
  return kOk;
}

// Stops itself with SIGSTOP after ignoring SIGTERM: only SIGKILL (which works on a stopped
// process) ends it. Prints "stopping" first.
int cmd_stop_self(Args) {
  ::signal(SIGTERM, SIG_IGN);
  print("stopping\n");
  ::raise(SIGSTOP);
  pause_forever();
}

// A child asks to be traced (PTRACE_TRACEME) and stops itself: it now sits in a ptrace stop
// that only its tracer (this process, which never resumes it) or SIGKILL can end. This process
// ignores SIGTERM and waits forever. Needs a policy that allows ptrace (it is in @default-deny).
// Prints "tracee stopped" once the stop is observed.
int cmd_ptrace_stop(Args) {
  ::signal(SIGTERM, SIG_IGN);
  const pid_t child = ::fork();
  if (child < 0) return unexpected(errno, "fork");
  if (child == 0) {
    if (::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) < 0) ::_exit(kDenied);
    ::raise(SIGSTOP);
    pause_forever();
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return unexpected(errno, "waitpid");
  }
  if (!WIFSTOPPED(status)) {
    return WIFEXITED(status) && WEXITSTATUS(status) == kDenied ? denied(EPERM, "ptrace(PTRACE_TRACEME)")
                                                               : unexpected(0, "the tracee did not stop");
  }
  print("tracee stopped\n");
  pause_forever();
}

volatile sig_atomic_t g_terminated = 0;
void on_term(int) { g_terminated = 1; }

// A lineage of a fork storm: fork the successor, then leave; forever. Fork failures (a pids or
// RLIMIT_NPROC limit) are retried.
[[noreturn]] void storm_lineage() {
  while (true) {
    const pid_t next = ::fork();
    if (next > 0) ::_exit(0);
    if (next < 0) sleep_ms(1);
  }
}

// term-storm [LINEAGES]: harmless until SIGTERM arrives (the start of the reaper's teardown),
// then starts LINEAGES (default 4) fork storm lineages, ignores further SIGTERMs and reaps its
// children forever: only SIGKILL of the whole job ends it. Prints "armed".
int cmd_term_storm(Args a) {
  unsigned long long lineages = 4;
  if (a.size() == 1 && (!parse_u64(a[0], lineages) || lineages == 0 || lineages > 16)) return kUsage;
  struct sigaction action{};
  action.sa_handler = on_term;
  ::sigaction(SIGTERM, &action, nullptr);
  print("armed\n");
  while (g_terminated == 0) ::pause();
  ::signal(SIGTERM, SIG_IGN);
  for (unsigned long long i = 0; i < lineages; ++i) {
    const pid_t pid = ::fork();
    if (pid == 0) storm_lineage();
  }
  while (true) {
    if (::waitpid(-1, nullptr, 0) < 0 && errno == ECHILD) pause_forever();
  }
}

// Zombies whose parent is 1 (the sandbox's init) right now.
int orphan_zombies() {
  int count = 0;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return -1;
  while (const dirent* e = ::readdir(proc)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    const std::string path = std::string("/proc/") + e->d_name + "/stat";
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    char buf[512];
    const ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) continue;
    buf[n] = '\0';
    // "pid (comm) S ppid ...": the comm may hold spaces, so parse from the last ')'.
    const char* close = std::strrchr(buf, ')');
    char state = 0;
    int ppid = 0;
    if (close != nullptr && std::sscanf(close + 1, " %c %d", &state, &ppid) == 2 && state == 'Z' && ppid == 1) ++count;
  }
  ::closedir(proc);
  return count;
}

// zombie-churn N [LEFT]: N times, a child forks a grandchild and exits at once; this process
// reaps the child, never the grandchild, which exits too and becomes an orphaned zombie that
// only the sandbox's init can reap. Under a process limit (pids.max or RLIMIT_NPROC) zombies
// still count, so N far past the limit only completes if the init reaps them (EAGAIN is retried
// for up to 5 s in total). Then LEFT (default 0) children exit unreaped, and this process
// exits while they are zombies: the init inherits and must reap them too. Prints
// "churned=N orphan_zombies=Z" (Z measured after a short pause: 0 when the init keeps up).
int cmd_zombie_churn(Args a) {
  unsigned long long n = 0;
  unsigned long long left = 0;
  if (!parse_u64(a[0], n) || (a.size() == 2 && !parse_u64(a[1], left))) return kUsage;
  long waited_ms = 0;
  for (unsigned long long i = 0; i < n;) {
    const pid_t child = ::fork();
    if (child < 0) {
      if (errno != EAGAIN || waited_ms >= 5000) return denied(errno, "fork after " + std::to_string(i));
      sleep_ms(1);
      ++waited_ms;
      continue;
    }
    if (child == 0) {
      // The grandchild's fork may fail under the limit: then this child just exits.
      if (::fork() == 0) ::_exit(0);
      ::_exit(0);
    }
    while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
    }
    ++i;
  }
  sleep_ms(100);
  const int zombies = orphan_zombies();
  for (unsigned long long i = 0; i < left; ++i) {
    if (::fork() == 0) ::_exit(0);
  }
  print("churned=" + std::to_string(n) + " orphan_zombies=" + std::to_string(zombies) + "\n");
  return kOk;
}

void* thread_main(void*) {
  pause_forever();
}

// threads N [--hold]: starts up to N threads (64 KiB stacks) that block forever, with SIGTERM
// blocked in all of them, so only SIGKILL ends the process. Prints "threads=M"; without --hold
// it exits 0 (M == N) or 1 when a limit stopped it early (the errno name first, then the count);
// with --hold it waits forever after starting what it could.
int cmd_threads(Args a) {
  unsigned long long n = 0;
  if (!parse_u64(a[0], n)) return kUsage;
  const bool hold = a.size() == 2 && std::string_view(a[1]) == "--hold";
  if (a.size() == 2 && !hold) return kUsage;
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &term, nullptr);  // inherited by every thread
  pthread_attr_t attr;
  ::pthread_attr_init(&attr);
  ::pthread_attr_setstacksize(&attr, 64 * 1024);
  unsigned long long started = 0;
  int err = 0;
  for (; started < n; ++started) {
    pthread_t t;
    err = ::pthread_create(&t, &attr, thread_main, nullptr);
    if (err != 0) break;
    ::pthread_detach(t);
  }
  ::pthread_attr_destroy(&attr);
  const std::string count = "threads=" + std::to_string(started) + "\n";
  if (hold) {
    print(count);
    pause_forever();
  }
  if (err != 0) {
    const int code = denied(err, "pthread_create after " + std::to_string(started) + " threads");
    print(count);
    return code;
  }
  print(count);
  return kOk;
}

// fds-to PATH: the fd listing of `fds` ("N TARGET" lines), written to PATH instead of stdout,
// for runs whose stdout the caller closed.
int cmd_fds_to(Args a) {
  std::string listing;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return unexpected(errno, "opendir /proc/self/fd");
  const int own = ::dirfd(dir);
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name == "." || name == ".." || name == std::to_string(own)) continue;
    names.push_back(name);
  }
  for (const auto& name : names) {
    char target[4096];
    const ssize_t n = ::readlinkat(own, name.c_str(), target, sizeof target - 1);
    listing += name + " " + (n >= 0 ? std::string(target, static_cast<size_t>(n)) : "?") + "\n";
  }
  ::closedir(dir);
  const int fd = ::open(a[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return denied(errno, std::string("open ") + a[0]);
  int err = 0;
  const bool ok = write_all(fd, listing.data(), listing.size(), err);
  ::close(fd);
  return ok ? kOk : denied(err, "write");
}

// write-files DIR COUNT INTERVAL_MS: writes DIR/file-I (containing I) for I in 0..COUNT-1,
// INTERVAL_MS apart, through the path each time (so a directory replaced meanwhile is seen).
// Prints "written=W failed=F first_error=ENAME" and exits 0 whatever happened: the driver
// judges by where the files landed.
int cmd_write_files(Args a) {
  unsigned long long count = 0;
  unsigned long long interval_ms = 0;
  if (!parse_u64(a[1], count) || !parse_u64(a[2], interval_ms)) return kUsage;
  unsigned long long written = 0;
  unsigned long long failed = 0;
  int first_error = 0;
  for (unsigned long long i = 0; i < count; ++i) {
    if (i > 0) sleep_ms(static_cast<long>(interval_ms));
    const std::string path = std::string(a[0]) + "/file-" + std::to_string(i);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    int err = fd < 0 ? errno : 0;
    if (fd >= 0) {
      const std::string text = std::to_string(i) + "\n";
      if (!write_all(fd, text.data(), text.size(), err)) err = err != 0 ? err : EIO;
      ::close(fd);
    }
    if (err == 0) {
      ++written;
    } else {
      ++failed;
      if (first_error == 0) first_error = err;
    }
  }
  print("written=" + std::to_string(written) + " failed=" + std::to_string(failed) +
        " first_error=" + (first_error != 0 ? errno_name(first_error) : std::string("none")) + "\n");
  return kOk;
}

constexpr Command kCommands[] = {
    {"flood", "stdout|stderr|both [MIB]", 1, 2, cmd_flood},
    {"stop-self", "", 0, 0, cmd_stop_self},
    {"ptrace-stop", "", 0, 0, cmd_ptrace_stop},
    {"term-storm", "[LINEAGES]", 0, 1, cmd_term_storm},
    {"zombie-churn", "N [LEFT]", 1, 2, cmd_zombie_churn},
    {"threads", "N [--hold]", 1, 2, cmd_threads},
    {"fds-to", "PATH", 1, 1, cmd_fds_to},
    {"write-files", "DIR COUNT INTERVAL_MS", 3, 3, cmd_write_files},
};

}  // namespace

std::span<const Command> stress_commands() { return kCommands; }

}  // namespace probe
