// extends: precedence (bases first, the file itself last), provenance of every merged value,
// list concatenation, env.set merging, and diamonds applied once.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "confine/policy.h"

namespace confine::policy {
namespace {

namespace fs = std::filesystem;

const fs::path kGood = fs::path(CONFINE_TEST_DIR) / "fixtures" / "policy" / "good";

Policy load_ok(const fs::path& path) {
  LoadResult result = load(path.string());
  for (const auto& d : result.diagnostics) ADD_FAILURE() << d.str();
  if (!result.policy) throw std::runtime_error("policy did not load: " + path.string());
  return *result.policy;
}

TEST(Extends, LaterFileWinsForScalarsAndKeepsItsOrigin) {
  const fs::path child = kGood / "precedence" / "child.toml";
  const fs::path base = kGood / "precedence" / "base.toml";
  const Policy p = load_ok(child);

  ASSERT_EQ(p.files.size(), 2U);
  EXPECT_EQ(p.files[0], base.string());
  EXPECT_EQ(p.files[1], child.string());

  EXPECT_EQ(p.description.value, "child");
  EXPECT_EQ(p.description.origin.str(), child.string() + ":3:15");
  EXPECT_EQ(p.process.uid.value, 2000U);  // the child's
  EXPECT_EQ(p.process.uid.origin.str(), child.string() + ":6:7");
  EXPECT_EQ(p.process.gid.value, 1500U);  // only the base sets it
  EXPECT_EQ(p.process.gid.origin.str(), base.string() + ":6:7");
  EXPECT_TRUE(p.process.cwd.origin.is_default());
  EXPECT_EQ(p.process.cwd.origin.str(), "default");

  // "unlimited" in the child lifts the base's limit, and explain can say who lifted it.
  EXPECT_FALSE(p.limits.memory_bytes.value.has_value());
  EXPECT_EQ(p.limits.memory_bytes.origin.str(), child.string() + ":15:10");
  EXPECT_EQ(p.limits.pids.value, 32U);
  EXPECT_EQ(p.limits.wall_time.value, Millis{10'000});
  EXPECT_EQ(p.limits.wall_time.origin.file, base.string());
}

TEST(Extends, ListsConcatenateBasesFirst) {
  const fs::path child = kGood / "precedence" / "child.toml";
  const Policy p = load_ok(child);
  ASSERT_EQ(p.filesystem.ro.size(), 2U);
  EXPECT_EQ(p.filesystem.ro[0].path, "/usr");
  EXPECT_EQ(p.filesystem.ro[0].origin.file, (kGood / "precedence" / "base.toml").string());
  EXPECT_EQ(p.filesystem.ro[1].path, "/opt");
  EXPECT_EQ(p.filesystem.ro[1].origin.str(), child.string() + ":9:7");
  ASSERT_EQ(p.capabilities.keep.size(), 2U);
  EXPECT_EQ(p.capabilities.keep[0].value, "CAP_CHOWN");
  EXPECT_EQ(p.capabilities.keep[1].value, "CAP_KILL");
}

TEST(Extends, EnvSetMergesByNameLaterWins) {
  const fs::path child = kGood / "precedence" / "child.toml";
  const fs::path base = kGood / "precedence" / "base.toml";
  const Policy p = load_ok(child);
  ASSERT_EQ(p.env.set.size(), 3U);
  EXPECT_EQ(p.env.set.at("A").value, "base");
  EXPECT_EQ(p.env.set.at("A").origin.file, base.string());
  EXPECT_EQ(p.env.set.at("B").value, "child");
  EXPECT_EQ(p.env.set.at("B").origin.file, child.string());
  EXPECT_EQ(p.env.set.at("C").value, "child");
}

TEST(Extends, DiamondAppliesSharedBaseOnceFirst) {
  const fs::path dir = kGood / "diamond";
  const Policy p = load_ok(dir / "top.toml");
  ASSERT_EQ(p.files.size(), 4U);
  EXPECT_EQ(p.files[0], (dir / "base.toml").string());
  EXPECT_EQ(p.files[1], (dir / "left.toml").string());
  EXPECT_EQ(p.files[2], (dir / "right.toml").string());
  EXPECT_EQ(p.files[3], (dir / "top.toml").string());
  // Lists that are not deduplicated show the base was applied exactly once.
  ASSERT_EQ(p.seccomp.rules.size(), 1U);
  ASSERT_EQ(p.env.keep.size(), 4U);
  EXPECT_EQ(p.env.keep[0].value, "BASE");
  EXPECT_EQ(p.env.keep[1].value, "LEFT");
  EXPECT_EQ(p.env.keep[2].value, "RIGHT");
  EXPECT_EQ(p.env.keep[3].value, "TOP");
  // right is applied after base, so its memory wins.
  EXPECT_EQ(p.limits.memory_bytes.value, uint64_t{2} << 30);
  EXPECT_EQ(p.limits.memory_bytes.origin.file, (dir / "right.toml").string());
}

TEST(Extends, EmptyFileIsAllDefaults) {
  const Policy p = load_ok(kGood / "empty.toml");
  const Policy defaults;
  EXPECT_EQ(canonical_text(p), canonical_text(defaults));
  EXPECT_EQ(p.process.uid.value, 1000U);
  EXPECT_EQ(p.network.mode.value, NetworkMode::kNone);
  EXPECT_EQ(p.limits.kill_grace.value, Millis{2000});
  EXPECT_EQ(p.limits.swap_bytes.value, uint64_t{0});
  EXPECT_EQ(p.seccomp.errno_value.value, 1);
  EXPECT_EQ(p.files.size(), 1U);
}

TEST(Full, EveryKeyIsRead) {
  const fs::path path = kGood / "full.toml";
  const Policy p = load_ok(path);
  EXPECT_EQ(p.process.host_uid.value, 4294967294U);
  EXPECT_EQ(p.process.cwd.value, "/work/dir");
  EXPECT_EQ(p.process.hostname.value, "build-box.local");
  ASSERT_EQ(p.filesystem.ro.size(), 2U);  // "/usr" twice is one rule, the later one's origin
  EXPECT_EQ(p.filesystem.ro[0].path, "/usr");
  EXPECT_EQ(p.filesystem.ro[0].origin.str(), path.string() + ":14:53");
  EXPECT_TRUE(p.filesystem.ro[1].optional);
  ASSERT_EQ(p.filesystem.tmpfs.size(), 2U);
  EXPECT_EQ(p.filesystem.tmpfs[0].size_bytes, uint64_t{64} << 20);
  EXPECT_EQ(p.filesystem.tmpfs[1].size_bytes, 1048576U);
  EXPECT_FALSE(p.filesystem.dev.value);
  EXPECT_FALSE(p.filesystem.proc.value);
  EXPECT_EQ(p.network.mode.value, NetworkMode::kHost);
  EXPECT_EQ(p.env.set.at("EMPTY").value, "");
  EXPECT_EQ(p.limits.wall_time.value, Millis{90 * 60 * 1000});
  EXPECT_FALSE(p.limits.cpu_time.value.has_value());
  EXPECT_FALSE(p.limits.cpu_time.origin.is_default());
  EXPECT_EQ(p.limits.kill_grace.value, Millis{0});
  EXPECT_EQ(p.limits.memory_bytes.value, uint64_t{3} << 29);
  EXPECT_EQ(p.limits.swap_bytes.value, uint64_t{0});
  EXPECT_FALSE(p.limits.pids.value.has_value());
  EXPECT_EQ(p.limits.open_files.value, 1024U);
  EXPECT_EQ(p.limits.cpus.value, 1.5);
  EXPECT_TRUE(p.limits.core_dumps.value);
  EXPECT_EQ(p.seccomp.default_action.value, SeccompAction::kErrno);
  EXPECT_EQ(p.seccomp.errno_value.value, 13);
  ASSERT_EQ(p.seccomp.rules.size(), 3U);
  EXPECT_EQ(p.seccomp.rules[0].action, SeccompAction::kAllow);
  EXPECT_EQ(p.seccomp.rules[0].syscalls, (std::vector<std::string>{"read", "write", "@io-uring"}));
  EXPECT_FALSE(p.seccomp.rules[0].errno_value.has_value());
  EXPECT_EQ(p.seccomp.rules[1].errno_value, ENOSYS);
  ASSERT_EQ(p.capabilities.keep.size(), 3U);
  EXPECT_EQ(p.capabilities.keep[0].value, "CAP_NET_BIND_SERVICE");
  EXPECT_EQ(p.capabilities.keep[2].value, "CAP_KILL");
  EXPECT_EQ(p.enforcement.resources.value, Enforcement::kBestEffort);
  EXPECT_EQ(p.enforcement.seccomp.value, Enforcement::kBestEffort);
  EXPECT_EQ(p.enforcement.landlock.value, Enforcement::kRequired);
}

}  // namespace
}  // namespace confine::policy
