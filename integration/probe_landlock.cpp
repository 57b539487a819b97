// Probes for what only the Landlock layer stops (docs/security.md, "Landlock"); the controls
// take Landlock away with `without-landlock` (probe_wrappers.cpp).
//
// Inside the sandbox the mount namespace already hides every host path, so these probes reach
// the host the ways mounts do not cover: through a host directory fd handed to the job (over a
// unix socket in its job directory: the shape of CVE-2024-21626's leaked fd), or by binding a
// TCP port on the sandbox's own loopback.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "probe.h"

namespace probe {
namespace {

// Connects to the unix socket at `path` and receives the one descriptor sent over it
// (SCM_RIGHTS); -1 with errno set on failure.
int receive_fd(const char* path) {
  const int sock = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return -1;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (std::strlen(path) >= sizeof addr.sun_path) {
    ::close(sock);
    errno = ENAMETOOLONG;
    return -1;
  }
  std::strcpy(addr.sun_path, path);
  if (::connect(sock, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) < 0) {
    const int err = errno;
    ::close(sock);
    errno = err;
    return -1;
  }
  char byte = 0;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  const ssize_t got = ::recvmsg(sock, &message, MSG_CMSG_CLOEXEC);
  const int err = errno;
  ::close(sock);
  const cmsghdr* header = got > 0 ? CMSG_FIRSTHDR(&message) : nullptr;
  if (header == nullptr || header->cmsg_type != SCM_RIGHTS) {
    errno = got < 0 ? err : EPROTO;
    return -1;
  }
  int fd = -1;
  std::memcpy(&fd, CMSG_DATA(header), sizeof fd);
  return fd;
}

// passed-read SOCKET NAME: receives a directory fd from whoever listens on the unix socket
// SOCKET (a host process, in the tests), opens NAME relative to it and prints it.
int cmd_passed_read(Args a) {
  const int dir = receive_fd(a[0]);
  if (dir < 0) return unexpected(errno, std::string("receive a descriptor over ") + a[0]);
  const int fd = ::openat(dir, a[1], O_RDONLY | O_CLOEXEC);
  if (fd < 0) return denied(errno, std::string("openat (passed directory) ") + a[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return denied(errno, std::string("read ") + a[1]);
    text.append(buf, static_cast<size_t>(n));
  }
  print(text);
  return kOk;
}

// passed-write SOCKET NAME: as passed-read, but creates NAME in the directory.
int cmd_passed_write(Args a) {
  const int dir = receive_fd(a[0]);
  if (dir < 0) return unexpected(errno, std::string("receive a descriptor over ") + a[0]);
  const int fd = ::openat(dir, a[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return denied(errno, std::string("openat for writing (passed directory) ") + a[1]);
  const std::string text = "written by confine-probe\n";
  if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) return denied(errno, "write");
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
    {"passed-read", "SOCKET NAME", 2, 2, cmd_passed_read},
    {"passed-write", "SOCKET NAME", 2, 2, cmd_passed_write},
    {"bind-tcp", "HOST PORT", 2, 2, cmd_bind_tcp},
};

}  // namespace

std::span<const Command> landlock_commands() { return kCommands; }

}  // namespace probe
