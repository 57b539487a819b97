// The workload fixture's own checks must be able to fail: a connection from the host reaches the
// listener, a file written outside the job dir is seen, a canary in a job file or a delivered
// file (or behind a delivered symlink) is found, a changed input dir is seen, and a delivery
// other than the one expected is. Without these, "the listener saw nothing" would prove nothing.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
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

TEST_F(WorkloadFixtureSelfCheck, SeesAWrongDeliveryAChangedInputAndADeliveredCanary) {
  CONFINE_REQUIRE(have_tool("/usr/bin/python3"), "needs /usr/bin/python3 (Debian package python3)");
  write_text(job_path("in.txt"), "input\n");
  const RunResult r = run_workload("python.toml", {"/usr/bin/python3", "-c", "open('/out/result.txt', 'w').write('x')"});
  ASSERT_TRUE(Ended(r, "ok", 0));
  EXPECT_TRUE(Delivered(r, {"result.txt"}));
  EXPECT_FALSE(Delivered(r, {}));
  EXPECT_FALSE(Delivered(r, {"result.txt", "other.txt"}));
  EXPECT_TRUE(NothingWrittenOutside());
  EXPECT_TRUE(NoCanaryLeak(r));

  ASSERT_EQ(::chmod(out_path("result.txt").c_str(), 0755), 0);
  EXPECT_FALSE(Delivered(r, {"result.txt"})) << "an executable delivery went unseen";
  ASSERT_EQ(::chmod(out_path("result.txt").c_str(), 0644), 0);
  ASSERT_EQ(::symlink(canary_.c_str(), out_path("link").c_str()), 0);
  EXPECT_FALSE(Delivered(r, {"result.txt"})) << "a delivered symlink went unseen";
  EXPECT_FALSE(NoCanaryLeak(r)) << "a delivered symlink to the canary went unseen";
  ASSERT_EQ(::unlink(out_path("link").c_str()), 0);
  write_text(out_path("result.txt"), canary_text_);
  EXPECT_FALSE(NoCanaryLeak(r)) << "the canary in a delivered file went unseen";

  write_text(job_path("new.txt"), "");
  EXPECT_FALSE(NothingWrittenOutside()) << "a new file in the input dir went unseen";
  ASSERT_EQ(::unlink(job_path("new.txt").c_str()), 0);
  EXPECT_TRUE(NothingWrittenOutside());
  write_text(job_path("in.txt"), "input, changed\n");
  EXPECT_FALSE(NothingWrittenOutside()) << "a changed input file went unseen";
}

}  // namespace
}  // namespace integ
