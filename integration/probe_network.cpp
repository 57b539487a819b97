// Network probes: reaching the host through TCP on 127.0.0.1, through abstract unix sockets
// (which live in the network namespace, not the filesystem, so no mount rule hides them), and
// through a unix socket's path.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "probe.h"

namespace probe {
namespace {

constexpr int kConnectTimeoutMs = 3000;

// connect() on a non-blocking socket, waiting up to the timeout; returns 0 or the errno.
int connect_with_timeout(int fd, const sockaddr* addr, socklen_t len) {
  if (::connect(fd, addr, len) == 0) return 0;
  if (errno != EINPROGRESS) return errno;
  pollfd p{fd, POLLOUT, 0};
  const int ready = ::poll(&p, 1, kConnectTimeoutMs);
  if (ready == 0) return ETIMEDOUT;
  if (ready < 0) return errno;
  int err = 0;
  socklen_t size = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &size) < 0) return errno;
  return err;
}

int cmd_connect_tcp(Args a) {
  unsigned long long port = 0;
  if (!parse_u64(a[1], port) || port == 0 || port > 65535) return kUsage;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, a[0], &addr.sin_addr) != 1) return kUsage;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return denied(errno, "socket AF_INET");
  const int err = connect_with_timeout(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  ::close(fd);
  if (err != 0) return denied(err, std::string("connect ") + a[0] + ":" + a[1]);
  print("ok\n");
  return kOk;
}

int cmd_connect_abstract(Args a) {
  const std::string_view name = a[0];
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (name.size() + 1 > sizeof addr.sun_path) return kUsage;
  std::memcpy(addr.sun_path + 1, name.data(), name.size());  // sun_path[0] == 0: abstract
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return denied(errno, "socket AF_UNIX");
  const int err = connect_with_timeout(fd, reinterpret_cast<const sockaddr*>(&addr), len);
  ::close(fd);
  if (err != 0) return denied(err, "connect @" + std::string(name));
  print("ok\n");
  return kOk;
}

// A unix socket named by a path: a host daemon's socket (/run/docker.sock, D-Bus). The mount
// namespace hides it; in Landlock mode, which cannot refuse connect() on a path, socket() fails.
int cmd_connect_unix(Args a) {
  const std::string_view path = a[0];
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() + 1 > sizeof addr.sun_path) return kUsage;
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return denied(errno, "socket AF_UNIX");
  const int err = connect_with_timeout(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  ::close(fd);
  if (err != 0) return denied(err, "connect " + std::string(path));
  print("ok\n");
  return kOk;
}

// Listens on abstract socket NAME, says "listening" on stdout, then sleeps SECONDS: the server
// another sandbox must not reach.
int cmd_listen_abstract(Args a) {
  const std::string_view name = a[0];
  unsigned long long seconds = 0;
  if (!parse_u64(a[1], seconds)) return kUsage;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (name.size() + 1 > sizeof addr.sun_path) return kUsage;
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return denied(errno, "socket AF_UNIX");
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), len) < 0) return denied(errno, "bind @" + std::string(name));
  if (::listen(fd, 4) < 0) return denied(errno, "listen @" + std::string(name));
  print("listening\n");
  ::sleep(static_cast<unsigned>(seconds));
  ::close(fd);
  return kOk;
}

constexpr Command kCommands[] = {
    {"connect-unix", "PATH", 1, 1, cmd_connect_unix},
    {"listen-abstract", "NAME SECONDS", 2, 2, cmd_listen_abstract},
    {"connect-tcp", "HOST PORT", 2, 2, cmd_connect_tcp},
    {"connect-abstract", "NAME", 1, 1, cmd_connect_abstract},
};

}  // namespace

std::span<const Command> network_commands() { return kCommands; }

}  // namespace probe
