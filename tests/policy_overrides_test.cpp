// apply_overrides: command-line flags validated like file values, applied with origin
// "<command line>", conflicts re-checked, and nothing applied when anything is wrong.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "confine/policy.h"

namespace confine::policy {
namespace {

namespace fs = std::filesystem;

Policy default_policy() {
  LoadResult result = load((fs::path(CONFINE_SOURCE_DIR) / "policies" / "default.toml").string());
  for (const auto& d : result.diagnostics) ADD_FAILURE() << d.str();
  return result.policy.value_or(Policy{});
}

std::string all(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics) out += d.str() + "\n";
  return out;
}

TEST(Overrides, ApplyWithCommandLineOrigin) {
  Policy p = default_policy();
  Overrides o;
  o.rw = {"/jobs/42/"};
  o.ro = {"/data"};
  o.cwd = "/jobs/42";
  o.env = {"FOO=bar=baz", "EMPTY="};
  o.timeout = "5m";
  o.cpu_time = "90s";
  o.memory = "1G";
  o.pids = "128";
  o.cpus = "2.5";
  o.net = "host";
  o.best_effort = true;
  const auto problems = apply_overrides(p, o);
  ASSERT_TRUE(problems.empty()) << all(problems);

  ASSERT_FALSE(p.filesystem.rw.empty());
  EXPECT_EQ(p.filesystem.rw.back().path, "/jobs/42");
  EXPECT_EQ(p.filesystem.rw.back().origin.str(), "<command line>");
  EXPECT_EQ(p.filesystem.ro.back().path, "/data");
  EXPECT_EQ(p.process.cwd.value, "/jobs/42");
  EXPECT_EQ(p.env.set.at("FOO").value, "bar=baz");
  EXPECT_EQ(p.env.set.at("FOO").origin.str(), "<command line>");
  EXPECT_EQ(p.env.set.at("EMPTY").value, "");
  EXPECT_EQ(p.limits.wall_time.value, Millis{300'000});
  EXPECT_EQ(p.limits.wall_time.origin.str(), "<command line>");
  EXPECT_EQ(p.limits.cpu_time.value, Millis{90'000});
  EXPECT_EQ(p.limits.cpu_time.origin.str(), "<command line>");
  EXPECT_EQ(p.limits.memory_bytes.value, uint64_t{1} << 30);
  EXPECT_EQ(p.limits.pids.value, 128U);
  EXPECT_EQ(p.limits.cpus.value, 2.5);
  EXPECT_EQ(p.network.mode.value, NetworkMode::kHost);
  EXPECT_EQ(p.enforcement.resources.value, Enforcement::kBestEffort);
  EXPECT_EQ(p.enforcement.resources.origin.str(), "<command line>");
}

TEST(Overrides, UnlimitedIsAccepted) {
  Policy p = default_policy();
  Overrides o;
  o.timeout = "unlimited";
  o.cpu_time = "unlimited";
  o.memory = "unlimited";
  o.pids = "unlimited";
  o.cpus = "unlimited";
  ASSERT_TRUE(apply_overrides(p, o).empty());
  EXPECT_FALSE(p.limits.wall_time.value.has_value());
  EXPECT_FALSE(p.limits.cpu_time.value.has_value());
  EXPECT_FALSE(p.limits.memory_bytes.value.has_value());
  EXPECT_FALSE(p.limits.pids.value.has_value());
  EXPECT_FALSE(p.limits.cpus.value.has_value());
}

TEST(Overrides, EveryBadFlagIsReportedAndNothingIsApplied) {
  Policy p = default_policy();
  const std::string before = canonical_text(p);
  Overrides o;
  o.ro = {"relative"};
  o.rw = {"/", "/a/../b"};
  o.cwd = "here";
  o.env = {"NOEQUALS", "1BAD=x"};
  o.timeout = "30";
  o.cpu_time = "0s";
  o.memory = "0";
  o.pids = "-3";
  o.cpus = "2000";
  o.net = "hots";
  const auto problems = apply_overrides(p, o);
  const std::pair<const char*, const char*> expected[] = {
      {"--ro", "is relative"},        {"--rw", "whole host writable"},  {"--rw", "contains '..'"},
      {"--cwd", "is relative"},       {"--env", "expected NAME=VALUE"}, {"--env", "'1BAD' is invalid"},
      {"--timeout", "missing a unit"}, {"--cpu-time", "greater than zero"}, {"--memory", "greater than zero"}, {"--pids", "positive integer"},
      {"--cpus", "at most 1024"},      {"--net", "did you mean 'host'?"},
  };
  EXPECT_EQ(problems.size(), std::size(expected)) << all(problems);
  for (const auto& [key, text] : expected) {
    bool found = false;
    for (const auto& d : problems) {
      found = found || (d.key == key && d.message.find(text) != std::string::npos &&
                        d.origin.str() == "<command line>");
    }
    EXPECT_TRUE(found) << key << ": " << text << "\nin:\n" << all(problems);
  }
  EXPECT_EQ(canonical_text(p), before) << "a rejected override must leave the policy untouched";
}

TEST(Overrides, ConflictsWithTheFileAreRecheckedAndNameBothPositions) {
  Policy p = default_policy();
  Overrides o;
  o.rw = {"/usr"};  // default.toml has /usr read-only
  const auto problems = apply_overrides(p, o);
  ASSERT_EQ(problems.size(), 1U) << all(problems);
  EXPECT_EQ(problems[0].key, "--rw");
  EXPECT_EQ(problems[0].origin.str(), "<command line>");
  EXPECT_NE(problems[0].message.find("'/usr' is read-write here and read-only at "), std::string::npos)
      << problems[0].message;
  EXPECT_NE(problems[0].message.find("default.toml:"), std::string::npos) << problems[0].message;

  Overrides tmpfs_clash;
  tmpfs_clash.ro = {"/tmp/"};  // default.toml has a tmpfs at /tmp
  const auto more = apply_overrides(p, tmpfs_clash);
  ASSERT_EQ(more.size(), 1U) << all(more);
  EXPECT_EQ(more[0].key, "--ro");  // at the entry applied last
  EXPECT_NE(more[0].message.find("(filesystem.tmpfs)"), std::string::npos) << more[0].message;
}

TEST(Overrides, SamePathTwiceIsOneRuleWithTheLaterOrigin) {
  Policy p = default_policy();
  const size_t before = p.filesystem.ro.size();
  Overrides o;
  o.ro = {"/usr/"};
  ASSERT_TRUE(apply_overrides(p, o).empty());
  EXPECT_EQ(p.filesystem.ro.size(), before);
  EXPECT_EQ(p.filesystem.ro[0].path, "/usr");
  EXPECT_EQ(p.filesystem.ro[0].origin.str(), "<command line>");
}

}  // namespace
}  // namespace confine::policy
