// Process probes: identity, capabilities, environment, descriptors, resource use, signals and
// processes that try to outlive or reach beyond the sandbox.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "probe.h"

extern char** environ;

namespace probe {
namespace {

std::string read_file(const char* path, int& err) {
  std::string out;
  err = 0;
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    err = errno;
    return out;
  }
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  if (n < 0) err = errno;
  ::close(fd);
  return out;
}

int cmd_id(Args) {
  gid_t groups[64];
  const int count = ::getgroups(64, groups);
  std::string line = "uid=" + std::to_string(::getuid()) + " euid=" + std::to_string(::geteuid()) +
                     " gid=" + std::to_string(::getgid()) + " egid=" + std::to_string(::getegid()) + " groups=";
  for (int i = 0; i < count; ++i) line += (i ? "," : "") + std::to_string(groups[i]);
  print(line + "\n");
  return kOk;
}

// The kernel's view of our privileges: capability sets, no_new_privs and seccomp mode.
int cmd_caps(Args) {
  int err = 0;
  const std::string status = read_file("/proc/self/status", err);
  if (err != 0) return unexpected(err, "read /proc/self/status");
  size_t pos = 0;
  while (pos < status.size()) {
    size_t end = status.find('\n', pos);
    if (end == std::string::npos) end = status.size();
    const std::string line = status.substr(pos, end - pos);
    for (const char* key : {"CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:", "NoNewPrivs:", "Seccomp:"}) {
      if (line.rfind(key, 0) == 0) print(line + "\n");
    }
    pos = end + 1;
  }
  return kOk;
}

// `env` prints environ; `env --proc` prints /proc/self/environ (what exec actually passed).
int cmd_env(Args a) {
  if (a.size() == 1) {
    if (std::string_view(a[0]) != "--proc") return kUsage;
    int err = 0;
    std::string text = read_file("/proc/self/environ", err);
    if (err != 0) return denied(err, "read /proc/self/environ");
    for (char& c : text) {
      if (c == '\0') c = '\n';
    }
    print(text);
    return kOk;
  }
  for (char** e = environ; *e != nullptr; ++e) print(std::string(*e) + "\n");
  return kOk;
}

// Every open descriptor with what it refers to, except the one used to list them.
int cmd_fds(Args) {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return unexpected(errno, "opendir /proc/self/fd");
  const int own = ::dirfd(dir);
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name == "." || name == ".." || name == std::to_string(own)) continue;
    char target[4096];
    const ssize_t n = ::readlinkat(own, name.c_str(), target, sizeof target - 1);
    print(name + " " + (n >= 0 ? std::string(target, static_cast<size_t>(n)) : "?") + "\n");
  }
  ::closedir(dir);
  return kOk;
}

int cmd_exit(Args a) {
  unsigned long long code = 0;
  if (!parse_u64(a[0], code) || code > 255) return kUsage;
  std::fflush(stdout);
  ::_exit(static_cast<int>(code));
}

int cmd_signal(Args a) {
  unsigned long long sig = 0;
  if (!parse_u64(a[0], sig) || sig < 1 || sig >= static_cast<unsigned long long>(NSIG)) return kUsage;
  ::signal(static_cast<int>(sig), SIG_DFL);
  ::raise(static_cast<int>(sig));
  return unexpected(0, "still alive after raising signal " + std::to_string(sig));
}

void sleep_seconds(unsigned long long seconds) {
  timespec left{static_cast<time_t>(seconds), 0};
  while (::nanosleep(&left, &left) < 0 && errno == EINTR) {
  }
}

int cmd_sleep(Args a) {
  unsigned long long seconds = 0;
  if (!parse_u64(a[0], seconds)) return kUsage;
  sleep_seconds(seconds);
  print("ok\n");
  return kOk;
}

// Creates FILE (the driver waits for it: the target runs), then sleeps SECONDS. With "ignore",
// first ignores SIGTERM, SIGINT and SIGHUP: a job that will not be cancelled politely.
int cmd_armed_sleep(Args a) {
  unsigned long long seconds = 0;
  if (!parse_u64(a[1], seconds)) return kUsage;
  if (a.size() == 3) {
    if (std::string_view(a[2]) != "ignore") return kUsage;
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) ::signal(sig, SIG_IGN);
  }
  const int fd = ::open(std::string(a[0]).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return unexpected(errno, "open " + std::string(a[0]));
  ::close(fd);
  sleep_seconds(seconds);
  print("ok\n");
  return kOk;
}

// Burns CPU until this process has used SECONDS of it (not wall time: a throttled job spins longer).
int cmd_spin(Args a) {
  unsigned long long seconds = 0;
  if (!parse_u64(a[0], seconds)) return kUsage;
  volatile unsigned long long sink = 0;
  while (true) {
    for (int i = 0; i < 1000000; ++i) sink = sink + static_cast<unsigned long long>(i);
    timespec used{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &used);
    if (static_cast<unsigned long long>(used.tv_sec) >= seconds) break;
  }
  print("ok\n");
  return kOk;
}

// Maps and touches MB mebibytes, one at a time, so the memory is really charged.
int cmd_memhog(Args a) {
  unsigned long long mib = 0;
  if (!parse_u64(a[0], mib)) return kUsage;
  constexpr size_t kMiB = 1 << 20;
  for (unsigned long long i = 0; i < mib; ++i) {
    void* p = ::mmap(nullptr, kMiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return denied(errno, "mmap after " + std::to_string(i) + " MiB");
    std::memset(p, 0x5a, kMiB);
  }
  print("ok\n");
  return kOk;
}

// Forks paused children until fork fails or MAX (default 512) are alive, then kills and reaps
// them. Capped so that a host without a pids limit is not harmed. Exit 1 with EAGAIN when a
// limit stopped it, 0 when it reached MAX.
int cmd_forkbomb(Args a) {
  unsigned long long max = 512;
  if (a.size() == 1 && !parse_u64(a[0], max)) return kUsage;
  std::vector<pid_t> children;
  int err = 0;
  while (children.size() < max) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      while (true) ::pause();
    }
    if (pid < 0) {
      err = errno;
      break;
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) ::kill(pid, SIGKILL);
  for (pid_t pid : children) ::waitpid(pid, nullptr, 0);
  std::fprintf(stderr, "probe: forked %zu children\n", children.size());
  if (err != 0) {
    const int code = denied(err, "fork");
    print("forked=" + std::to_string(children.size()) + "\n");
    return code;
  }
  print("forked=" + std::to_string(children.size()) + "\n");
  return kOk;
}

// Double fork and setsid: a daemon that ignores SIGTERM and sleeps forever, the classic way to
// outlive a job. Writes the daemon's pid (as seen inside) to PIDFILE ("-" for stdout). The
// original process then also ignores SIGTERM and sleeps forever, unless --exit is given, in
// which case it exits 0 and leaves the daemon behind.
int cmd_daemonize(Args a) {
  const std::string pidfile = a[0];
  const bool exit_after = a.size() == 2 && std::string_view(a[1]) == "--exit";
  if (a.size() == 2 && !exit_after) return kUsage;
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) < 0) return unexpected(errno, "pipe2");
  std::fflush(stdout);
  const pid_t first = ::fork();
  if (first < 0) return unexpected(errno, "fork");
  if (first == 0) {
    ::setsid();
    const pid_t second = ::fork();
    if (second != 0) ::_exit(second < 0 ? kUnexpected : kOk);
    ::signal(SIGTERM, SIG_IGN);
    ::signal(SIGHUP, SIG_IGN);
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (pidfile == "-") {
      print(pid);
    } else {
      const int fd = ::open(pidfile.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd >= 0) {
        (void)!::write(fd, pid.data(), pid.size());
        ::close(fd);
      }
    }
    (void)!::write(ready[1], "r", 1);
    ::close(ready[1]);
    ::close(ready[0]);
    // Let go of the caller's pipes, as a real daemon does.
    const int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(null, 2);
    }
    while (true) ::pause();
  }
  ::close(ready[1]);
  int status = 0;
  ::waitpid(first, &status, 0);
  char byte = 0;
  const ssize_t n = ::read(ready[0], &byte, 1);
  ::close(ready[0]);
  if (n != 1) return unexpected(0, "the daemon did not start");
  if (exit_after) {
    print("daemon started\n");
    return kOk;
  }
  ::signal(SIGTERM, SIG_IGN);
  while (true) ::pause();
}

std::string kill_result(int rc) { return rc == 0 ? "ok" : errno_name(errno); }

// Signals everything it can reach: kill(-1) means "every process I may signal" and must stay
// inside the pid namespace. Extra PIDs (host pids from the driver) are tried too. Reports each
// result and exits 0: the driver judges by what survived.
int cmd_kill_all(Args a) {
  print("kill(-1, SIGKILL): " + kill_result(::kill(-1, SIGKILL)) + "\n");
  print("kill(0, SIGCONT): " + kill_result(::kill(0, SIGCONT)) + "\n");
  print("kill(1, SIGKILL): " + kill_result(::kill(1, SIGKILL)) + "\n");
  for (char* arg : a) {
    unsigned long long pid = 0;
    if (!parse_u64(arg, pid) || pid <= 1) return kUsage;
    if (static_cast<pid_t>(pid) == ::getpid()) continue;
    print("kill(" + std::to_string(pid) + ", SIGKILL): " + kill_result(::kill(static_cast<pid_t>(pid), SIGKILL)) + "\n");
  }
  return kOk;
}

constexpr Command kCommands[] = {
    {"id", "", 0, 0, cmd_id},
    {"caps", "", 0, 0, cmd_caps},
    {"env", "[--proc]", 0, 1, cmd_env},
    {"fds", "", 0, 0, cmd_fds},
    {"exit", "N", 1, 1, cmd_exit},
    {"signal", "N", 1, 1, cmd_signal},
    {"sleep", "SECONDS", 1, 1, cmd_sleep},
    {"armed-sleep", "FILE SECONDS [ignore]", 2, 3, cmd_armed_sleep},
    {"spin", "CPU_SECONDS", 1, 1, cmd_spin},
    {"memhog", "MB", 1, 1, cmd_memhog},
    {"forkbomb", "[MAX]", 0, 1, cmd_forkbomb},
    {"daemonize", "PIDFILE|- [--exit]", 1, 2, cmd_daemonize},
    {"kill-all", "[PID...]", 0, 64, cmd_kill_all},
};

}  // namespace

std::span<const Command> process_commands() { return kCommands; }

}  // namespace probe
