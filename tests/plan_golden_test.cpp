// Golden-file tests: render() of representative plans against tests/golden/plan/*.txt.
//
// CONFINE_UPDATE_GOLDEN=1 rewrites the files from the current output, and the test still fails
// (saying it rewrote them), so a CI run can never regenerate goldens silently.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "confine/plan.h"
#include "plan_fake_host.h"

namespace confine::plan {
namespace {

using namespace testing;

std::string golden_path(const std::string& name) {
  return std::string(CONFINE_TEST_DIR) + "/golden/plan/" + name + ".txt";
}

void expect_golden(const std::string& name, const Plan& plan_in) {
  Plan plan = plan_in;
  // The hash belongs to policy's canonical text (tested there); pin it so policy changes do not
  // churn these files. That it is the content hash is asserted separately below.
  plan.policy_sha256 = "<sha256>";
  // Likewise the seccomp summary belongs to seccomp (its groups change, its tests cover the text);
  // PlanTest.RenderShowsTheSeccompSummary checks that render prints the real one.
  if (plan.seccomp) plan.seccomp->summary = {"<seccomp::Program::summary>"};
  const std::string actual = render(plan);
  const std::string path = golden_path(name);
  const char* update = std::getenv("CONFINE_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream out(path, std::ios::trunc);
    out << actual;
    ASSERT_TRUE(out.good()) << "cannot write " << path;
    ADD_FAILURE() << "rewrote " << path << " (CONFINE_UPDATE_GOLDEN=1); review the diff, then rerun without it";
    return;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << "missing golden file " << path << "; create it with CONFINE_UPDATE_GOLDEN=1";
  std::ostringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(expected.str(), actual) << "render() differs from " << path
                                    << "; if the change is intended, rerun with CONFINE_UPDATE_GOLDEN=1";
}

Plan must_plan(const policy::Policy& policy, const RunRequest& req, const HostFacts& host) {
  auto plan = make_plan(policy, req, host);
  EXPECT_TRUE(plan.has_value()) << (plan ? "" : plan.error().render());
  return plan ? *plan : Plan{};
}

TEST(PlanGolden, DefaultLikeAsRootWithAllControllers) {
  auto policy = default_like_policy();
  policy.enforcement.resources = from_file(policy::Enforcement::kRequired, 62);
  const Plan plan = must_plan(policy, request({"python3", "-c", "print(\"hi\")"}),
                              fake_host(debian_tree(), Caller::kRoot));
  EXPECT_EQ(plan.policy_sha256, policy::content_hash(policy));
  expect_golden("root_all_controllers", plan);
}

TEST(PlanGolden, RootlessWithoutCgroup) {
  auto policy = default_like_policy();
  policy.process.host_uid = from_file<uint32_t>(2000, 14);  // ignored rootless, with a warning
  auto host = fake_host(debian_tree(), Caller::kUser);
  host.cgroup_parent.clear();
  host.cgroup_controllers.clear();
  expect_golden("rootless_no_cgroup", must_plan(policy, request({"echo", "hello"}), host));
}

TEST(PlanGolden, BestEffortResourcesWithoutControllers) {
  auto policy = default_like_policy();
  policy.limits.cpus = from_file<std::optional<double>>(0.5, 53);
  auto host = fake_host(debian_tree(), Caller::kRoot);
  host.cgroup_controllers.clear();
  expect_golden("best_effort_no_controllers", must_plan(policy, request({"/usr/bin/env"}), host));
}

TEST(PlanGolden, NetworkHostWithJobDirectoryAndMasks) {
  auto policy = default_like_policy();
  policy.network.mode = from_file(policy::NetworkMode::kHost, 36);
  policy.process.cwd = {"/jobs/42", {"<command line>", 0, 0}};
  policy.filesystem.rw = {{"/jobs/42", false, {"<command line>", 0, 0}}};
  policy.filesystem.deny = {rule("/usr/share/secrets", 29), rule("/usr/bin/README", 29),
                            rule("/home/alice", 29), rule("/usr/share/nothing", 29)};
  policy.capabilities.keep = {from_file<std::string>("CAP_NET_BIND_SERVICE", 70)};
  policy.limits.cpus = from_file<std::optional<double>>(1.5, 53);
  policy.limits.core_dumps = from_file(true, 52);
  policy.limits.memory_bytes = from_file<std::optional<uint64_t>>(std::nullopt, 47);
  policy.limits.swap_bytes = {uint64_t{0}, {}};  // default: no swap write without a memory limit
  policy.env.allow_secrets = {from_file<std::string>("GITHUB_TOKEN", 42)};
  policy.env.keep.push_back(from_file<std::string>("GITHUB_*", 40));
  expect_golden("network_host",
                must_plan(policy, request({"./run.sh", "--flag=a b", "tab\there"}),
                          fake_host(debian_tree(), Caller::kRoot)));
}

TEST(PlanGolden, SeccompUnavailableBestEffort) {
  auto policy = default_like_policy();
  policy.enforcement.seccomp = from_file(policy::Enforcement::kBestEffort, 63);
  policy.filesystem.dev = from_file(false, 32);
  policy.filesystem.proc = from_file(false, 33);
  auto host = fake_host(debian_tree(), Caller::kUser);
  host.seccomp = false;
  host.landlock_abi = 0;  // neither is Landlock (enforcement.landlock is best-effort by default)
  const Plan plan = must_plan(policy, request({"sh", "-c", "exit 0"}), host);
  EXPECT_FALSE(plan.seccomp.has_value());
  EXPECT_FALSE(plan.landlock.has_value());
  expect_golden("seccomp_unavailable_best_effort", plan);
}

}  // namespace
}  // namespace confine::plan
