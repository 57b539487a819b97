// Probes for the holes an attacker found (issue 11): socket families that escape a network
// namespace, set-id files, preallocation past the file-size limit, memory RLIMIT_AS cannot see,
// tmpfs inode exhaustion, per-user kernel resources, and a violation parked while the job exits.
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "probe.h"

namespace probe {
namespace {

int result(long rc, std::string_view what) {
  if (rc < 0) return denied(errno, what);
  print("ok\n");
  return kOk;
}

// socket FAMILY: socket(2) of that address family (a number, or unix/inet/inet6/netlink/vsock/
// packet/alg), SOCK_STREAM or whatever type the family takes.
int socket_family(Args args) {
  const std::string name = args[0];
  struct Known {
    const char* name;
    int family;
    int type;
  };
  constexpr Known kKnown[] = {{"unix", AF_UNIX, SOCK_STREAM},   {"inet", AF_INET, SOCK_STREAM},
                              {"inet6", AF_INET6, SOCK_STREAM}, {"netlink", AF_NETLINK, SOCK_RAW},
                              {"vsock", AF_VSOCK, SOCK_STREAM}, {"packet", AF_PACKET, SOCK_DGRAM},
                              {"alg", AF_ALG, SOCK_SEQPACKET}};
  int family = -1, type = SOCK_STREAM;
  for (const Known& k : kKnown) {
    if (name == k.name) {
      family = k.family;
      type = k.type;
    }
  }
  unsigned long long number = 0;
  if (family < 0 && parse_u64(name, number)) family = static_cast<int>(number);
  if (family < 0) return kUsage;
  const int fd = ::socket(family, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return denied(errno, "socket " + name);
  ::close(fd);
  print("ok\n");
  return kOk;
}

// setid OP PATH MODE: one way of giving PATH an octal MODE (with set-id bits, the sandbox must
// refuse it). OP: chmod fchmod fchmodat fchmodat2 creat open openat openat-tmpfile openat2 mkdir
// mknod. PATH is created as needed (as an empty file, mode 0644) for the chmod family.
int setid(Args args) {
  const std::string op = args[0];
  const char* path = args[1];
  unsigned long long mode_value = 0;
  if (std::sscanf(args[2], "%llo", &mode_value) != 1) return kUsage;
  const auto mode = static_cast<mode_t>(mode_value);
  auto ensure_file = [&] {
    const int fd = ::open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) ::close(fd);
    return fd >= 0;
  };
  if (op == "chmod") return ensure_file() ? result(::chmod(path, mode), op) : unexpected(errno, "create");
  if (op == "fchmodat") {
    return ensure_file() ? result(::fchmodat(AT_FDCWD, path, mode, 0), op) : unexpected(errno, "create");
  }
  if (op == "fchmodat2") {
    return ensure_file() ? result(::syscall(452, AT_FDCWD, path, mode, 0), op) : unexpected(errno, "create");
  }
  if (op == "fchmod") {
    if (!ensure_file()) return unexpected(errno, "create");
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return unexpected(errno, "open");
    const long rc = ::fchmod(fd, mode);
    const int saved = errno;
    ::close(fd);
    errno = saved;
    return result(rc, op);
  }
  auto close_result = [&](long fd) {
    if (fd >= 0) ::close(static_cast<int>(fd));
    return result(fd, op);
  };
  if (op == "creat") return close_result(::syscall(SYS_creat, path, mode));
  if (op == "open") return close_result(::syscall(SYS_open, path, O_WRONLY | O_CREAT | O_CLOEXEC, mode));
  if (op == "openat") return close_result(::openat(AT_FDCWD, path, O_WRONLY | O_CREAT | O_CLOEXEC, mode));
  if (op == "openat-tmpfile") return close_result(::openat(AT_FDCWD, path, O_TMPFILE | O_WRONLY | O_CLOEXEC, mode));
  if (op == "openat2") {
    open_how how{};
    how.flags = O_WRONLY | O_CREAT | O_CLOEXEC;
    how.mode = mode;
    return close_result(::syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how));
  }
  if (op == "mkdir") return result(::mkdir(path, mode), op);
  if (op == "mknod") return result(::mknod(path, S_IFIFO | mode, 0), op);
  return kUsage;
}

// stat-mode PATH: the octal mode bits of PATH (to check what a refused call left behind).
int stat_mode(Args args) {
  struct stat st {};
  if (::stat(args[0], &st) != 0) return denied(errno, "stat");
  char text[32];
  std::snprintf(text, sizeof text, "%o\n", st.st_mode & 07777);
  print(text);
  return kOk;
}

// fallocate PATH BYTES [keep]: preallocates BYTES at offset 0, with FALLOC_FL_KEEP_SIZE if asked.
int fallocate_cmd(Args args) {
  unsigned long long bytes = 0;
  if (!parse_u64(args[1], bytes)) return kUsage;
  const bool keep = args.size() > 2 && std::string_view(args[2]) == "keep";
  const int fd = ::open(args[0], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return unexpected(errno, "open");
  const long rc = ::fallocate(fd, keep ? FALLOC_FL_KEEP_SIZE : 0, 0, static_cast<off_t>(bytes));
  const int saved = errno;
  ::close(fd);
  errno = saved;
  return result(rc, keep ? "fallocate KEEP_SIZE" : "fallocate");
}

// memfd-fill MIB: writes MIB MiB into a memfd with write() (never mapped) and holds it.
int memfd_fill(Args args) {
  unsigned long long mib = 0;
  if (!parse_u64(args[0], mib)) return kUsage;
  const int fd = static_cast<int>(::syscall(SYS_memfd_create, "probe", MFD_CLOEXEC));
  if (fd < 0) return denied(errno, "memfd_create");
  std::vector<char> chunk(1 << 20, 'x');
  for (unsigned long long i = 0; i < mib; ++i) {
    if (::write(fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size())) return denied(errno, "write");
  }
  print("ok\n");
  return kOk;
}

// shm-fill MIB: a SysV shared memory segment of MIB MiB, attached, written, detached.
int shm_fill(Args args) {
  unsigned long long mib = 0;
  if (!parse_u64(args[0], mib)) return kUsage;
  const int id = ::shmget(IPC_PRIVATE, static_cast<size_t>(mib) << 20, IPC_CREAT | 0600);
  if (id < 0) return denied(errno, "shmget");
  void* at = ::shmat(id, nullptr, 0);
  if (at == reinterpret_cast<void*>(-1)) return denied(errno, "shmat");
  std::memset(at, 'x', static_cast<size_t>(mib) << 20);
  ::shmdt(at);
  ::shmctl(id, IPC_RMID, nullptr);
  print("ok\n");
  return kOk;
}

// many-files DIR N: creates up to N empty files in DIR; prints the errno that stopped it (or
// "all"), then how many it made. Exit 0 when all N were created, 1 otherwise.
int many_files(Args args) {
  unsigned long long n = 0;
  if (!parse_u64(args[1], n)) return kUsage;
  const int dir = ::open(args[0], O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return unexpected(errno, "open dir");
  unsigned long long made = 0;
  int stopped = 0;
  for (; made < n; ++made) {
    const std::string name = "f" + std::to_string(made);
    const int fd = ::openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
      stopped = errno;
      break;
    }
    ::close(fd);
  }
  ::close(dir);
  print((stopped != 0 ? errno_name(stopped) : std::string("all")) + "\n" + std::to_string(made) + "\n");
  return stopped != 0 ? kDenied : kOk;
}

// inotify-max N [HOLD_MS]: opens up to N inotify instances and keeps them; prints the errno that
// stopped it (or "all"), then how many it got, then holds them HOLD_MS ms. Exits 0 either way.
int inotify_max(Args args) {
  unsigned long long n = 0, hold_ms = 0;
  if (!parse_u64(args[0], n) || (args.size() > 1 && !parse_u64(args[1], hold_ms))) return kUsage;
  std::vector<int> fds;
  int stopped = 0;
  while (fds.size() < n) {
    const int fd = ::inotify_init1(IN_CLOEXEC);
    if (fd < 0) {
      stopped = errno;
      break;
    }
    fds.push_back(fd);
  }
  print((stopped != 0 ? errno_name(stopped) : std::string("all")) + "\n" + std::to_string(fds.size()) + "\n");
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::milliseconds(hold_ms));
  return kOk;
}

// parked-violation [child]: a second thread calls bpf (forbidden, so it parks on the filter's
// notification) and, as soon as it is parked, the process exits 0 (exit_group ends that thread).
// With `child`, the parked thread is in a child process and the target exits 0 instead. Unless
// confine reads the notification before the exit completes, the violation would vanish.
void wait_until_parked(pid_t tid) {
  const std::string file = "/proc/self/task/" + std::to_string(tid) + "/syscall";
  const std::string bpf_nr = std::to_string(SYS_bpf) + " ";
  for (int i = 0; i < 2000; ++i) {
    char text[64] = {};
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      (void)!::read(fd, text, sizeof text - 1);
      ::close(fd);
    }
    if (std::string_view(text).substr(0, bpf_nr.size()) == bpf_nr) return;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
}

int parked_violation(Args args) {
  const bool in_child = !args.empty() && std::string_view(args[0]) == "child";
  if (!in_child) {
    std::atomic<pid_t> tid{0};
    std::thread t([&tid] {
      tid = static_cast<pid_t>(::syscall(SYS_gettid));
      (void)::syscall(SYS_bpf, 5, nullptr, 0);
    });
    t.detach();
    while (tid == 0) std::this_thread::yield();
    wait_until_parked(tid);
    ::_exit(0);
  }
  int ready[2];
  if (::pipe(ready) != 0) return unexpected(errno, "pipe");
  const pid_t pid = ::fork();
  if (pid < 0) return unexpected(errno, "fork");
  if (pid == 0) {
    ::close(ready[0]);
    std::atomic<pid_t> tid{0};
    std::thread t([&tid] {
      tid = static_cast<pid_t>(::syscall(SYS_gettid));
      (void)::syscall(SYS_bpf, 5, nullptr, 0);
    });
    t.detach();
    while (tid == 0) std::this_thread::yield();
    wait_until_parked(tid);
    (void)!::write(ready[1], "x", 1);
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  char byte;
  (void)!::read(ready[0], &byte, 1);
  ::_exit(0);  // the child still parked: the target's exit_group must not outrun the report
}

// reopen-fd N: opens /proc/self/fd/N again for reading and prints what it reads (at most 4 KiB,
// without waiting). The attack on a job handed the caller's output file: it reads back what the
// file held before the run.
int reopen_fd(Args args) {
  const std::string path = std::string("/proc/self/fd/") + args[0];
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return denied(errno, "open " + path);
  char text[4096];
  const ssize_t n = ::read(fd, text, sizeof text);
  ::close(fd);
  print("read\n");
  if (n > 0) print(std::string_view(text, static_cast<size_t>(n)));
  return kOk;
}

// tty-tamper N: what a job can do to a terminal it holds as fd N: resize it to 12x34 and turn
// echo off. Exit 1 (ENOTTY) when fd N is not a terminal.
int tty_tamper(Args args) {
  unsigned long long fd = 0;
  if (!parse_u64(args[0], fd)) return kUsage;
  const int n = static_cast<int>(fd);
  if (::isatty(n) == 0) return denied(ENOTTY, "isatty");
  winsize size{};
  size.ws_row = 12;
  size.ws_col = 34;
  if (::ioctl(n, TIOCSWINSZ, &size) != 0) return denied(errno, "TIOCSWINSZ");
  termios mode{};
  if (::tcgetattr(n, &mode) != 0) return denied(errno, "tcgetattr");
  mode.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  if (::tcsetattr(n, TCSANOW, &mode) != 0) return denied(errno, "tcsetattr");
  print("ok\n");
  return kOk;
}

// stdin-echo: copies stdin to stdout until end-of-file, then says how many bytes on stderr.
int stdin_echo(Args) {
  char buffer[65536];
  unsigned long long total = 0;
  while (true) {
    const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return denied(errno, "read stdin");
    if (n == 0) break;
    total += static_cast<unsigned long long>(n);
    print(std::string_view(buffer, static_cast<size_t>(n)));
  }
  std::fprintf(stderr, "stdin: %llu bytes\n", total);
  return kOk;
}

// write-bytes N [STREAM]: writes exactly N bytes ('x') to stdout (or stderr), then exits 0.
int write_bytes(Args args) {
  unsigned long long n = 0;
  if (!parse_u64(args[0], n)) return kUsage;
  const int fd = args.size() > 1 && std::string_view(args[1]) == "stderr" ? STDERR_FILENO : STDOUT_FILENO;
  std::string chunk(65536, 'x');
  while (n > 0) {
    const size_t len = static_cast<size_t>(std::min<unsigned long long>(n, chunk.size()));
    const ssize_t w = ::write(fd, chunk.data(), len);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return denied(errno, "write");
    n -= static_cast<unsigned long long>(w);
  }
  return kOk;
}

// make-symlink TARGET LINK: plants a symlink, as a hostile job would in its job directory.
int make_symlink(Args args) { return result(::symlink(args[0], args[1]), "symlink"); }

// make-fifo PATH: plants a FIFO.
int make_fifo(Args args) { return result(::mkfifo(args[0], 0666), "mkfifo"); }

// hostile-output DIR: what a hostile job leaves in an output area: a million empty files (as many
// as fit), a setuid and a setgid file, a symlink to /etc, a FIFO, a file with a newline in its
// name, a deep directory chain. Prints how many of the million it made. Exit 0.
int hostile_output(Args args) {
  const std::string dir = args[0];
  int made = 0;
  const std::string many = dir + "/many";
  if (::mkdir(many.c_str(), 0755) != 0) return unexpected(errno, "mkdir many");
  for (int i = 0; i < 1000000; ++i) {
    const int fd = ::open((many + "/" + std::to_string(i)).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) break;
    ::close(fd);
    ++made;
  }
  // Whatever is still free after the flood (the cap counts every inode): remove a few files.
  for (int i = 0; i < 8 && made > 0; ++i) ::unlink((many + "/" + std::to_string(--made)).c_str());
  for (const auto& [name, mode] : {std::pair<const char*, mode_t>{"/suid", 04755}, {"/sgid", 02755}}) {
    const std::string path = dir + name;
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) ::close(fd);
    (void)::chmod(path.c_str(), mode);
  }
  if (::symlink("/etc", (dir + "/etc-link").c_str()) != 0) return unexpected(errno, "symlink");
  (void)::mkfifo((dir + "/fifo").c_str(), 0666);
  const int odd = ::open((dir + "/bad\nname").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (odd >= 0) ::close(odd);
  print(std::to_string(made) + "\n");
  return kOk;
}

constexpr Command kCommands[] = {
    {"hostile-output", "DIR", 1, 1, hostile_output},
    {"make-symlink", "TARGET LINK", 2, 2, make_symlink},
    {"make-fifo", "PATH", 1, 1, make_fifo},
    {"stdin-echo", "", 0, 0, stdin_echo},
    {"write-bytes", "N [stderr]", 1, 2, write_bytes},
    {"reopen-fd", "N", 1, 1, reopen_fd},
    {"tty-tamper", "N", 1, 1, tty_tamper},
    {"socket", "FAMILY", 1, 1, socket_family},
    {"setid", "OP PATH OCTAL-MODE", 3, 3, setid},
    {"stat-mode", "PATH", 1, 1, stat_mode},
    {"fallocate", "PATH BYTES [keep]", 2, 3, fallocate_cmd},
    {"memfd-fill", "MIB", 1, 1, memfd_fill},
    {"shm-fill", "MIB", 1, 1, shm_fill},
    {"many-files", "DIR N", 2, 2, many_files},
    {"inotify-max", "N [HOLD_MS]", 1, 2, inotify_max},
    {"parked-violation", "[child]", 0, 1, parked_violation},
};

}  // namespace

std::span<const Command> hardening_commands() { return kCommands; }

}  // namespace probe
