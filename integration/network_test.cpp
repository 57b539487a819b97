// The network boundary: with network mode "none" the target has its own network namespace, so
// neither the host's 127.0.0.1 nor its abstract unix sockets (which belong to the network
// namespace, not the filesystem) are reachable.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fixture.h"

namespace integ {
namespace {

// A listening socket owned by the test; closes on destruction.
class Listener {
 public:
  explicit Listener(int fd) : fd_(fd) {}
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  ~Listener() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int fd() const { return fd_; }
  // True when a connection is waiting; accepts (and closes) it.
  [[nodiscard]] bool saw_connection() const {
    const int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (conn >= 0) {
      ::close(conn);
      return true;
    }
    return false;
  }

 private:
  int fd_;
};

using NetworkTest = SandboxTest;

TEST_F(NetworkTest, HostLoopbackTcpIsUnreachable) {
  Listener listener(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  ASSERT_GE(listener.fd(), 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener.fd(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
  ASSERT_EQ(::listen(listener.fd(), 8), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(listener.fd(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string port = std::to_string(ntohs(addr.sin_port));

  // Both walls refuse: the Landlock layer first (EACCES, where the kernel has ABI 4), and the
  // network namespace on its own (shown without Landlock), which has no route to the host.
  // default.toml allows unix sockets only; this policy adds inet, so that the walls below are
  // what refuses, not the socket family filter.
  const RunOptions inet = with_args({"-p", policy("socket-families.toml")});
  const RunResult r = run_probe({"connect-tcp", "127.0.0.1", port}, inet);
  EXPECT_TRUE(ProbeDenied(r));
  const std::string err = first_line(r.out);
  EXPECT_TRUE(err == "EACCES" || err == "ECONNREFUSED" || err == "ENETUNREACH" || err == "ETIMEDOUT") << r.describe();
  const RunResult ns_only = run_probe({"connect-tcp", "127.0.0.1", port}, without_landlock(inet));
  EXPECT_TRUE(ProbeDenied(ns_only));
  const std::string ns_err = first_line(ns_only.out);
  EXPECT_TRUE(ns_err == "ECONNREFUSED" || ns_err == "ENETUNREACH" || ns_err == "ETIMEDOUT") << ns_only.describe();
  EXPECT_FALSE(listener.saw_connection()) << "the host listener accepted a connection from the sandbox";

  // The control: with --net host the same probe does reach it, so the denial above is the
  // network namespace's doing, not a broken probe.
  EXPECT_TRUE(ProbeOk(run_probe({"connect-tcp", "127.0.0.1", port}, with_args({"--net", "host"}))));
  EXPECT_TRUE(listener.saw_connection());
}

TEST_F(NetworkTest, HostAbstractUnixSocketIsUnreachable) {
  Listener listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  ASSERT_GE(listener.fd(), 0);
  const std::string name = "confine-integ-" + tag_;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(name.size() + 1, sizeof addr.sun_path);
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  ASSERT_EQ(::bind(listener.fd(), reinterpret_cast<sockaddr*>(&addr), len), 0) << std::strerror(errno);
  ASSERT_EQ(::listen(listener.fd(), 8), 0);

  const RunResult r = run_probe({"connect-abstract", name});
  EXPECT_TRUE(ProbeDenied(r));
  EXPECT_EQ(first_line(r.out), "ECONNREFUSED") << r.describe();
  EXPECT_FALSE(listener.saw_connection()) << "the host's abstract socket accepted a connection from the sandbox";

  // The control, as above.
  EXPECT_TRUE(ProbeOk(run_probe({"connect-abstract", name}, with_args({"--net", "host"}))));
  EXPECT_TRUE(listener.saw_connection());
}

}  // namespace
}  // namespace integ
