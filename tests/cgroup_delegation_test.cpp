// Rootless cgroups in a delegated subtree (docs/cgroups.md): confine sits in the scope systemd
// gave it, so it must move into <scope>/supervisor before enabling controllers there, and it
// must not try to write ancestors' subtree_control where the controllers are already enabled.
// Against a fake cgroupfs in a temp dir and, where this host allows, the real cgroup2 mount.
#include <gtest/gtest.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <linux/magic.h>
#include <string>

#include "confine/cgroup.h"

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void put(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

// root/                      cgroup.subtree_control "memory pids" (enabled by the system manager)
// root/user.slice/deleg/     the delegated scope, holding this process (cgroup.procs lists us)
class DelegatedScope : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/confine-fakedeleg-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    put(root_ / "cgroup.subtree_control", "memory pids\n");
    fs::create_directories(scope_());
    put(root_ / "user.slice" / "cgroup.subtree_control", "memory pids\n");
    put(scope_() / "cgroup.subtree_control", "\n");
    put(scope_() / "cgroup.procs", "1\n" + std::to_string(getpid()) + "\n");
    // A real cgroupfs creates cgroup.procs with the directory; a plain one needs it up front.
    fs::create_directory(scope_() / "supervisor");
    put(scope_() / "supervisor" / "cgroup.procs", "");
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path scope_() const { return root_ / "user.slice" / "deleg"; }
  fs::path root_;
};

TEST_F(DelegatedScope, VacateMovesUsIntoSupervisor) {
  ASSERT_TRUE(confine::cgroup::vacate_parent(scope_().string()));
  EXPECT_EQ(slurp(scope_() / "supervisor" / "cgroup.procs"), std::to_string(getpid()));
}

TEST_F(DelegatedScope, VacateDoesNothingWhenWeAreElsewhere) {
  put(scope_() / "cgroup.procs", "1\n2\n");
  fs::remove_all(scope_() / "supervisor");
  ASSERT_TRUE(confine::cgroup::vacate_parent(scope_().string()));
  EXPECT_FALSE(fs::exists(scope_() / "supervisor"));
}

TEST_F(DelegatedScope, VacateCreatesTheSupervisorCgroup) {
  fs::remove_all(scope_() / "supervisor");
  // On a plain directory the mkdir works but cgroup.procs does not appear, so the move fails;
  // the error names the file, and the directory shows the mkdir happened.
  auto r = confine::cgroup::vacate_parent(scope_().string());
  EXPECT_TRUE(fs::is_directory(scope_() / "supervisor"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().render().find("supervisor"), std::string::npos) << r.error().render();
}

TEST_F(DelegatedScope, LeavesGoBesideTheSupervisorWithControllersEnabledInTheScopeOnly) {
  auto leaf = confine::cgroup::Leaf::create(scope_().string(), {"memory", "pids"});
  ASSERT_TRUE(leaf) << leaf.error().render();
  EXPECT_EQ(fs::path(leaf->path()).parent_path(), scope_());
  EXPECT_EQ(fs::path(leaf->path()).filename().string().rfind("job-" + std::to_string(getpid()) + "-", 0), 0u)
      << leaf->path();
  // We moved first, then enabled in the scope...
  EXPECT_EQ(slurp(scope_() / "supervisor" / "cgroup.procs"), std::to_string(getpid()));
  EXPECT_EQ(slurp(scope_() / "cgroup.subtree_control"), "+memory +pids");
  // ...and left alone the ancestors that already had them (a rootless user cannot write there).
  EXPECT_EQ(slurp(root_ / "cgroup.subtree_control"), "memory pids\n");
  EXPECT_EQ(slurp(root_ / "user.slice" / "cgroup.subtree_control"), "memory pids\n");
  const std::string path = leaf->path();
  ASSERT_TRUE(leaf->remove());
  EXPECT_FALSE(fs::exists(path));
  // The scope is not confine's to remove.
  EXPECT_TRUE(fs::exists(scope_()));
}

TEST_F(DelegatedScope, AnAncestorMissingAControllerIsStillWritten) {
  put(root_ / "user.slice" / "cgroup.subtree_control", "memory\n");
  auto leaf = confine::cgroup::Leaf::create(scope_().string(), {"memory", "pids"});
  ASSERT_TRUE(leaf) << leaf.error().render();
  EXPECT_EQ(slurp(root_ / "user.slice" / "cgroup.subtree_control"), "+memory +pids");
  EXPECT_EQ(slurp(root_ / "cgroup.subtree_control"), "memory pids\n");
}

// The real kernel: a child process placed in a fresh cgroup moves itself into supervisor/.
TEST(RealDelegation, VacateMovesTheProcessOnTheRealCgroupfs) {
  std::string mount;
  for (const char* candidate : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
    struct statfs s {};
    if (statfs(candidate, &s) == 0 && s.f_type == CGROUP2_SUPER_MAGIC) {
      mount = candidate;
      break;
    }
  }
  if (mount.empty() || geteuid() != 0) {
    const char* all = std::getenv("CONFINE_REQUIRE_ALL");
    if (all != nullptr && std::string(all) == "1") FAIL() << "needs root and a cgroup2 mount";
    GTEST_SKIP() << "needs root and a cgroup2 mount";
  }
  const std::string scope = mount + "/confine-deleg-unit-" + std::to_string(getpid());
  ASSERT_EQ(mkdir(scope.c_str(), 0755), 0) << scope;
  pid_t child = fork();
  if (child == 0) {
    {
      std::ofstream procs(scope + "/cgroup.procs");
      procs << getpid();
    }
    if (!confine::cgroup::vacate_parent(scope)) _exit(2);
    std::ifstream self("/proc/self/cgroup");
    std::string text(std::istreambuf_iterator<char>(self), {});
    _exit(text.find("/confine-deleg-unit-" + std::to_string(getppid()) + "/supervisor\n") != std::string::npos ? 0
                                                                                                                : 3);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  EXPECT_EQ(rmdir((scope + "/supervisor").c_str()), 0);
  EXPECT_EQ(rmdir(scope.c_str()), 0);
}

}  // namespace
