// What `confine run` says besides the report: the log destination and levels (log.cpp), the
// job-directory ownership warning (preflight.cpp), and that the outcome line reads its limits
// from what the planner really writes into the report.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <string>

#include "confine/report.h"
#include "log.h"
#include "plan_fake_host.h"
#include "preflight.h"

namespace confine::cli {
namespace {

// A pipe whose read end collects what confine logged.
class LogCapture {
 public:
  LogCapture() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
    read_ = fds[0];
    write_ = fds[1];
  }
  ~LogCapture() {
    // Back to stderr for the other tests, before the pipe goes.
    (void)setup_logging(LogOptions{});
    ::close(read_);
    ::close(write_);
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  [[nodiscard]] int fd() const { return write_; }
  std::string take() const {
    std::string out;
    char buffer[4096];
    ssize_t n;
    while ((n = ::read(read_, buffer, sizeof buffer)) > 0) out.append(buffer, static_cast<size_t>(n));
    return out;
  }

 private:
  int read_ = -1;
  int write_ = -1;
};

TEST(Log, LinesGoToTheChosenDescriptorWithOnePrefix) {
  LogCapture log;
  LogOptions options;
  options.fd = log.fd();
  ASSERT_TRUE(setup_logging(options));
  error("plan: something failed");
  warning("limits.swap = 0 not enforced: no cgroup v2 'memory' controller here");
  say("wall time limit 2s reached; job killed");
  spdlog::info("hidden at the default level");
  EXPECT_EQ(log.take(),
            "confine: error: plan: something failed\n"
            "confine: warning: limits.swap = 0 not enforced: no cgroup v2 'memory' controller here\n"
            "confine: wall time limit 2s reached; job killed\n");
}

TEST(Log, QuietKeepsOnlyConfinesOwnErrors) {
  LogCapture log;
  LogOptions options;
  options.fd = log.fd();
  options.quiet = true;
  ASSERT_TRUE(setup_logging(options));
  warning("a warning");
  say("job killed by seccomp: socket (nr 41)");
  error("an error");
  EXPECT_EQ(log.take(), "confine: error: an error\n");
}

TEST(Log, ABadDestinationIsRefusedUpFront) {
  LogOptions options;
  options.fd = 987;
  const auto result = setup_logging(options);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message, "--log-fd 987 is not an open file descriptor");
  LogOptions file;
  file.file = "/nonexistent-dir/confine.log";
  EXPECT_FALSE(setup_logging(file));
  (void)setup_logging(LogOptions{});
}

TEST(Preflight, AJobDirectoryTheSandboxUidCannotWriteGetsTheChown) {
  plan::Plan plan;
  plan.uid_map = {1000, 65534, 1};
  plan.gid_map = {1000, 65534, 1};
  plan::MountOp job;
  job.kind = plan::MountKind::kBind;
  job.source = job.target = "/tmp/confine-job";
  job.read_only = false;
  plan.mounts = {job};
  struct stat owned_by_root {};
  owned_by_root.st_uid = 0;
  owned_by_root.st_gid = 0;
  owned_by_root.st_mode = S_IFDIR | 0755;
  const auto stat_as = [](struct stat st) { return [st](const std::string&) { return std::optional<struct stat>(st); }; };
  EXPECT_EQ(unwritable_job_directories(plan, true, stat_as(owned_by_root)),
            std::vector<std::string>{
                "/tmp/confine-job is bound read-write, but the job runs as host uid 65534, which cannot write there "
                "(owner uid 0, gid 0, mode 0755): chown 65534:65534 /tmp/confine-job"});

  struct stat chowned = owned_by_root;
  chowned.st_uid = 65534;
  EXPECT_TRUE(unwritable_job_directories(plan, true, stat_as(chowned)).empty());
  struct stat group_writable = owned_by_root;
  group_writable.st_gid = 65534;
  group_writable.st_mode = S_IFDIR | 0775;
  EXPECT_TRUE(unwritable_job_directories(plan, true, stat_as(group_writable)).empty());
  struct stat sticky_tmp = owned_by_root;
  sticky_tmp.st_mode = S_IFDIR | 01777;
  EXPECT_TRUE(unwritable_job_directories(plan, true, stat_as(sticky_tmp)).empty());

  // Rootless the job is the caller on the host: no chown to suggest.
  plan.uid_map.outside = 1000;
  struct stat mine_read_only = owned_by_root;
  mine_read_only.st_uid = 1000;
  mine_read_only.st_mode = S_IFDIR | 0555;
  const auto lines = unwritable_job_directories(plan, false, stat_as(mine_read_only));
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_NE(lines[0].find(": chmod u+w /tmp/confine-job"), std::string::npos) << lines[0];

  // Read-only binds are none of its business.
  plan.mounts[0].read_only = true;
  EXPECT_TRUE(unwritable_job_directories(plan, true, stat_as(owned_by_root)).empty());
}

// The outcome line's limits come from the protections the planner writes (plan.cpp,
// resources.cpp): if their wording changes, this fails rather than the line losing its value.
TEST(OutcomeLine, LimitsAreReadFromARealPlan) {
  using namespace plan::testing;
  auto tree = debian_tree();
  const auto plan = plan::make_plan(default_like_policy(), request({"echo"}), fake_host(tree, Caller::kRoot));
  ASSERT_TRUE(plan) << plan.error().render();
  report::Report r;
  r.enforced = plan->protections;
  r.outcome = report::Outcome::kWallTimeout;
  EXPECT_EQ(report::outcome_sentence(r), "wall time limit 1m reached; job killed");
  r.outcome = report::Outcome::kCpuTimeout;
  EXPECT_EQ(report::outcome_sentence(r), "CPU time limit 30s reached; job killed");
  r.outcome = report::Outcome::kOom;
  EXPECT_EQ(report::outcome_sentence(r), "out of memory (limit 512M)");
}

}  // namespace
}  // namespace confine::cli
