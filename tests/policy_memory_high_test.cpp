// limits.memory_high: loading, "unlimited", the check against memory across extends, and its
// place in explain and in the canonical text (absent when unset, so existing hashes stay).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "confine/policy.h"

namespace confine::policy {
namespace {

namespace fs = std::filesystem;

const fs::path kFixtures = fs::path(CONFINE_TEST_DIR) / "fixtures" / "policy";

class MemoryHigh : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/confine-memhigh-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  LoadResult load_text(const std::string& text) {
    const fs::path path = dir_ / "policy.toml";
    std::ofstream(path) << text;
    return load(path.string());
  }
  fs::path dir_;
};

TEST_F(MemoryHigh, LoadsWithItsOrigin) {
  const LoadResult r = load(kFixtures / "good" / "memory_high" / "policy.toml");
  for (const auto& d : r.diagnostics) ADD_FAILURE() << d.str();
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r.policy->limits.memory_high_bytes.value.has_value());
  EXPECT_EQ(*r.policy->limits.memory_high_bytes.value, uint64_t{768} << 20);
  EXPECT_EQ(r.policy->limits.memory_high_bytes.origin.line, 4u);
  EXPECT_EQ(r.policy->limits.memory_high_bytes.origin.column, 15u);
}

TEST_F(MemoryHigh, DefaultIsUnset) {
  const LoadResult r = load_text("[limits]\nmemory = \"1G\"\n");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.policy->limits.memory_high_bytes.value.has_value());
  EXPECT_TRUE(r.policy->limits.memory_high_bytes.origin.is_default());
}

TEST_F(MemoryHigh, UnlimitedAndIntegerBytes) {
  LoadResult r = load_text("[limits]\nmemory_high = \"unlimited\"\n");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.policy->limits.memory_high_bytes.value.has_value());
  EXPECT_FALSE(r.policy->limits.memory_high_bytes.origin.is_default());

  r = load_text("[limits]\nmemory_high = 1048576\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.policy->limits.memory_high_bytes.value, std::optional<uint64_t>(1048576));
}

TEST_F(MemoryHigh, WithoutMemoryAnySizeIsFine) {
  const LoadResult r = load_text("[limits]\nmemory_high = \"64G\"\n");
  EXPECT_TRUE(r.ok());
}

TEST_F(MemoryHigh, EqualToMemoryIsFine) {
  const LoadResult r = load_text("[limits]\nmemory = \"512M\"\nmemory_high = \"512M\"\n");
  EXPECT_TRUE(r.ok());
}

TEST_F(MemoryHigh, AboveMemoryIsLocatedAtMemoryHigh) {
  const LoadResult r = load_text("[limits]\nmemory_high = \"600M\"\nmemory = \"512M\"\n");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].key, "limits.memory_high");
  EXPECT_EQ(r.diagnostics[0].origin.line, 2u);
  EXPECT_EQ(r.diagnostics[0].origin.column, 15u);
  EXPECT_NE(r.diagnostics[0].message.find("must not exceed memory (536870912 bytes"), std::string::npos)
      << r.diagnostics[0].message;
}

TEST_F(MemoryHigh, BadTypeIsRefused) {
  const LoadResult r = load_text("[limits]\nmemory_high = true\n");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].key, "limits.memory_high");
}

TEST_F(MemoryHigh, ExplainShowsValueAndOrigin) {
  const LoadResult r = load(kFixtures / "good" / "memory_high" / "policy.toml");
  ASSERT_TRUE(r.ok());
  const std::string text = explain_text(*r.policy);
  EXPECT_NE(text.find("limits.memory_high = \"768M\""), std::string::npos) << text;
  EXPECT_NE(text.find("memory_high/policy.toml:4:15"), std::string::npos) << text;
  EXPECT_NE(explain_json(*r.policy).find("\"memory_high\""), std::string::npos);
}

TEST_F(MemoryHigh, CanonicalTextHasItOnlyWhenSet) {
  LoadResult without = load_text("[limits]\nmemory = \"1G\"\n");
  ASSERT_TRUE(without.ok());
  EXPECT_EQ(canonical_text(*without.policy).find("memory_high"), std::string::npos);

  Policy with = *without.policy;
  with.limits.memory_high_bytes.value = uint64_t{1} << 29;
  EXPECT_NE(canonical_text(with).find("\"memory_high_bytes\":536870912"), std::string::npos) << canonical_text(with);
  EXPECT_NE(content_hash(with), content_hash(*without.policy));
}

}  // namespace
}  // namespace confine::policy
