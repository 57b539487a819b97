// The workload fixture's own checks must be able to fail: a connection from the host reaches the
// listener, a file written outside the job dir is seen, a canary in a job file is found. Without
// these, "the listener saw nothing" would prove nothing.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "workload_fixture.h"

namespace integ {
namespace {

class WorkloadFixtureSelfCheck : public WorkloadTest {};

TEST_F(WorkloadFixtureSelfCheck, ListenerCountsAHostConnection) {
  LoopbackListener listener;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(listener.port()));
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(fd);
  for (int i = 0; i < 100 && listener.connections() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(listener.connections(), 1);
}

TEST_F(WorkloadFixtureSelfCheck, SeesWritesOutsideAndCanaryInJobFiles) {
  EXPECT_TRUE(NothingWrittenOutside());
  write_text(outside_, "x");
  EXPECT_FALSE(NothingWrittenOutside());
  ::unlink(outside_.c_str());
  EXPECT_TRUE(NothingWrittenOutside());

  RunResult clean;
  EXPECT_TRUE(NoCanaryLeak(clean));
  write_text(job_path("leak.txt"), "prefix " + canary_text_);
  EXPECT_FALSE(NoCanaryLeak(clean));
}

}  // namespace
}  // namespace integ
