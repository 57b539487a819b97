// Probes for what only the Landlock layer stops (docs/security.md, "Landlock"); the controls
// take Landlock away with `without-landlock` (probe_wrappers.cpp).
//
// Inside the sandbox the mount namespace already hides every host path, so these probes reach
// the host the ways mounts do not cover: through a directory fd the caller leaked (the shape of
// CVE-2024-21626), or by binding a TCP port on the sandbox's own loopback.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "probe.h"

namespace probe {
namespace {

bool parse_fd(const char* text, int& fd) {
  unsigned long long value = 0;
  if (!parse_u64(text, value) || value > 1024) return false;
  fd = static_cast<int>(value);
  return true;
}

// read-at FD NAME: open NAME relative to the directory fd FD (inherited from the caller) and
// print it.
int cmd_read_at(Args a) {
  int dir = -1;
  if (!parse_fd(a[0], dir)) return kUsage;
  const int fd = ::openat(dir, a[1], O_RDONLY | O_CLOEXEC);
  if (fd < 0) return denied(errno, std::string("openat ") + a[0] + " " + a[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return denied(err, std::string("read ") + a[1]);
    }
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  print(text);
  return kOk;
}

// write-at FD NAME: create NAME in the directory fd FD.
int cmd_write_at(Args a) {
  int dir = -1;
  if (!parse_fd(a[0], dir)) return kUsage;
  const int fd = ::openat(dir, a[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return denied(errno, std::string("openat for writing ") + a[0] + " " + a[1]);
  const std::string text = "written by confine-probe\n";
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int err = errno;
  ::close(fd);
  if (!written) return denied(err, std::string("write ") + a[1]);
  print("ok\n");
  return kOk;
}

// bind-tcp HOST PORT: bind (and listen on) a TCP socket; PORT 0 picks any.
int cmd_bind_tcp(Args a) {
  unsigned long long port = 0;
  if (!parse_u64(a[1], port) || port > 65535) return kUsage;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return denied(errno, "socket(AF_INET, SOCK_STREAM)");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, a[0], &addr.sin_addr) != 1) return kUsage;
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) < 0) {
    return denied(errno, std::string("bind ") + a[0] + ":" + a[1]);
  }
  if (::listen(fd, 1) < 0) return denied(errno, "listen");
  ::close(fd);
  print("ok\n");
  return kOk;
}

constexpr Command kCommands[] = {
    {"read-at", "FD NAME", 2, 2, cmd_read_at},
    {"write-at", "FD NAME", 2, 2, cmd_write_at},
    {"bind-tcp", "HOST PORT", 2, 2, cmd_bind_tcp},
};

}  // namespace

std::span<const Command> landlock_commands() { return kCommands; }

}  // namespace probe
