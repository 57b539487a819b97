// Where confine puts the job's cgroup when it runs inside a cgroup systemd delegated to its
// service (docs/cgroups.md, "Where the leaves go"): in that subtree, not at <cgroup2>/confine.
// confine is started through `confine-probe in-cgroup DIR`, the way a service manager starts a
// unit's process in the unit's cgroup; the unit's cgroup carries systemd's mark (trusted.delegate,
// which only root may set). These need only a cgroup2 mount, so they run on hybrid hosts too; the
// CgroupV2 one also checks that the limits work in the nested leaf (the VM harness runs it).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "fixture.h"

namespace integ {
namespace {

// A unit's cgroup for one test, removed with everything below it at the end.
class UnitCgroup {
 public:
  explicit UnitCgroup(std::string path) : path_(std::move(path)) {}
  UnitCgroup(const UnitCgroup&) = delete;
  UnitCgroup& operator=(const UnitCgroup&) = delete;
  ~UnitCgroup() {
    if (!path_.empty() && std::filesystem::exists(path_)) remove_tree_of_cgroups(path_);
  }
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  static void remove_tree_of_cgroups(const std::string& path) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      if (entry.is_directory(ec)) remove_tree_of_cgroups(entry.path().string());
    }
    remove_cgroup(path);
  }
  std::string path_;
};

std::string tracking_detail(const RunResult& r) {
  if (!r.report) return "<no report>";
  for (const auto& p : (*r.report)["enforced"]) {
    if (p["name"] == "cgroup_tracking") return p.value("detail", "");
  }
  return "<no cgroup_tracking>";
}

std::vector<std::string> job_leaves_in(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && name.rfind("job-", 0) == 0) out.push_back(name);
  }
  return out;
}

class CgroupNestingTest : public SandboxTest {
 protected:
  void SetUp() override {
    SandboxTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    CONFINE_REQUIRE_ROOT();
    mount_ = cgroup2_mount();
    CONFINE_REQUIRE(!mount_.empty(), "needs a cgroup2 mount");
    CONFINE_REQUIRE(std::getenv("CONFINE_CGROUP_PARENT") == nullptr, "CONFINE_CGROUP_PARENT overrides the placement");
  }
  // A cgroup for a unit, marked as systemd marks one with Delegate=yes when `delegated`.
  void make_unit(const UnitCgroup& unit, bool delegated) {
    ASSERT_EQ(::mkdir(unit.path().c_str(), 0755), 0) << unit.path() << ": " << std::strerror(errno);
    if (delegated) {
      ASSERT_EQ(::setxattr(unit.path().c_str(), "trusted.delegate", "1", 1, 0), 0) << std::strerror(errno);
    }
  }
  RunOptions in_cgroup(const std::string& dir, RunOptions options = {}) const {
    options.wrapper = {probe_binary(), "in-cgroup", dir};
    return options;
  }
  std::string unit_path(const char* what) const { return mount_ + "/confine-integ-" + what + "-" + tag_.substr(tag_.size() - 8); }

  std::string mount_;
};

TEST_F(CgroupNestingTest, RootOnlyNestsInItsOwnDelegatedCgroup) {
  const UnitCgroup unit(unit_path("unit"));
  make_unit(unit, true);
  const RunResult r = run_probe({"exit", "0"}, in_cgroup(unit.path()));
  ASSERT_TRUE(ProbeOk(r));
  EXPECT_EQ(tracking_detail(r), unit.path() + " (delegated subtree: confine's own cgroup (Delegate=yes))") << r.describe();
  // confine started in the unit's cgroup and moved into a leaf of it before making the job's
  // leaf beside it (no processes in inner nodes); the job's leaf is gone again.
  EXPECT_TRUE(std::filesystem::is_directory(unit.sub("supervisor"))) << r.describe();
  EXPECT_TRUE(job_leaves_in(unit.path()).empty());
  EXPECT_TRUE(std::filesystem::is_directory(unit.path())) << "confine removed a cgroup it did not create";
}

TEST_F(CgroupNestingTest, RootOnlyNestsBesideItsLeafInADelegatedCgroup) {
  // DelegateSubgroup=main: the unit's processes live in <unit>/main.
  const UnitCgroup unit(unit_path("subgroup"));
  make_unit(unit, true);
  ASSERT_EQ(::mkdir(unit.sub("main").c_str(), 0755), 0);
  const RunResult r = run_probe({"exit", "0"}, in_cgroup(unit.sub("main")));
  ASSERT_TRUE(ProbeOk(r));
  EXPECT_EQ(tracking_detail(r).rfind(unit.path() + " (delegated subtree: the cgroup above confine's ", 0), 0U)
      << r.describe();
  EXPECT_FALSE(std::filesystem::exists(unit.sub("supervisor"))) << "confine was not in the unit's own cgroup";
  EXPECT_TRUE(job_leaves_in(unit.path()).empty());
}

TEST_F(CgroupNestingTest, RootOnlyOutsideADelegatedCgroupUsesTheSharedParent) {
  // The same unit without Delegate=yes: its subtree is the manager's, so not there.
  const UnitCgroup unit(unit_path("plain"));
  make_unit(unit, false);
  const RunResult r = run_probe({"exit", "0"}, in_cgroup(unit.path()));
  ASSERT_TRUE(ProbeOk(r));
  EXPECT_EQ(tracking_detail(r), mount_ + "/confine (<cgroup2 mount>/confine)") << r.describe();
  EXPECT_FALSE(std::filesystem::exists(unit.sub("supervisor")));
  EXPECT_TRUE(job_leaves_in(unit.path()).empty());
}

// With the controllers (the VM): systemd enables the delegated controllers down to the unit; the
// job's limits then hold in the nested leaf, and confine enabled them in the unit's subtree only.
TEST_F(CgroupNestingTest, RootOnlyCgroupV2LimitsHoldInTheNestedLeaf) {
  CONFINE_REQUIRE(cgroup_controller_available("memory"), "the cgroup v2 memory controller is not available");
  {
    const int fd = ::open((mount_ + "/cgroup.subtree_control").c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    ASSERT_EQ(::write(fd, "+memory", 7), 7) << std::strerror(errno);
    ::close(fd);
  }
  const UnitCgroup unit(unit_path("limits"));
  make_unit(unit, true);
  const RunResult r = run_probe({"memhog", "256"}, in_cgroup(unit.path(), with_args({"--memory", "32M"})));
  EXPECT_TRUE(Ended(r, "oom", 137));
  EXPECT_EQ(tracking_detail(r).rfind(unit.path() + " ", 0), 0U) << r.describe();
  EXPECT_NE(read_text(unit.path() + "/cgroup.subtree_control").value_or("").find("memory"), std::string::npos);
  EXPECT_TRUE(job_leaves_in(unit.path()).empty());
}

}  // namespace
}  // namespace integ
