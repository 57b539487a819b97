// plan::recording and plan::answers_hold: what a batch relies on to reuse a plan (plan.h).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <memory>

#include "confine/plan.h"
#include "plan_fake_host.h"

namespace confine::plan {
namespace {

using namespace testing;

struct Recorded {
  Plan plan;
  std::vector<HostAnswer> answers;
};

Recorded plan_recorded(const policy::Policy& policy, const HostFacts& host) {
  auto answers = std::make_shared<std::vector<HostAnswer>>();
  auto plan = make_plan(policy, RunRequest{{"sh", "-c", "true"}, {"LANG=C"}, "test.toml"}, recording(host, answers));
  EXPECT_TRUE(plan.has_value()) << plan.error().render();
  return Recorded{plan ? *plan : Plan{}, *answers};
}

policy::Policy default_policy() {
  const std::string path = std::string(CONFINE_SOURCE_DIR) + "/policies/default.toml";
  const policy::LoadResult loaded = policy::load(path);
  EXPECT_TRUE(loaded.ok());
  return loaded.policy ? *loaded.policy : policy::Policy{};
}

// Recording changes no answer: the plan is the one make_plan gives without it, and every probe
// the plan used is on the record, asked once (make_plan keeps its own answers for the plan).
TEST(PlanRecording, RecordsEveryQuestionAndChangesNothing) {
  auto tree = debian_tree();
  auto host = fake_host(tree, Caller::kUser);
  const policy::Policy policy = default_policy();
  const Recorded recorded = plan_recorded(policy, host);
  auto plain = make_plan(policy, RunRequest{{"sh", "-c", "true"}, {"LANG=C"}, "test.toml"}, host);
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(recorded.plan.exec_path, plain->exec_path);
  EXPECT_EQ(recorded.plan.mounts.size(), plain->mounts.size());
  EXPECT_EQ(recorded.plan.warnings, plain->warnings);
  const auto asked = [&](HostAnswer::Probe probe, const std::string& path) {
    return std::count_if(recorded.answers.begin(), recorded.answers.end(),
                         [&](const HostAnswer& a) { return a.probe == probe && a.question == path; });
  };
  EXPECT_EQ(asked(HostAnswer::Probe::kFileKind, "/usr"), 1);
  EXPECT_EQ(asked(HostAnswer::Probe::kReadLink, "/bin"), 1);
  EXPECT_EQ(asked(HostAnswer::Probe::kExecutable, "/usr/bin/sh"), 1);
  EXPECT_TRUE(answers_hold(host, recorded.answers));
}

// Any change on the host to a path the plan looked at fails the check: a file that appears, a
// symlink retargeted, a program that lost its exec bit.
TEST(PlanRecording, AnyChangedAnswerFailsTheCheck) {
  const policy::Policy policy = default_policy();
  {
    auto tree = debian_tree();
    auto host = fake_host(tree, Caller::kUser);
    const Recorded recorded = plan_recorded(policy, host);
    tree->remove("/etc/ld.so.cache");
    EXPECT_FALSE(answers_hold(host, recorded.answers)) << "a bound file that went";
  }
  {
    auto tree = debian_tree();
    auto host = fake_host(tree, Caller::kUser);
    const Recorded recorded = plan_recorded(policy, host);
    tree->remove("/bin").link("/bin", "usr/sbin");
    EXPECT_FALSE(answers_hold(host, recorded.answers)) << "a symlink retargeted";
  }
  {
    auto tree = debian_tree();
    auto host = fake_host(tree, Caller::kUser);
    const Recorded recorded = plan_recorded(policy, host);
    tree->remove("/usr/bin/sh").file("/usr/bin/sh", /*exec=*/false);
    EXPECT_FALSE(answers_hold(host, recorded.answers)) << "the program lost its exec bit";
  }
  {
    auto tree = debian_tree();
    auto host = fake_host(tree, Caller::kUser);
    const Recorded recorded = plan_recorded(policy, host);
    tree->file("/usr/share/unrelated-new-file");
    EXPECT_TRUE(answers_hold(host, recorded.answers)) << "a path the plan never looked at";
  }
}

// A probe the host no longer has cannot confirm anything.
TEST(PlanRecording, AMissingProbeFailsTheCheck) {
  auto host = fake_host(debian_tree(), Caller::kUser);
  const Recorded recorded = plan_recorded(default_policy(), host);
  ASSERT_FALSE(recorded.answers.empty());
  host.file_kind = nullptr;
  EXPECT_FALSE(answers_hold(host, recorded.answers));
}

}  // namespace
}  // namespace confine::plan
