// The shipped policies/default.toml, loaded for real and planned against the fake Debian host:
// the one plan test that goes through the TOML loader, so the two stay in agreement.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>

#include "confine/plan.h"
#include "plan_fake_host.h"

namespace confine::plan {
namespace {

using namespace testing;

TEST(PlanDefaultPolicy, PlansOnADebianLikeHost) {
  const std::string path = std::string(CONFINE_SOURCE_DIR) + "/policies/default.toml";
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) GTEST_SKIP() << path << " is not present";
  const policy::LoadResult loaded = policy::load(path);
  ASSERT_TRUE(loaded.ok()) << (loaded.diagnostics.empty() ? "no policy" : loaded.diagnostics.front().str());

  auto host = fake_host(debian_tree(), Caller::kUser);
  host.cgroup_controllers.clear();  // the default is best-effort on resources: runs, and says so
  auto plan = make_plan(*loaded.policy, RunRequest{{"sh", "-c", "true"}, {"LANG=C", "SECRET_X=1"}, path}, host);
  ASSERT_TRUE(plan.has_value()) << plan.error().render();

  EXPECT_EQ(plan->exec_path, "/usr/bin/sh");
  EXPECT_EQ(plan->hostname, "sandbox");
  EXPECT_EQ(plan->keep_caps, 0u);
  EXPECT_TRUE(plan->seccomp.has_value());
  EXPECT_TRUE(plan->cgroup_writes.empty());
  EXPECT_EQ(plan->policy_sha256, policy::content_hash(*loaded.policy));
  EXPECT_EQ(plan->envp, (std::vector<std::string>{"HOME=/tmp", "LANG=C", "PATH=/usr/local/bin:/usr/bin:/bin",
                                                  "TMPDIR=/tmp"}));
  const auto has = [&](MountKind kind, const std::string& target) {
    return std::any_of(plan->mounts.begin(), plan->mounts.end(),
                       [&](const MountOp& op) { return op.kind == kind && op.target == target; });
  };
  EXPECT_TRUE(has(MountKind::kBind, "/usr"));
  EXPECT_TRUE(has(MountKind::kSymlink, "/bin"));
  EXPECT_TRUE(has(MountKind::kTmpfs, "/tmp"));
  EXPECT_TRUE(has(MountKind::kDev, "/dev"));
  EXPECT_TRUE(has(MountKind::kProc, "/proc"));
  // Each mount op's origin points into the file that asked for it.
  for (const MountOp& op : plan->mounts) EXPECT_EQ(op.origin.rfind(path + ":", 0), 0u) << op.target;
}

}  // namespace
}  // namespace confine::plan
