// cgroup::Leaf against a fake cgroupfs (a temp dir: controller enabling along the path) and,
// where this host allows, against the real cgroup2 mount (process tracking, kill, removal).
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <linux/magic.h>
#include <thread>

#include "confine/cgroup.h"

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool require_all() {
  const char* v = std::getenv("CONFINE_REQUIRE_ALL");
  return v != nullptr && std::string(v) == "1";
}

// The real cgroup2 mount usable here, or empty.
std::string real_cgroup2() {
  for (const char* candidate : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
    struct statfs s {};
    if (statfs(candidate, &s) == 0 && s.f_type == CGROUP2_SUPER_MAGIC) return candidate;
  }
  return {};
}

#define REQUIRE_REAL_CGROUP(root)                                                              \
  const std::string root = real_cgroup2();                                                     \
  if (root.empty() || geteuid() != 0) {                                                        \
    if (require_all()) FAIL() << "needs root and a cgroup2 mount (CONFINE_REQUIRE_ALL=1)";    \
    GTEST_SKIP() << "needs root and a cgroup2 mount";                                          \
  }

class FakeCgroupfs : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/confine-fakecg-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    // A fake hierarchy: root/ and root/confine/ each have a cgroup.subtree_control file; the
    // directory above root has none, which is where the walk up stops.
    std::ofstream(root_ / "cgroup.subtree_control").put('\n');
    fs::create_directory(root_ / "confine");
    std::ofstream(root_ / "confine" / "cgroup.subtree_control").put('\n');
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(FakeCgroupfs, EnablesControllersFromTheRootDown) {
  // The leaf is a plain directory here (no cgroup.events); enabling along the path is what
  // this test checks.
  auto leaf = confine::cgroup::Leaf::create((root_ / "confine").string(), {"memory", "pids"});
  EXPECT_EQ(slurp(root_ / "cgroup.subtree_control"), "+memory +pids");
  EXPECT_EQ(slurp(root_ / "confine" / "cgroup.subtree_control"), "+memory +pids");
}

TEST_F(FakeCgroupfs, NothingToEnableWritesNothing) {
  auto leaf = confine::cgroup::Leaf::create((root_ / "confine").string(), {});
  EXPECT_EQ(slurp(root_ / "cgroup.subtree_control"), "\n");
}

TEST_F(FakeCgroupfs, RemovesStaleLeavesOfDeadOwners) {
  // pid 2^22+1 cannot exist (pid_max is at most 2^22): its leaf is stale and must go; a leaf of
  // this test process (a live pid that is not confine... but is us) must stay.
  fs::create_directory(root_ / "confine" / "job-4194305-deadbeef");
  const std::string mine = "job-" + std::to_string(getpid()) + "-00000000";
  fs::create_directory(root_ / "confine" / mine);
  auto leaf = confine::cgroup::Leaf::create((root_ / "confine").string(), {});
  EXPECT_FALSE(fs::exists(root_ / "confine" / "job-4194305-deadbeef"));
  EXPECT_TRUE(fs::exists(root_ / "confine" / mine));
}

TEST_F(FakeCgroupfs, KeepsALockedLeafWhoseOwnerPidIsNotHere) {
  // A confine in another pid namespace sharing this parent: its pid means nothing here (this
  // one cannot exist), but it holds its leaf's flock, so its job is alive and must stay.
  const fs::path foreign = root_ / "confine" / "job-4194305-0f0f0f0f";
  fs::create_directory(foreign);
  int held = ::open(foreign.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(held, 0);
  ASSERT_EQ(::flock(held, LOCK_EX | LOCK_NB), 0);
  { auto leaf = confine::cgroup::Leaf::create((root_ / "confine").string(), {}); }
  EXPECT_TRUE(fs::exists(foreign)) << "a live (locked) leaf was removed";
  ::close(held);  // its owner is gone now
  { auto leaf = confine::cgroup::Leaf::create((root_ / "confine").string(), {}); }
  EXPECT_FALSE(fs::exists(foreign)) << "an unlocked leaf of a dead pid stayed";
}

TEST_F(FakeCgroupfs, ASweepThatCannotCheckAnOwnerLeavesItsLeafAlone) {
  // A live, locked leaf of another process (this test's), and a sweep in a process with no
  // descriptor to spare beyond the parent directory's: it can neither read the owner's
  // /proc/PID/comm nor open the leaf to try its lock. Unknown is alive: the leaf must stay.
  const fs::path live = root_ / "confine" / ("job-" + std::to_string(getpid()) + "-0a0a0a0a");
  fs::create_directory(live);
  const int held = ::open(live.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(held, 0);
  ASSERT_EQ(::flock(held, LOCK_EX | LOCK_NB), 0);
  const std::string parent = (root_ / "confine").string();
  const pid_t sweeper = fork();
  ASSERT_GE(sweeper, 0);
  if (sweeper == 0) {
    for (int fd = 3; fd < 1024; ++fd) ::close(fd);
    const rlimit four{4, 4};  // stdio and the parent directory's stream
    if (::setrlimit(RLIMIT_NOFILE, &four) != 0) _exit(2);
    (void)confine::cgroup::Leaf::create(parent, {});  // its own leaf cannot be opened either
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(sweeper, &status, 0), sweeper);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  EXPECT_TRUE(fs::exists(live)) << "a sweep that could not check the owner removed its live leaf";
  ::close(held);
}

TEST_F(FakeCgroupfs, ACreatedLeafIsLockedWhileItLives) {
  auto leaf = confine::cgroup::Leaf::create((root_ / "confine").string(), {});
  ASSERT_TRUE(leaf) << leaf.error().render();
  const int other = ::open(leaf->path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(other, 0);
  EXPECT_EQ(::flock(other, LOCK_EX | LOCK_NB), -1);
  EXPECT_EQ(errno, EWOULDBLOCK);
  ::close(other);
}

TEST_F(FakeCgroupfs, ALeafSweptBeforeItsLockIsReplaced) {
  // Two runs sharing a parent, neither of them a process named confine (the test binary; as a
  // confine installed under another name, or one in another pid namespace, looks to the other):
  // each one's sweep takes any leaf it finds unlocked, including one the other has made but not
  // yet locked. A leaf create() returns must still be there, locked, every time.
  const std::string parent = (root_ / "confine").string();
  const pid_t sweeper = fork();
  ASSERT_GE(sweeper, 0);
  if (sweeper == 0) {
    for (;;) {
      auto leaf = confine::cgroup::Leaf::create(parent, {});
      if (!leaf) _exit(1);
    }
  }
  int lost = 0;
  std::string failed;
  for (int i = 0; i < 3000 && failed.empty(); ++i) {
    auto leaf = confine::cgroup::Leaf::create(parent, {});
    if (!leaf) failed = leaf.error().render();
    else if (!fs::exists(leaf->path())) ++lost;
  }
  ::kill(sweeper, SIGKILL);
  int status = 0;
  ::waitpid(sweeper, &status, 0);
  EXPECT_EQ(failed, "");
  EXPECT_TRUE(WIFSIGNALED(status)) << "the sweeping process failed to create a leaf";
  EXPECT_EQ(lost, 0) << "create() returned leaves a concurrent sweep had removed";
}

TEST(RealCgroup, ALeafIsLockedOnTheRealCgroupfs) {
  REQUIRE_REAL_CGROUP(root);
  const std::string parent = root + "/confine-unit-lock-" + std::to_string(getpid());
  {
    auto leaf = confine::cgroup::Leaf::create(parent);
    ASSERT_TRUE(leaf) << leaf.error().render();
    const int other = ::open(leaf->path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(other, 0);
    EXPECT_EQ(::flock(other, LOCK_EX | LOCK_NB), -1) << "cgroupfs took a second exclusive flock";
    EXPECT_EQ(errno, EWOULDBLOCK);
    ::close(other);
  }
  EXPECT_FALSE(fs::exists(parent)) << "the leaf's parent was left behind";
}

TEST(RealCgroup, TracksKillsAndRemovesAJob) {
  REQUIRE_REAL_CGROUP(root);
  const std::string parent = root + "/confine-unit-" + std::to_string(getpid());
  {
    auto leaf = confine::cgroup::Leaf::create(parent);
    ASSERT_TRUE(leaf) << leaf.error().render();
    EXPECT_FALSE(leaf->populated());
    int go[2];
    ASSERT_EQ(pipe(go), 0);
    pid_t child = fork();
    if (child == 0) {
      // A child that ignores SIGTERM and, once it is in the leaf, double-forks a sleeper into
      // a new session: only cgroup.kill gets both.
      signal(SIGTERM, SIG_IGN);
      char byte;
      close(go[1]);
      if (read(go[0], &byte, 1) != 1) _exit(1);
      if (fork() == 0) {
        setsid();
        pause();
        _exit(0);
      }
      pause();
      _exit(0);
    }
    close(go[0]);
    const bool moved = leaf->write("cgroup.procs", std::to_string(child)).has_value();
    EXPECT_EQ(write(go[1], "x", 1), 1);
    close(go[1]);
    if (!moved) kill(child, SIGKILL);
    ASSERT_TRUE(moved);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_TRUE(leaf->populated());
    auto procs = leaf->read("cgroup.procs");
    ASSERT_TRUE(procs);
    EXPECT_NE(procs->find('\n'), procs->rfind('\n')) << "expected two processes: " << *procs;
    ASSERT_TRUE(leaf->kill());
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    EXPECT_TRUE(leaf->wait_empty(std::chrono::seconds(5)));
    const std::string path = leaf->path();
    ASSERT_TRUE(leaf->remove());
    EXPECT_FALSE(fs::exists(path));
  }
  // The last leaf out removes the parent too: nothing of confine's is left in the hierarchy.
  EXPECT_FALSE(fs::exists(parent));
  (void)rmdir(parent.c_str());
}

}  // namespace

// The flat-keyed parser behind Leaf::read_key and the reaper's one read of cpu.stat and
// memory.events: a whole key only (oom_kill is not oom_group_kill), and nothing for a value that
// is no number.
TEST(CgroupKeyValue, FindsAWholeKeyAndItsNumber) {
  const std::string events = "low 0\nhigh 0\nmax 7\noom 2\noom_kill 1\noom_group_kill 3\n";
  EXPECT_EQ(confine::cgroup::key_value(events, "oom_kill"), 1U);
  EXPECT_EQ(confine::cgroup::key_value(events, "oom_group_kill"), 3U);
  EXPECT_EQ(confine::cgroup::key_value(events, "oom"), 2U);
  EXPECT_EQ(confine::cgroup::key_value(events, "max"), 7U);
  EXPECT_FALSE(confine::cgroup::key_value(events, "oom_k").has_value());
  EXPECT_FALSE(confine::cgroup::key_value("usage_usec 12", "user_usec").has_value());
  EXPECT_EQ(confine::cgroup::key_value("usage_usec 12", "usage_usec"), 12U);  // no final newline
  EXPECT_FALSE(confine::cgroup::key_value("nr_periods max\n", "nr_periods").has_value());
  EXPECT_FALSE(confine::cgroup::key_value("", "oom").has_value());
}
