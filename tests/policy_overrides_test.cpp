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

// Exactly these problems, each a (flag, message fragment) reported against "<command line>".
template <size_t N>
void expect_problems(const std::vector<Diagnostic>& problems, const std::pair<const char*, const char*> (&expected)[N]) {
  EXPECT_EQ(problems.size(), N) << all(problems);
  for (const auto& [key, text] : expected) {
    bool found = false;
    for (const auto& d : problems) {
      found = found || (d.key == key && d.message.find(text) != std::string::npos && d.origin.str() == "<command line>");
    }
    EXPECT_TRUE(found) << key << ": " << text << "\nin:\n" << all(problems);
  }
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

// default.toml opens unix sockets only; `--net host` asks for the host's network, so it adds
// inet and inet6 (and nothing else), once, with the command line as their origin.
TEST(Overrides, NetHostAddsTheInetFamiliesOnly) {
  Policy p = default_policy();
  ASSERT_EQ(p.network.socket_families.value, (std::vector<std::string>{"unix"}));
  Overrides o;
  o.net = "host";
  ASSERT_TRUE(apply_overrides(p, o).empty());
  EXPECT_EQ(p.network.socket_families.value, (std::vector<std::string>{"unix", "inet", "inet6"}));
  EXPECT_EQ(p.network.socket_families.origin.str(), "<command line>");
  ASSERT_TRUE(apply_overrides(p, o).empty());  // already there: not added twice
  EXPECT_EQ(p.network.socket_families.value.size(), 3U);
  Policy none = default_policy();
  o.net = "none";
  ASSERT_TRUE(apply_overrides(none, o).empty());
  EXPECT_EQ(none.network.socket_families.value, (std::vector<std::string>{"unix"}));
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
  expect_problems(problems, expected);
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

// The flags that used to need a policy file: each sets its key, validated exactly like it.
TEST(Overrides, FlagsForKeysThatUsedToNeedAFile) {
  Policy p = default_policy();
  Overrides o;
  o.tmpfs = {"/scratch:16M", "/cache"};
  o.deny = {"/usr/share/doc"};
  o.keep_env = {"LC_*", "MY_VAR"};
  o.kill_after = "0s";
  o.file_size = "10M";
  o.open_files = "64";
  o.hostname = "job-42";
  const auto problems = apply_overrides(p, o);
  ASSERT_TRUE(problems.empty()) << all(problems);
  ASSERT_GE(p.filesystem.tmpfs.size(), 3U);
  const auto& scratch = p.filesystem.tmpfs[p.filesystem.tmpfs.size() - 2];
  EXPECT_EQ(scratch.path, "/scratch");
  EXPECT_EQ(scratch.size_bytes, 16U << 20);
  EXPECT_EQ(scratch.origin.str(), "<command line>");
  EXPECT_EQ(p.filesystem.tmpfs.back().path, "/cache");
  EXPECT_EQ(p.filesystem.tmpfs.back().size_bytes, 64U << 20) << "the documented default size";
  EXPECT_EQ(p.filesystem.deny.back().path, "/usr/share/doc");
  EXPECT_EQ(p.env.keep.back().value, "MY_VAR");
  EXPECT_EQ(p.limits.kill_grace.value, Millis{0});
  EXPECT_EQ(p.limits.kill_grace.origin.str(), "<command line>");
  EXPECT_EQ(p.limits.file_size_bytes.value, uint64_t{10} << 20);
  EXPECT_EQ(p.limits.open_files.value, 64U);
  EXPECT_EQ(p.process.hostname.value, "job-42");
  EXPECT_TRUE(p.process.hostname.origin.is_command_line());
}

TEST(Overrides, NewFlagsRejectWhatTheirKeysReject) {
  Policy p = default_policy();
  const std::string before = canonical_text(p);
  Overrides o;
  o.tmpfs = {"/scratch:0", "relative:1M", "/x:lots"};
  o.deny = {"not/absolute"};
  o.keep_env = {"BAD-NAME"};
  o.kill_after = "unlimited";
  o.file_size = "0";
  o.open_files = "none";
  o.hostname = "-bad";
  const auto problems = apply_overrides(p, o);
  const std::pair<const char*, const char*> expected[] = {
      {"--tmpfs", "size '0': size must be greater than zero"},
      {"--tmpfs", "is relative"},
      {"--tmpfs", "size 'lots'"},
      {"--deny", "is relative"},
      {"--keep-env", "BAD-NAME"},
      {"--kill-after", "cannot be \"unlimited\""},
      {"--file-size", "greater than zero"},
      {"--open-files", "none"},
      {"--hostname", "-bad"},
  };
  expect_problems(problems, expected);
  EXPECT_EQ(canonical_text(p), before);
}

// The sandbox's mount table has room for kMaxPathRules path rules: more is refused where the
// policy is checked (`confine check`, `--dry-run`), at the first rule past the limit.
TEST(Overrides, TooManyPathRulesAreRefusedBeforeAnythingRuns) {
  Policy p = default_policy();
  const size_t in_file = p.filesystem.ro.size() + p.filesystem.rw.size() + p.filesystem.deny.size() +
                         p.filesystem.tmpfs.size();
  Overrides fits;
  for (size_t i = 0; i + in_file < kMaxPathRules; ++i) fits.ro.push_back("/data/" + std::to_string(i));
  Policy copy = p;
  EXPECT_TRUE(apply_overrides(copy, fits).empty());

  Overrides too_many = fits;
  too_many.ro.push_back("/data/one-more");
  too_many.ro.push_back("/data/two-more");
  const auto problems = apply_overrides(p, too_many);
  ASSERT_EQ(problems.size(), 1U) << all(problems);
  EXPECT_EQ(problems[0].key, "--ro");
  EXPECT_EQ(problems[0].message, std::to_string(kMaxPathRules + 2) +
                                     " path rules (ro, rw, deny and tmpfs together); at most " +
                                     std::to_string(kMaxPathRules) +
                                     " fit in the sandbox's mount table: bind a common parent directory instead "
                                     "of many paths under it");
}

TEST(Overrides, TheRootIsNeverARule) {
  Policy p = default_policy();
  Overrides o;
  o.ro = {"/"};
  auto problems = apply_overrides(p, o);
  ASSERT_EQ(problems.size(), 1U) << all(problems);
  EXPECT_EQ(problems[0].str(), "<command line>: --ro: '/' cannot be read-only: the sandbox's root is always a fresh tmpfs; list the directories to expose instead");
  Overrides t;
  t.tmpfs = {"/:1M"};
  problems = apply_overrides(p, t);
  ASSERT_EQ(problems.size(), 1U) << all(problems);
  EXPECT_EQ(problems[0].key, "--tmpfs");
}

}  // namespace
}  // namespace confine::policy
