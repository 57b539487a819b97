// canonical_text / content_hash (stable, provenance-free, sensitive to every value) and
// explain_text / explain_json (each effective value with its origin).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include <sha2.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "confine/policy.h"

namespace confine::policy {
namespace {

namespace fs = std::filesystem;

const fs::path kDefault = fs::path(CONFINE_SOURCE_DIR) / "policies" / "default.toml";
const fs::path kGood = fs::path(CONFINE_TEST_DIR) / "fixtures" / "policy" / "good";

Policy load_ok(const fs::path& path) {
  LoadResult result = load(path.string());
  for (const auto& d : result.diagnostics) ADD_FAILURE() << d.str();
  return result.policy.value_or(Policy{});
}

TEST(Canonical, StableAndFreeOfProvenance) {
  const Policy a = load_ok(kGood / "full.toml");
  Policy b = load_ok(kGood / "full.toml");
  EXPECT_EQ(canonical_text(a), canonical_text(b));
  EXPECT_EQ(content_hash(a), content_hash(b));
  // Moving where a value came from changes nothing that is enforced.
  b.limits.memory_bytes.origin = Origin{"elsewhere.toml", 99, 1};
  b.files.push_back("another.toml");
  EXPECT_EQ(content_hash(a), content_hash(b));

  const auto json = nlohmann::json::parse(canonical_text(a));
  EXPECT_EQ(json["limits"]["memory_bytes"], uint64_t{3} << 29);
  EXPECT_TRUE(json["limits"]["pids"].is_null());
  EXPECT_EQ(json["seccomp"]["rule"][1]["errno"], ENOSYS);
  EXPECT_EQ(json["filesystem"]["ro"][1]["optional"], true);
  EXPECT_EQ(canonical_text(a).find("full.toml"), std::string::npos);
  EXPECT_EQ(canonical_text(a).find('\n'), std::string::npos);
}

TEST(Canonical, HashIsSha256HexAndChangesWithAnyValue) {
  const Policy base = load_ok(kDefault);
  const std::string hash = content_hash(base);
  ASSERT_EQ(hash.size(), 64U);
  EXPECT_EQ(hash.find_first_not_of("0123456789abcdef"), std::string::npos);

  auto changed = [&](auto mutate) {
    Policy p = base;
    mutate(p);
    return content_hash(p) != hash;
  };
  EXPECT_TRUE(changed([](Policy& p) { p.limits.memory_bytes.value = uint64_t{513} << 20; }));
  EXPECT_TRUE(changed([](Policy& p) { p.limits.memory_bytes.value.reset(); }));
  EXPECT_TRUE(changed([](Policy& p) { p.filesystem.ro[0].optional = true; }));
  EXPECT_TRUE(changed([](Policy& p) { p.filesystem.rw.push_back({"/jobs", false, {}}); }));
  EXPECT_TRUE(changed([](Policy& p) { p.env.set["X"] = {"1", {}}; }));
  EXPECT_TRUE(changed([](Policy& p) { p.seccomp.rules[1].action = SeccompAction::kAllow; }));
  EXPECT_TRUE(changed([](Policy& p) { p.enforcement.seccomp.value = Enforcement::kBestEffort; }));
  EXPECT_TRUE(changed([](Policy& p) { p.enforcement.landlock.value = Enforcement::kRequired; }));
  EXPECT_TRUE(changed([](Policy& p) { p.process.uid.value = 0; }));
  EXPECT_FALSE(changed([](Policy& p) { p.process.uid.origin = {}; }));
}

TEST(Canonical, LandlockAppearsOnlyWhenRequiredSoEarlierPoliciesKeepTheirHash) {
  // enforcement.landlock came after the first release, best-effort by default: a policy that
  // leaves it there hashes exactly as it did before the key existed.
  Policy p = load_ok(kDefault);
  EXPECT_EQ(canonical_text(p).find("landlock"), std::string::npos);
  p.enforcement.landlock.value = Enforcement::kRequired;
  EXPECT_NE(canonical_text(p).find("\"landlock\":\"required\""), std::string::npos) << canonical_text(p);
}

TEST(Canonical, HashIsTheSha256OfTheCanonicalText) {
  const Policy p = load_ok(kDefault);
  const std::string text = canonical_text(p);
  // Hash incrementally (a different libmd entry point than the one-shot call under test).
  SHA2_CTX ctx;
  SHA256Init(&ctx);
  for (size_t at = 0; at < text.size(); at += 7) {
    SHA256Update(&ctx, reinterpret_cast<const uint8_t*>(text.data() + at), std::min<size_t>(7, text.size() - at));
  }
  char hex[SHA256_DIGEST_STRING_LENGTH];
  SHA256End(&ctx, hex);
  EXPECT_EQ(content_hash(p), std::string(hex));
  EXPECT_EQ(content_hash(load_ok(kGood / "empty.toml")), content_hash(Policy{}));
}

TEST(Explain, TextListsEveryValueWithItsOrigin) {
  const Policy p = load_ok(kDefault);
  const std::string text = explain_text(p);
  const std::string file = kDefault.string();
  EXPECT_NE(text.find("limits.memory = \"512M\" (536870912 bytes)    # " + file + ":"), std::string::npos) << text;
  EXPECT_NE(text.find("limits.wall_time = \"1m\" (60000 ms)    # " + file + ":"), std::string::npos) << text;
  EXPECT_NE(text.find("process.host_uid = 65534    # default\n"), std::string::npos) << text;
  EXPECT_NE(text.find("filesystem.ro[0] = \"/usr\"    # " + file + ":"), std::string::npos) << text;
  EXPECT_NE(text.find("filesystem.ro[4] = \"/lib64\" (optional)    # "), std::string::npos) << text;
  EXPECT_NE(text.find("filesystem.tmpfs[0] = \"/tmp\" size \"64M\" (67108864 bytes)"), std::string::npos) << text;
  EXPECT_NE(text.find("env.set.HOME = \"/tmp\"    # "), std::string::npos) << text;
  EXPECT_NE(text.find("seccomp.errno = \"ENOSYS\" (38)    # " + file + ":"), std::string::npos) << text;
  EXPECT_NE(text.find("seccomp.rule[0] = { action = \"allow\", syscalls = [\"@confine-base\"] }"), std::string::npos)
      << text;
  EXPECT_NE(text.find("seccomp.rule[1] = { action = \"kill\", syscalls = [\"@default-deny\"] }"), std::string::npos)
      << text;
  EXPECT_NE(text.find("capabilities.keep = []    # default\n"), std::string::npos) << text;
  EXPECT_NE(text.find("limits.cpus = unlimited    # default\n"), std::string::npos) << text;
  EXPECT_NE(text.find("enforcement.resources = \"best-effort\"    # " + file), std::string::npos) << text;
  EXPECT_NE(text.find("enforcement.landlock = \"best-effort\"    # " + file), std::string::npos) << text;
  // One line per value: every line but the header names its origin.
  size_t lines = 0;
  for (size_t at = 0, next; (next = text.find('\n', at)) != std::string::npos; at = next + 1) {
    const std::string line = text.substr(at, next - at);
    if (lines++ == 0) continue;
    EXPECT_NE(line.find("    # "), std::string::npos) << line;
  }
  EXPECT_GT(lines, 40U);
}

TEST(Explain, ExactMemoryOriginLine) {
  const Policy p = load_ok(kDefault);
  const auto& origin = p.limits.memory_bytes.origin;
  ASSERT_FALSE(origin.is_default());
  EXPECT_NE(explain_text(p).find("limits.memory = \"512M\" (536870912 bytes)    # " + origin.str() + "\n"),
            std::string::npos);
}

TEST(Explain, JsonHasValueAndOriginForEachEntry) {
  const Policy p = load_ok(kDefault);
  const auto json = nlohmann::json::parse(explain_json(p));
  EXPECT_EQ(json["limits"]["memory"]["value"], 536870912U);
  EXPECT_EQ(json["limits"]["memory"]["origin"], p.limits.memory_bytes.origin.str());
  EXPECT_EQ(json["limits"]["wall_time"]["value"], 60000);
  EXPECT_TRUE(json["limits"]["cpus"]["value"].is_null());
  EXPECT_EQ(json["limits"]["cpus"]["origin"], "default");
  EXPECT_EQ(json["process"]["uid"]["value"], 1000);
  EXPECT_EQ(json["filesystem"]["ro"][0]["value"]["path"], "/usr");
  EXPECT_EQ(json["filesystem"]["ro"][0]["origin"], p.filesystem.ro[0].origin.str());
  EXPECT_EQ(json["env"]["set"]["PATH"]["value"], "/usr/local/bin:/usr/bin:/bin");
  EXPECT_EQ(json["seccomp"]["rule"][0]["value"]["action"], "allow");
  EXPECT_EQ(json["seccomp"]["rule"][1]["value"]["action"], "kill");
  EXPECT_TRUE(json["capabilities"]["keep"].is_array());
  EXPECT_EQ(json["files"][0], kDefault.string());
  EXPECT_EQ(json["description"]["origin"], p.description.origin.str());
}

TEST(Explain, OverridesShowTheCommandLine) {
  Policy p = load_ok(kDefault);
  Overrides o;
  o.memory = "2G";
  ASSERT_TRUE(apply_overrides(p, o).empty());
  EXPECT_NE(explain_text(p).find("limits.memory = \"2G\" (2147483648 bytes)    # <command line>\n"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(explain_json(p))["limits"]["memory"]["origin"], "<command line>");
}

}  // namespace
}  // namespace confine::policy
